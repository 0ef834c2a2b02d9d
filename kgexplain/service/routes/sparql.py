"""``/sparql``: the SPARQL 1.1 Protocol (query by GET, POST form or POST body; update by POST)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ...errors import StoreError
from ...store import GRAPH_FORMATS, RESULTS_FORMATS, TripleStore
from ..errors import BadRequest, Forbidden, PayloadTooLarge, UnsupportedMediaType
from ..guard import QueryRefused, check_operation
from ..state import ServiceState, StateDep, require_token

__all__ = ["router", "accepted", "answer_query", "run_update", "sparql_get", "sparql_post"]

router = APIRouter()


def accepted(header: str | None) -> list[str]:
    """Media types of an Accept header, most preferred first (q-values; order kept on ties)."""
    if not header:
        return []
    ranked = []
    for i, part in enumerate(header.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media and q > 0:
            ranked.append((-q, i, media.lower()))
    return [media for _, _, media in sorted(ranked)]


def _refused(exc: QueryRefused, what: str) -> Exception:
    cls = {403: Forbidden, 413: PayloadTooLarge}.get(exc.status, BadRequest)
    return cls(str(exc), title=f"{what} refused")


async def answer_query(state: ServiceState, text: str, accept_header: str | None) -> Response:
    """A user's query answered within the endpoint's budgets."""
    try:
        check_operation(text, update=False, allowed_services=state.config.allowed_services)
    except QueryRefused as exc:
        raise _refused(exc, "Query") from None
    body, media = await state.executor.answer(text, accepted(accept_header))
    charset = "; charset=utf-8" if media.startswith(("text/", "application/")) else ""
    return Response(body, media_type=media + charset)


async def _update(state: ServiceState, request: Request, text: str) -> Response:
    require_token(request, state.config)
    try:
        check_operation(text, update=True, allowed_services=state.config.allowed_services)
    except QueryRefused as exc:
        raise _refused(exc, "Update") from None
    await state.executor.call(run_update, state.store, text)
    return Response(status_code=204)


def run_update(store: TripleStore, text: str) -> None:
    """An update the store refuses is the client's (400), whatever the store's reason."""
    try:
        store.update(text)
    except StoreError as exc:
        raise BadRequest(str(exc), title="Update failed") from None


@router.get("/sparql", summary="SPARQL 1.1 query (GET)", response_class=Response,
            responses={200: {"content": {m: {} for m in (*RESULTS_FORMATS, *GRAPH_FORMATS)}}})
async def sparql_get(request: Request, state: StateDep,
                     query: Annotated[str | None, Query(description="The SPARQL query.")] = None) -> Response:
    if query is None:
        raise BadRequest("give the SPARQL query as ?query=…", title="Missing query")
    return await answer_query(state, query, request.headers.get("accept"))


@router.post("/sparql", summary="SPARQL 1.1 query or update (POST: form or direct body)", response_class=Response)
async def sparql_post(request: Request, state: StateDep) -> Response:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/sparql-query":
        return await answer_query(state, (await request.body()).decode("utf-8", errors="replace"),
                                  request.headers.get("accept"))
    if kind == "application/sparql-update":
        return await _update(state, request, (await request.body()).decode("utf-8", errors="replace"))
    if kind == "application/x-www-form-urlencoded":
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", errors="replace")).items()}
        if "query" in form:
            return await answer_query(state, str(form["query"]), request.headers.get("accept"))
        if "update" in form:
            return await _update(state, request, str(form["update"]))
        raise BadRequest("the form has neither `query` nor `update`", title="Missing query")
    raise UnsupportedMediaType("POST an application/x-www-form-urlencoded form (query= or update=), or an "
                               "application/sparql-query or application/sparql-update body")
