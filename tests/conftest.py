"""Shared fixtures: where the real data lives, and one seed for every RNG."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_SLOW_DIRS = (ROOT / "tests" / "e2e", ROOT / "tests" / "w3c")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e and tests/w3c, and every test marked ``e2e``, is ``slow`` too: ``pytest -m
    "not slow"`` runs the unit and contract tests only."""
    for item in items:
        if item.get_closest_marker("e2e") is not None or any(item.path.is_relative_to(d) for d in _SLOW_DIRS):
            item.add_marker(pytest.mark.slow)


def _shared_data_dir() -> Path:
    override = os.environ.get("KGX_SHARED_DATA")
    return Path(override) if override else ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project root. Fails loudly in CI, skips elsewhere."""
    path = _shared_data_dir()
    if not (path / "wikidata" / "wikidata-subset.nt.gz").is_file():
        message = f"real data not found at {path} (set KGX_SHARED_DATA to point at shared/data)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def dbpedia_ontology() -> Path:
    """``../shared/data/mappings/dbpedia-ontology.ttl``: fails in CI when missing, skips elsewhere."""
    path = _shared_data_dir() / "mappings" / "dbpedia-ontology.ttl"
    if not path.is_file():
        message = f"the DBpedia ontology snapshot is not at {path} (set KGX_SHARED_DATA to point at shared/data)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def java() -> None:
    """Spark needs Java 17+: fails loudly in CI, skips elsewhere (a fresh Debian has none:
    ``apt install default-jre-headless``). pyspark itself is in the test extra: missing, it fails."""
    import shutil

    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("pyspark is missing: it is in the test extra (pip install -e '.[test]')")
    if shutil.which("java") is None:
        message = "the Spark miner needs Java 17+ on PATH (Debian: apt install default-jre-headless)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def seed() -> int:
    """Seeds Python, NumPy and torch the same way for every test."""
    value = 1234
    random.seed(value)
    np.random.seed(value)
    try:
        import torch

        torch.manual_seed(value)
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return value


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory):
    """A real Oxigraph server (the `oxigraph` PyPI package's binary) on loopback; stopped afterwards.
    Yields its query endpoint URL."""
    import shutil
    import subprocess
    import sys
    import time

    import httpx

    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(binary).exists():
        pytest.fail("the oxigraph server binary is missing: `pip install oxigraph` (it is in the test extra)")
    from loopback import free_port  # tests/loopback.py: this folder is on the import path

    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph-server")
    proc = subprocess.Popen(
        [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/query", params={"query": "ASK {}"}, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"oxigraph server did not start: {proc.stderr.read().decode()[:500] if proc.stderr else ''}")
        time.sleep(0.1)
    try:
        yield f"{url}/query"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.stderr:
            proc.stderr.close()
