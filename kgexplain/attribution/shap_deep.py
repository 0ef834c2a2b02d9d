"""SHAP DeepExplainer at the embedding output, with the main paper's reference set.

The paper's reference is "the average of the first 500 instances from the respective training sets".
``background="mean"`` (default) uses exactly that: one reference, the element-wise mean of the first 500
embedded training texts. ``background="full"`` gives DeepExplainer all 500 as background instead (it
then averages over them; 500 times slower). ``background="zero"`` is one all-zero reference (the padding
embedding): DeepLIFT's rescale rule with its usual reference, which is how ``--method deeplift`` runs. A token's relevance is the sum of its SHAP values over the
embedding dimensions; padding positions are dropped.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError, ModelError
from ..models.training import TrainedModel, predict
from ..models.vocabulary import PAD

__all__ = ["Attribution", "explain_shap", "REFERENCE_SIZE"]

log = logging.getLogger(__name__)

REFERENCE_SIZE = 500
ADDITIVITY_TOLERANCE = 1e-3


@dataclass
class Attribution:
    method: str
    relevance: list[np.ndarray]      # per document: one score per non-padding token, in order
    predictions: np.ndarray          # P(positive) per document
    expected_value: float            # E[f(reference)]
    max_additivity_error: float      # max over documents of |Σφ − (f(x) − E[f(ref)])|
    reference: str


def explain_shap(trained: TrainedModel, texts: list[str], reference_texts: list[str], *,
                 background: str = "mean", batch_size: int = 64, device: str = "cpu",
                 on_batch: Callable[[int], None] | None = None) -> Attribution:
    import shap  # imported here: shap is slow to import and only this stage needs it

    if background not in ("mean", "full", "zero"):
        raise InputError(f"unknown SHAP background {background!r}; use mean, full or zero")
    if not reference_texts:
        raise InputError("SHAP needs reference texts (the first training texts); none were given")
    model = trained.model.to(device).eval()
    embed, head = model.embedding, model.head
    ref_ids = trained.encode(reference_texts[:REFERENCE_SIZE]).to(device)
    with torch.no_grad():
        ref_emb = embed(ref_ids)
    if background == "zero":
        reference = torch.zeros_like(ref_emb[:1])
    else:
        reference = ref_emb.mean(0, keepdim=True) if background == "mean" else ref_emb
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.DeepExplainer(head, reference)
    expected = float(np.asarray(explainer.expected_value).reshape(-1)[0])
    ids = trained.encode(texts)
    probs = predict(model, ids).numpy()
    relevance: list[np.ndarray] = []
    worst = 0.0
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size].to(device)
        with torch.no_grad():
            emb = embed(batch)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = explainer.shap_values(emb, check_additivity=False)
        except Exception as exc:  # shap raises bare exceptions for unsupported layers
            raise ModelError(f"SHAP DeepExplainer failed on the {trained.name} model: {exc}") from exc
        values = np.asarray(values).reshape(emb.shape[0], emb.shape[1], emb.shape[2])
        per_position = values.sum(axis=2)
        error = np.abs(per_position.sum(axis=1) - (probs[start:start + len(batch)] - expected))
        worst = max(worst, float(error.max()))
        mask = (batch != PAD).cpu().numpy()
        relevance.extend(row[m] for row, m in zip(per_position, mask, strict=True))
        if on_batch:
            on_batch(len(batch))
    if worst > ADDITIVITY_TOLERANCE:
        log.warning("SHAP additivity off by up to %.2g (tolerance %g): relevance may be unfaithful",
                    worst, ADDITIVITY_TOLERANCE)
    described = ("zero embeddings" if background == "zero" else
                 f"{background} of the first {min(len(reference_texts), REFERENCE_SIZE)} training texts")
    return Attribution("shap-deep", relevance, probs, expected, worst, described)
