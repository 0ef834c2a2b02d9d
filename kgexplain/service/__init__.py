"""The web service: SPARQL 1.1 Protocol endpoint and REST rule lookup over a store (``kgexplain serve``).

The names below load on first use, so that a query worker (``python -m kgexplain.service.worker``) starts
without importing the app and the pipeline behind it."""

from __future__ import annotations

from typing import Any

__all__ = ["ServiceConfig", "ServiceError", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "ServiceConfig":
        from .state import ServiceConfig

        return ServiceConfig
    if name == "ServiceError":
        from .errors import ServiceError

        return ServiceError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
