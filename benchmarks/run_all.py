"""Runs every benchmark in one go, writes their JSON lines to ``--output`` (replacing it) and prints a
Markdown table; ``--docs FILE`` also writes the table between the bench markers of FILE (``make bench``:
docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Each benchmark with its extra arguments. Attribution runs torch on one thread: on this shared 2-core
#: machine torch's default of two threads spins against other processes and distorts both sides.
BENCHES = [
    ("store.py", []),
    ("mining.py", []),
    ("attribution.py", ["--threads", "1"]),
    ("activations.py", []),
    ("itemsets.py", []),
    ("service.py", []),
    ("loader.py", []),
    ("explainn.py", []),
    ("guard.py", []),
    ("explain.py", []),
    ("end_to_end.py", []),
    ("busy.py", ["--repeat", "2"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(HERE / "results.jsonl"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--docs",
        "--readme",
        dest="docs",
        metavar="FILE",
        help="rewrite the table between the bench markers of this Markdown file "
        "(make bench: docs/benchmarks.md; --readme is the old name)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="FILE",
        choices=[b for b, _ in BENCHES],
        help="run only these benchmarks; their rows replace theirs in --output, the others stay",
    )
    args = parser.parse_args()
    if (not args.only or "service.py" in args.only) and shutil.which("wrk") is None:
        # Fail before an hour of other benchmarks, not after: service.py needs wrk as its load generator.
        raise SystemExit(
            "the service benchmark needs wrk (Debian: apt install wrk); install it or leave service.py out with --only"
        )
    output = Path(args.output)
    tmp = output.with_name(output.name + ".tmp")
    tmp.unlink(missing_ok=True)
    for bench, extra in BENCHES:
        if args.only and bench not in args.only:
            continue
        cmd = [sys.executable, str(HERE / bench), "--output", str(tmp), *extra] + (["--quick"] if args.quick else [])
        subprocess.run(cmd, check=True)
    if args.only and output.exists():
        fresh = tmp.read_text().splitlines() if tmp.exists() else []
        replaced = {json.loads(line)["bench"] for line in fresh if line.strip()}
        kept = [
            line
            for line in output.read_text().splitlines()
            if line.strip() and json.loads(line)["bench"] not in replaced
        ]
        tmp.write_text("".join(line + "\n" for line in kept + fresh))
    tmp.replace(output)
    rows = read_rows(output)
    table = markdown_table(rows)
    print("\n" + table)
    if args.docs:
        write_table(Path(args.docs), table)


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def read_rows(path: Path) -> list[dict]:
    """The JSON lines of a results file, in order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def replace_table(text: str, table: str) -> str:
    """``text`` with everything between the bench markers replaced by ``table``."""
    if START not in text or END not in text or text.index(START) > text.index(END):
        raise ValueError(f"no {START} … {END} markers in the page")
    start, end = text.index(START) + len(START), text.index(END)
    return text[:start] + "\n" + table + "\n" + text[end:]


def write_table(page: Path, table: str) -> None:
    """Rewrites the table between the bench markers of the Markdown file ``page``."""
    try:
        text = replace_table(page.read_text(encoding="utf-8"), table)
    except ValueError as e:
        raise SystemExit(f"{page}: {e}") from None
    page.write_text(text, encoding="utf-8")


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| bench | case | unit | ours | peer | peer value | ratio (>1: we win) |",
        "|---|---|---|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {_cell(r['bench'])} | {_cell(r['case'])} | {_cell(r['unit'])} | {r['ours']:.4g} | "
            f"{_cell(r['peer'])} | {r['peer_value']:.4g} | {r['ratio']:.2f} |"
        )
    return "\n".join(lines)


def _cell(text: str) -> str:
    """A table cell: a ``|`` in a unit such as ``max |phi - phi_shap|`` would start a new column."""
    return str(text).replace("|", "\\|")


if __name__ == "__main__":
    main()
