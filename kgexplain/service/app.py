"""The web service over a store: the SPARQL 1.1 Protocol at ``/sparql`` and the REST API under ``/api``.

``create_app(store, ...)`` builds the FastAPI app; ``kgexplain serve`` runs it with uvicorn. Errors are
``application/problem+json`` (RFC 9457). The endpoint is read-only unless an update token is set, refuses
``SERVICE`` to hosts outside an allow-list, and stops answers that outgrow their size or time budget.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pyoxigraph import NamedNode
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import InputError, StoreError
from ..pipeline import Settings, document_heatmap_data
from ..queries import load_query
from ..store import GRAPH_FORMATS, RESULTS_FORMATS, NotAcceptable, TripleStore
from ..vocab import DEFAULT_BASE, MLS, PROV, SYN, WD, WDT, Minter, local_id
from .cache import ResponseCache
from .graph_store import BadGraphRequest, GraphTarget, parse_body, target
from .guard import Budget, BudgetExceeded, QueryRefused, check_operation
from .jobs import JobRunner, RunSpec
from .neurons import KINDS, NoNeuronRun, neuron_results
from .pages import document_page, graph_page, message_page, neurons_page, rule_list_page, rule_page
from .rules import SORTS, RuleIndex, RuleQuery

__all__ = ["ServiceConfig", "RunRequest", "create_app", "Problem"]

PROBLEM = "application/problem+json"
MAX_PAGE = 200
MAX_OFFSET = 10**9
GraphIri = Annotated[str | None, Query(description="The graph's IRI.")]
DefaultFlag = Annotated[str | None, Query(description="Present (`?default`): the default graph.")]


@dataclass(frozen=True)
class ServiceConfig:
    """The operator's knobs (``kgexplain serve`` options)."""

    update_token: str | None = None          # None: updates refused
    query_timeout_s: float = 30.0
    max_result_bytes: int = 64 * 1024 * 1024
    max_upload_bytes: int = 64 * 1024 * 1024   # Graph Store Protocol PUT/POST bodies
    max_concurrent_queries: int = 4
    allowed_services: Collection[str] = field(default_factory=tuple)
    base_iri: str = DEFAULT_BASE
    work_dir: FilePath | None = None         # models of runs started over REST (default: a temporary dir)


class RunRequest(BaseModel):
    """``POST /api/runs``: the built-in demo, or a dataset and a dump on the server's disk."""

    model_config = ConfigDict(extra="forbid")
    demo: bool = False
    data: str | None = Field(None, description="Dataset file or directory (as for `kgexplain run --data`).")
    kg: str | None = Field(None, description="Wikidata dump (as for `kgexplain run --kg`).")
    model: str = Field("cnn", pattern="^(cnn|bilstm|lstm|gru)$")
    method: str = Field("shap", pattern="^(shap|gradient-shap|ig|deeplift|lrp|reat)$")
    preset: str = Field("default", pattern="^(default|paper)$")
    epochs: int | None = Field(None, ge=1, le=200)
    max_tokens: int | None = Field(None, ge=1, le=5000)


class Problem(Exception):
    """An error answered as problem+json."""

    def __init__(self, status: int, title: str, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def _problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _accept(header: str | None) -> list[str]:
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


def create_app(store: TripleStore, config: ServiceConfig | None = None) -> FastAPI:
    """The app over ``store`` (kept open for the app's life; the caller closes it)."""
    config = config or ServiceConfig()
    if not config.update_token:     # an empty token (KGX_UPDATE_TOKEN= set to nothing) must not open updates
        config = replace(config, update_token=None)
    minter = Minter(config.base_iri)
    index = RuleIndex(store, minter)
    pool = ThreadPoolExecutor(max_workers=config.max_concurrent_queries, thread_name_prefix="kgx-sparql")
    slots = threading.BoundedSemaphore(config.max_concurrent_queries)
    app = FastAPI(title="kgexplain", version=__version__,
                  description="Rules that explain what a text classifier keys on, grounded in Wikidata: "
                              "SPARQL 1.1 Protocol at /sparql, rule lookup under /api.")
    app.state.store, app.state.config, app.state.index = store, config, index
    app.add_middleware(ResponseCache, paths={"/api/rules"}, version=lambda: index.version)

    @app.exception_handler(Problem)
    async def on_problem(_request: Request, exc: Problem) -> JSONResponse:
        return _problem(exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, "Not Found" if exc.status_code == 404 else "Error", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return _problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StoreError)
    async def on_store(_request: Request, exc: StoreError) -> JSONResponse:
        return _problem(502 if "cannot reach" in str(exc) else 500, "Store error", str(exc))

    # ----------------------------------------------------------------------------------- SPARQL

    def run_query(text: str, accept: list[str]) -> tuple[bytes, str]:
        deadline = time.monotonic() + config.query_timeout_s
        if not slots.acquire(timeout=config.query_timeout_s):
            raise BudgetExceeded(f"all {config.max_concurrent_queries} query slots stayed busy for "
                                 f"{config.query_timeout_s:g} s", 503)
        try:
            budget = Budget(config.max_result_bytes, deadline, config.query_timeout_s)
            try:
                media = store.answer(text, accept, budget)
            except StoreError:
                if budget.stopped is not None:   # the store reports our own stop as its error
                    raise budget.stopped from None
                raise
            return budget.getvalue(), media
        finally:
            slots.release()

    async def answer(text: str, accept_header: str | None) -> Response:
        try:
            check_operation(text, update=False, allowed_services=config.allowed_services)
        except QueryRefused as exc:
            raise Problem(exc.status, "Query refused", str(exc)) from None
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(pool, run_query, text, _accept(accept_header))
        try:
            # the worker stops the query at its next write past the deadline; this answers the client
            # even when the store is busy before its first write (a large sort), which cannot be stopped
            body, media = await asyncio.wait_for(asyncio.shield(job), timeout=config.query_timeout_s + 1)
        except TimeoutError:
            raise Problem(503, "Query timeout", f"the query ran past the {config.query_timeout_s:g} s timeout") from None
        except BudgetExceeded as exc:
            title = "Query timeout" if exc.status == 503 else "Result too large"
            raise Problem(exc.status, title, str(exc)) from None
        except NotAcceptable as exc:
            raise Problem(406, "Not acceptable", str(exc)) from None
        except StoreError as exc:
            message = str(exc)
            status = 400 if "SyntaxError" in message or "error at" in message else 500
            raise Problem(status, "Query failed", message) from None
        charset = "; charset=utf-8" if media.startswith(("text/", "application/")) else ""
        return Response(body, media_type=media + charset)

    def check_token(request: Request) -> None:
        if config.update_token is None:
            raise Problem(403, "Updates disabled", "this endpoint is read-only (start `kgexplain serve` with "
                                                   "--update-token to allow updates)")
        if request.headers.get("authorization", "") != f"Bearer {config.update_token}":
            raise Problem(401, "Unauthorized", "updates need `Authorization: Bearer <update token>`")

    def run_update(text: str) -> Response:
        try:
            check_operation(text, update=True, allowed_services=config.allowed_services)
        except QueryRefused as exc:
            raise Problem(exc.status, "Update refused", str(exc)) from None
        try:
            store.update(text)
        except StoreError as exc:
            raise Problem(400, "Update failed", str(exc)) from None
        return Response(status_code=204)

    @app.get("/sparql", summary="SPARQL 1.1 query (GET)", response_class=Response,
             responses={200: {"content": {m: {} for m in (*RESULTS_FORMATS, *GRAPH_FORMATS)}}})
    async def sparql_get(request: Request,
                         query: Annotated[str | None, Query(description="The SPARQL query.")] = None) -> Response:
        if query is None:
            raise Problem(400, "Missing query", "give the SPARQL query as ?query=…")
        return await answer(query, request.headers.get("accept"))

    @app.post("/sparql", summary="SPARQL 1.1 query or update (POST: form or direct body)", response_class=Response)
    async def sparql_post(request: Request) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/sparql-query":
            return await answer((await request.body()).decode("utf-8", errors="replace"), request.headers.get("accept"))
        if kind == "application/sparql-update":
            check_token(request)
            return await asyncio.get_running_loop().run_in_executor(
                pool, run_update, (await request.body()).decode("utf-8", errors="replace"))
        if kind == "application/x-www-form-urlencoded":
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", errors="replace")).items()}
            if "query" in form:
                return await answer(str(form["query"]), request.headers.get("accept"))
            if "update" in form:
                check_token(request)
                return await asyncio.get_running_loop().run_in_executor(pool, run_update, str(form["update"]))
            raise Problem(400, "Missing query", "the form has neither `query` nor `update`")
        raise Problem(415, "Unsupported media type", "POST an application/x-www-form-urlencoded form (query= or "
                      "update=), or an application/sparql-query or application/sparql-update body")

    # ------------------------------------------------------------------------ Graph Store Protocol

    def graph_of(graph: str | None, default: str | None) -> GraphTarget:
        try:
            return target(graph, default is not None)
        except BadGraphRequest as exc:
            raise Problem(exc.status, "Bad graph request", str(exc)) from None

    async def in_pool(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    async def require_graph(graph: GraphTarget) -> None:
        if not await in_pool(store.ask, graph.exists()):
            raise Problem(404, "Not Found", f"{graph.label} holds no triples")

    @app.get("/store", summary="Graph Store Protocol: read a graph", response_class=Response,
             responses={200: {"content": {m: {} for m in GRAPH_FORMATS}}})
    async def store_get(request: Request, graph: GraphIri = None, default: DefaultFlag = None) -> Response:
        chosen = graph_of(graph, default)
        await require_graph(chosen)
        return await answer(chosen.read(), request.headers.get("accept"))

    @app.head("/store", include_in_schema=False)
    async def store_head(request: Request, graph: GraphIri = None, default: DefaultFlag = None) -> Response:
        response = await store_get(request, graph, default)
        return Response(status_code=response.status_code, media_type=response.media_type)

    async def write_body(request: Request, graph: str | None, default: str | None) -> tuple[GraphTarget, str]:
        check_token(request)
        chosen = graph_of(graph, default)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > config.max_upload_bytes:
            raise Problem(413, "Body too large", f"this endpoint takes graphs of up to "
                                                 f"{config.max_upload_bytes:,} bytes; load bigger ones offline")
        body = await request.body()
        if len(body) > config.max_upload_bytes:
            raise Problem(413, "Body too large", f"this endpoint takes graphs of up to {config.max_upload_bytes:,} bytes")
        try:
            ntriples = await in_pool(parse_body, body, request.headers.get("content-type"), chosen.iri or config.base_iri)
        except BadGraphRequest as exc:
            raise Problem(exc.status, "Bad graph", str(exc)) from None
        return chosen, ntriples

    async def write(text: str, created: bool) -> Response:
        try:
            await in_pool(store.update, text)
        except StoreError as exc:
            raise Problem(400, "Update failed", str(exc)) from None
        return Response(status_code=201 if created else 204)

    @app.put("/store", summary="Graph Store Protocol: replace a graph (needs the update token)", status_code=204,
             response_class=Response, responses={201: {"description": "Created"}, 204: {"description": "Replaced"}})
    async def store_put(request: Request, graph: GraphIri = None, default: DefaultFlag = None) -> Response:
        chosen, ntriples = await write_body(request, graph, default)
        existed = await in_pool(store.ask, chosen.exists())
        return await write(chosen.replace(ntriples), created=not existed and chosen.iri is not None)

    @app.post("/store", summary="Graph Store Protocol: add triples to a graph (needs the update token)",
              status_code=204, response_class=Response,
              responses={201: {"description": "Created"}, 204: {"description": "Merged"}})
    async def store_post(request: Request, graph: GraphIri = None, default: DefaultFlag = None) -> Response:
        chosen, ntriples = await write_body(request, graph, default)
        existed = await in_pool(store.ask, chosen.exists())
        if not ntriples:
            return Response(status_code=204)
        return await write(chosen.merge(ntriples), created=not existed and chosen.iri is not None)

    @app.delete("/store", summary="Graph Store Protocol: drop a graph (needs the update token)", status_code=204,
                response_class=Response)
    async def store_delete(request: Request, graph: GraphIri = None, default: DefaultFlag = None) -> Response:
        check_token(request)
        chosen = graph_of(graph, default)
        await require_graph(chosen)
        return await write(chosen.delete(), created=False)

    # ----------------------------------------------------------------------------------- REST

    @app.get("/api/health", summary="Ready to answer")
    def health() -> dict[str, object]:
        return {"status": "ok", "store": store.description, "version": __version__,
                "read_only": config.update_token is None}

    @app.get("/api/rules", summary="Rules, filtered, sorted and paged")
    async def rules(request: Request,
              run: Annotated[str | None, Query(description="Mining run id (default: the latest per dataset).")] = None,
              dataset: str | None = None,
              consequent: Annotated[str | None, Query(alias="class", pattern="^(Pos|Neg)$")] = None,
              measure: Annotated[str, Query(pattern="^(TC|TS|WTS|H)$")] = "H",
              min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.0,
              min_support: Annotated[int, Query(ge=0)] = 0,
              property: Annotated[str | None, Query(description="Item property: IRI or id (P27).")] = None,
              value: Annotated[str | None, Query(description="Item value: IRI, id (Q183) or literal.")] = None,
              q: Annotated[str | None, Query(description="Text in the rule's label.")] = None,
              sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "confidence",
              limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
              offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> JSONResponse:
        query = RuleQuery(run, dataset, consequent, measure, min_confidence, min_support, property, value, q,
                          sort, limit, offset)
        return JSONResponse(list_rules(query, request))   # plain json.dumps: the body holds JSON types only

    def list_rules(query: RuleQuery, request: Request) -> dict[str, Any]:
        total, iris = index.page(query)
        out = index.summaries(iris)
        body: dict[str, Any] = {"total": total, "limit": query.limit, "offset": query.offset,
                                "measure": query.measure, "rules": out}
        if query.offset + query.limit < total:
            body["next"] = str(request.url.include_query_params(offset=query.offset + query.limit))
        return body

    @app.get("/api/rules/{run_id}/{rule_id}", summary="One rule: items, metrics, coverage, provenance")
    def rule(run_id: str, rule_id: str) -> dict[str, Any]:
        found = index.get(f"{run_id}/{rule_id}")
        if found is None:
            raise Problem(404, "No such rule", f"no published rule {run_id}/{rule_id}; list them at /api/rules")
        graph = minter.run_graph(run_id)
        coverage = store.select(load_query("rules/rule_coverage_of"), graph=graph, rule=NamedNode(found["rule"]))
        entities, documents = [], []
        for kind, covered, label in (coverage.iter_rows() if coverage.height else []):
            if kind == "entity":
                entities.append({"iri": covered, "id": local_id(covered), "label": label,
                                 "url": f"/api/entities/{local_id(covered)}"})
            else:
                documents.append({"iri": covered, "id": local_id(covered),
                                  "url": f"/api/documents/{found['dataset']}/{local_id(covered)}"})
        record = store.select(load_query("catalog/run_record"), catalog=minter.catalog_graph(),
                              run=NamedNode(minter.run(run_id)))
        provenance: dict[str, Any] = {"run": minter.run(run_id), "run_id": run_id}
        for prop, value in (record.iter_rows() if record.height else []):
            if not prop.startswith(MLS) and prop != PROV + "wasInformedBy":   # the same facts in ML Schema / PROV-O terms
                provenance.setdefault(local_id(prop), value)
        body = dict(index.summaries([found["rule"]])[0])
        body["antecedent"] = _with_links(store, body["antecedent"])
        body.update(entities=entities, documents=documents, provenance=provenance)
        return body

    @app.get("/api/entities/{entity_id}", summary="An entity: its facts, influence, and the rules about it")
    def entity(entity_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]+$", description="Q-id (Q183)")],
               iri: Annotated[str | None, Query(description="The entity's full IRI, when not a Wikidata or demo Q-id.")] = None) -> dict[str, Any]:
        if iri is not None:
            try:
                NamedNode(iri)
            except ValueError as exc:
                raise Problem(422, "Invalid request", f"iri: not an IRI ({exc})") from None
        for candidate in ([iri] if iri else [WD + entity_id, SYN + entity_id]):
            found = store.select(load_query("kg/entity_label"), entity=NamedNode(candidate))
            if found.height:
                break
        else:
            raise Problem(404, "No such entity", f"the store holds no facts about {iri or entity_id}")
        node = NamedNode(candidate)
        facts = store.select(load_query("kg/entity_facts"), entity=node)
        influence = store.select(load_query("mining/entity_influence"), entity=node)
        covering = store.select(load_query("rules/rules_covering"), entity=node)
        covered_by = index.ranked(covering["rule"].to_list() if covering.height else [])
        return {
            "iri": candidate, "id": local_id(candidate), "label": found["label"][0],
            "facts": facts.to_dicts(),
            "influence": [row | {"run": local_id(row["run"])} for row in influence.to_dicts()],
            "rules_covering": index.summaries(covered_by),
            "rules_mentioning": index.summaries(index.ranked(index.mentioning(candidate))),
        }

    @app.get("/api/documents/{dataset}/{doc_id}", summary="A document: tokens with relevance, mentions, prediction")
    def document(dataset: str, doc_id: str) -> dict[str, Any]:
        try:
            data = document_heatmap_data(store, dataset, doc_id, Settings(base_iri=config.base_iri))
        except InputError as exc:
            raise Problem(404, "No such document", str(exc)) from None
        return {
            "dataset": dataset, "id": doc_id, "iri": minter.document(dataset, doc_id),
            "run": local_id(str(data["run"])), "prediction": data["score"],
            "tokens": [{"position": i, "surface": t, "relevance": r}
                       for i, (t, r) in enumerate(zip(data["tokens"], data["scores"], strict=True))],   # type: ignore[call-overload]
            "mentions": [{"start": a, "end": b, "entity": e, "label": label}
                         for a, b, e, label in data["mentions"]],   # type: ignore[attr-defined]
        }

    # ----------------------------------------------------------------------------------- runs

    runner = JobRunner(store, config.work_dir, config.base_iri)
    app.state.runner = runner

    def neuron_page_of(kind: str, run: str | None, dataset: str | None, limit: int, offset: int) -> dict[str, Any]:
        try:
            return neuron_results(store, minter, kind, run_id=run, dataset=dataset, limit=limit, offset=offset)
        except NoNeuronRun as exc:
            raise Problem(404, "No such run", str(exc)) from None

    @app.get("/api/neurons/{kind}", summary="Neuron rules (ExplaiNN), redescriptions or neuron ↔ concept rules of a "
                                            "run, with the tokens that drive each neuron")
    def neurons(request: Request, kind: Annotated[str, Path(pattern="^(" + "|".join(KINDS) + ")$")],
                run: Annotated[str | None, Query(description="Run id (default: the newest run of the kind).")] = None,
                dataset: str | None = None,
                limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
                offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> dict[str, Any]:
        body = neuron_page_of(kind, run, dataset, limit, offset)
        if offset + limit < body["total"]:
            body["next"] = str(request.url.include_query_params(offset=offset + limit))
        return body

    @app.post("/api/runs", status_code=202, summary="Start a pipeline run in the background (needs the update token)")
    def start_run(request: Request, body: RunRequest) -> JSONResponse:
        check_token(request)
        try:
            job = runner.submit(RunSpec(**body.model_dump()))
        except InputError as exc:
            raise Problem(422, "Invalid run", str(exc)) from None
        return JSONResponse(job.as_dict(), status_code=202, headers={"Location": f"/api/runs/{job.id}"})

    @app.get("/api/runs", summary="Runs started here, and every run recorded in the store's catalog")
    def list_runs() -> dict[str, Any]:
        catalog = store.select(load_query("catalog/runs"), catalog=minter.catalog_graph())
        recorded = [{"run": local_id(run), "kind": local_id(kind), "dataset": local_id(dataset), "status": status,
                     "graph": graph, "started": started, "ended": ended}
                    for run, kind, dataset, status, graph, started, ended in
                    (catalog.select("run", "kind", "dataset", "status", "graph", "started", "ended").iter_rows()
                     if catalog.height else [])]
        return {"jobs": [job.as_dict() for job in reversed(list(runner.jobs.values()))], "recorded": recorded}

    @app.get("/api/runs/{job_id}", summary="One run started here: status, stage, progress, result")
    def get_run(job_id: str) -> dict[str, Any]:
        job = runner.jobs.get(job_id)
        if job is None:
            raise Problem(404, "No such run", f"no run {job_id} was started on this server; see /api/runs")
        return job.as_dict()

    # ----------------------------------------------------------------------------------- pages

    def html_error(exc: Problem) -> HTMLResponse:
        return HTMLResponse(message_page(exc.title, exc.detail), status_code=exc.status)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/rules")

    @app.get("/rules", response_class=HTMLResponse, include_in_schema=False)
    def rules_page(request: Request) -> HTMLResponse:
        params = dict(request.query_params)
        try:
            result = list_rules(RuleQuery(
                run=params.get("run") or None, dataset=params.get("dataset") or None,
                consequent=_choice(params.get("class"), ("Pos", "Neg")),
                measure=_choice(params.get("measure"), ("TC", "TS", "WTS", "H")) or "H",
                min_confidence=_number(params.get("min_confidence"), float, 0.0, 0.0, 1.0),
                min_support=_number(params.get("min_support"), int, 0, 0, None),
                property=params.get("property") or None, value=params.get("value") or None,
                q=params.get("q") or None, sort=_choice(params.get("sort"), SORTS) or "confidence",
                limit=_number(params.get("limit"), int, 50, 1, MAX_PAGE),
                offset=_number(params.get("offset"), int, 0, 0, MAX_OFFSET)), request)
        except Problem as exc:
            return html_error(exc)
        return HTMLResponse(rule_list_page(result, params))

    @app.get("/rules/{run_id}/{rule_id}", response_class=HTMLResponse, include_in_schema=False)
    def rule_html(run_id: str, rule_id: str) -> HTMLResponse:
        try:
            return HTMLResponse(rule_page(rule(run_id, rule_id)))
        except Problem as exc:
            return html_error(exc)

    @app.get("/documents/{dataset}/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_html(dataset: str, doc_id: str) -> HTMLResponse:
        from ..attribution.heatmap import render_html

        try:
            doc = document(dataset, doc_id)
        except Problem as exc:
            return html_error(exc)
        tokens = [t["surface"] for t in doc["tokens"]]
        heatmap = render_html(tokens, [t["relevance"] for t in doc["tokens"]], title=doc_id,
                              subtitle=f"run {doc['run']}", fragment=True,
                              mentions=[(m["start"], m["end"], m["entity"], m["label"] or local_id(m["entity"]))
                                        for m in doc["mentions"]])
        return HTMLResponse(document_page(doc, heatmap))

    graphs: dict[str, tuple[bytes, list[list[dict[str, Any]]]]] = {}

    @app.get("/neurons", response_class=HTMLResponse, include_in_schema=False)
    def neurons_html(kind: str = "rules", run: str | None = None, dataset: str | None = None) -> HTMLResponse:
        if kind not in KINDS:
            return html_error(Problem(404, "Not Found", f"no neuron results of kind {kind!r}; kinds: {', '.join(KINDS)}"))
        try:
            body = neuron_results(store, minter, kind, run_id=run, dataset=dataset, limit=MAX_PAGE)
        except NoNeuronRun as exc:
            return HTMLResponse(neurons_page(None, kind, str(exc)), status_code=404)
        return HTMLResponse(neurons_page(body, kind))

    def rule_graph_of(run: str | None) -> tuple[str | None, bytes, list[list[dict[str, Any]]]]:
        total, frame = index.search(RuleQuery(run=run, limit=10**9))
        if total == 0:
            raise Problem(404, "No rules", f"no published rules{' in run ' + run if run else ''}")
        runs = sorted(set(frame["run"].to_list()))
        key = "|".join(runs)
        if key not in graphs:
            graphs[key] = _draw_rule_graph(store, minter, frame)
        png, components = graphs[key]
        return (runs[0] if len(runs) == 1 else None), png, components

    @app.get("/graph", response_class=HTMLResponse, include_in_schema=False)
    def graph_html(run: str | None = None) -> HTMLResponse:
        try:
            shown, _png, components = rule_graph_of(run)
        except Problem as exc:
            return html_error(exc)
        return HTMLResponse(graph_page(shown, components, "/graph.png" + (f"?run={run}" if run else "")))

    @app.get("/graph.png", include_in_schema=False)
    def graph_png(run: str | None = None) -> Response:
        try:
            _shown, png, _components = rule_graph_of(run)
        except Problem as exc:
            return html_error(exc)
        return Response(png, media_type="image/png")

    watching: list[threading.Event] = []
    app.router.on_startup.append(lambda: watching.append(index.watch()))
    app.router.on_shutdown.append(lambda: [event.set() for event in watching])
    app.router.on_shutdown.append(lambda: pool.shutdown(wait=False, cancel_futures=True))
    app.router.on_shutdown.append(runner.close)
    return app


def _wikidata_page(iri: str) -> str | None:
    """The wikidata.org page of a Wikidata entity or direct property IRI."""
    for prefix in (WD, WDT):
        if iri.startswith(prefix) and iri[len(prefix):][:1] in ("P", "Q", "L"):
            return "https://www.wikidata.org/wiki/" + ("Property:" if iri[len(prefix)] == "P" else "") + iri[len(prefix):]
    return None


def _with_links(store: TripleStore, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each item with ``links``: its property's and value's mappings to other vocabularies found in the store
    (skos:*Match, owl:sameAs, owl:equivalent*; a wdt: property's mappings are stated on its wd: entity), and
    the Wikidata pages of both."""
    iris = {i for item in items for i in (item["property"], item["value"]) if isinstance(i, str) and "://" in i}
    iris |= {WD + i[len(WDT):] for i in list(iris) if i.startswith(WDT)}
    frame = store.select(load_query("rules/external_links"), iri=[NamedNode(i) for i in sorted(iris)]) if iris else None
    found: dict[str, list[dict[str, str]]] = {}
    for iri, relation, linked in frame.iter_rows() if frame is not None and frame.height else []:
        found.setdefault(iri, []).append({"relation": _prefixed(relation), "target": linked})
    out = []
    for item in items:
        links = []
        for role in ("property", "value"):
            iri = str(item[role])
            for key in (iri, WD + iri[len(WDT):] if iri.startswith(WDT) else None):
                for link in found.get(key or "", []):
                    if {"of": role, **link} not in links:      # wd:P and wdt:P often carry the same link
                        links.append({"of": role, **link})
            page = _wikidata_page(iri)
            if page:
                links.append({"of": role, "relation": "rdfs:seeAlso", "target": page})
        out.append({**item, "links": links})
    return out


def _prefixed(iri: str) -> str:
    for prefix, base in (("skos:", "http://www.w3.org/2004/02/skos/core#"), ("owl:", "http://www.w3.org/2002/07/owl#")):
        if iri.startswith(base):
            return prefix + iri[len(base):]
    return iri


def _choice(value: str | None, allowed: Collection[str]) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise Problem(422, "Invalid request", f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _number(value: str | None, kind: type, default: Any, low: Any, high: Any) -> Any:
    if value in (None, ""):
        return default
    try:
        number = kind(value)
    except ValueError:
        raise Problem(422, "Invalid request", f"{value!r} is not a number") from None
    if number < low or (high is not None and number > high):
        raise Problem(422, "Invalid request", f"{number} is outside {low}..{high if high is not None else ''}")
    return number


def _draw_rule_graph(store: TripleStore, minter: Minter, frame: Any) -> tuple[bytes, list[list[dict[str, Any]]]]:
    """The rule graph (Figure 4) of the rules in ``frame`` as PNG bytes, and its closed sets as lists of
    ``{"id", "label"}``, largest first."""
    import tempfile
    from pathlib import Path as FilePath

    import numpy as np

    from ..evaluation.rule_graph import closed_sets, render_png, rule_graph
    from ..mining.rules import Rule

    entity_index: dict[str, int] = {}
    covered: dict[str, list[int]] = {}
    for run in sorted(set(frame["run"].to_list())):
        coverage = store.select(load_query("rules/rule_coverage"), graph=minter.run_graph(run))
        for rule_iri, entity in (coverage.iter_rows() if coverage.height else []):
            covered.setdefault(rule_iri, []).append(entity_index.setdefault(entity, len(entity_index)))
    rules, ids = [], []
    for row in frame.iter_rows(named=True):
        confidence = {"TC": row["conf_tc"], "TS": row["conf_ts"], "WTS": row["conf_wts"], "H": row["conf_h"]}
        rule = Rule((), row["consequent"], int(row["support"]), confidence, float(row["lift"]),
                    np.asarray(sorted(set(covered.get(row["rule"], []))), dtype=np.int64), {"rule": row["label"]})
        rules.append(rule)
        ids.append(row["id"])
    graph = rule_graph(rules)
    with tempfile.TemporaryDirectory(prefix="kgx-graph-") as tmp:
        png = render_png(graph, FilePath(tmp) / "graph.png").read_bytes()
    components = [[{"id": ids[n], "label": rules[n].labels["rule"]} for n in members] for members in closed_sets(graph)]
    return png, components
