"""Fixtures of the end-to-end tests: one `kgexplain demo` run that several test modules read."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgexplain.cli import app


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`kgexplain demo`, run once per test session, as a user runs it: (output directory, what it printed).
    Tests that write must copy ``out / "store"`` first."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output
