"""What every stage shares about runs: their time stamps and ids, progress reporting, the newest completed run
of a kind in the catalog, and the batched queries over many entities (their labels, and any query bound
``VALUES``-wise a batch at a time on ``QUERY_THREADS`` threads).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

import polars as pl
from pyoxigraph import NamedNode

from .config import Settings
from .errors import InputError
from .queries import load_query
from .store import TripleStore
from .vocab import KGX, Minter

__all__ = [
    "Progress",
    "no_progress",
    "now",
    "new_run_id",
    "latest_run",
    "labels",
    "batched",
    "parallel",
    "QUERY_THREADS",
]

Progress = Callable[[str, int, int | None], None]  # (task description, completed so far, total)


def no_progress(_task: str, _advance: int, _total: int | None) -> None:
    """A ``Progress`` that reports nothing."""
    return None


def now() -> str:
    """The time now (UTC), as a run records when it started and ended."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_run_id(kind: str) -> str:
    """A new run id: ``kind``, the time (UTC, to the second) and six random hex digits."""
    return f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


def latest_run(store: TripleStore, kind: str, dataset: str, settings: Settings) -> tuple[str, str]:
    """(run IRI, graph IRI) of the newest completed run of ``kind`` on ``dataset``."""
    minter = Minter(settings.base_iri)
    frame = store.select(
        load_query("catalog/latest_run"),
        catalog=minter.catalog_graph(),
        kind=NamedNode(KGX + kind),
        dataset=NamedNode(minter.dataset(dataset)),
    )
    if frame.height == 0:
        step = {"AttributionRun": "explain", "ActivationRun": "activations"}.get(kind, "mine")
        raise InputError(
            f"no completed {kind} for dataset {dataset!r} in the {store.description}; run `kgexplain {step}` first"
        )
    return frame["run"][0], frame["graph"][0]


#: Batched queries run this many at a time: both stores answer them outside the GIL (Oxigraph evaluates
#: and serializes in Rust, the remote store waits on the network), so two cores halve the wall time.
QUERY_THREADS = 4

T = TypeVar("T")
R = TypeVar("R")


def parallel(fn: Callable[[T], R], jobs: list[T]) -> list[R]:
    """``fn`` over ``jobs`` on ``QUERY_THREADS`` threads; results in job order."""
    if len(jobs) <= 1:
        return [fn(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=QUERY_THREADS) as pool:
        return list(pool.map(fn, jobs))


def batched(store: TripleStore, query: str, kg: NamedNode, entities: list[str], size: int) -> pl.DataFrame:
    """``query`` over ``entities`` bound ``size`` at a time, rows in entity order."""

    def run(start: int) -> pl.DataFrame:
        batch = [NamedNode(e) for e in entities[start : start + size]]
        return store.select(load_query(query), kg=kg, entity=batch)

    frames = [f for f in parallel(run, list(range(0, len(entities), size))) if f.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def labels(store: TripleStore, kg: NamedNode, iris: list[str], size: int) -> dict[str, str]:
    """The labels of ``iris`` in the knowledge graph ``kg`` (those that have one), ``size`` IRIs per query."""
    out: dict[str, str] = {}
    for i in range(0, len(iris), size):
        frame = store.select(load_query("kg/labels"), kg=kg, iri=[NamedNode(e) for e in iris[i : i + size]])
        if frame.height:
            out.update(zip(frame["iri"].to_list(), frame["label"].to_list(), strict=True))
    return out
