"""``/store``: the SPARQL 1.1 Graph Store HTTP Protocol (reads for all, writes with the update token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ...store import GRAPH_FORMATS
from ..errors import NotFound, ServiceError, of_status
from ..graph_store import BadGraphRequest, GraphTarget, parse_body, target
from ..state import ServiceState, StateDep, require_token
from .sparql import answer_query, run_update

__all__ = ["router", "store_delete", "store_get", "store_head", "store_post", "store_put"]

router = APIRouter()
GraphIri = Annotated[str | None, Query(description="The graph's IRI.")]
DefaultFlag = Annotated[str | None, Query(description="Present (`?default`): the default graph.")]


def _bad(exc: BadGraphRequest, title: str) -> ServiceError:
    return of_status(exc.status, str(exc), title=title)


def _graph_of(graph: str | None, default: str | None) -> GraphTarget:
    try:
        return target(graph, default is not None)
    except BadGraphRequest as exc:
        raise _bad(exc, "Bad graph request") from None


async def _exists(state: ServiceState, graph: GraphTarget) -> bool:
    return await state.executor.call(state.store.ask, graph.exists())


async def _require(state: ServiceState, graph: GraphTarget) -> None:
    if not await _exists(state, graph):
        raise NotFound(f"{graph.label} holds no triples")


@router.get(
    "/store",
    summary="Graph Store Protocol: read a graph",
    response_class=Response,
    responses={200: {"content": {m: {} for m in GRAPH_FORMATS}}},
)
async def store_get(request: Request, state: StateDep, graph: GraphIri = None, default: DefaultFlag = None) -> Response:
    chosen = _graph_of(graph, default)
    await _require(state, chosen)
    return await answer_query(state, chosen.read(), request.headers.get("accept"))


@router.head("/store", include_in_schema=False)
async def store_head(
    request: Request, state: StateDep, graph: GraphIri = None, default: DefaultFlag = None
) -> Response:
    response = await store_get(request, state, graph, default)
    return Response(status_code=response.status_code, media_type=response.media_type)


async def _body(request: Request, state: StateDep, graph: str | None, default: str | None) -> tuple[GraphTarget, str]:
    require_token(request, state.config)
    chosen = _graph_of(graph, default)
    body = await request.body()  # at most max_upload_bytes: security.BodyLimit refused more
    try:
        ntriples = await state.executor.call(
            parse_body, body, request.headers.get("content-type"), chosen.iri or state.config.base_iri
        )
    except BadGraphRequest as exc:
        raise _bad(exc, "Bad graph") from None
    return chosen, ntriples


async def _write(state: ServiceState, text: str, created: bool) -> Response:
    await state.executor.call(run_update, state.store, text)
    return Response(status_code=201 if created else 204)


@router.put(
    "/store",
    summary="Graph Store Protocol: replace a graph (needs the update token)",
    status_code=204,
    response_class=Response,
    responses={201: {"description": "Created"}, 204: {"description": "Replaced"}},
)
async def store_put(request: Request, state: StateDep, graph: GraphIri = None, default: DefaultFlag = None) -> Response:
    chosen, ntriples = await _body(request, state, graph, default)
    existed = await _exists(state, chosen)
    return await _write(state, chosen.replace(ntriples), created=not existed and chosen.iri is not None)


@router.post(
    "/store",
    summary="Graph Store Protocol: add triples to a graph (needs the update token)",
    status_code=204,
    response_class=Response,
    responses={201: {"description": "Created"}, 204: {"description": "Merged"}},
)
async def store_post(
    request: Request, state: StateDep, graph: GraphIri = None, default: DefaultFlag = None
) -> Response:
    chosen, ntriples = await _body(request, state, graph, default)
    existed = await _exists(state, chosen)
    if not ntriples:
        return Response(status_code=204)
    return await _write(state, chosen.merge(ntriples), created=not existed and chosen.iri is not None)


@router.delete(
    "/store",
    summary="Graph Store Protocol: drop a graph (needs the update token)",
    status_code=204,
    response_class=Response,
)
async def store_delete(
    request: Request, state: StateDep, graph: GraphIri = None, default: DefaultFlag = None
) -> Response:
    require_token(request, state.config)
    chosen = _graph_of(graph, default)
    await _require(state, chosen)
    return await _write(state, chosen.delete(), created=False)
