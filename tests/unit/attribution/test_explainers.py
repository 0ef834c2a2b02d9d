"""Faithfulness of every explainer on every model it applies to (algorithms.md §1.5, §4.5), and the
errors for pairs that do not apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgexplain.attribution import deeplift_batched
from kgexplain.attribution.base import Attribution, reference_embeddings
from kgexplain.attribution.explainers import METHODS, check_applicable, explain
from kgexplain.attribution.shap_deep import explain_shap
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
    model, _ = train_model(TEXTS[:200], LABELS[:200], TrainSettings(model=request.param, epochs=2, max_len=64, seed=3))
    return model


def _outputs(trained: TrainedModel, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    ids = trained.encode(texts)
    with torch.no_grad():
        emb = trained.model.embedding(ids)
        return trained.model.head(emb).squeeze(1).numpy(), emb.numpy()


@pytest.mark.slow
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


@pytest.mark.slow
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


# --- the batched DeepExplainer against shap's own ------------------------------------------------------------

#: Documents of every length: short and long texts, one word, none, and one longer than max_len (64).
SHAP_DOCS = TEXTS[200:214] + ["golden", "", " ".join(["w3"] * 80), "grey w4 w5 " * 12]


def assert_same_as_shap(
    trained: TrainedModel, ours: Attribution, theirs: Attribution, reference_texts: list[str], background: str
) -> None:
    """Per token, |ours − shap| ≤ 1e-6 + max|φ|·(1e-5 + 2⁻²³/|Δf|) in each document, where Δf is the output's
    distance to the nearest reference output: float32. Both sides round the sigmoid's multiplier Δσ/Δz to
    about 2⁻²⁴/|Δσ| relative, and the rescale rules' small Δx to about 1e-7 of the activations; shap's own
    values differ from a float64 run of shap by as much."""
    if background == "zero":
        ref_out = np.asarray([ours.expected_value])
    else:
        emb = reference_embeddings(trained, reference_texts, "cpu")
        emb = emb.mean(0, keepdim=True) if background == "mean" else emb
        with torch.no_grad():
            ref_out = trained.model.head(emb).reshape(-1).numpy()
    assert ours.expected_value == pytest.approx(theirs.expected_value, abs=1e-7)
    assert np.allclose(ours.predictions, theirs.predictions, atol=1e-6)
    assert ours.max_additivity_error == pytest.approx(theirs.max_additivity_error, abs=1e-5)
    assert [len(r) for r in ours.relevance] == [len(r) for r in theirs.relevance]
    for mine, shaps, f in zip(ours.relevance, theirs.relevance, ours.predictions, strict=True):
        if not len(shaps):
            continue
        gap = float(np.abs(f - ref_out).min())
        bound = 1e-6 + float(np.abs(shaps).max()) * (1e-5 + 2.0**-23 / max(gap, 1e-12))
        assert float(np.abs(mine - shaps).max()) <= bound


@pytest.mark.parametrize("background", ["mean", "zero", "full"])
def test_batched_shap_equals_shap_deep_explainer(trained: TrainedModel, background: str) -> None:
    """The batched engine gives shap.DeepExplainer's values on every model we ship, with every background
    (the recurrent ones included, where shap takes plain gradients inside the cell and neither adds up)."""
    refs = TEXTS[:200] if background != "full" else TEXTS[:5]
    theirs = explain_shap(trained, SHAP_DOCS, refs, background=background, engine="shap")
    ours = explain_shap(trained, SHAP_DOCS, refs, background=background, engine="batched", batch_size=5)
    assert_same_as_shap(trained, ours, theirs, refs, background)
    if trained.name == "cnn":
        assert ours.max_additivity_error < 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("background", ["mean", "zero", "full"])
def test_batched_shap_equals_shap_to_1e_6_in_float64(trained: TrainedModel, background: str) -> None:
    """Issue #17's bar, "equal to 1e-6 per token", taken literally: run in float64, where neither side's
    rounding hides a difference in the rules, the batched engine and shap.DeepExplainer agree per token to
    1e-6 (measured: ~1e-16) on every model we ship. In float32 they differ by rounding only (the bound of
    ``assert_same_as_shap``)."""
    refs = TEXTS[:200] if background != "full" else TEXTS[:5]
    trained.model.double()
    try:
        theirs = explain_shap(trained, SHAP_DOCS, refs, background=background, engine="shap")
        ours = explain_shap(trained, SHAP_DOCS, refs, background=background, engine="batched", batch_size=5)
    finally:
        trained.model.float()
    assert abs(ours.expected_value - theirs.expected_value) <= 1e-12
    for mine, shaps in zip(ours.relevance, theirs.relevance, strict=True):
        assert len(mine) == len(shaps)
        if len(shaps):
            assert float(np.abs(np.asarray(mine, np.float64) - np.asarray(shaps, np.float64)).max()) <= 1e-6
    assert any(float(np.abs(r).max()) > 1e-3 for r in theirs.relevance if len(r))  # not all zeros


@pytest.fixture(scope="module")
def painters_sized() -> tuple[TrainedModel, list[str]]:
    """The main paper's CNN at its full size (max_len 500, embedding 50, 50 filters of 11 and 5), trained
    for an epoch on texts of 5 to 600 words, and documents of lengths spread over that range."""
    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in range(60)]
    texts, labels = [], []
    for i in range(96):
        toks = list(rng.choice(words, int(rng.integers(5, 600))))
        toks[int(rng.integers(0, min(len(toks), 400)))] = "golden" if i % 2 else "grey"
        texts.append(" ".join(toks))
        labels.append(i % 2)
    torch.manual_seed(0)
    model, _ = train_model(texts, labels, TrainSettings(model="cnn", epochs=1, max_len=500, seed=5))
    return model, texts


@pytest.mark.parametrize("background", ["mean", "zero", "full"])
def test_batched_shap_equals_shap_on_the_painters_sized_cnn(
    painters_sized: tuple[TrainedModel, list[str]], background: str
) -> None:
    trained, texts = painters_sized
    assert trained.max_len == 500
    docs = [texts[i] for i in (0, 1, 2, 5, 8)] + ["golden w1", " ".join(["w7"] * 520)]
    refs = texts if background != "full" else texts[:3]
    theirs = explain_shap(trained, docs, refs, background=background, engine="shap")
    ours = explain_shap(trained, docs, refs, background=background, engine="batched", batch_size=3)
    assert_same_as_shap(trained, ours, theirs, refs, background)
    assert ours.max_additivity_error < 1e-5


@pytest.mark.slow
def test_batched_shap_equals_shap_on_the_painters_sized_cnn_in_float64(
    painters_sized: tuple[TrainedModel, list[str]],
) -> None:
    """The painters-sized CNN in float64: the batched engine is shap's DeepExplainer to 1e-6 per token, with the
    mean reference and with the zero reference (``deeplift``)."""
    trained, texts = painters_sized
    docs = [texts[i] for i in (0, 1, 2, 5, 8)] + ["golden w1", " ".join(["w7"] * 520)]
    trained.model.double()
    try:
        for background in ("mean", "zero"):
            theirs = explain_shap(trained, docs, texts, background=background, engine="shap")
            ours = (
                explain_shap(trained, docs, texts, background="mean", engine="batched", batch_size=3)
                if background == "mean"
                else explain(trained, docs, texts, "deeplift")
            )
            gap = max(
                float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
                for a, b in zip(ours.relevance, theirs.relevance, strict=True)
            )
            assert gap <= 1e-6, (background, gap)
    finally:
        trained.model.float()


def test_deeplift_equals_shap_with_a_zero_reference(trained: TrainedModel) -> None:
    if trained.name != "cnn":
        return
    theirs = explain_shap(trained, SHAP_DOCS, TEXTS[:200], background="zero", engine="shap")
    ours = explain(trained, SHAP_DOCS, TEXTS[:200], "deeplift")
    assert ours.method == "deeplift" and ours.reference == "zero embeddings"
    assert_same_as_shap(trained, ours, theirs, TEXTS[:200], "zero")


def test_batched_shap_in_chunks_of_references(trained: TrainedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many references are taken a chunk at a time (and V made per chunk): the same values."""
    if trained.name != "cnn":
        return
    whole = explain_shap(trained, SHAP_DOCS, TEXTS[:7], background="full", engine="batched")
    monkeypatch.setattr(deeplift_batched, "PAIR_ELEMENTS", 1)
    one_by_one = explain_shap(trained, SHAP_DOCS, TEXTS[:7], background="full", engine="batched")
    monkeypatch.setattr(deeplift_batched, "V_ELEMENTS", 1)
    made_per_chunk = explain_shap(trained, SHAP_DOCS, TEXTS[:7], background="full", engine="batched")
    for a, b, c in zip(whole.relevance, one_by_one.relevance, made_per_chunk.relevance, strict=True):
        assert np.allclose(a, b, atol=1e-7) and np.allclose(a, c, atol=1e-7)


def test_batched_shap_reports_rows_in_document_order(trained: TrainedModel) -> None:
    """The CNN's batches are sorted by length, but the callbacks see every document once, in order."""
    rows: list[np.ndarray] = []
    predictions: list[np.ndarray] = []
    counted: list[int] = []
    docs = SHAP_DOCS * 3
    result = explain_shap(
        trained,
        docs,
        TEXTS[:200],
        batch_size=4,
        on_batch=counted.append,
        on_rows=lambda r, p: (rows.extend(r), predictions.append(p)),
    )
    assert sum(counted) == len(docs)
    assert len(rows) == len(docs)
    assert all(np.array_equal(a, b) for a, b in zip(rows, result.relevance, strict=True))
    assert np.array_equal(np.concatenate(predictions), result.predictions)
    assert np.allclose(result.predictions, _outputs(trained, docs)[0], atol=1e-6)


def test_shap_engine_choice(trained: TrainedModel) -> None:
    with pytest.raises(InputError, match="unknown SHAP engine 'fast'"):
        explain_shap(trained, SHAP_DOCS[:1], TEXTS[:10], engine="fast")
    assert deeplift_batched.supports(trained)
