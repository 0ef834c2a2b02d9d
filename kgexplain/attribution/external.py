"""Word relevance for a user's own model (``models.external``): gradient methods at a transformer's input
embeddings (``attribution.transformers``), or shap's model-agnostic Partition explainer over words
(``attribution.partition``) for any model. Either way, one row per document aligned to
``text.tokenize(text)``, cut where the model stops reading."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..models.external import ExternalModel, check_method
from ..text import word_spans
from .base import Attribution, OnBatch, OnRows
from .partition import DEFAULT_MAX_EVALS, explain_partition

__all__ = ["explain_external", "covered_words"]


def covered_words(model: ExternalModel, texts: list[str]) -> list[int]:
    """Per text, how many of its words the model reads: all of them, unless a transformer cuts the text."""
    if model.transformer is None:
        return [len(word_spans(t)) for t in texts]
    from .transformers import encode

    return encode(model, texts).covered


def explain_external(
    model: ExternalModel,
    texts: list[str],
    method: str,
    *,
    positive: int,
    batch_size: int = 64,
    aggregation: str = "sum",
    max_evals: int = DEFAULT_MAX_EVALS,
    steps: int | None = None,
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
) -> Attribution:
    """Word relevance of P(class ``positive``) for every text by ``method`` (``check_method`` says which
    apply to which kind of model). ``steps``: integrated gradients' steps (default 64) or GradientSHAP's
    samples (default 50)."""
    check_method(model.spec.kind, method)
    if steps is not None and steps < 1:
        raise InputError(f"--steps must be at least 1, got {steps}")
    if method == "partition":

        def predict(batch: list[str]) -> np.ndarray:
            return model.probabilities(batch, batch_size=max(256, batch_size))

        covered = (lambda chunk: covered_words(model, chunk)) if model.transformer is not None else None
        return explain_partition(
            predict,
            texts,
            positive=positive,
            max_evals=max_evals,
            batch_size=batch_size,
            covered=covered,
            on_batch=on_batch,
            on_rows=on_rows,
        )
    from .transformers import explain_transformer

    options = {} if steps is None else {"n_steps": steps} if method == "ig" else {"n_samples": steps}
    return explain_transformer(
        model,
        texts,
        method,
        positive=positive,
        batch_size=min(batch_size, 32),
        aggregation=aggregation,
        on_batch=on_batch,
        on_rows=on_rows,
        **options,
    )
