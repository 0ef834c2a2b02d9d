"""Fixtures of the W3C SPARQL 1.1 suites: where the suites are, and the service running on loopback over a
fresh store (one per test module and store kind), with an update token."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import served
from w3c_suite import TOKEN, Live, suite_dir

from kgexplain.service import ServiceConfig, create_app
from kgexplain.store import EmbeddedStore


@pytest.fixture(scope="session")
def w3c() -> Path:
    """The W3C SPARQL 1.1 suites. Fails loudly in CI when missing, skips elsewhere."""
    path = suite_dir()
    if not (path / "manifest-all.ttl").is_file():
        message = f"the W3C SPARQL 1.1 test suites are not at {path} (set KGX_SHARED_DATA to point at shared/data)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module", params=["disk", "memory"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """``kgexplain serve`` as it runs for users (uvicorn), with updates allowed to ``Authorization: Bearer
    TOKEN``, over a store on disk (users' queries then run in the query worker processes) or in memory (in
    threads): the executor's two paths."""
    config = ServiceConfig(update_token=TOKEN, max_concurrent_queries=2)
    path = tmp_path_factory.mktemp("w3c") / "store" if request.param == "disk" else None
    with EmbeddedStore(path) as store, served(create_app(store, config)) as url:
        yield Live(url, store)
