"""docker/compose.yaml, checked by a real Compose implementation (Debian's docker-compose; `.ci/run` installs
it): it validates, and the resolved file wires kgexplain to Oxigraph with health checks and volumes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        message = "docker-compose is missing (Debian: apt install docker-compose; .ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


def test_compose_file_validates_and_wires_the_services(compose: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [compose, "-f", str(ROOT / "docker" / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "KGX_UPDATE_TOKEN": "t0ken"},
    )
    assert run.returncode == 0, run.stderr
    config = yaml.safe_load(run.stdout)
    services = config["services"]
    assert set(services) == {"oxigraph", "kgexplain"}
    app, store = services["kgexplain"], services["oxigraph"]
    assert app["depends_on"]["oxigraph"]["condition"] == "service_healthy"
    assert "http://oxigraph:7878/query" in app["command"]
    assert all(s["healthcheck"]["test"] for s in services.values())
    assert app["environment"]["KGX_UPDATE_TOKEN"] == "t0ken"
    assert store["volumes"] == ["oxigraph-data:/data:rw"] and app["volumes"] == ["kgexplain-work:/work:rw"]
    assert set(config["volumes"]) == {"oxigraph-data", "kgexplain-work"}
    dockerfile = Path(store["build"]["context"]) / store["build"]["dockerfile"]
    assert dockerfile.is_file() and "torch==2.13.0" in dockerfile.read_text()


def test_compose_file_with_an_error_is_refused(compose: str, tmp_path: Path) -> None:
    """The check can fail: a service that depends on one that does not exist is refused."""
    broken = (
        (ROOT / "docker" / "compose.yaml")
        .read_text()
        .replace("      oxigraph:\n        condition", "      nosuch:\n        condition")
    )
    path = tmp_path / "compose.yaml"
    path.write_text(broken)
    run = subprocess.run([compose, "-f", str(path), "config", "-q"], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "nosuch" in run.stderr
