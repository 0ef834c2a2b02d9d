"""Fixtures of the end-to-end tests: one `kgexplain demo` run that several test modules read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from loopback import served
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


@contextmanager
def serving(store: TripleStore, config: ServiceConfig | None = None) -> Iterator[str]:
    """The app over ``store`` served by uvicorn in a thread; yields its base URL once /api/health answers."""
    with served(create_app(store, config)) as url:
        yield url


@pytest.fixture(scope="session")
def serve() -> Callable[..., AbstractContextManager[str]]:
    """``serve(store, config=None)``: a context manager serving the app over ``store`` on loopback."""
    return serving
