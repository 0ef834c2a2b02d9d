"""The paper's CNN and SHAP at its embedding output: shapes, additivity, grounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgexplain.attribution.grounding import Lexicon, ground
from kgexplain.attribution.shap_deep import explain_shap
from kgexplain.errors import InputError
from kgexplain.models.cnn import TextCNN
from kgexplain.models.training import TrainedModel, TrainSettings, build_model, resolve_device, train_model
from kgexplain.models.vocabulary import Vocabulary
from kgexplain.text import tokenize, tokenize_cased


def test_cnn_shapes_match_the_paper() -> None:
    """algorithms.md §1.5 check 9: length 500 gives 490 → 49 → 45 → 1."""
    model = TextCNN(vocab_size=30, max_len=500)
    assert model.head.shapes(500) == [490, 49, 45, 1]
    out = model(torch.randint(0, 30, (3, 500)))
    assert out.shape == (3, 1)
    assert torch.all((out > 0) & (out < 1))


def test_shap_additivity_on_a_random_cnn() -> None:
    """Check 1: Σ_t φ(t) = f(x) − E[f(reference)], to 1e-3, for each document (padding included)."""
    texts = [" ".join(f"w{(i * 7 + j) % 40}" for j in range(20 + i % 15)) for i in range(24)]
    vocab = Vocabulary.build([tokenize(t) for t in texts])
    model = TextCNN(len(vocab), max_len=64).eval()
    trained = TrainedModel("cnn", model, vocab, 64)
    attribution = explain_shap(trained, texts[:6], texts, batch_size=4)
    assert attribution.max_additivity_error < 1e-3
    ids = trained.encode(texts[:6])
    with torch.no_grad():
        probs = model(ids).squeeze(1).numpy()
        reference = model.embedding(trained.encode(texts)).mean(0, keepdim=True)
        expected = float(model.head(reference).squeeze())
    assert attribution.expected_value == pytest.approx(expected, abs=1e-6)
    assert np.allclose(attribution.predictions, probs, atol=1e-6)
    assert [len(r) for r in attribution.relevance] == [min(64, len(tokenize(t))) for t in texts[:6]]


@pytest.mark.slow
def test_training_learns_a_keyword_and_shap_points_at_it() -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    texts, labels = [], []
    for i in range(700):
        toks = list(rng.choice(words, 25))
        label = i % 2
        toks[int(rng.integers(0, 25))] = "golden" if label else "grey"
        texts.append(" ".join(toks))
        labels.append(label)
    trained, result = train_model(
        texts[:600], labels[:600], TrainSettings(epochs=10, max_len=64, seed=1), texts[600:], labels[600:]
    )
    assert result.test_accuracy is not None and result.test_accuracy > 0.9
    attribution = explain_shap(trained, texts[600:620], texts[:600])
    for text, rel in zip(texts[600:620], attribution.relevance, strict=True):
        toks = tokenize(text)
        top = toks[int(np.argmax(np.abs(rel)))]
        assert top in ("golden", "grey")


def test_training_passes_over_the_data_once_per_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each epoch: one pass over the fit split and one over the validation split, as a plain loop with a
    held-out check makes; the reported accuracies come from those passes, not from extra ones."""
    rows: list[int] = []
    forward = TextCNN.forward
    monkeypatch.setattr(TextCNN, "forward", lambda self, ids: (rows.append(len(ids)), forward(self, ids))[1])
    texts = [" ".join(f"w{(i * 7 + j) % 40}" for j in range(20 + i % 15)) for i in range(100)]
    _, result = train_model(texts, [i % 2 for i in range(100)], TrainSettings(epochs=3, max_len=64, patience=5))
    assert result.epochs_run == 3
    assert sum(rows) == 3 * 100
    best = result.history[result.best_epoch - 1]
    assert result.train_accuracy == best["train_accuracy"]
    assert result.validation_accuracy == best["validation_accuracy"]


def test_bad_model_and_device_requests() -> None:
    with pytest.raises(InputError, match="unknown model 'transformer'"):
        build_model("transformer", 10, 64)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA device"):
            resolve_device("cuda")
    with pytest.raises(InputError, match="unknown device"):
        resolve_device("tpu")


def test_grounding_longest_match_and_ties() -> None:
    labels = [
        ("Q1", "New York"),
        ("Q2", "New York City"),
        ("Q3", "York"),
        ("Q4", "the"),
        ("Q5", "Paris"),
        ("Q6", "Paris"),
        ("Q7", "of 12"),
        ("Q8", "Italian"),
    ]
    lexicon = Lexicon.build(labels, {"Q5": 3, "Q6": 10})
    assert "the" not in lexicon.entries and "of 12" not in lexicon.entries  # stopword and digit keys dropped
    assert lexicon.ambiguous == 1
    mentions = ground(tokenize("He moved from New York City to Paris and then York, an Italian painter."), lexicon)
    assert [(m.surface, m.entity) for m in mentions] == [
        ("new york city", "Q2"),
        ("paris", "Q6"),
        ("york", "Q3"),
        ("italian", "Q8"),
    ]
    assert mentions[0].start == 3 and mentions[0].end == 6


def test_grounding_can_require_a_capital_letter() -> None:
    lexicon = Lexicon.build([("Q1", "Life"), ("Q2", "Italian"), ("Q3", "Baroque")])
    text = "Life of an Italian painter; his life was baroque, then Baroque."
    plain = ground(tokenize(text), lexicon)
    cased = ground(tokenize(text), lexicon, tokenize_cased(text))
    assert [m.surface for m in plain] == ["life", "italian", "life", "baroque", "baroque"]
    assert [(m.surface, m.start) for m in cased] == [("life", 0), ("italian", 3), ("baroque", 10)]
