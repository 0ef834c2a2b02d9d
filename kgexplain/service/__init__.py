"""The web service: SPARQL 1.1 Protocol endpoint and REST rule lookup over a store (``kgexplain serve``)."""

from .app import create_app
from .errors import ServiceError
from .state import ServiceConfig

__all__ = ["ServiceConfig", "ServiceError", "create_app"]
