"""A response cache in front of the app for the listings people ask for again and again.

FastAPI spends most of a ``GET /api/rules`` on checking its twelve query parameters (~0.3 ms of ~0.4 ms), so
the listing is answered from here when the same request (path, query string, host) was answered before and
the rules have not changed since: ``version()`` says which rules are loaded, and is part of the key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any

__all__ = ["ResponseCache"]

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class ResponseCache:
    """ASGI middleware: caches successful GET answers of ``paths`` up to ``max_bytes`` each, ``entries`` in all
    (least recently used dropped first)."""

    def __init__(
        self,
        app: Any,
        *,
        paths: Collection[str],
        version: Callable[[], object],
        entries: int = 2048,
        max_bytes: int = 1 << 20,
    ) -> None:
        self.app, self.paths, self.version = app, frozenset(paths), version
        self.entries, self.max_bytes = entries, max_bytes
        self._cache: OrderedDict[tuple[object, ...], tuple[int, list[tuple[bytes, bytes]], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        key = (self.version(), scope["path"], scope.get("query_string", b""), headers.get(b"host", b""))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit is not None:
            status, response_headers, body = hit
            await send({"type": "http.response.start", "status": status, "headers": response_headers})
            await send({"type": "http.response.body", "body": body})
            return
        captured: dict[str, Any] = {"parts": []}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["status"], captured["headers"] = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured["parts"].append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        body = b"".join(captured["parts"])
        if captured.get("status") == 200 and len(body) <= self.max_bytes:
            with self._lock:
                self._cache[key] = (200, captured["headers"], body)
                while len(self._cache) > self.entries:
                    self._cache.popitem(last=False)
