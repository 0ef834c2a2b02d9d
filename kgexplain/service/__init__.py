"""The web service: SPARQL 1.1 Protocol endpoint and REST rule lookup over a store (``kgexplain serve``)."""

from .app import Problem, ServiceConfig, create_app

__all__ = ["Problem", "ServiceConfig", "create_app"]
