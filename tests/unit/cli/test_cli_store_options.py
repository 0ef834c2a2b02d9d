"""Where a command's store is: `--store` or `--endpoint` (or KGX_STORE / KGX_ENDPOINT), never both silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgexplain.cli import app


def test_store_and_endpoint_together_are_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["mine", "--dataset", "x", "--store", str(tmp_path / "s"), "--endpoint", "http://127.0.0.1:1/sparql"]
    )
    assert result.exit_code == 2
    assert "not both" in result.output
    assert not (tmp_path / "s").exists()  # nothing was opened


@pytest.mark.parametrize(("env", "value"), [("KGX_STORE", "store"), ("KGX_ENDPOINT", "http://127.0.0.1:1/sparql")])
def test_the_environment_names_the_store(tmp_path: Path, env: str, value: str) -> None:
    given = str(tmp_path / value) if env == "KGX_STORE" else value
    result = CliRunner().invoke(app, ["mine", "--dataset", "nothing-here"], env={env: given})
    assert result.exit_code == 2, result.output
    assert "give --store DIR or --endpoint URL" not in result.output  # the variable was taken
    if env == "KGX_STORE":
        assert (tmp_path / value).is_dir()
    else:
        assert "127.0.0.1:1" in result.output  # it tried the endpoint and says it cannot reach it
