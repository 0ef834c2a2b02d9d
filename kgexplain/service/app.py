"""The web service over a store: the SPARQL 1.1 Protocol at ``/sparql``, the Graph Store Protocol at ``/store``,
the REST API under ``/api`` and the HTML pages.

``create_app(store, config)`` builds the FastAPI app from the routes in ``routes/``; ``kgexplain serve`` runs
it with uvicorn. Errors are ``ServiceError``s (``errors.py``), answered by one handler as
``application/problem+json`` (RFC 9457), or as a page on the HTML routes. The edge (``security.py``) caps
bodies, answers requests that overrun their time and sets the security headers.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import KgExplainError
from ..store import TripleStore
from ..vocab import Minter
from .cache import ResponseCache
from .errors import ServiceError, Unprocessable, of_status, problem_of
from .executor import QueryExecutor
from .jobs import JobRunner
from .pages import message_page
from .routes import documents, editor, entities, graph_store, meta, neurons, pages, rules, runs, sparql
from .rules import RuleIndex
from .security import BodyLimit, Deadline, SecurityHeaders
from .state import ServiceConfig, ServiceState

__all__ = ["ServiceConfig", "create_app"]

PROBLEM = "application/problem+json"


def create_app(store: TripleStore, config: ServiceConfig | None = None) -> FastAPI:
    """The app over ``store`` (kept open for the app's life; the caller closes it)."""
    config = config or ServiceConfig()
    if not config.update_token:  # an empty token (KGX_UPDATE_TOKEN= set to nothing) must not open updates
        config = replace(config, update_token=None)
    minter = Minter(config.base_iri)
    index = RuleIndex(store, minter)
    state = ServiceState(
        store,
        config,
        minter,
        index,
        QueryExecutor(store, config),
        JobRunner(store, config.work_dir, config.base_iri, data_dir=config.data_dir),
    )
    app = FastAPI(
        title="kgexplain",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        description="Rules that explain what a text classifier keys on, grounded in Wikidata: "
        "SPARQL 1.1 Protocol at /sparql, rule lookup under /api.",
    )
    app.state.kgx = state
    app.state.store, app.state.config, app.state.index, app.state.runner = store, config, index, state.runner
    for module in (sparql, graph_store, rules, entities, documents, neurons, runs, meta, pages, editor):
        app.include_router(module.router)
    app.add_exception_handler(ServiceError, _answer)
    app.add_exception_handler(KgExplainError, _answer)
    app.add_exception_handler(StarletteHTTPException, _answer)
    app.add_exception_handler(RequestValidationError, _answer)
    # The last added runs first: headers on every answer, then the body cap, the deadline, the cache.
    app.add_middleware(ResponseCache, paths={"/api/rules"}, version=lambda: index.version)
    app.add_middleware(Deadline, timeout_s=max(config.request_timeout_s, config.query_timeout_s + 2))
    app.add_middleware(BodyLimit, limit=lambda path: _body_cap(config, path))
    app.add_middleware(SecurityHeaders)
    watching = []
    app.router.on_startup.append(lambda: watching.append(index.watch()))
    app.router.on_startup.append(state.executor.start)

    def stop_watching() -> None:
        for event in watching:
            event.set()

    app.router.on_shutdown.append(stop_watching)
    app.router.on_shutdown.append(state.executor.close)
    app.router.on_shutdown.append(state.runner.close)
    return app


def _body_cap(config: ServiceConfig, path: str) -> int:
    if path == "/sparql":
        return config.max_query_bytes
    if path == "/store":
        return config.max_upload_bytes
    return config.max_body_bytes


async def _answer(request: Request, exc: Exception) -> Response:
    """The one error handler: problem+json, or a page on the HTML routes."""
    if isinstance(exc, StarletteHTTPException):
        error = of_status(exc.status_code, str(exc.detail), title="Not Found" if exc.status_code == 404 else None)
    elif isinstance(exc, RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        error = Unprocessable(detail, errors=errors)
    else:
        error = problem_of(exc)
    body = error.body()
    if request.url.path.startswith(pages.PAGE_PREFIXES) and request.method in ("GET", "HEAD"):
        return HTMLResponse(
            message_page(body["title"], body["detail"]), status_code=error.status, headers=error.headers
        )
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM, headers=error.headers)
