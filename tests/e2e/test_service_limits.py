"""The service's limits under attack, over real HTTP: runaway queries end (their worker processes are ended,
their slots come back, the service keeps answering), every route has a deadline and a body cap, SIGTERM
stops `kgexplain serve` and frees the store, and no answer shows a filesystem path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from loopback import free_port, served, wait_healthy

from kgexplain.service import ServiceConfig, create_app
from kgexplain.store import EmbeddedStore

RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def _filled(path: Path, n: int = 3000) -> EmbeddedStore:
    db = EmbeddedStore(path)
    triples = " ".join(f"<http://example.org/s{i}> <http://example.org/p> {i} ." for i in range(n))
    db.update(f"INSERT DATA {{ GRAPH <http://example.org/g> {{ {triples} }} }}")
    return db


@contextmanager
def _app(db: EmbeddedStore, config: ServiceConfig) -> Iterator[tuple[str, object]]:
    """The app served on loopback, and the app (for its executor)."""
    app = create_app(db, config)
    with served(app) as url:
        yield url, app


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_runaway_queries_end_and_slots_come_back(tmp_path: Path) -> None:
    with _filled(tmp_path / "store") as db, _app(db, ServiceConfig(query_timeout_s=1.5)) as (url, app):
        executor = app.state.kgx.executor  # type: ignore[attr-defined]
        assert executor.uses_processes
        # the workers start in the background; once four are up, they are the ones the runaways get
        deadline = time.monotonic() + 60
        while executor.idle_workers() < 4:
            assert time.monotonic() < deadline, "the query workers did not start"
            time.sleep(0.1)
        before = executor.worker_pids()
        answers: list[tuple[int, float]] = []

        def runaway() -> None:
            start = time.monotonic()
            response = httpx.get(f"{url}/sparql", params={"query": RUNAWAY}, timeout=60)
            answers.append((response.status_code, time.monotonic() - start))

        threads = [threading.Thread(target=runaway) for _ in range(4)]
        for thread in threads:
            thread.start()
        health = []
        while any(t.is_alive() for t in threads):
            start = time.monotonic()
            assert httpx.get(f"{url}/api/health", timeout=10).status_code == 200
            health.append(time.monotonic() - start)
            time.sleep(0.05)
        for thread in threads:
            thread.join()
        assert [status for status, _ in answers] == [503] * 4
        assert max(seconds for _, seconds in answers) < 1.5 + 8  # ended, not run for the hours it needs
        assert health and max(health) < 5  # the service answered all along
        # the processes that ran the runaways are gone: no query keeps using the CPU after its 503
        deadline = time.monotonic() + 2
        while not all(_gone(pid) for pid in before):
            assert time.monotonic() < deadline, f"workers still running: {[p for p in before if not _gone(p)]}"
            time.sleep(0.05)
        # and the slots came back: the store answers again, and sees every triple
        response = httpx.get(f"{url}/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["results"]["bindings"][0]["n"]["value"] == "3000"


def test_workers_see_writes_made_after_they_started(tmp_path: Path) -> None:
    count = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    with _filled(tmp_path / "store", 10) as db, _app(db, ServiceConfig(update_token="t")) as (url, _app_):
        first = httpx.get(f"{url}/sparql", params={"query": count}, timeout=60).json()
        assert first["results"]["bindings"][0]["n"]["value"] == "10"
        insert = "INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/new> <http://example.org/p> 1 } }"
        assert (
            httpx.post(f"{url}/sparql", data={"update": insert}, headers={"authorization": "Bearer t"}).status_code
            == 204
        )
        db.update(
            "INSERT DATA { GRAPH <http://example.org/h> { <http://example.org/other> <http://example.org/p> 2 } }"
        )
        for _ in range(8):  # every worker, not only the one that answered first
            again = httpx.get(f"{url}/sparql", params={"query": count}, timeout=60).json()
            assert again["results"]["bindings"][0]["n"]["value"] == "12"


def test_every_route_has_a_body_cap(tmp_path: Path) -> None:
    config = ServiceConfig(update_token="t", max_query_bytes=10_000, max_body_bytes=1_000, max_upload_bytes=20_000)
    with EmbeddedStore(tmp_path / "store") as db, _app(db, config) as (url, _app_):
        big = b"x" * 50_000

        def chunks() -> Iterator[bytes]:  # no Content-Length: the cap must hold on a streamed body too
            for _ in range(50):
                yield b"y" * 1_000

        for path, content_type in (
            ("/sparql", "application/sparql-query"),
            ("/store?default", "text/turtle"),
            ("/api/runs", "application/json"),
        ):
            for body in (big, chunks()):
                response = httpx.post(
                    f"{url}{path}", content=body, headers={"content-type": content_type, "authorization": "Bearer t"}
                )
                assert response.status_code == 413, (path, response.text)
                assert response.headers["content-type"].startswith("application/problem+json")


def test_no_filesystem_path_in_answers(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path / "store") as db, _app(db, ServiceConfig(update_token="t")) as (url, _app_):
        answers = [
            httpx.get(f"{url}/api/health"),
            httpx.post(
                f"{url}/api/runs",
                json={"data": str(tmp_path / "nothing.csv"), "kg": "/etc/passwd"},
                headers={"authorization": "Bearer t"},
            ),
            httpx.get(f"{url}/sparql", params={"query": "SELEKT"}),
            httpx.get(f"{url}/api/rules/nope/nope"),
        ]
        for response in answers:
            assert str(tmp_path) not in response.text and "/etc/passwd" not in response.text, response.text
        assert answers[0].json()["store"] == "embedded store"


def test_sigterm_stops_serve_and_frees_the_store(tmp_path: Path) -> None:
    path = tmp_path / "store"
    _filled(path).close()
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kgexplain.cli",
            "serve",
            "--store",
            str(path),
            "--port",
            str(port),
            "--timeout-s",
            "60",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process=process)

        def runaway() -> None:
            with suppress(httpx.HTTPError):
                httpx.get(f"{url}/sparql", params={"query": RUNAWAY}, timeout=30)

        for _ in range(2):
            threading.Thread(target=runaway, daemon=True).start()
        time.sleep(2)  # the runaways are running
        start = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert time.monotonic() - start < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
            pytest.fail("kgexplain serve did not stop within 10 s of SIGTERM")
    with EmbeddedStore(path) as db:  # the lock is free: a writer can open the store
        assert db.count() == 3000


def test_a_query_that_crashes_oxigraph_costs_a_worker_not_the_service(tmp_path: Path) -> None:
    # pyoxigraph 0.5.13 overflows its stack on a filter of ~10,000 conjuncts: in the serving process that
    # would end the service; in a worker it ends the worker, which another replaces
    crash = "SELECT * WHERE { FILTER(" + " && ".join(["true"] * 20_000) + ") }"
    with _filled(tmp_path / "store", 10) as db, _app(db, ServiceConfig(query_timeout_s=20)) as (url, _app_):
        response = httpx.post(
            f"{url}/sparql", content=crash.encode(), timeout=60, headers={"content-type": "application/sparql-query"}
        )
        assert response.status_code == 500 and "worker died" in response.json()["detail"], response.text
        assert httpx.get(f"{url}/api/health").status_code == 200
        again = httpx.get(f"{url}/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"}, timeout=60)
        assert again.status_code == 200 and again.json()["results"]["bindings"][0]["n"]["value"] == "10"
