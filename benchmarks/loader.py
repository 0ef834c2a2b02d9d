"""The dump loader's streaming filter (``cut_neighbourhood``, three passes) against pyoxigraph's own N-Triples
parser on the same generated truthy-format stream, on one core, in one run.

The stream imitates Wikidata's truthy dump line by line: per item, labels in five languages, English and
German descriptions, English aliases, eight ``wdt:`` facts (items, a date, a string) and a sitelink
(``schema:about``); properties have labels too. The task names 1 % of the items by their English label. The
default is about 2 GB (``--quick``: about 100 MB), written uncompressed to a temporary directory so that
decompression (bz2 is slower than either reader) stays out of both measurements.

Cases (``ratio`` > 1: we win):

* ``cut-triples-per-s``: lines of the stream read per second over the three passes, against pyoxigraph
  ``parse`` iterating every triple of the same file (Rust, one thread);
* ``cut-vs-goal``: the same rate against the issue's goal of 500,000 triples/s;
* ``pass-1``/``pass-2``/``pass-3``: each pass alone against the pyoxigraph rate.

The projection for the full truthy dump (about 8 billion triples, 3 passes) is printed on stderr.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, arg_parser  # noqa: E402

from kgexplain.loaders.wikidata import cut_neighbourhood  # noqa: E402
from kgexplain.text import normalize  # noqa: E402

BENCH = "loader"
WD, WDT = "http://www.wikidata.org/entity/", "http://www.wikidata.org/prop/direct/"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
ALT = "<http://www.w3.org/2004/02/skos/core#altLabel>"
DESCRIPTION = "<http://schema.org/description>"
ABOUT = "<http://schema.org/about>"
SYLLABLES = [
    "an",
    "bel",
    "cor",
    "dra",
    "el",
    "fen",
    "gal",
    "hor",
    "is",
    "jun",
    "kal",
    "lum",
    "mor",
    "nes",
    "or",
    "pra",
    "quel",
    "ros",
    "sten",
    "tir",
    "ul",
    "ven",
    "wen",
    "xan",
    "yor",
    "zel",
]
FULL_TRUTHY_TRIPLES = 8_000_000_000
GOAL = 500_000


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def name(rng: random.Random) -> str:
    return " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize() for _ in range(rng.randint(1, 2))
    )


def generate(path: Path, target_bytes: int, seed: int = 0) -> tuple[int, set[str]]:
    """Writes the stream; returns (lines, the normalised names of the 1 % of items the task names)."""
    rng = random.Random(seed)
    lines = 0
    keys: set[str] = set()
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for p in range(1, 301):
            row = f'<{WD}P{p}> {LABEL} "property {p}"@en .\n'
            out.write(row)
            written += len(row)
            lines += 1
        q = 0
        while written < target_bytes:
            q += 1
            item = f"<{WD}Q{q}>"
            label = name(rng)
            if q % 100 == 0:
                keys.add(normalize(label))
            rows = [f'{item} {LABEL} "{label}"@{lang} .\n' for lang in ("en", "de", "fr", "es", "it")]
            rows += [f'{item} {ALT} "{name(rng)}"@en .\n' for _ in range(2)]
            rows += [
                f'{item} {DESCRIPTION} "{desc}"@{lang} .\n'
                for lang, desc in (("en", "painter from " + name(rng)), ("de", "Maler aus " + name(rng)))
            ]
            rows += [
                f"{item} <{WDT}P{rng.randint(1, 300)}> <{WD}Q{rng.randint(1, max(1, q * 2))}> .\n" for _ in range(6)
            ]
            rows.append(
                f'{item} <{WDT}P569> "{rng.randint(1400, 1990)}-01-01T00:00:00Z"^^'
                "<http://www.w3.org/2001/XMLSchema#dateTime> .\n"
            )
            rows.append(f'{item} <{WDT}P18> "{label.replace(" ", "_")}.jpg" .\n')
            rows.append(f"<https://en.wikipedia.org/wiki/{label.replace(' ', '_')}_{q}> {ABOUT} {item} .\n")
            chunk = "".join(rows)
            out.write(chunk)
            written += len(chunk)
            lines += len(rows)
    return lines, keys


def main() -> None:
    parser = arg_parser(__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="Size of the generated stream, in GB.")
    args = parser.parse_args()
    rec = Recorder(args.output)
    size = int((0.1 if args.quick else args.gb) * 1e9)
    with tempfile.TemporaryDirectory(prefix="kgx-bench-loader-") as tmp:
        stream = Path(tmp) / "truthy.nt"
        start = time.perf_counter()
        lines, keys = generate(stream, size)
        log(
            f"generated {stream.stat().st_size / 1e9:.2f} GB, {lines:,} triples, {len(keys):,} names "
            f"in {time.perf_counter() - start:.0f} s"
        )

        start = time.perf_counter()
        parsed = sum(1 for _ in ox.parse(path=str(stream), format=ox.RdfFormat.N_TRIPLES))
        peer_s = time.perf_counter() - start
        assert parsed == lines, f"pyoxigraph read {parsed:,} triples of {lines:,}"
        peer_rate = lines / peer_s

        result = cut_neighbourhood(stream, Path(tmp) / "cut.nt", keys, normalize)
        assert result.report.malformed == 0 and result.report.triples == lines
        assert result.candidates >= len(keys) * 0.9, f"{result.candidates} candidates for {len(keys)} names"
        total_s = sum(result.passes_s)
        ours = 3 * lines / total_s
        log(
            f"pyoxigraph parse: {peer_rate:,.0f} triples/s; cut (3 passes, {total_s:.1f} s): {ours:,.0f} triples/s "
            f"read; {result.candidates:,} candidates, {result.neighbours:,} neighbours, {result.kept:,} kept"
        )
        peer = "pyoxigraph parse (Rust, 1 thread)"
        rec.emit(
            BENCH, f"cut-triples-per-s-{lines // 1_000_000}M", "triples/s", ours, peer, peer_rate, ours / peer_rate
        )
        rec.emit(
            BENCH,
            f"cut-vs-goal-{lines // 1_000_000}M",
            "triples/s",
            ours,
            "goal: 500k triples/s (issue)",
            GOAL,
            ours / GOAL,
        )
        for i, seconds in enumerate(result.passes_s, start=1):
            rate = lines / seconds
            rec.emit(BENCH, f"pass-{i}-{lines // 1_000_000}M", "triples/s", rate, peer, peer_rate, rate / peer_rate)
        hours = 3 * FULL_TRUTHY_TRIPLES / ours / 3600
        log(
            f"projection: the full truthy dump (~{FULL_TRUTHY_TRIPLES / 1e9:.0f} billion triples, 3 passes) would take "
            f"{hours:.1f} h at this rate, plus decompression"
        )


if __name__ == "__main__":
    main()
