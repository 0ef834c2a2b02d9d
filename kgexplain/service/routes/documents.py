"""``/api/documents/{dataset}/{id}``: a document's tokens with relevance, its mentions and prediction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...config import Settings
from ...errors import InputError
from ...stages.explain import document_heatmap_data
from ...vocab import local_id
from ..errors import NotFound
from ..state import ServiceState, StateDep

__all__ = ["router", "document_detail", "document"]

router = APIRouter()


@router.get("/api/documents/{dataset}/{doc_id}", summary="A document: tokens with relevance, mentions, prediction")
def document(dataset: str, doc_id: str, state: StateDep) -> dict[str, Any]:
    return document_detail(state, dataset, doc_id)


def document_detail(state: ServiceState, dataset: str, doc_id: str) -> dict[str, Any]:
    try:
        data = document_heatmap_data(state.store, dataset, doc_id, Settings(base_iri=state.config.base_iri))
    except InputError as exc:
        raise NotFound(str(exc), title="No such document") from None
    return {
        "dataset": dataset,
        "id": doc_id,
        "iri": state.minter.document(dataset, doc_id),
        "run": local_id(str(data["run"])),
        "prediction": data["score"],
        "explained_class": data["explained"],  # None: two classes, prediction is P(positive)
        "tokens": [
            {"position": i, "surface": t, "relevance": r}
            for i, (t, r) in enumerate(zip(data["tokens"], data["scores"], strict=True))
        ],
        "mentions": [{"start": a, "end": b, "entity": e, "label": label} for a, b, e, label in data["mentions"]],
    }
