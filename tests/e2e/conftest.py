"""Fixtures of the end-to-end tests: one `kgexplain demo` run that several test modules read."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.service import ServiceConfig, create_app
from kgexplain.store import TripleStore


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`kgexplain demo`, run once per test session, as a user runs it: (output directory, what it printed).
    Tests that write must copy ``out / "store"`` first."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(store: TripleStore, config: ServiceConfig | None = None) -> Iterator[str]:
    """The app over ``store`` served by uvicorn in a thread; yields its base URL once /api/health answers."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store, config), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)



@pytest.fixture(scope="session")
def serve() -> Callable[..., AbstractContextManager[str]]:
    """``serve(store, config=None)``: a context manager serving the app over ``store`` on loopback."""
    return serving
