"""Bulk load vs row-by-row inserts into the embedded store, on the same triples, in one run.

Triples: the first N lines of ``../shared/data/wikidata/wikidata-subset.nt.gz`` when it is there (real
Wikidata terms), else seeded synthetic ones. ``ours`` is kgexplain's ``EmbeddedStore.load`` (N-Triples
chunks into pyoxigraph's bulk loader); the peers are pyoxigraph ``Store.add`` per quad (row inserts) and
``Store.extend`` (one transaction), all into a fresh on-disk store.
"""

from __future__ import annotations

import gzip
import itertools
import random
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, arg_parser, time_ratio  # noqa: E402

from kgexplain.store import EmbeddedStore  # noqa: E402

SUBSET = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikidata" / "wikidata-subset.nt.gz"
G = ox.NamedNode("https://w3id.org/kgexplain/id/graph/bench")


def triples(n: int) -> tuple[str, list[tuple[str, str, str]]]:
    if SUBSET.is_file():
        with gzip.open(SUBSET, "rt", encoding="utf-8") as f:
            rows = [tuple(line.rstrip(" .\n").split(" ", 2)) for line in itertools.islice(f, n)]
        return "wikidata-subset", rows  # type: ignore[return-value]
    rng = random.Random(0)
    rows = [
        (
            f"<http://www.wikidata.org/entity/Q{rng.randrange(10**6)}>",
            f"<http://www.wikidata.org/prop/direct/P{rng.randrange(300)}>",
            f"<http://www.wikidata.org/entity/Q{rng.randrange(10**6)}>",
        )
        for _ in range(n)
    ]
    return "synthetic", rows


def quads(rows: list[tuple[str, str, str]]) -> list[ox.Quad]:
    data = "".join(f"{s} {p} {o} .\n" for s, p, o in rows).encode()
    return [ox.Quad(t.subject, t.predicate, t.object, G) for t in ox.parse(data, ox.RdfFormat.N_TRIPLES)]


def main() -> None:
    args = arg_parser(__doc__.splitlines()[0]).parse_args()
    rec = Recorder(args.output)
    n = 50_000 if args.quick else 200_000
    source, rows = triples(n)
    parsed = quads(rows)
    with tempfile.TemporaryDirectory() as tmp:
        db = EmbeddedStore(Path(tmp) / "bulk")
        start = time.perf_counter()
        db.load(rows, G)
        db.flush()
        bulk = time.perf_counter() - start
        assert db.count(G) == len(set(rows)), "bulk load lost triples"
        db.close()
        start = time.perf_counter()
        store = ox.Store(str(Path(tmp) / "rows"))
        for q in parsed:
            store.add(q)
        store.flush()
        row_time = time.perf_counter() - start
        del store
        start = time.perf_counter()
        store = ox.Store(str(Path(tmp) / "extend"))
        store.extend(parsed)
        store.flush()
        extend_time = time.perf_counter() - start
        del store
    case = f"{source}-{len(rows)}-triples"
    ours = len(rows) / bulk
    for peer, seconds in (("pyoxigraph Store.add per triple", row_time), ("pyoxigraph Store.extend", extend_time)):
        rec.emit("store-load", case, "triples/s", ours, peer, len(rows) / seconds, time_ratio(bulk, seconds))


if __name__ == "__main__":
    main()
