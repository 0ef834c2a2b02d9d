"""A query worker: a process of its own that answers SPARQL queries over a read-only view of an on-disk store.

Oxigraph cannot be interrupted while it evaluates (a ``COUNT(*)`` over a cross product writes nothing until
it is done), so the service runs users' queries here and ends a query that outlives its deadline by ending
its process (``executor.py``). The worker opens the store with ``pyoxigraph.Store.read_only``, which reads
what the serving process has written so far (its write-ahead log included), and opens it anew whenever
the serving process says the store changed since (``generation``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = ["serve_queries"]

_RETRY_PAUSES_S = (0.0, 0.05, 0.2, 0.5, 1.0)


def serve_queries(conn: Connection, path: str, generation: int = 0) -> None:
    """Answers ``(text, accept, options, max_bytes, timeout_s, generation)`` requests from ``conn`` until it
    closes, each with ``("ok", media, body)`` or ``("error", kind, status, message)``."""
    from ..errors import QuerySyntaxError, StoreError
    from ..store import EmbeddedStore, NotAcceptable
    from .guard import Budget, BudgetExceeded

    with contextlib.suppress(OSError):
        os.nice(10)  # a long query yields the CPU to the serving process: the service stays responsive
    store: EmbeddedStore | None = None
    opened: Any = generation
    try:
        store = EmbeddedStore(Path(path), read_only=True)
    except StoreError:
        store = None  # the first request tries again, and answers why it cannot
    try:
        conn.send(("ready",))  # imports and opening done: the first query's deadline starts now
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            text, accept, options, max_bytes, timeout_s, wanted = conn.recv()
        except (EOFError, OSError):
            return
        reply: tuple[Any, ...]
        deadline = time.monotonic() + timeout_s
        # The serving process may flush or compact away a file this view still names, between its opening and
        # its reading ("IO error: No such file"): then the view is opened anew, after a pause that lets the
        # writer finish, while the query has time left.
        for attempt, pause in enumerate(_RETRY_PAUSES_S):
            try:
                if store is None or wanted != opened or attempt > 0:
                    time.sleep(pause)
                    store = None
                    store, opened = EmbeddedStore(Path(path), read_only=True), wanted
                budget = Budget(max_bytes, deadline, timeout_s)
                try:
                    media = store.answer(text, accept, budget, **options)
                except StoreError:
                    if budget.stopped is not None:
                        raise budget.stopped from None
                    raise
                reply = ("ok", media, budget.getvalue())
            except BudgetExceeded as exc:
                reply = ("error", "budget", exc.status, str(exc))
            except NotAcceptable as exc:
                reply = ("error", "not-acceptable", 406, str(exc))
            except QuerySyntaxError as exc:
                reply = ("error", "syntax", 400, str(exc))
            except (StoreError, OSError, RuntimeError) as exc:  # pyoxigraph's own, from reading a stale view
                reply = ("error", "store", 500, str(exc))
                if attempt + 1 < len(_RETRY_PAUSES_S) and time.monotonic() + _RETRY_PAUSES_S[attempt + 1] < deadline:
                    continue
            except Exception as exc:  # noqa: BLE001 - a worker answers every request; it dies only when ended
                reply = ("error", "store", 500, f"{type(exc).__name__}: {exc}")
            break
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":  # started by executor.py: `python -m kgexplain.service.worker FD STORE_PATH GENERATION`
    serve_queries(Connection(int(sys.argv[1])), sys.argv[2], int(sys.argv[3]))
