"""What the routes share: the operator's settings (``ServiceConfig``), the objects built from them once per
app (``ServiceState``), and the typed dependencies that hand them to a route."""

from __future__ import annotations

import hmac
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from ..store import TripleStore
from ..vocab import DEFAULT_BASE, Minter
from .errors import Forbidden, Unauthorized
from .executor import QueryExecutor
from .jobs import JobRunner
from .rules import RuleIndex

__all__ = ["ServiceConfig", "ServiceState", "StateDep", "StoreDep", "state_of", "has_token", "require_token"]


@dataclass(frozen=True)
class ServiceConfig:
    """The operator's knobs (``kgexplain serve`` options)."""

    update_token: str | None = None  # None: updates refused
    query_timeout_s: float = 30.0
    request_timeout_s: float = 60.0  # every other route: answered 503 past this
    max_result_bytes: int = 64 * 1024 * 1024
    max_query_bytes: int = 1024 * 1024  # a SPARQL request's body (query or update text and form)
    max_upload_bytes: int = 64 * 1024 * 1024  # Graph Store Protocol PUT/POST bodies
    max_body_bytes: int = 64 * 1024  # every other route's body (POST /api/runs)
    max_concurrent_queries: int = 4
    allowed_services: Collection[str] = field(default_factory=tuple)
    allowed_load_hosts: Collection[str] = field(default_factory=tuple)
    base_iri: str = DEFAULT_BASE
    work_dir: Path | None = None  # models of runs started over REST (default: a temporary dir)
    data_dir: Path | None = None  # the only place POST /api/runs reads datasets and dumps from


@dataclass
class ServiceState:
    """One per app: the store and what is built over it."""

    store: TripleStore
    config: ServiceConfig
    minter: Minter
    index: RuleIndex
    executor: QueryExecutor
    runner: JobRunner
    graphs: dict[str, Any] = field(default_factory=dict)  # rendered rule graphs by the runs they show


def state_of(request: Request) -> ServiceState:
    return request.app.state.kgx


def _store_of(request: Request) -> TripleStore:
    return state_of(request).store


StateDep = Annotated[ServiceState, Depends(state_of)]
StoreDep = Annotated[TripleStore, Depends(_store_of)]


def has_token(request: Request, config: ServiceConfig) -> bool:
    """Whether the request carries the update token (compared in constant time)."""
    if config.update_token is None:
        return False
    given = request.headers.get("authorization", "").encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given, f"Bearer {config.update_token}".encode())


def require_token(request: Request, config: ServiceConfig) -> None:
    if config.update_token is None:
        raise Forbidden(
            "this endpoint is read-only (start `kgexplain serve` with --update-token to allow updates)",
            title="Updates disabled",
        )
    if not has_token(request, config):
        raise Unauthorized("updates need `Authorization: Bearer <update token>`")
