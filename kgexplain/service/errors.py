"""The service's errors: one tree, each class with its HTTP status, answered by one handler as
``application/problem+json`` (RFC 9457) or, on the HTML pages, as a page.

Routes raise these; errors from below (store, guard, input) are mapped to them by type in ``problem_of``,
never by reading their messages. No answer carries a filesystem path of the server: details are cleaned
by ``public_detail`` before they leave.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any, ClassVar

from ..errors import InputError, QuerySyntaxError, StoreError, StoreUnreachable

__all__ = [
    "ServiceError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "NotAcceptable",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "Unprocessable",
    "ServerError",
    "BadGateway",
    "ServiceUnavailable",
    "problem_of",
    "public_detail",
    "of_status",
]

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An error answered to the client: ``status`` and ``title`` come from the class unless given."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Server error"

    def __init__(
        self, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if title is not None:
            self.title = title  # type: ignore[misc]
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": public_detail(self.detail),
            **self.extra,
        }


class BadRequest(ServiceError):
    status, title = 400, "Bad request"


class Unauthorized(ServiceError):
    status, title = 401, "Unauthorized"


class Forbidden(ServiceError):
    status, title = 403, "Forbidden"


class NotFound(ServiceError):
    status, title = 404, "Not Found"


class MethodNotAllowed(ServiceError):
    status, title = 405, "Method not allowed"


class NotAcceptable(ServiceError):
    status, title = 406, "Not acceptable"


class PayloadTooLarge(ServiceError):
    status, title = 413, "Payload too large"


class UnsupportedMediaType(ServiceError):
    status, title = 415, "Unsupported media type"


class Unprocessable(ServiceError):
    status, title = 422, "Invalid request"


class ServerError(ServiceError):
    status, title = 500, "Server error"


class BadGateway(ServiceError):
    status, title = 502, "Bad gateway"


class ServiceUnavailable(ServiceError):
    status, title = 503, "Service unavailable"


_BY_STATUS: dict[int, type[ServiceError]] = {
    c.status: c
    for c in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        NotAcceptable,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
        ServerError,
        BadGateway,
        ServiceUnavailable,
    )
}


def of_status(status: int, detail: str, *, title: str | None = None, **extra: Any) -> ServiceError:
    """A ``ServiceError`` of ``status`` (the one place that maps a number to a class, for framework errors)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        error = ServiceError(detail, title=title or "Error", **extra)
        error.status = status  # type: ignore[misc]
        return error
    return cls(detail, title=title, **extra)


def problem_of(exc: Exception) -> ServiceError:
    """The answer for an error raised below the routes, chosen by its type."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, StoreUnreachable):
        return BadGateway(str(exc), title="Store unreachable")
    if isinstance(exc, QuerySyntaxError):
        return BadRequest(str(exc), title="Query failed")
    if isinstance(exc, StoreError):
        return ServerError(str(exc), title="Store error")
    if isinstance(exc, InputError):
        return Unprocessable(str(exc))
    log.exception("unexpected error in the service", exc_info=exc)
    return ServerError("the server failed on this request; its log says why")


# A slash-led run of path characters with at least two parts ("/home/x/store", "/tmp/kgx-1/db"), or a Windows
# drive path. It is a path of this machine when its top directory exists here: "/api/rules" and the paths of
# IRIs ("http://…/a/b", whose slashes follow "scheme:" or a host name) are left alone.
_PATH = re.compile(r"(?<![\w:/.\-])(?:/[\w.\-+@~]+){2,}/?|\b[A-Za-z]:\\[^\s'\"]+")


def _hidden(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.startswith("/") and not os.path.isdir("/" + text[1:].split("/", 1)[0]):
        return text
    return "<path>"


def public_detail(detail: str) -> str:
    """``detail`` with every filesystem path of this machine replaced by ``<path>``."""
    cwd = os.getcwd()
    if len(cwd) > 1:
        detail = detail.replace(cwd, "<path>")
    return _PATH.sub(_hidden, detail)
