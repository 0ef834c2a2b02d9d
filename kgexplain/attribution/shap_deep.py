"""SHAP DeepExplainer at the embedding output, with the main paper's reference set.

The paper (App. A.2): "As reference for the SHAP/DeepExplainer explanations for both models trained on
Wikipedia abstracts we used the average of the first 500 instances from the respective training sets."
``background`` (``parse_background``) reads that two ways, and more:

- ``"mean"`` (default): one reference, the element-wise mean of the first ``REFERENCE_SIZE`` (500) embedded
  training texts.
- ``"full"``: DeepExplainer's background is those 500 texts themselves, and it averages its values over
  them (shap's reading of "the average of the first 500 instances"; the ``paper`` preset's).
- an integer ``N`` (``"50"``, ``50``): the first ``N`` training texts as ``N`` references, averaged the same
  way (``"500"`` is ``"full"``). N references cost N times one reference's work.
- ``"zero"``: one all-zero reference (the padding embedding): DeepLIFT's rescale rule with its usual
  reference, which is how ``--method deeplift`` runs.

A token's relevance is the sum of its SHAP values over the embedding dimensions; padding is dropped.

``engine`` (``ENGINES``): kgexplain's own CNN and recurrent heads are explained by ``deeplift_batched``,
which gives ``shap.DeepExplainer``'s values (to float32 rounding) a whole batch per pass, and N references
at N times one reference's work rather than N rows per document in a per-document loop; other models, or
``engine="shap"``, run ``shap.DeepExplainer`` itself, one document per backward pass. shap stays the
reference the tests hold the batched values to.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import torch

from ..errors import InputError, ModelError
from ..models.training import TrainedModel
from .base import (
    ADDITIVITY_TOLERANCE,
    REFERENCE_SIZE,
    Attribution,
    OnBatch,
    OnRows,
    batched_attribution,
)
from .deeplift_batched import explain_batched, supports

__all__ = ["Attribution", "BACKGROUNDS", "ENGINES", "explain_shap", "parse_background", "REFERENCE_SIZE"]

log = logging.getLogger(__name__)

#: ``auto``: ``deeplift_batched`` where it applies, else shap; ``batched``: ``deeplift_batched`` or an error;
#: ``shap``: ``shap.DeepExplainer``.
ENGINES = ("auto", "batched", "shap")
#: The named backgrounds; an integer N (as a string or an int) is the first N training texts.
BACKGROUNDS = ("mean", "full", "zero")


def parse_background(background: str | int) -> tuple[str, int]:
    """``(kind, references)`` of a ``background``: ``("mean", 500)``, ``("zero", 1)``, ``("full", 500)`` for
    ``"full"`` or ``"500"``, ``("full", N)`` for an integer ``N`` ≥ 1; an ``InputError`` for anything else."""
    text = str(background).strip().lower()
    if text == "mean":
        return "mean", REFERENCE_SIZE
    if text == "zero":
        return "zero", 1
    if text == "full":
        return "full", REFERENCE_SIZE
    try:
        count = int(text)
    except ValueError:
        count = 0
    else:
        if count >= 1:
            return "full", count
    raise InputError(
        f"unknown SHAP background {background!r}; use mean, zero, full (the first {REFERENCE_SIZE} "
        "training texts as references) or a number N ≥ 1 (the first N)"
    )


def explain_shap(
    trained: TrainedModel,
    texts: list[str],
    reference_texts: list[str],
    *,
    background: str | int = "mean",
    batch_size: int = 64,
    device: str = "cpu",
    on_batch: OnBatch = None,
    on_rows: OnRows = None,
    engine: str = "auto",
) -> Attribution:
    kind, count = parse_background(background)
    if engine not in ENGINES:
        raise InputError(f"unknown SHAP engine {engine!r}; use {', '.join(ENGINES)}")
    if not reference_texts and kind != "zero":
        raise InputError("SHAP needs reference texts (the first training texts); none were given")
    model = trained.model.to(device).eval()
    head = model.head
    if kind == "zero":  # one all-zero reference: no need to embed the reference texts
        reference = torch.zeros(
            1,
            trained.max_len,
            model.embedding.embedding_dim,  # type: ignore[arg-type, union-attr]
            device=device,
            dtype=model.embedding.weight.dtype,  # type: ignore[arg-type, union-attr]
        )
        described = "zero embeddings"
    else:
        chosen = reference_texts[:count]
        if kind == "full" and len(chosen) < count:
            log.warning(
                "SHAP background of %d references asked for, but only %d training texts: using %d",
                count,
                len(chosen),
                len(chosen),
            )
        embedding: torch.nn.Module = model.embedding  # type: ignore[assignment]
        with torch.no_grad():
            ref_emb = embedding(trained.encode(chosen).to(device))
        reference = ref_emb.mean(0, keepdim=True) if kind == "mean" else ref_emb
        described = (
            f"mean of the first {len(chosen)} training texts"
            if kind == "mean"
            else "1 reference: the first training text"
            if len(chosen) == 1
            else f"{len(chosen)} references: the first {len(chosen)} training texts"
        )
    batched = engine != "shap" and supports(trained)
    if engine == "batched" and not batched:
        raise InputError(
            f"the batched SHAP engine does not apply to the {trained.name} model "
            f"({type(head).__name__}); use engine auto or shap"
        )
    if batched:
        result = explain_batched(
            trained,
            texts,
            reference,
            method="shap-deep",
            described=described,
            batch_size=batch_size,
            device=device,
            on_batch=on_batch,
            on_rows=on_rows,
        )
    else:
        result = _explain_with_shap(
            trained,
            texts,
            reference,
            described,
            batch_size=batch_size,
            device=device,
            on_batch=on_batch,
            on_rows=on_rows,
        )
    if result.max_additivity_error > ADDITIVITY_TOLERANCE:
        log.warning(
            "SHAP additivity off by up to %.2g (tolerance %g): relevance may be unfaithful",
            result.max_additivity_error,
            ADDITIVITY_TOLERANCE,
        )
    return result


def _explain_with_shap(
    trained: TrainedModel,
    texts: list[str],
    reference: torch.Tensor,
    described: str,
    *,
    batch_size: int,
    device: str,
    on_batch: OnBatch,
    on_rows: OnRows,
) -> Attribution:
    """``shap.DeepExplainer`` itself: one backward pass per document, over 2N rows (the document tiled N
    times, then the N references)."""
    import shap  # imported here: shap is slow to import and only this path needs it

    head = trained.model.to(device).eval().head
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.DeepExplainer(head, reference)
    expected = float(np.asarray(explainer.expected_value).reshape(-1)[0])

    def attribute(emb: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        # DeepExplainer runs the head once per document on [document tiled over the references;
        # references]: its first output row is f(document). Keeping it spares a forward pass of our own
        # (when the count does not match, batched_attribution runs that pass instead).
        seen: list[float] = []
        hook = head.register_forward_hook(  # type: ignore[union-attr]  # nn.Module attributes are typed Tensor | Module
            lambda _m, _i, out: seen.append(float(out.detach().reshape(-1)[0]))
        )
        try:
            values = np.asarray(explainer.shap_values(emb, check_additivity=False))
        except Exception as exc:  # shap raises bare exceptions for unsupported layers
            raise ModelError(f"SHAP DeepExplainer failed on the {trained.name} model: {exc}") from exc
        finally:
            hook.remove()
        return values, np.asarray(seen, dtype=np.float32) if len(seen) == emb.shape[0] else None

    return batched_attribution(
        trained,
        texts,
        attribute,
        method="shap-deep",
        expected=expected,
        reference=described,
        batch_size=batch_size,
        device=device,
        on_batch=on_batch,
        on_rows=on_rows,
    )
