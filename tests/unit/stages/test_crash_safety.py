"""``kill -9`` at any moment of a write leaves the store with the old state or the new, nothing between.

Real processes are killed with SIGKILL: a load of generated data (the knowledge graph and the dataset must be
replaced together), and the pipeline's stages on the built-in synthetic data (a run graph is absent, or
complete and in the catalog). The kill lands at a pause planted at each store write in turn, before and after
it, and at moments chosen at random. Each killed store is then reopened as the next run would open it: no
staging graph is left, and every graph is as the complete run wrote it, or as it was before.

Starting Python with torch costs seconds, so the killed processes are forked from one helper process that
has imported kgexplain once (this file run as a script: ``python test_crash_safety.py zygote``); the store
and the models are only ever touched by the forked child.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from kgexplain.store import EmbeddedStore

ROOT = Path(__file__).resolve().parents[3]
BASE = "https://w3id.org/kgexplain/id/"
KG = BASE + "graph/kg/synthetic"
DATA = BASE + "graph/dataset/synthetic"
CATALOG = BASE + "graph/catalog"
PRIVATE_MARKS = ("--staging", "--pending", "--publish-")  # the marks of graphs being written, old ones too


# ----------------------------------------------------------------------------------------------------------
# the child's side: scenarios run in a forked process, reporting each store write on stdout


def _emit(message: dict[str, Any]) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())  # unbuffered: the parent must see it before a kill


class _Traced:
    """A store that reports each write before and after it, and stops for good (to be killed) at write
    number ``pause_at``."""

    def __init__(self, store: Any, pause_at: int | None) -> None:
        self._store, self._pause_at, self._n, self._lock = store, pause_at, 0, threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _event(self, what: str) -> None:
        with self._lock:
            self._n += 1
            n = self._n
        _emit({"event": n, "what": what, "t": time.monotonic()})
        if n == self._pause_at:
            _emit({"paused": n})
            time.sleep(600)

    def _traced(self, op: str, graph: str, call: Any) -> Any:
        self._event(f"before {op} {graph}")
        result = call()
        self._event(f"after {op} {graph}")
        return result

    def load(self, source: Any, graph: ox.NamedNode, format: Any = None) -> int:
        return self._traced("load", graph.value, lambda: self._store.load(source, graph, format))

    def update(self, query: Any, **bind: Any) -> None:
        return self._traced("update", str(query)[:120].replace("\n", " "), lambda: self._store.update(query, **bind))

    def publish(self, graphs: Any) -> int:
        return self._traced("publish", ", ".join(g.value for g in graphs), lambda: self._store.publish(graphs))


def _load_data(version: int) -> tuple[Any, list[tuple[str, str, str]]]:
    """Version 1 or 2 of a dataset and its knowledge graph: other documents, other sizes, same graph names."""
    from kgexplain.loaders.synthetic import make_synthetic

    synthetic = make_synthetic(60 * version + 40, seed=version)
    filler = [
        (f"<{BASE}filler/{version}/{i}>", "<http://www.w3.org/2000/01/rdf-schema#label>", f'"filler {i}"@en')
        for i in range(2_000 * version)
    ]
    return synthetic.dataset, synthetic.kg + filler


def _run_settings() -> Any:
    from kgexplain.config import Settings

    settings = Settings(method="lrp", explain_batch_size=12, activation_top_tokens=0)
    return replace(settings, train=replace(settings.train, epochs=1))


def _scenario_load(scenario: dict[str, Any]) -> None:
    from kgexplain.config import Settings
    from kgexplain.stages import load_stage

    dataset, kg = _load_data(scenario["version"])
    with EmbeddedStore(Path(scenario["store"])) as db:
        load_stage(_Traced(db, scenario.get("pause_at")), dataset, kg, Settings())


def _scenario_run(scenario: dict[str, Any]) -> None:
    """What ``kgexplain run`` does, on a small synthetic set; training only for the first run (the model
    lives outside the store)."""
    import numpy as np
    import torch

    from kgexplain.loaders.synthetic import make_synthetic
    from kgexplain.stages import activations_stage, explain_stage, load_stage, mine_stage, train_stage

    random.seed(1234)
    np.random.seed(1234)
    torch.manual_seed(1234)
    synthetic = make_synthetic(scenario["documents"])
    settings, model = _run_settings(), Path(scenario["model"])
    with EmbeddedStore(Path(scenario["store"])) as db:
        store = _Traced(db, scenario.get("pause_at"))
        load_stage(store, synthetic.dataset, synthetic.kg, settings)
        if scenario["train"]:
            train_stage(store, "synthetic", model, settings)
        explain_stage(store, "synthetic", model, settings)
        activations_stage(store, "synthetic", model, settings)
        mine_stage(store, "synthetic", settings)


def _zygote() -> None:
    """Reads one scenario per line; forks a child for each, says its pid, and says how it ended."""
    import kgexplain.attribution.explainers  # noqa: F401  (imported once, here, for every child)
    import kgexplain.loaders.synthetic  # noqa: F401
    import kgexplain.models.activations  # noqa: F401
    import kgexplain.stages  # noqa: F401

    scenarios = {"load": _scenario_load, "run": _scenario_run}
    for line in sys.stdin:
        scenario = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                scenarios[scenario["kind"]](scenario)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent reads the traceback in the log
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        _emit({"child": pid})
        _, status = os.waitpid(pid, 0)
        _emit({"exit": pid, "status": status})


# ----------------------------------------------------------------------------------------------------------
# the parent's side


@dataclass
class Outcome:
    events: list[dict[str, Any]] = field(default_factory=list)
    status: int = 0

    @property
    def killed(self) -> bool:
        return os.WIFSIGNALED(self.status) and os.WTERMSIG(self.status) == signal.SIGKILL


class Zygote:
    def __init__(self, log: Path) -> None:
        self.log = log
        self._stderr = log.open("wb")  # the zygote's and its children's stderr, closed with the zygote
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "zygote"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._buffer = b""

    def _message(self, timeout_s: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)  # type: ignore[union-attr]
            if not chunk:
                raise AssertionError(f"the helper process died:\n{self.log.read_text()[-3000:]}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def run(
        self, scenario: dict[str, Any], *, kill_after: tuple[int, float] | None = None, timeout_s: float = 180
    ) -> Outcome:
        """Runs ``scenario`` in a fresh child; SIGKILLs it when it pauses, or ``kill_after`` = (n, s): s seconds
        after it reports write event n (0: after it starts). A child that fails (rather than being killed or
        finishing) fails the test."""
        self.proc.stdin.write((json.dumps(scenario) + "\n").encode())  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        started = self._message(60)
        assert started and "child" in started, f"no child started:\n{self.log.read_text()[-3000:]}"
        pid, outcome = started["child"], Outcome()
        kill_at = time.monotonic() + kill_after[1] if kill_after and kill_after[0] == 0 else None
        deadline = time.monotonic() + timeout_s
        while True:
            wait = deadline - time.monotonic() if kill_at is None else max(0.0, kill_at - time.monotonic())
            message = self._message(wait)
            if message is None:
                if kill_at is not None:
                    kill_at = None
                    _kill(pid)
                    continue
                _kill(pid)
                raise AssertionError(f"the child ran past {timeout_s} s:\n{self.log.read_text()[-3000:]}")
            if "event" in message:
                outcome.events.append(message)
                if kill_after and kill_after[0] == message["event"]:
                    kill_at = time.monotonic() + kill_after[1]
            elif "paused" in message:
                _kill(pid)
            elif "exit" in message:
                outcome.status = message["status"]
                break
        if not outcome.killed:
            assert os.WIFEXITED(outcome.status) and os.WEXITSTATUS(outcome.status) == 0, (
                f"the child failed:\n{self.log.read_text()[-4000:]}"
            )
        return outcome

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()  # type: ignore[union-attr]
        self._stderr.close()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have just finished
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def zygote(tmp_path_factory: pytest.TempPathFactory):
    helper = Zygote(tmp_path_factory.mktemp("zygote") / "children.log")
    yield helper
    helper.close()


def _reopen(store: Path) -> dict[str, bytes]:
    """Opens the store as the next run would (which sweeps orphans), and returns every graph's triples as
    sorted N-Triples lines."""
    with EmbeddedStore(store) as db:
        return {g: b"\n".join(sorted(db.dump(ox.NamedNode(g)).splitlines())) for g in db.graphs()}


def _count(content: bytes) -> int:
    return content.count(b"\n") + 1 if content else 0


def _kill_points(events: int, picks: int) -> list[int]:
    """``picks`` writes spread evenly over ``events``, the first and the last included."""
    return sorted({round(1 + i * (events - 1) / (picks - 1)) for i in range(picks)})


# ----------------------------------------------------------------------------------------------------------
# the tests


@pytest.mark.slow
def test_a_killed_load_leaves_the_old_kg_and_dataset_or_the_new(zygote: Zygote, tmp_path: Path, seed: int) -> None:
    """Version 1 of a dataset and its KG is loaded; loading version 2 is killed at each write (before and
    after it) and at random moments of the swap: the store then holds version 1 of both or version 2 of both,
    and no staging graph."""
    before = tmp_path / "v1"
    assert not zygote.run({"kind": "load", "version": 1, "store": str(before)}).killed
    old = _reopen(before)
    reference = tmp_path / "v2"
    shutil.copytree(before, reference)
    finished = zygote.run({"kind": "load", "version": 2, "store": str(reference)})
    new = _reopen(reference)
    assert set(old) == set(new) == {KG, DATA}
    versions = {"old": (_count(old[KG]), _count(old[DATA])), "new": (_count(new[KG]), _count(new[DATA]))}
    assert versions["old"][0] != versions["new"][0] and versions["old"][1] != versions["new"][1], versions

    # a pause at each write, before and after it; then kills at random moments inside the last write (the
    # swap) and anywhere in the load
    swap = finished.events[-1]["t"] - finished.events[-2]["t"]
    whole = finished.events[-1]["t"] - finished.events[0]["t"]
    rng = random.Random(seed)
    kills: list[dict[str, Any]] = [{"pause_at": n} for n in range(1, len(finished.events) + 1)]
    kills += [{"after": (len(finished.events) - 1, rng.uniform(0.1, 0.9) * swap)} for _ in range(2)]
    kills += [{"after": (0, rng.uniform(0.5, 1.0) * whole)}]
    seen: dict[str, int] = {"old": 0, "new": 0}
    for i, kill in enumerate(kills):
        store = tmp_path / f"kill-{i}"
        shutil.copytree(before, store)
        zygote.run(
            {"kind": "load", "version": 2, "store": str(store), "pause_at": kill.get("pause_at")},
            kill_after=kill.get("after"),
        )
        after = _reopen(store)
        assert set(after) == {KG, DATA}, f"kill {kill}: graphs {sorted(after)}"
        state = (_count(after[KG]), _count(after[DATA]))
        assert state in versions.values(), f"kill {kill}: KG and dataset from different loads: {state}, {versions}"
        which = "old" if state == versions["old"] else "new"
        assert after == (old if which == "old" else new), f"kill {kill}: the {which} graphs changed"
        seen[which] += 1
    assert seen["old"] and seen["new"], seen  # both sides of the swap were hit


def _check_run_store(after: dict[str, bytes], base: dict[str, bytes], kinds: dict[str, int], kill: str) -> int:
    """After a killed re-run of the pipeline over ``base``: the base graphs as they were, and each new graph
    a complete run graph (as many triples as the base run's graph of its kind) listed in the catalog.
    Returns how many new run graphs there are."""
    private = [g for g in after if any(mark in g for mark in PRIVATE_MARKS)]
    assert not private, f"{kill}: graphs left private: {private}"
    for graph, content in base.items():
        if graph != CATALOG:
            assert after.get(graph) == content, f"{kill}: {graph} changed"
    catalog = set(after[CATALOG].splitlines())
    assert set(base[CATALOG].splitlines()) <= catalog, f"{kill}: the catalog lost entries"
    new = sorted(set(after) - set(base))
    for graph in new:
        kind = graph.rsplit("/", 1)[-1].split("-")[0]
        assert kind in kinds, f"{kill}: unexpected graph {graph}"
        assert _count(after[graph]) == kinds[kind], (
            f"{kill}: {graph} holds {_count(after[graph])} triples, a complete one {kinds[kind]}"
        )
    with EmbeddedStore(None) as db:  # read the catalog back with SPARQL
        db.load(after[CATALOG] + b"\n", ox.NamedNode(CATALOG))
        listed = db.select(
            "PREFIX kgx: <https://w3id.org/kgexplain/ns#> SELECT ?graph ?status WHERE { "
            "GRAPH ?c { ?run kgx:runGraph ?graph ; kgx:status ?status } }"
        )
    assert set(listed["status"].to_list()) == {"completed"}, f"{kill}: {listed}"
    assert sorted(listed["graph"].to_list()) == sorted(g for g in after if "/graph/run/" in g), (
        f"{kill}: the catalog lists {sorted(listed['graph'].to_list())}; the store holds {sorted(after)}"
    )
    return len(new)


@pytest.mark.e2e
def test_a_killed_pipeline_run_leaves_complete_runs_only(zygote: Zygote, tmp_path: Path, seed: int) -> None:
    """One complete run of load, train, explain, activations and mine on the synthetic data; then the same
    stages again over a copy of its store, killed at writes spread over the run (mid-explain among them: its
    graph is written batch by batch) and at random moments. Every kill leaves the first run's graphs as they
    were, and only complete runs, each listed in the catalog."""
    base_store, model = tmp_path / "base", tmp_path / "model"
    first = {"kind": "run", "documents": 100, "store": str(base_store), "model": str(model), "train": True}
    finished = zygote.run(first)
    base = _reopen(base_store)
    kinds = {g.rsplit("/", 1)[-1].split("-")[0]: _count(c) for g, c in base.items() if "/graph/run/" in g}
    assert set(kinds) == {"explain", "activations", "mine"}, sorted(base)
    explain = [e for e in finished.events if "/run/explain-" in e["what"]]
    writes = [e["event"] for e in explain if "before load" in e["what"]]
    assert len(writes) >= 5, "the attribution run should be written in several batches"
    stages = finished.events[-1]["t"] - explain[0]["t"]  # explain, activations and mine (training is skipped)

    rng = random.Random(seed)
    points = _kill_points(len(finished.events), 5)
    points.append(writes[len(writes) // 2] + 1)  # right after a middle batch of the attribution run
    kills: list[dict[str, Any]] = [{"pause_at": n} for n in sorted(set(points))]
    kills += [{"after": (explain[0]["event"], rng.uniform(0.05, 1.0) * stages)} for _ in range(2)]
    new_runs = []
    for i, kill in enumerate(kills):
        store = tmp_path / f"kill-{i}"
        shutil.copytree(base_store, store)
        outcome = zygote.run(
            {**first, "store": str(store), "train": False, "pause_at": kill.get("pause_at")},
            kill_after=kill.get("after"),
        )
        where = outcome.events[-1]["what"] if outcome.events else "before the first write"
        new_runs.append(_check_run_store(_reopen(store), base, kinds, f"kill {kill} ({where})"))
    assert 0 in new_runs and max(new_runs) == 3, new_runs  # killed before any run, and after the last one


def test_public_graphs_hide_what_is_being_written(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """In one process: a new graph is private while written in place, a replaced graph keeps its old triples
    until the swap, the commit shows both and the catalog entry at once; an abandoned write is dropped, and
    what a killed writer left is swept when the store is next opened."""
    from kgexplain.store import Staging

    triple = ("<http://example.org/s>", "<http://example.org/p>", '"x"')
    run, kg, catalog = ox.NamedNode(BASE + "graph/run/r1"), ox.NamedNode(KG), ox.NamedNode(CATALOG)
    with EmbeddedStore(tmp_path / "store") as db:
        db.load([triple], kg)
        with Staging(db, new=[run], replaced=[kg]) as staging:
            db.load([triple], staging.target(run))
            db.load([triple, ("<http://example.org/s>", "<http://example.org/p>", '"y"')], staging.target(kg))
            assert db.public_graphs() == [KG] and db.count(kg) == 1
            staging.commit({catalog: [("<http://example.org/r1>", "<http://example.org/graph>", f"<{run.value}>")]})
        assert db.public_graphs() == db.graphs() == sorted([CATALOG, KG, run.value])
        assert db.count(kg) == 2
        with pytest.raises(RuntimeError), Staging(db, new=[ox.NamedNode(BASE + "graph/run/r2")]) as staging:
            db.load([triple], staging.target(ox.NamedNode(BASE + "graph/run/r2")))
            raise RuntimeError("a failed stage")
        assert db.graphs() == sorted([CATALOG, KG, run.value])
        orphan = Staging(db, new=[ox.NamedNode(BASE + "graph/run/r3")], replaced=[kg]).__enter__()  # then killed
        db.load([triple], orphan.target(ox.NamedNode(BASE + "graph/run/r3")))
        db.load([triple], orphan.target(kg))
        assert len(db.graphs()) == 6 and db.public_graphs() == sorted([CATALOG, KG, run.value])
    with caplog.at_level(logging.WARNING, logger="kgexplain.store"), EmbeddedStore(tmp_path / "store") as db:
        assert db.graphs() == sorted([CATALOG, KG, run.value]) and db.count(kg) == 2
    assert "dropped 2 graphs left private" in caplog.text


def test_a_remote_store_sweeps_only_old_orphans(oxigraph_server: str) -> None:
    """Nothing sweeps a remote store by itself (another process may be writing); ``sweep_staging`` drops the
    private graphs older than it is told, a half-written graph with its marker."""
    from kgexplain.store import RemoteStore, Staging
    from kgexplain.vocab import pending_marker

    triple = ("<http://example.org/s>", "<http://example.org/p>", '"x"')
    run = ox.NamedNode(BASE + "graph/run/remote")
    with RemoteStore(oxigraph_server) as db:
        for g in db.graphs():
            db.drop_graph(ox.NamedNode(g))
        fresh = Staging(db, new=[run]).__enter__()
        db.load([triple], run)
        old = pending_marker(ox.NamedNode(BASE + "graph/run/old"), "20200101T000000Z-0badcafe")
        db.load([triple], ox.NamedNode(BASE + "graph/run/old"))
        db.load([triple], old)
        assert db.public_graphs() == []
        assert db.sweep_staging(older_than_s=3600) == 1
        assert db.graphs() == sorted([run.value, fresh.new[run].value])
        fresh.commit()
        assert db.public_graphs() == db.graphs() == [run.value]


if __name__ == "__main__" and sys.argv[1:] == ["zygote"]:
    _zygote()
