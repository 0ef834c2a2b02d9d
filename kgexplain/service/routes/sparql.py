"""``/sparql``: the SPARQL 1.1 Protocol (query by GET, POST form or POST body; update by POST). What a request
means is read by ``protocol.parse_request``; here it is checked by the guard and run by the executor.

Relative IRIs in queries and updates resolve against the endpoint's own URL (``http://host:port/sparql``),
the base the protocol suggests. A query's dataset is the request's ``default-graph-uri`` /
``named-graph-uri`` if it gives any, else the query's ``FROM`` / ``FROM NAMED``, else every public graph of
the store (``TripleStore.answer``). A browser that asks for ``/sparql`` without a query is sent to the query
page, ``/query``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...errors import StoreError
from ...store import GRAPH_FORMATS, RESULTS_FORMATS, TripleStore
from ..errors import BadRequest, Forbidden, PayloadTooLarge
from ..guard import Operation, QueryRefused, inspect_operation
from ..protocol import MissingOperation, SparqlRequest, accepted, parse_request, prefers_html, with_using
from ..state import ServiceState, StateDep, require_token

__all__ = ["router", "answer_query", "endpoint_iri", "run_update", "sparql_get", "sparql_post"]

router = APIRouter()
_QUERY_PAGE = "/query"
_FORMATS = (*RESULTS_FORMATS, *GRAPH_FORMATS)


def _param(name: str, description: str, repeated: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}} if repeated else {"type": "string"}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **({"style": "form", "explode": True} if repeated else {}),
    }


_QUERY_PARAMS = [
    _param("query", "The SPARQL query."),
    _param("default-graph-uri", "A graph of the default graph (repeatable).", repeated=True),
    _param("named-graph-uri", "A named graph of the dataset (repeatable).", repeated=True),
]
_UPDATE_PARAMS = [
    _param("using-graph-uri", "An update's USING graph (repeatable).", repeated=True),
    _param("using-named-graph-uri", "An update's USING NAMED graph (repeatable).", repeated=True),
]


def endpoint_iri(request: Request) -> str:
    """The endpoint's URL, without query or fragment: the base IRI of the texts it runs."""
    url = str(request.url.replace(query="", fragment=""))
    try:
        return ox.NamedNode(url).value
    except ValueError as exc:  # a Host header that makes no IRI
        raise BadRequest(f"the request's URL {url[:200]!r} is no base IRI for the query: {exc}") from None


def _inspect(state: ServiceState, text: str, kind: Literal["query", "update"], base_iri: str | None) -> Operation:
    config = state.config
    try:
        return inspect_operation(
            text,
            expected=kind,
            allowed_services=config.allowed_services,
            allowed_load_hosts=config.allowed_load_hosts,
            base_iri=base_iri,
            max_chars=config.max_query_bytes,
        )
    except QueryRefused as exc:
        cls = {403: Forbidden, 413: PayloadTooLarge}.get(exc.status, BadRequest)
        raise cls(str(exc), title=f"{kind.capitalize()} refused") from None


async def answer_query(
    state: ServiceState,
    text: str,
    accept_header: str | None,
    *,
    base_iri: str | None = None,
    dataset: dict[str, Any] | None = None,
) -> Response:
    """A user's query answered within the endpoint's budgets, over ``dataset`` (``SparqlRequest.dataset``;
    none: the query's ``FROM``, else every public graph), in the best format ``accept_header`` allows."""
    return await _answer(state, text, accepted(accept_header), base_iri, dataset or {})


async def _answer(
    state: ServiceState, text: str, accept: Sequence[str], base_iri: str | None, dataset: dict[str, Any]
) -> Response:
    op = await asyncio.to_thread(_inspect, state, text, "query", base_iri)  # linear, but 1 MB is not instant
    body, media = await state.executor.answer(text, accept, base_iri=base_iri, own_dataset=op.dataset_clause, **dataset)
    charset = "; charset=utf-8" if media.startswith(("text/", "application/")) else ""
    return Response(body, media_type=media + charset)


def run_update(store: TripleStore, text: str, base_iri: str | None = None) -> None:
    """An update the store refuses is the client's (400), whatever the store's reason."""
    try:
        store.update(text, base_iri=base_iri)
    except StoreError as exc:
        raise BadRequest(str(exc), title="Update failed") from None


async def _run(state: ServiceState, request: Request, sparql: SparqlRequest) -> Response:
    base = endpoint_iri(request)
    if sparql.kind == "query":
        return await _answer(state, sparql.text, sparql.accept, base, sparql.dataset())
    require_token(request, state.config)
    op = await asyncio.to_thread(_inspect, state, sparql.text, "update", base)
    text = await asyncio.to_thread(with_using, sparql.text, op, sparql.using_graphs, sparql.using_named_graphs)
    await state.executor.call(run_update, state.store, text, base)
    return Response(status_code=204)


@router.get(
    "/sparql",
    summary="SPARQL 1.1 query (GET)",
    response_class=Response,
    openapi_extra={"parameters": _QUERY_PARAMS},
    responses={
        200: {"content": {m: {} for m in _FORMATS}},
        303: {"description": f"A browser without a query: the query page, {_QUERY_PAGE}"},
    },
)
async def sparql_get(request: Request, state: StateDep) -> Response:
    accept = request.headers.get("accept")
    try:
        sparql = parse_request("GET", request.scope["query_string"], None, b"", accept)
    except MissingOperation:
        if prefers_html(accept, _FORMATS):
            return RedirectResponse(_QUERY_PAGE, status_code=303)
        raise
    return await _run(state, request, sparql)


@router.post(
    "/sparql",
    summary="SPARQL 1.1 query or update (POST: form or direct body)",
    response_class=Response,
    openapi_extra={"parameters": _QUERY_PARAMS[1:] + _UPDATE_PARAMS},
)
async def sparql_post(request: Request, state: StateDep) -> Response:
    body = await request.body()  # at most max_query_bytes: security.BodyLimit refused more
    sparql = await asyncio.to_thread(
        parse_request,
        "POST",
        request.scope["query_string"],
        request.headers.get("content-type"),
        body,
        request.headers.get("accept"),
    )
    return await _run(state, request, sparql)
