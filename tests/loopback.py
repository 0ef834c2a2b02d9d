"""Serving the app on loopback for the tests (one helper for the e2e and W3C suites): a free port, the app
under uvicorn in a thread, and a wait until ``/api/health`` answers. ``tests/`` is on the import path of
every test module (pytest puts the root conftest's folder there), so each imports this as ``loopback``."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

__all__ = ["free_port", "wait_healthy", "served"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, *, process: subprocess.Popen[bytes] | None = None, timeout_s: float = 60) -> None:
    """Returns once ``url``/api/health answers 200; fails if ``process`` (a server being started) exits first."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited: {process.stderr.read().decode() if process.stderr else ''}")
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; yields its base URL once it answers."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.config.port}"
    try:
        wait_healthy(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
