"""The edge of the service, as ASGI middleware: a body cap on every route, a deadline on every request,
and the security headers on every answer.

- ``BodyLimit`` reads a request's body up to its route's cap before the app sees it (413 past it, whether
  the client declared a length or streamed chunks), so no route can be made to buffer more.
- ``Deadline`` answers 503 when a route has not started its answer in time; the store work behind it is
  bounded by the executor (``executor.py``).
- ``SecurityHeaders`` adds ``nosniff``, a frame policy and a Content-Security-Policy that allows scripts
  from this origin only (a page with an inline script sets its own policy with that script's hash).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from .errors import PayloadTooLarge, ServiceError, ServiceUnavailable

__all__ = ["BodyLimit", "Deadline", "SecurityHeaders", "content_security_policy", "script_hash"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def content_security_policy(scripts: Iterable[str] = (), styles: Iterable[str] = ()) -> str:
    """The policy of every page: this origin only, no framing, no plugins; ``scripts`` and ``styles`` are
    extra sources (hashes, or a documentation page's CDN)."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src " + " ".join(("'self'", *scripts)),
            "style-src " + " ".join(("'self'", "'unsafe-inline'", *styles)),  # style attributes of the heatmaps
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_CSP = content_security_policy().encode()


async def _problem(send: Send, error: ServiceError) -> None:
    body = json.dumps(error.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _HEADERS if k not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", _CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Caps each request's body by ``limit(path)`` bytes."""

    def __init__(self, app: ASGIApp, limit: Callable[[str], int]) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.limit(scope["path"])
        too_large = PayloadTooLarge(f"this route takes request bodies of up to {cap:,} bytes", title="Body too large")
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > cap:
            await _problem(send, too_large)
            return
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _problem(send, too_large)
                return
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(parts)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)


class Deadline:
    """Answers 503 when the app has not started its answer within ``timeout_s``."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app, self.timeout_s = app, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = abandoned = False

        async def guarded(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # an abandoned route's error is not news
        done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
        if task in done or started:
            await task
            return
        abandoned = True
        task.cancel()
        await _problem(
            send, ServiceUnavailable(f"the request ran past the {self.timeout_s:g} s timeout", title="Request timeout")
        )
