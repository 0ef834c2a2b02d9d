"""Word relevance for any model that maps texts to class probabilities: shap's Partition explainer over a
text masker whose tokens are kgexplain's words.

The masker (``shap.maskers.Text``) is given ``WordTokenizer``: its tokens are the ``\\w+`` words of
``text.tokenize``, one for one, so shap's values need no mapping. Each word owns the characters up to the
next word (the first also those before it), so the unmasked text is the text itself (up to whitespace),
and a masked run of words becomes one mask string (``...``, shap's default). The explained output is
P(positive class); shap's Owen values add up to f(x) − f(all words masked), which ``Attribution`` reports
as the additivity error against the prediction for the original text. ``max_evals`` is the budget of model
calls per document: below about 2 × words, shap stops refining the partition tree early and coarser
groups of words share their value.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..errors import InputError
from ..text import word_spans
from .base import Attribution, OnBatch, OnRows

__all__ = ["WordTokenizer", "explain_partition", "DEFAULT_MAX_EVALS"]

DEFAULT_MAX_EVALS = 500  # shap's own default


class WordTokenizer:
    """The minimal Hugging Face tokenizer interface ``shap.maskers.Text`` calls: kgexplain's words with their
    character offsets. A text without words is one token (shap looks up its mask string that way)."""

    def __call__(self, text: str, return_offsets_mapping: bool = False, **_: object) -> dict[str, list]:
        spans = word_spans(text)
        if spans:
            spans[0] = (0, spans[0][1])
            spans[-1] = (spans[-1][0], len(text))
        elif text:
            spans = [(0, len(text))]
        out: dict[str, list] = {"input_ids": list(range(1, len(spans) + 1))}
        if return_offsets_mapping:
            out["offset_mapping"] = spans
        return out


def explain_partition(
    predict: Callable[[list[str]], np.ndarray],
    texts: list[str],
    *,
    positive: int = 1,
    max_evals: int = DEFAULT_MAX_EVALS,
    batch_size: int = 64,
    covered: Callable[[list[str]], list[int]] | None = None,
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
) -> Attribution:
    """Word relevance for P(class ``positive``) of ``predict`` (texts → (texts, classes) probabilities).
    ``covered`` (a model with a length limit) gives the words each text's model reads; rows stop there."""
    import shap

    if max_evals < 3:
        raise InputError(f"--max-evals must be at least 3, got {max_evals}")

    def output(masked: np.ndarray) -> np.ndarray:
        return predict([str(s) for s in np.asarray(masked).reshape(-1)])[:, positive]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        masker = shap.maskers.Text(WordTokenizer())
        explainer = shap.explainers.Partition(output, masker)
    relevance: list[np.ndarray] = []
    predictions: list[np.ndarray] = []
    truncated: dict[int, tuple[int, int]] = {}
    worst, bases = 0.0, []
    step = max(1, batch_size)
    for start in range(0, len(texts), step):
        chunk = texts[start : start + step]
        fx = output(np.asarray(chunk, dtype=object))
        limits = covered(chunk) if covered is not None else None
        rows = []
        for k, text in enumerate(chunk):
            n_words = len(word_spans(text))
            if n_words == 0:
                rows.append(np.zeros(0))
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                explained = explainer([text], max_evals=max_evals, batch_size=max(max_evals, 64), silent=True)
            values = np.asarray(explained.values[0], dtype=np.float64).reshape(-1)
            base = float(np.asarray(explained.base_values).reshape(-1)[0])
            bases.append(base)
            worst = max(worst, abs(float(values.sum()) + base - float(fx[k])))
            if limits is not None and limits[k] < n_words:
                truncated[start + k] = (limits[k], n_words)
                values = values[: limits[k]]
            rows.append(values)
        relevance.extend(rows)
        predictions.append(fx)
        if on_rows:
            on_rows(rows, fx.copy())
        if on_batch:
            on_batch(len(chunk))
    return Attribution(
        "partition",
        relevance,
        np.concatenate(predictions) if predictions else np.zeros(0),
        float(np.mean(bases)) if bases else 0.0,
        worst,
        f"words masked with '{masker.mask_token}' (Owen values, at most {max_evals} model calls per document)",
        truncated,
    )
