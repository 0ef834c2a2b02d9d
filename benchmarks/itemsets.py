"""Itemset generation: ``stages.mine.transactions`` over 1k → 100k entities, batched vs one query per entity.

The knowledge graph is Wikidata-like and seeded: 100,000 entities ``wd:Q{n}``, each with about 10 direct
facts ``wdt:P{k}`` (properties and entity values both drawn from power-law pools, 1 value in 5 a literal:
dates, quantities, identifiers) plus an English ``rdfs:label`` and ``schema:description`` (which the item
queries leave out), bulk-loaded into a fresh on-disk ``EmbeddedStore`` (then compacted: see ``build``). When
``../shared/data/wikidata/wikidata-subset.nt.gz`` is there, its subjects with ``wdt:`` facts make a second
case on real Wikidata terms (its own store), at the sizes it has entities for.

``ours`` is ``transactions(store, kg, entities[:N], Settings())`` — ``queries/mining/outgoing_items.rq``
and ``incoming_items.rq`` with ``item_batch`` (1000) entities bound per ``VALUES``, on ``QUERY_THREADS``
threads, results read as TSV terms straight into polars — for N entities drawn
at random (seeded) from the graph's. The peer, up to 5k entities, is the naive way on the same store: the
same queries with one entity each (``item_batch=1``); above 5k (it is slow) the peer is the issue's budget
of 1 s per 10k entities, so there ``ratio > 1`` means the goal is met. Rows and a curve table go to stderr.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, arg_parser, best_of, time_ratio  # noqa: E402

from kgexplain.config import Settings  # noqa: E402
from kgexplain.stages.mine import transactions  # noqa: E402
from kgexplain.store import EmbeddedStore  # noqa: E402
from kgexplain.vocab import RDFS, SCHEMA, WD, WDT, XSD, Minter, nt_str  # noqa: E402

SUBSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikidata" / "wikidata-subset.nt.gz"
BENCH = "itemsets"
ENTITIES = 100_000
FACTS = 10  # mean outgoing wdt: facts per entity
PROPERTIES = 400  # distinct wdt: properties
LITERAL_SHARE = 0.2
SIZES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
PEER_MAX = 5_000  # the one-query-per-entity peer is measured up to here
REPEAT_MAX = 20_000  # best of 3 up to here, one run above
BUDGET = "1 s per 10k entities (issue goal)"


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def power_law(rng: np.random.Generator, n: int, size: int, s: float) -> np.ndarray:
    """``size`` draws from ranks 0..n-1 with P(rank r) ∝ 1/(r+1)^s."""
    weights = 1.0 / np.arange(1, n + 1) ** s
    return rng.choice(n, size=size, p=weights / weights.sum())


def synthetic_triples(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """The Wikidata-like graph: N-Triples terms, ~(FACTS + 2) per entity."""
    rng = np.random.default_rng(seed)
    entity = [f"<{WD}Q{i}>" for i in range(1, n + 1)]
    prop_ids = rng.choice(np.arange(1, 10 * PROPERTIES), size=PROPERTIES, replace=False)
    prop = [f"<{WDT}P{k}>" for k in prop_ids]
    popular = rng.permutation(n)  # rank → entity index: popular values are scattered Q-ids
    counts = 1 + rng.poisson(FACTS - 1, n)
    total = int(counts.sum())
    subj = np.repeat(np.arange(n), counts)
    props = power_law(rng, PROPERTIES, total, 1.1)
    values = popular[power_law(rng, n, total, 1.0)]
    literal = rng.random(total) < LITERAL_SHARE
    kind = rng.integers(0, 3, total)
    number = rng.integers(1, 10**6, total)
    label, description = f"<{RDFS}label>", f"<{SCHEMA}description>"
    rows: list[tuple[str, str, str]] = []
    for i, e in enumerate(entity):
        rows.append((e, label, nt_str(f"entity {i + 1}", "en")))
        rows.append((e, description, nt_str(f"synthetic entity number {i + 1}", "en")))
    for s, p, v, lit, k, x in zip(
        subj.tolist(), props.tolist(), values.tolist(), literal.tolist(), kind.tolist(), number.tolist(), strict=True
    ):
        if not lit:
            if v == s:
                v = (v + 1) % n
            obj = entity[v]
        elif k == 0:
            obj = f'"{1000 + x % 1025:04d}-01-01T00:00:00Z"^^<{XSD}dateTime>'
        elif k == 1:
            obj = f'"+{x}"^^<{XSD}decimal>'
        else:
            obj = f'"ID{x:07d}"'
        rows.append((entity[s], prop[p], obj))
    return rows


def build(
    path: Path, graph: ox.NamedNode, source: Path | list[tuple[str, str, str]]
) -> tuple[EmbeddedStore, float, float, int]:
    """Bulk-loads ``source`` into a fresh store at ``path`` and reopens it, as ``kgexplain mine`` opens
    the store ``kgexplain load`` wrote. In between, pyoxigraph's ``optimize`` runs the compaction that
    RocksDB would otherwise run in the background during the first timings (on a 2-core machine that
    doubled them): the store is measured as it is once settled, as it is by the time a run mines.
    Returns the store, the load and compaction times, and the triples in ``graph``."""
    db = EmbeddedStore(path)
    start = time.perf_counter()
    db.load(source, graph)
    db.flush()
    loaded = time.perf_counter() - start
    db.close()
    start = time.perf_counter()
    raw = ox.Store(str(path))
    raw.optimize()
    raw.flush()
    del raw
    compacted = time.perf_counter() - start
    db = EmbeddedStore(path)
    return db, loaded, compacted, db.count(graph)


def wdt_subjects(db: EmbeddedStore, graph: ox.NamedNode) -> list[str]:
    frame = db.select(
        f'SELECT DISTINCT ?s WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?p), "{WDT}")) }}'
    )
    return sorted(frame["s"].to_list())


def timed(fn: Callable[[], pl.DataFrame], repeat: int) -> tuple[pl.DataFrame, float]:
    """``fn``'s result and its best wall time over ``repeat`` calls (``best_of`` that keeps the result)."""
    kept: list[pl.DataFrame] = []
    seconds = best_of(lambda: kept.append(fn()), repeat)
    return kept[-1], seconds


def run_case(
    rec: Recorder, name: str, db: EmbeddedStore, graph: ox.NamedNode, pool: list[str], sizes: list[int]
) -> list[tuple[int, float, int]]:
    """Times ``transactions`` for each N in ``sizes`` on a seeded shuffle of ``pool``; returns the curve."""
    entities = list(pool)
    random.Random(0).shuffle(entities)
    settings = Settings()
    naive = replace(settings, item_batch=1)
    curve = []
    for n in sizes:
        chosen = entities[:n]
        repeat = 3 if n <= REPEAT_MAX else 1
        frame, ours = timed(lambda chosen=chosen: transactions(db, graph, chosen, settings), repeat)
        case = f"{name}: {n // 1000}k entities" if n % 1000 == 0 else f"{name}: {n:,} entities"
        if n <= PEER_MAX:
            start = time.perf_counter()
            peer_frame = transactions(db, graph, chosen, naive)
            peer_value = time.perf_counter() - start
            assert peer_frame.equals(frame), f"{case}: one query per entity gave other rows"
            rec.emit(
                BENCH,
                case,
                "s",
                ours,
                "one SPARQL query per entity (item_batch=1)",
                peer_value,
                time_ratio(ours, peer_value),
            )
        else:
            budget = n / 10_000
            rec.emit(BENCH, case, "s", ours, BUDGET, budget, time_ratio(ours, budget))
        log(
            f"  {case}: {ours:.3f} s, {frame.height:,} (entity, item) rows, "
            f"{frame['entity'].n_unique():,} entities with items"
        )
        curve.append((n, ours, frame.height))
    return curve


def print_curve(name: str, curve: list[tuple[int, float, int]]) -> None:
    log(f"\n{name}")
    log("| entities | seconds | (entity, item) rows | entities/s | rows/s |")
    log("|---:|---:|---:|---:|---:|")
    for n, seconds, rows in curve:
        log(f"| {n:,} | {seconds:.3f} | {rows:,} | {n / seconds:,.0f} | {rows / seconds:,.0f} |")


def main() -> None:
    args = arg_parser(__doc__.splitlines()[0]).parse_args()
    rec = Recorder(args.output)
    sizes = list(QUICK_SIZES if args.quick else SIZES)
    graph = Minter().kg_graph("bench")
    curves = []
    with tempfile.TemporaryDirectory(prefix="kgx-bench-itemsets-") as tmp:
        start = time.perf_counter()
        rows = synthetic_triples(ENTITIES)
        made = time.perf_counter() - start
        db, load_s, compact_s, count = build(Path(tmp) / "synthetic", graph, rows)
        del rows
        log(
            f"synthetic graph: {ENTITIES:,} entities, {count:,} triples; generated in {made:.1f} s, "
            f"bulk-loaded in {load_s:.1f} s, compacted in {compact_s:.1f} s"
        )
        pool = [f"{WD}Q{i}" for i in range(1, ENTITIES + 1)]
        name = f"synthetic {ENTITIES // 1000}k entities"
        curves.append((name, run_case(rec, name, db, graph, pool, sizes)))
        db.close()
        if SUBSET.is_file():
            db, load_s, compact_s, count = build(Path(tmp) / "wikidata", graph, SUBSET)
            pool = wdt_subjects(db, graph)
            log(
                f"wikidata-subset: {count:,} triples, {len(pool):,} subjects with wdt: facts; "
                f"bulk-loaded in {load_s:.1f} s, compacted in {compact_s:.1f} s"
            )
            real = [n for n in sizes if n <= len(pool)]
            if not args.quick and (not real or real[-1] < 0.8 * len(pool)):
                real.append(len(pool))  # all of them, unless a size already comes close
            name = "wikidata-subset"
            curves.append((name, run_case(rec, name, db, graph, pool, real)))
            db.close()
    for name, curve in curves:
        print_curve(name, curve)


if __name__ == "__main__":
    main()
