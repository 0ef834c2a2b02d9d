"""What every benchmark shares: one JSON line per measurement, a best-of timer, ``--output``.

A line has exactly the keys ``bench, case, unit, ours, peer, peer_value, ratio``; ``ratio > 1`` means
kgexplain wins (for times, ``ratio = peer_value / ours``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["Recorder", "arg_parser", "best_of", "emit", "time_ratio"]

KEYS = ("bench", "case", "unit", "ours", "peer", "peer_value", "ratio")


def emit(bench: str, case: str, unit: str, ours: float, peer: str, peer_value: float, ratio: float) -> dict:
    """Prints one measurement as a JSON line and returns it."""
    row = dict(zip(KEYS, (bench, case, unit, float(ours), peer, float(peer_value), float(ratio)), strict=False))
    print(json.dumps(row), flush=True)
    return row


def time_ratio(ours: float, peer_value: float) -> float:
    """``peer / ours`` for wall times, so > 1 means we are faster."""
    return peer_value / ours if ours > 0 else float("inf")


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    """The fastest of ``repeat`` calls of ``fn``, in wall-clock seconds."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


class Recorder:
    """``emit`` that also appends each line to ``output`` when one is given."""

    def __init__(self, output: str | Path | None = None) -> None:
        self.output = Path(output) if output else None
        self.rows: list[dict] = []

    def emit(self, *args: Any, **kwargs: Any) -> dict:
        row = emit(*args, **kwargs)
        self.rows.append(row)
        if self.output is not None:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            with self.output.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
        return row


def arg_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the options every benchmark takes: ``--output FILE`` and ``--quick``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--output", metavar="FILE", help="also append the JSON lines to FILE")
    parser.add_argument("--quick", action="store_true", help="the small cases only (seconds)")
    return parser
