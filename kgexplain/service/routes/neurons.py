"""``/api/neurons/{kind}``: neuron rules (ExplaiNN), redescriptions and neuron ↔ concept rules of a run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ..errors import NotFound
from ..neurons import KINDS, NoNeuronRun, neuron_results
from ..state import ServiceState, StateDep
from .rules import MAX_OFFSET, MAX_PAGE

__all__ = ["router", "neuron_page", "neurons"]

router = APIRouter()


def neuron_page(
    state: ServiceState, kind: str, run: str | None, dataset: str | None, limit: int, offset: int
) -> dict[str, Any]:
    try:
        return neuron_results(state.store, state.minter, kind, run_id=run, dataset=dataset, limit=limit, offset=offset)
    except NoNeuronRun as exc:
        raise NotFound(str(exc), title="No such run") from None


@router.get(
    "/api/neurons/{kind}",
    summary="Neuron rules (ExplaiNN), redescriptions or neuron ↔ concept rules of a "
    "run, with the tokens that drive each neuron",
)
def neurons(
    request: Request,
    state: StateDep,
    kind: Annotated[str, Path(pattern="^(" + "|".join(KINDS) + ")$")],
    run: Annotated[str | None, Query(description="Run id (default: the newest run of the kind).")] = None,
    dataset: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    body = neuron_page(state, kind, run, dataset, limit, offset)
    if offset + limit < body["total"]:
        body["next"] = str(request.url.include_query_params(offset=offset + limit))
    return body
