"""The errors kgexplain raises. The CLI and HTTP edges catch ``KgExplainError`` and nothing broader."""

from __future__ import annotations

__all__ = [
    "KgExplainError",
    "InputError",
    "StoreError",
    "StoreUnreachable",
    "QuerySyntaxError",
    "QueryError",
    "ModelError",
    "ValidationFailed",
]


class KgExplainError(Exception):
    """Base of every error kgexplain raises on purpose. ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class InputError(KgExplainError):
    """A file, column, option or dataset the user gave cannot be used as it is."""


class StoreError(KgExplainError):
    """The triple store could not be opened, read or written."""


class StoreUnreachable(StoreError):
    """A remote store did not answer (connection refused, timed out, name not found)."""


class QuerySyntaxError(StoreError):
    """The store refused a query or update as malformed (a user's text, at the SPARQL endpoint)."""


class QueryError(KgExplainError):
    """A SPARQL query file is malformed, or was called with parameters it does not declare."""


class ModelError(KgExplainError):
    """A model cannot be built, trained, loaded or explained as asked."""


class ValidationFailed(KgExplainError):
    """Published RDF does not conform to the SHACL shapes."""

    exit_code = 1
