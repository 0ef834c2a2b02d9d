"""The SPARQL endpoint's guard (``inspect_operation``: one pass of the lexer over the text) against
pyoxigraph's own parse of the same text, on texts as large as the endpoint takes (1 MB; 64 KB with
``--quick``).

``ours`` is the guard's time on the text, ``peer_value`` the time of ``Store().query(text)`` on an empty
in-memory store until it returns or raises (Oxigraph parses and plans the query in that call). Cases:

* ``valid-values-query``: a valid SELECT whose bulk is a VALUES block of IRIs, strings with escapes and
  numbers (the shape of a large real query; Oxigraph's planner blows up on thousands of triple patterns
  and its parser overflows the stack on deep nesting, so that is not the shape used here);
* ``backslash-quote-noise``: ``"\\`` pairs, the text that took the old regex guard 50 s for 96 KB (both
  refuse it);
* ``escaped-quotes-string``: a valid query holding one string of escaped quotes.

The guard is Python and Oxigraph's parser Rust: the ratio says what the guard costs on top of the parse.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from _common import Recorder, arg_parser, best_of, time_ratio  # noqa: E402

from kgexplain.service.guard import QueryRefused, inspect_operation  # noqa: E402

BENCH = "guard"
ROW = '(<http://example.org/item/12345> "label \\"x\\" #1"@en 42) '


def values_query(size: int) -> str:
    head = "PREFIX ex: <http://example.org/ns#> SELECT * WHERE { ?s ex:p ?o . VALUES (?s ?l ?n) { "
    return head + ROW * ((size - len(head) - 4) // len(ROW)) + "} }"


def noise(size: int) -> str:
    return '"\\' * (size // 2)


def escaped_quotes(size: int) -> str:
    head, tail = 'SELECT * WHERE { ?s ?p "', '" }'
    return head + '\\"' * ((size - len(head) - len(tail)) // 2) + tail


def guard(text: str) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(QueryRefused):
            inspect_operation(text, expected="query", max_chars=len(text))

    return run


def oxigraph(text: str) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(SyntaxError):
            ox.Store().query(text)

    return run


def main() -> None:
    args = arg_parser(__doc__.splitlines()[0]).parse_args()
    rec = Recorder(args.output)
    size = 64_000 if args.quick else 1_000_000
    label = "64KB" if args.quick else "1MB"
    for case, make in (
        ("valid-values-query", values_query),
        ("backslash-quote-noise", noise),
        ("escaped-quotes-string", escaped_quotes),
    ):
        text = make(size)
        ours, peer = best_of(guard(text)), best_of(oxigraph(text))
        rec.emit(BENCH, f"{case}-{label}", "s", ours, "pyoxigraph Store().query parse", peer, time_ratio(ours, peer))
    start = time.process_time()  # CPU time of the whole run, for a loaded machine's reader
    guard(values_query(size))()
    print(f"guard CPU time on the {label} valid query: {time.process_time() - start:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
