"""LRP for the CNN head: algorithms.md §4.5 checks 2–5 on random and hand-built heads, and explain_lrp."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kgexplain.attribution.lrp import (
    RULES,
    explain_lrp,
    lrp_layers,
    lrp_relevance,
    method_name,
)
from kgexplain.errors import InputError, ModelError
from kgexplain.models.cnn import TextCNN
from kgexplain.models.training import TrainedModel, predict
from kgexplain.models.vocabulary import Vocabulary
from kgexplain.text import tokenize

LENGTH = 64


def _random_cnn(zero_bias: bool = False, dim: int = 16, filters: int = 12) -> TextCNN:
    model = TextCNN(vocab_size=40, max_len=LENGTH, embedding_dim=dim, filters=filters).double().eval()
    if zero_bias:
        with torch.no_grad():
            for layer in (model.head.conv1, model.head.conv2, model.head.dense):
                layer.bias.zero_()
    else:  # larger biases than the default init, so that keeping or dropping them makes a visible difference
        with torch.no_grad():
            for layer in (model.head.conv1, model.head.conv2, model.head.dense):
                layer.bias.uniform_(-0.3, 0.3)
    return model


def _embedded(batch: int = 5, dim: int = 16) -> torch.Tensor:
    return torch.randn(batch, LENGTH, dim, dtype=torch.float64)


def _logit(head: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The head's forward without the sigmoid, written out independently of the module under test."""
    h = x.transpose(1, 2)
    h = head.pool1(torch.relu(head.conv1(h)))
    h = head.pool2(torch.relu(head.conv2(h)))
    return head.dense(h.flatten(1)).squeeze(1)


def _gradient_times_input(head: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(_logit(head, x).sum(), x)
    return (grad * x).detach()


def _nonvacuous(relevance: torch.Tensor, logit: torch.Tensor) -> None:
    assert torch.all(logit.abs() > 1e-6), "test model is degenerate: a logit is ~0"
    assert torch.all(relevance.abs().sum(dim=(1, 2)) > 1e-6), "degenerate test model: no relevance reaches the input"


# --- check 2: LRP-z = gradient × input ----------------------------------------------------------------------


def test_lrp_z_equals_gradient_times_input() -> None:
    """§4.5 check 2: ε = 0, bias in the denominator: element-wise ∂logit/∂x · x (rel 1e-5, float64)."""
    model = _random_cnn()
    x = _embedded()
    relevance, logit = lrp_relevance(model.head, x, "z")
    _nonvacuous(relevance, logit)
    expected = _gradient_times_input(model.head, x)
    assert relevance.shape == x.shape
    torch.testing.assert_close(logit, _logit(model.head, x).detach(), rtol=1e-12, atol=0)
    torch.testing.assert_close(relevance, expected, rtol=1e-5, atol=1e-12)
    # ε = 0 under the "epsilon" name is the same rule
    torch.testing.assert_close(lrp_relevance(model.head, x, "epsilon", epsilon=0.0)[0], relevance, rtol=0, atol=0)
    # the check can fail: a visible ε, or the αβ rule, moves away from gradient × input
    for other in (
        lrp_relevance(model.head, x, "epsilon", epsilon=0.05)[0],
        lrp_relevance(model.head, x, "alpha-beta")[0],
    ):
        assert not torch.allclose(other, expected, rtol=1e-5, atol=1e-12)


def test_batched_rows_match_single_rows() -> None:
    model = _random_cnn()
    x = _embedded(4)
    for rule in RULES:
        batched, logits = lrp_relevance(model.head, x, rule)
        for i in range(len(x)):
            single, logit = lrp_relevance(model.head, x[i : i + 1], rule)
            torch.testing.assert_close(single[0], batched[i], rtol=1e-10, atol=1e-14)
            torch.testing.assert_close(logit[0], logits[i], rtol=1e-12, atol=0)


# --- check 3: conservation, ε-rule -------------------------------------------------------------------------


def _layer_inputs(head: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    h = x.transpose(1, 2)
    out = {"conv1": h}
    h = torch.relu(head.conv1(h))
    out["pool1"] = h
    h = head.pool1(h)
    out["conv2"] = h
    h = torch.relu(head.conv2(h))
    out["pool2"] = h
    h = head.pool2(h)
    out["dense"] = h.flatten(1)
    return out


def test_epsilon_conservation_with_zero_biases() -> None:
    """§4.5 check 3: zero biases, ε = 0: Σ relevance is the logit at every layer (rel 1e-5); pooling exact."""
    model = _random_cnn(zero_bias=True)
    x = _embedded()
    layers, logit = lrp_layers(model.head, x, "epsilon", epsilon=0.0)
    _nonvacuous(layers["conv1"], logit)
    assert list(layers) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "dense", "logit"]
    for name, relevance in layers.items():
        totals = relevance.reshape(len(x), -1).sum(1)
        torch.testing.assert_close(totals, logit, rtol=1e-5, atol=0, msg=f"relevance not conserved at {name}")
    # max pooling moves relevance without changing it: exact up to float64 summation order
    for pool, after in (("pool1", "conv2"), ("pool2", "dense")):
        torch.testing.assert_close(
            layers[pool].reshape(len(x), -1).sum(1), layers[after].reshape(len(x), -1).sum(1), rtol=1e-13, atol=0
        )
        # and winner takes all: at most one input per pooling window holds relevance
        window = model.head.pool1.kernel_size if pool == "pool1" else layers[pool].shape[2]
        usable = layers[pool].shape[2] // window * window
        per_window = (layers[pool][:, :, :usable] != 0).reshape(len(x), layers[pool].shape[1], -1, window).sum(-1)
        assert per_window.max() <= 1
    # the check can fail: with biases the same model no longer conserves
    biased = _random_cnn()
    relevance, logit = lrp_relevance(biased.head, x, "epsilon", epsilon=0.0)
    assert not torch.allclose(relevance.sum(dim=(1, 2)), logit, rtol=1e-5, atol=0)


@pytest.mark.parametrize("epsilon", [0.0, 1e-6, 0.05])
def test_epsilon_per_layer_conservation_with_biases(epsilon: float) -> None:
    """§4.5 check 3, general form, per layer: Σ_i r_i = Σ_j r_j · z_j / (z_j + b_j + ε·sign(z_j + b_j))
    (rel 1e-8)."""
    model = _random_cnn()
    head = model.head
    x = _embedded()
    layers, logit = lrp_layers(head, x, "epsilon", epsilon=epsilon)
    _nonvacuous(layers["conv1"], logit)
    inputs = _layer_inputs(head, x)
    outputs = {"conv1": layers["relu1"], "conv2": layers["relu2"], "dense": layers["logit"]}
    for name, a in inputs.items():
        if name.startswith("pool"):
            continue
        layer = getattr(head, name)
        z = a @ layer.weight.T if name == "dense" else F.conv1d(a, layer.weight)
        y = z + (layer.bias if name == "dense" else layer.bias.view(1, -1, 1))
        denominator = y + epsilon * torch.where(y >= 0, 1.0, -1.0).double()
        ratio = torch.where(denominator == 0, 0.0, z / denominator).double()
        expected = (outputs[name] * ratio).reshape(len(x), -1).sum(1)
        got = layers[name].reshape(len(x), -1).sum(1)
        torch.testing.assert_close(got, expected, rtol=1e-8, atol=1e-14, msg=f"layer {name}")


# --- check 4: conservation, αβ -----------------------------------------------------------------------------


def test_alpha_beta_conservation() -> None:
    """§4.5 check 4: α = 2, β = 1, zero biases, both parts non-zero: Σ R = logit at every layer (rel 1e-6)."""
    model = _random_cnn(zero_bias=True)
    head = model.head
    x = _embedded()
    layers, logit = lrp_layers(head, x, "alpha-beta", alpha=2.0, beta=1.0)
    _nonvacuous(layers["conv1"], logit)
    # precondition: at the dense layer (inputs ≥ 0 after ReLU and pooling) both parts are non-zero in every row;
    # the convolutions see inputs of both signs (embeddings) or many ReLU outputs, so theirs are too
    contributions = _layer_inputs(head, x)["dense"] * head.dense.weight[0]
    assert torch.all((contributions > 0).any(1)) and torch.all((contributions < 0).any(1))
    # the relevance really is split: some input relevance of each sign
    assert (layers["conv1"] > 0).any() and (layers["conv1"] < 0).any()
    for name, relevance in layers.items():
        torch.testing.assert_close(
            relevance.reshape(len(x), -1).sum(1), logit, rtol=1e-6, atol=0, msg=f"αβ relevance not conserved at {name}"
        )
    # the check can fail: α − β = 2 doubles the relevance at each of the three weighted layers
    tripled, _ = lrp_layers(head, x, "alpha-beta", alpha=3.0, beta=1.0)
    torch.testing.assert_close(tripled["conv1"].reshape(len(x), -1).sum(1), 8 * logit, rtol=1e-6, atol=0)
    # α = 1, β = 0 (α − β = 1) conserves too, and gives a different map
    plain, _ = lrp_layers(head, x, "alpha-beta", alpha=1.0, beta=0.0)
    torch.testing.assert_close(plain["conv1"].reshape(len(x), -1).sum(1), logit, rtol=1e-6, atol=0)
    assert not torch.allclose(plain["conv1"], layers["conv1"])


# --- check 5 (target) as a planted keyword -----------------------------------------------------------------


def _planted_model(vocab: Vocabulary) -> TextCNN:
    """Filter 0 fires on embedding dim 0 > 0 ("golden") and raises the logit; filter 1 fires on dim 0 < 0
    ("grey") and lowers it, less strongly. Everything else is small random noise."""
    dim, filters = 8, 6
    model = TextCNN(len(vocab), max_len=LENGTH, embedding_dim=dim, filters=filters).double().eval()
    head = model.head
    with torch.no_grad():
        emb = model.embedding.weight
        emb.normal_(0, 0.1)
        emb[:, 0] = 0.0  # only the two keywords carry the feature the two filters look for
        emb[0].zero_()
        emb[vocab.index["golden"], 0] = 2.0
        emb[vocab.index["grey"], 0] = -2.0
        for conv in (head.conv1, head.conv2):
            conv.weight.normal_(0, 0.02)
            conv.bias.zero_()
        head.conv1.weight[0, 0, :] = 1.0
        head.conv1.weight[1, 0, :] = -1.0
        head.conv2.weight[0, 0, :] = 1.0
        head.conv2.weight[1, 1, :] = 1.0
        head.dense.weight.normal_(0, 0.02)
        head.dense.weight[0, 0] = 1.0
        head.dense.weight[0, 1] = -0.3
        head.dense.bias.fill_(-0.1)
    return model


@pytest.mark.parametrize("rule", RULES)
def test_relevance_sign_tracks_a_planted_keyword(rule: str) -> None:
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(20)]
    texts = []
    for i in range(6):
        toks = list(rng.choice(words, 30 + 5 * i))
        g = int(rng.integers(0, len(toks) - 25))  # far apart, so no filter window sees both keywords
        r = int(rng.integers(g + 25, len(toks)))
        toks[g], toks[r] = ("golden", "grey") if i % 2 else ("grey", "golden")
        texts.append(" ".join(toks))
    vocab = Vocabulary.build([tokenize(t) for t in texts + ["golden grey"]])
    model = _planted_model(vocab)
    trained = TrainedModel("cnn", model, vocab, LENGTH)
    attribution = explain_lrp(trained, texts, rule=rule)
    assert np.all(attribution.predictions > 0.5)  # golden outweighs grey, so the logit starts positive
    for text, rel in zip(texts, attribution.relevance, strict=True):
        toks = tokenize(text)
        assert toks[int(np.argmax(rel))] == "golden" and rel.max() > 0
        assert toks[int(np.argmin(rel))] == "grey" and rel.min() < 0


# --- explain_lrp --------------------------------------------------------------------------------------------


def _small_trained(zero_bias: bool = False) -> tuple[TrainedModel, list[str]]:
    texts = [" ".join(f"w{(i * 7 + j) % 40}" for j in range(20 + 9 * i)) for i in range(7)] + ["", "w1 w2 zzz"]
    vocab = Vocabulary.build([tokenize(t) for t in texts])
    model = TextCNN(len(vocab), max_len=LENGTH).eval()
    if zero_bias:
        with torch.no_grad():
            for layer in (model.head.conv1, model.head.conv2, model.head.dense):
                layer.bias.zero_()
    return TrainedModel("cnn", model, vocab, LENGTH), texts


@pytest.mark.parametrize("rule", RULES)
def test_explain_lrp_shapes_predictions_and_report(rule: str) -> None:
    trained, texts = _small_trained()
    seen: list[int] = []
    attribution = explain_lrp(trained, texts, rule=rule, batch_size=4, on_batch=seen.append)
    assert attribution.method == {"z": "lrp-z", "epsilon": "lrp-epsilon", "alpha-beta": "lrp-alpha2-beta1"}[rule]
    assert attribution.expected_value == 0.0
    assert seen == [4, 4, 1]
    assert [len(r) for r in attribution.relevance] == [min(LENGTH, len(tokenize(t))) for t in texts]
    ids = trained.encode(texts)
    assert np.array_equal(attribution.predictions, predict(trained.model, ids).numpy())
    with torch.no_grad():
        emb = trained.model.embedding(ids)
    relevance, logit = lrp_relevance(trained.model.head, emb, rule)
    per_token = relevance.sum(2)
    for row, rel, n in zip(per_token, attribution.relevance, [len(r) for r in attribution.relevance], strict=True):
        np.testing.assert_allclose(rel, row[:n].numpy(), rtol=1e-5, atol=1e-7)
        assert torch.all(row[n:] == 0)  # padding embeds to zero and so gets no relevance
    expected_error = float((per_token.sum(1) - logit).abs().max())
    assert attribution.max_additivity_error == pytest.approx(expected_error, rel=1e-3, abs=1e-6)


def test_explain_lrp_additivity_report_for_the_z_rule() -> None:
    """The reported error is ~0 exactly when conservation holds (z-rule, zero biases), and not otherwise."""
    trained, texts = _small_trained(zero_bias=True)
    assert explain_lrp(trained, texts, rule="z").max_additivity_error < 1e-5
    trained, texts = _small_trained()
    with torch.no_grad():
        trained.model.head.dense.bias.fill_(0.5)
    assert explain_lrp(trained, texts, rule="z").max_additivity_error > 1e-3


def test_errors() -> None:
    trained, texts = _small_trained()
    with pytest.raises(InputError, match="unknown LRP rule 'gamma'"):
        explain_lrp(trained, texts, rule="gamma")
    with pytest.raises(InputError, match="unknown LRP rule"):
        lrp_relevance(trained.model.head, torch.zeros(1, LENGTH, 50), "alpha_beta")
    with pytest.raises(InputError, match="epsilon"):
        explain_lrp(trained, texts, epsilon=-1.0)
    broken = copy.deepcopy(trained.model)
    broken.head.relu1 = nn.Tanh()
    with pytest.raises(ModelError, match="'relu1'.*Tanh"):
        explain_lrp(TrainedModel("cnn", broken, trained.vocab, LENGTH), texts)
    two_outputs = copy.deepcopy(trained.model)
    two_outputs.head.dense = nn.Linear(50, 2)
    with pytest.raises(ModelError, match="one output unit"):
        lrp_relevance(two_outputs.head, torch.zeros(1, LENGTH, 50))
    assert method_name("alpha-beta", alpha=1, beta=0) == "lrp-alpha1-beta0"


def test_head_whose_forward_differs_from_its_layer_order_is_refused() -> None:
    class Reordered(nn.Module):
        def __init__(self, head: nn.Module) -> None:
            super().__init__()
            self.conv1, self.relu1, self.pool1 = head.conv1, head.relu1, head.pool1
            self.conv2, self.relu2, self.pool2 = head.conv2, head.relu2, head.pool2
            self.dense, self.sigmoid = head.dense, head.sigmoid

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # a skipped ReLU: not what LRP would walk
            x = self.pool1(self.conv1(x.transpose(1, 2)))
            return self.sigmoid(self.dense(self.pool2(self.relu2(self.conv2(x))).flatten(1)))

    model = _random_cnn()
    with pytest.raises(ModelError, match="do not reproduce its forward pass"):
        lrp_relevance(Reordered(model.head), _embedded())


# --- Captum's LRP as an outside reference (optional) --------------------------------------------------------


def test_matches_captum_lrp_for_the_z_rule() -> None:
    """Captum has ε-LRP (no αβ with α = 2). With the sigmoid removed and a tiny ε on every layer it is the
    z-rule, so it must agree with ours (rel 1e-6; Captum's ε = 1e-12 is its only deviation)."""
    captum = pytest.importorskip("captum.attr")
    from captum.attr._utils.lrp_rules import EpsilonRule

    model = _random_cnn()

    class LogitHead(nn.Module):
        def __init__(self, head: nn.Module) -> None:
            super().__init__()
            for name in ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "dense"):
                setattr(self, name, copy.deepcopy(getattr(head, name)))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.pool1(self.relu1(self.conv1(x.transpose(1, 2))))
            return self.dense(self.pool2(self.relu2(self.conv2(x))).flatten(1))

    wrapped = LogitHead(model.head)
    for name in ("conv1", "pool1", "conv2", "pool2", "dense"):
        getattr(wrapped, name).rule = EpsilonRule(epsilon=1e-12)
    x = _embedded()
    theirs = captum.LRP(wrapped).attribute(x.clone().requires_grad_(True), target=0).detach()
    ours, _ = lrp_relevance(model.head, x, "z")
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-12)
