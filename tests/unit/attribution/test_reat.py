"""REAT: algorithms.md §3.5 checks 1–6 on random float64 heads, and explain_reat on a small trained GRU.

Tolerances: completeness and phrase additivity relative 1e-5 (float64; observed ~1e-16); manual vs native
states 1e-5 absolute (the module's own check); explain_reat's additivity error < 1e-4 (float32 model).
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import torch
from torch import nn

from kgexplain.attribution import reat
from kgexplain.attribution.reat import (
    cell_states,
    explain_reat,
    naive_reat_scores,
    phrase_score,
    reat_scores,
)
from kgexplain.errors import InputError, ModelError
from kgexplain.models.rnn import RNNHead
from kgexplain.models.training import TrainSettings, predict, train_model

HEADS = {
    "gru": ("gru", False, "last"),
    "lstm": ("lstm", False, "last"),
    "bilstm-max": ("lstm", True, "max"),
    "bigru-last": ("gru", True, "last"),
    "bilstm-last": ("lstm", True, "last"),
    "bigru-max": ("gru", True, "max"),
}
LENGTH, DIM, HIDDEN, BATCH = 13, 8, 7, 5


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny tensors: extra intra-op threads only spin (badly so when other jobs share the CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _head(kind: str, seed: int = 0) -> RNNHead:
    torch.manual_seed(seed)
    cell, bidirectional, pooling = HEADS[kind]
    head = RNNHead(cell, DIM, HIDDEN, bidirectional, pooling).double().eval()
    with torch.no_grad():  # larger weights than the default init, so that gates spread over (0, 1)
        for _name, p in head.rnn.named_parameters():
            p.uniform_(-1.0, 1.0)
        head.dense.weight.normal_()
        head.dense.bias.fill_(0.37)
    return head


def _inputs(seed: int = 1, front_padding: int = 3) -> torch.Tensor:
    torch.manual_seed(seed)
    x = torch.randn(BATCH, LENGTH, DIM, dtype=torch.float64)
    x[:2, :front_padding] = 0.0  # front padding (the padding embedding is zero) in some rows
    return x


def _close(a: torch.Tensor, b: torch.Tensor, rel: float = 1e-5) -> bool:
    return bool(((a - b).abs() <= rel * b.abs().clamp(min=1.0)).all())


# ---- check 1–2: completeness --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(HEADS))
def test_completeness(kind):
    head, x = _head(kind), _inputs()
    scores, logit, diagnostics = reat_scores(head, x)
    assert scores.shape == (BATCH, LENGTH) and scores.dtype == torch.float64
    assert torch.allclose(logit, head.logit(x).squeeze(1))
    target = logit - head.dense.bias.item()
    assert _close(scores.sum(1), target)
    assert diagnostics["clamped"] == 0
    # the decomposition is not trivially complete: it must not put everything on one position
    assert (scores.abs() > 1e-8).sum(1).min() > 1


def test_completeness_fails_for_a_wrong_pooling_reading():
    """For a max-pooled head, decomposing the *last* state instead would not sum to the logit."""
    head, x = _head("bilstm-max"), _inputs()
    scores, logit, _ = reat_scores(head, x)
    head.pooling = "last"
    wrong, _, _ = reat_scores(head, x)
    head.pooling = "max"
    target = logit - head.dense.bias.item()
    assert _close(scores.sum(1), target)
    assert not _close(wrong.sum(1), target)


def test_lstm_clamped_denominator_keeps_completeness():
    head, x = _head("lstm"), _inputs()
    with torch.no_grad():  # output gate (4th chunk, i f g o) near 0 at every step
        head.rnn.bias_ih_l0[3 * HIDDEN :] = -40.0
    scores, logit, diagnostics = reat_scores(head, x)
    assert diagnostics["clamped"] > 0
    assert torch.isfinite(scores).all()
    assert _close(scores.sum(1), logit - head.dense.bias.item())


# ---- check 3: phrase additivity -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(HEADS))
def test_phrase_additivity(kind):
    head, x = _head(kind), _inputs()
    scores, logit, _ = reat_scores(head, x)
    rng = random.Random(7)
    for _ in range(12):
        start = rng.randrange(LENGTH)
        stop = rng.randrange(start + 1, LENGTH + 1)
        assert _close(phrase_score(head, x, start, stop), scores[:, start:stop].sum(1)), (start, stop)
    # a partition sums to the total, and the whole text is W_c h_T = logit − b
    cuts = [0, 2, 3, 8, 12, LENGTH]
    parts = sum(phrase_score(head, x, a, b) for a, b in itertools.pairwise(cuts))
    assert _close(parts, logit - head.dense.bias.item())
    assert _close(phrase_score(head, x, 0, LENGTH), logit - head.dense.bias.item())


def test_phrase_is_not_the_naive_sum_of_state_differences():
    """Eq. 14 keeps the forgetting factor: for a GRU a phrase score differs from W_c(h_r − h_{q−1})."""
    head, x = _head("gru"), _inputs()
    states, _ = cell_states(head, x)
    h = states[0]["h"]
    w = head.dense.weight[0].detach()
    naive = (h[:, 7] - h[:, 2]) @ w
    assert (phrase_score(head, x, 3, 8) - naive).abs().max() > 1e-3


def test_phrase_rejects_bad_spans():
    head, x = _head("gru"), _inputs()
    for start, stop in [(3, 3), (-1, 2), (4, LENGTH + 1), (5, 2)]:
        with pytest.raises(InputError):
            phrase_score(head, x, start, stop)


# ---- check 5: gate extraction -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(HEADS))
def test_manual_cell_matches_native(kind):
    head, x = _head(kind), _inputs()
    states, diagnostics = cell_states(head, x)
    with torch.no_grad():
        out, _ = head.rnn(x)
    manual = torch.cat([s["h"] for s in states], dim=-1)
    assert (manual - out).abs().max() < 1e-5
    assert diagnostics["max_state_error"] < 1e-5


def test_state_mismatch_raises(monkeypatch):
    head, x = _head("gru"), _inputs()
    native = reat._native

    def perturbed(h, e):
        out, logit = native(h, e)
        return out + 1e-4, logit

    monkeypatch.setattr(reat, "_native", perturbed)
    with pytest.raises(ModelError, match="native hidden states"):
        reat_scores(head, x)


def test_non_recurrent_head_is_rejected():
    head = nn.Sequential(nn.Linear(DIM, 1))
    with pytest.raises(ModelError):
        reat_scores(head, _inputs())


# ---- check 4: NaiveREAT -------------------------------------------------------------------------------


def test_naive_reat_sums_to_the_same_total_but_differs():
    head, x = _head("gru"), _inputs()
    scores, logit, _ = reat_scores(head, x)
    naive, _, _ = naive_reat_scores(head, x)
    states, _ = cell_states(head, x)
    h = states[0]["h"]
    by_hand = torch.diff(torch.cat([torch.zeros_like(h[:, :1]), h], 1), dim=1) @ head.dense.weight[0].detach()
    assert torch.allclose(naive, by_hand, rtol=0, atol=1e-12)
    assert _close(naive.sum(1), logit - head.dense.bias.item())
    assert (states[0]["alpha"] < 1).any()
    assert (naive - scores).abs().max() > 1e-3


# ---- check 6: forgetting ------------------------------------------------------------------------------


def test_gru_forgetting_products_are_monotone():
    head, x = _head("gru"), _inputs()
    states, _ = cell_states(head, x)
    alpha = states[0]["alpha"]
    ones = torch.ones_like(alpha[:, :1])
    # P[t] = Π_{k=t+1..T} α_k for t = 0..T (P[T] = 1); P[t−1] = α_t ⊙ P[t]; alpha[:, t−1] holds α_t
    p = torch.cat([alpha.flip(1).cumprod(1).flip(1), ones], 1)  # p[:, t] = P[t], t = 0..T
    assert (p >= 0).all() and (p <= 1).all()
    assert (p[:, :-1] <= p[:, 1:]).all()
    assert torch.allclose(p[:, :-1], alpha * p[:, 1:])
    assert torch.equal(p[:, -1], ones[:, 0])


# ---- explain_reat on a trained GRU --------------------------------------------------------------------

WORDS = [
    "apple",
    "river",
    "stone",
    "cloud",
    "table",
    "green",
    "quick",
    "lamp",
    "paper",
    "north",
    "window",
    "silver",
    "candle",
    "market",
    "garden",
]


def _corpus(n: int, seed: int) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 9))]
        label = i % 2
        if label:
            words.insert(rng.randrange(len(words) + 1), "golden")
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


@pytest.fixture(scope="module")
def trained_gru():
    texts, labels = _corpus(400, seed=3)
    trained, result = train_model(texts, labels, TrainSettings(model="gru", epochs=4, max_len=16, seed=5))
    assert result.validation_accuracy > 0.9
    return trained


def test_explain_reat_on_trained_gru(trained_gru):
    texts, labels = _corpus(40, seed=11)
    texts.append("")  # all padding: no tokens, still explained
    labels.append(0)
    result = explain_reat(trained_gru, texts, batch_size=16)
    assert result.method == "reat"
    assert len(result.relevance) == len(texts)
    for text, scores in zip(texts, result.relevance, strict=True):
        assert scores.shape == (len(text.split()),)
    np.testing.assert_allclose(result.predictions, predict(trained_gru.model, trained_gru.encode(texts)).numpy())
    assert result.expected_value == pytest.approx(float(trained_gru.model.head.dense.bias.detach()))
    assert result.max_additivity_error < 1e-4
    for text, label, scores in zip(texts, labels, result.relevance, strict=True):
        if label:
            tokens = text.split()
            assert tokens[int(np.argmax(scores))] == "golden", (text, scores)


def test_explain_reat_drops_front_padding_and_keeps_completeness(trained_gru):
    texts = ["golden apple river", "stone cloud table green quick lamp paper north window silver"]
    result = explain_reat(trained_gru, texts)
    ids = trained_gru.encode(texts)
    model = trained_gru.model
    with torch.no_grad():
        emb = model.embedding(ids)
        full, logit, _ = reat_scores(model.head, emb)
    bias = float(model.head.dense.bias.detach())
    for row, scores, n in zip(full, result.relevance, (3, 10), strict=True):
        assert scores.shape == (n,)
        np.testing.assert_allclose(scores, row[-n:].numpy())  # front padding: tokens are at the end
    # completeness needs the padding positions too: the tokens alone do not sum to logit − b
    np.testing.assert_allclose(full.sum(1).numpy(), (logit - bias).numpy(), rtol=0, atol=1e-4)
    assert abs(result.relevance[0].sum() - float(logit[0] - bias)) > 1e-6


def test_explain_reat_rejects_bad_batch_size(trained_gru):
    with pytest.raises(InputError):
        explain_reat(trained_gru, ["golden apple"], batch_size=0)


@pytest.mark.parametrize("kind", ["gru", "lstm", "bigru-last", "bilstm-max"])
def test_alpha_is_the_papers_gate(kind):
    """α from the native states, independently: GRU α_t = z_t; LSTM α_t = f_t o_t / o_{t−1} (o_0 = 1)."""
    head, x = _head(kind), _inputs()
    states, _ = cell_states(head, x)
    with torch.no_grad():
        out, _ = head.rnn(x)
    for direction, state in enumerate(states):
        suffix = "_reverse" if state["reverse"] else ""
        rnn = head.rnn
        w_ih, w_hh = getattr(rnn, f"weight_ih_l0{suffix}"), getattr(rnn, f"weight_hh_l0{suffix}")
        b_ih, b_hh = getattr(rnn, f"bias_ih_l0{suffix}"), getattr(rnn, f"bias_hh_l0{suffix}")
        h = out[..., direction * HIDDEN : (direction + 1) * HIDDEN]
        zero = torch.zeros_like(h[:, :1])
        # the state the cell read at each step: h_{t−1} forward, h_{t+1} in reverse
        before = torch.cat([h[:, 1:], zero], 1) if state["reverse"] else torch.cat([zero, h[:, :-1]], 1)
        with torch.no_grad():
            gates = x @ w_ih.T + b_ih + before @ w_hh.T + b_hh
        if HEADS[kind][0] == "gru":
            expected = torch.sigmoid(gates[..., HIDDEN : 2 * HIDDEN])
        else:
            f = torch.sigmoid(gates[..., HIDDEN : 2 * HIDDEN])
            o = torch.sigmoid(gates[..., 3 * HIDDEN :])
            one = torch.ones_like(o[:, :1])
            o_before = torch.cat([o[:, 1:], one], 1) if state["reverse"] else torch.cat([one, o[:, :-1]], 1)
            expected = f * o / o_before
        assert torch.allclose(state["alpha"], expected, rtol=1e-9, atol=1e-9)
