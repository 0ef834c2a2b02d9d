"""Faithfulness of every explainer on every model it applies to (algorithms.md §1.5, §4.5), and the
errors for pairs that do not apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgexplain.attribution.explainers import METHODS, check_applicable, explain
from kgexplain.errors import InputError
from kgexplain.models.training import TrainedModel, TrainSettings, train_model
from kgexplain.text import tokenize

MODELS = ("cnn", "bilstm", "lstm", "gru")


def _texts(n: int, seed: int = 0) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(30)]
    texts, labels = [], []
    for i in range(n):
        toks = list(rng.choice(words, 20 + i % 10))
        toks[int(rng.integers(0, 20))] = "golden" if i % 2 else "grey"
        texts.append(" ".join(toks))
        labels.append(i % 2)
    return texts, labels


TEXTS, LABELS = _texts(240)


@pytest.fixture(scope="module", params=MODELS)
def trained(request: pytest.FixtureRequest) -> TrainedModel:
    torch.manual_seed(0)
    model, _ = train_model(TEXTS[:200], LABELS[:200], TrainSettings(model=request.param, epochs=2, max_len=64,
                                                                    seed=3))
    return model


def _outputs(trained: TrainedModel, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    ids = trained.encode(texts)
    with torch.no_grad():
        emb = trained.model.embedding(ids)
        return trained.model.head(emb).squeeze(1).numpy(), emb.numpy()


def test_ig_completeness(trained: TrainedModel) -> None:
    """§4.5 check 1: |Σ A − (F(x) − F(0))| ≤ 0.01·|F(x) − F(0)| + 1e-4 at 300 steps, per document."""
    docs = TEXTS[200:212]
    result = explain(trained, docs, TEXTS[:200], "ig", n_steps=300)
    out, _ = _outputs(trained, docs)
    with torch.no_grad():
        base = float(trained.model.head(torch.zeros(1, trained.max_len, trained.model.embedding.embedding_dim)))
    for scores, f in zip(result.relevance, out, strict=True):
        # padding positions carry exactly zero IG attribution (their input equals the zero baseline)
        assert abs(scores.sum() - (f - base)) <= 0.01 * abs(f - base) + 1e-4


@pytest.mark.parametrize("method", ["shap", "deeplift"])
def test_rescale_methods_sum_to_delta(trained: TrainedModel, method: str) -> None:
    """§1.5 check 1 and DeepLIFT summation-to-delta: Σφ = f(x) − f(reference), to 1e-5, where they apply."""
    if trained.name != "cnn":
        with pytest.raises(InputError, match="does not apply to the"):
            explain(trained, TEXTS[200:204], TEXTS[:200], method)
        return
    result = explain(trained, TEXTS[200:220], TEXTS[:200], method)
    assert result.max_additivity_error < 1e-5


def test_gradient_shap_adds_up_in_expectation(trained: TrainedModel) -> None:
    """Expected gradients sum to f(x) − E[f(background)] in expectation: the error falls with samples and is
    below 0.08 (probability units) at 400 samples."""
    docs = TEXTS[200:206]
    few = explain(trained, docs, TEXTS[:200], "gradient-shap", n_samples=8)
    many = explain(trained, docs, TEXTS[:200], "gradient-shap", n_samples=400)
    assert many.max_additivity_error < 0.08
    assert many.max_additivity_error < few.max_additivity_error


def test_scores_align_with_tokens(trained: TrainedModel) -> None:
    """One score per non-padding token, in text order, whatever side the model pads on."""
    docs = ["golden w1 w2", " ".join(["w3"] * 80)]
    result = explain(trained, docs, TEXTS[:200], "ig", n_steps=16)
    assert [len(r) for r in result.relevance] == [3, min(80, trained.max_len)]
    assert np.allclose(result.predictions, _outputs(trained, docs)[0], atol=1e-6)


def test_applicability_and_fallback() -> None:
    assert set(METHODS) == {"shap", "gradient-shap", "ig", "deeplift", "lrp", "reat"}
    with pytest.raises(InputError, match="unknown attribution method 'lime'"):
        check_applicable("cnn", "lime")
    with pytest.raises(InputError, match="reat does not apply to the cnn model"):
        check_applicable("cnn", "reat")
    with pytest.raises(InputError, match="use one of gradient-shap, ig, reat"):
        check_applicable("bilstm", "shap")
    torch.manual_seed(0)
    model, _ = train_model(TEXTS[:100], LABELS[:100], TrainSettings(model="lstm", epochs=1))
    result = explain(model, TEXTS[200:203], TEXTS[:100], "shap", fallback="ig")
    assert result.method == "ig"
    assert len(result.relevance) == 3 and len(result.relevance[0]) == len(tokenize(TEXTS[200]))
