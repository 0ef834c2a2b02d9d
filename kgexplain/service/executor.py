"""Where the service's store work runs: never on the event loop, always under a deadline.

``QueryExecutor.answer`` runs a user's SPARQL query within the query slots, the time budget and the size
budget. Over an on-disk embedded store each slot is a worker process (``worker.py``) with a read-only view
of the store: a query past its deadline is ended by ending its process, so it stops using the CPU at once
and its slot comes back (a fresh worker takes its place). Over an in-memory or remote store the query runs
in a thread and is stopped at its next write past the deadline (Oxigraph writes answers as it evaluates;
work before the first write, a big sort or a ``COUNT`` over a cross product, runs on after the 503 — the
remote server's own timeout bounds a remote query).

``call`` runs any other store call (the REST routes' fixed queries, Graph Store reads and updates) in a
thread pool under the same timeout, so no route can hang.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import KgExplainError, StoreError
from ..store import EmbeddedStore, TripleStore
from ..store import NotAcceptable as StoreNotAcceptable
from .errors import (
    BadRequest,
    NotAcceptable,
    PayloadTooLarge,
    ServerError,
    ServiceError,
    ServiceUnavailable,
    problem_of,
)
from .guard import Budget, BudgetExceeded

if TYPE_CHECKING:
    from .state import ServiceConfig

__all__ = ["QueryExecutor"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_STARTUP_S = 60.0


@dataclass(eq=False)  # hashed by identity: a set holds the live ones
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection

    def alive(self) -> bool:
        return self.process.poll() is None

    def end(self) -> None:
        """Ends the process at once (SIGKILL: a query in Oxigraph does not answer SIGTERM) and reaps it."""
        try:
            self.conn.close()
        finally:
            if self.alive():
                self.process.kill()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.error("query worker %s did not end", self.process.pid)


class QueryExecutor:
    """``max_concurrent_queries`` query slots over the store, and a thread pool for other store calls."""

    def __init__(self, store: TripleStore, config: ServiceConfig) -> None:
        self.store, self.config = store, config
        # threads: one per query slot (each waits on its worker, or runs the query itself), plus the others
        self._pool = ThreadPoolExecutor(max_workers=2 * config.max_concurrent_queries, thread_name_prefix="kgx-store")
        self._slots = threading.BoundedSemaphore(config.max_concurrent_queries)
        path = store.path if isinstance(store, EmbeddedStore) else None
        self.path = str(path) if path is not None else None
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._starting = 0
        self._closed = False

    @property
    def uses_processes(self) -> bool:
        """True when queries run in worker processes (an on-disk embedded store)."""
        return self.path is not None

    def idle_workers(self) -> int:
        """How many workers are ready and waiting for a query."""
        return self._idle.qsize()

    def worker_pids(self) -> set[int]:
        """The process ids of the live workers (for tests and operators)."""
        with self._lock:
            return {w.process.pid for w in self._workers if w.alive()}

    def _generation(self) -> int:
        """Changes whenever the store was written to (workers then open it anew to see the writes)."""
        return int(getattr(self.store, "generation", 0))

    def _timeout(self) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"the query ran past the {self.config.query_timeout_s:g} s timeout", title="Query timeout"
        )

    # ------------------------------------------------------------------------------------------ queries

    def _run(self, text: str, accept: Sequence[str], options: dict[str, Any]) -> tuple[bytes, str]:
        config = self.config
        deadline = time.monotonic() + config.query_timeout_s
        if not self._slots.acquire(timeout=config.query_timeout_s):
            raise ServiceUnavailable(
                f"all {config.max_concurrent_queries} query slots stayed busy for {config.query_timeout_s:g} s",
                title="Query timeout",
            )
        try:
            if self.uses_processes:
                return self._in_worker(text, accept, options, deadline)
            return self._in_thread(text, accept, options, deadline)
        finally:
            self._slots.release()

    def _in_thread(
        self, text: str, accept: Sequence[str], options: dict[str, Any], deadline: float
    ) -> tuple[bytes, str]:
        budget = Budget(self.config.max_result_bytes, deadline, self.config.query_timeout_s)
        try:
            media = self.store.answer(text, accept, budget, **options)
        except StoreError:
            if budget.stopped is not None:  # the store reports our own stop as its error
                raise budget.stopped from None
            raise
        return budget.getvalue(), media

    def _worker(self) -> _Worker:
        """An idle worker: there is one, or one is starting, or room to start one (the caller holds a slot)."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            room = len(self._workers) + self._starting < self.config.max_concurrent_queries
            if room:
                self._starting += 1
        if room:
            return self._spawn()
        try:
            return self._idle.get(timeout=_STARTUP_S)
        except queue.Empty:
            raise ServerError(f"no query worker became ready within {_STARTUP_S:g} s") from None

    def _spawn(self) -> _Worker:
        """A new worker, once it has imported what it needs (a second or two, not counted as query time); the
        caller counted it in ``_starting``."""
        try:
            # a plain `python -m` child, not multiprocessing's spawn: that would import the embedding
            # program's __main__ again in every worker
            ours, theirs = socket.socketpair()
            with theirs:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "kgexplain.service.worker",
                        str(theirs.fileno()),
                        str(self.path),
                        str(self._generation()),
                    ],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                )
            parent = Connection(ours.detach())
            worker = _Worker(process, parent)
            with self._lock:
                self._workers.add(worker)
        finally:
            with self._lock:
                self._starting -= 1
        try:
            if not parent.poll(_STARTUP_S) or parent.recv() != ("ready",):
                raise OSError("no ready message")
        except (EOFError, OSError) as exc:
            self._retire(worker, replace=False)
            raise ServerError(f"a query worker did not start within {_STARTUP_S:g} s ({exc})") from None
        return worker

    def _spawn_idle(self, count: int) -> None:
        """Starts ``count`` workers in the background and makes them idle once ready."""
        with self._lock:
            if self._closed:
                return
            self._starting += count

        def run() -> None:
            for _ in range(count):
                try:
                    self._release(self._spawn())
                except ServiceError:
                    if not self._closed:
                        log.exception("could not start a query worker; the next query tries again")

        threading.Thread(target=run, name="kgx-query-workers", daemon=True).start()

    def start(self) -> None:
        """Starts the workers of every slot in the background, so the first queries find them ready."""
        if self.uses_processes:
            self._spawn_idle(self.config.max_concurrent_queries)

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            closed = self._closed
        if closed:
            worker.end()
        else:
            self._idle.put(worker)

    def _retire(self, worker: _Worker, *, replace: bool = True) -> None:
        """Ends ``worker`` (and the query it runs) and starts another in its place."""
        with self._lock:
            self._workers.discard(worker)
        worker.end()
        if replace:
            self._spawn_idle(1)

    def _in_worker(
        self, text: str, accept: Sequence[str], options: dict[str, Any], deadline: float
    ) -> tuple[bytes, str]:
        worker = self._worker()
        deadline = max(
            deadline, time.monotonic() + self.config.query_timeout_s
        )  # waiting for a worker to start is not the query's time
        generation = self._generation()
        try:
            worker.conn.send(
                (
                    text,
                    list(accept),
                    options,
                    self.config.max_result_bytes,
                    max(0.0, deadline - time.monotonic()),
                    generation,
                )
            )
            # half a second's grace past the deadline for the reply to cross the pipe
            ready = worker.conn.poll(max(0.0, deadline - time.monotonic()) + 0.5)
            reply = worker.conn.recv() if ready else None
        except (EOFError, OSError):
            self._retire(worker)
            raise ServerError(
                "the query worker died while answering; the query may be too big for this server", title="Query failed"
            ) from None
        if reply is None:
            self._retire(worker)  # ends the query: it stops using the CPU now
            raise self._timeout()
        self._release(worker)
        if reply[0] == "ok":
            return reply[2], reply[1]
        _, kind, status, message = reply
        if kind == "budget":
            raise BudgetExceeded(message, status)
        if kind == "not-acceptable":
            raise StoreNotAcceptable(message)
        if kind == "syntax":
            raise BadRequest(message, title="Query failed")
        raise ServerError(message, title="Query failed")

    async def answer(self, text: str, accept: Sequence[str], **options: Any) -> tuple[bytes, str]:
        """The query's answer in the first fitting media type of ``accept``: (body, media type)."""
        try:
            # _run keeps the query's own deadline; this wait also covers a worker that is still starting
            return await self.call(
                self._run, text, list(accept), options, timeout_s=self.config.query_timeout_s + _STARTUP_S
            )
        except BudgetExceeded as exc:
            if exc.status == 503:
                raise self._timeout() from None
            raise PayloadTooLarge(str(exc), title="Result too large") from None
        except StoreNotAcceptable as exc:
            raise NotAcceptable(str(exc)) from None

    # ------------------------------------------------------------------------------------ other calls

    async def call(self, fn: Callable[..., T], *args: Any, timeout_s: float | None = None) -> T:
        """``fn(*args)`` in the pool; a 503 once ``timeout_s`` (default: the query timeout and a second's grace)
        has passed."""
        job = asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        job.add_done_callback(lambda f: f.cancelled() or f.exception())  # a late failure after a 503 is not news
        try:
            return await asyncio.wait_for(asyncio.shield(job), timeout=timeout_s or self.config.query_timeout_s + 1)
        except TimeoutError:
            raise self._timeout() from None
        except (BudgetExceeded, StoreNotAcceptable, ServiceError):
            raise
        except KgExplainError as exc:  # the store's errors, typed into the service's here, once
            raise problem_of(exc) from None

    def close(self) -> None:
        """Ends every worker (a running query with it) and the pool; the service is stopping."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.end()
        self._pool.shutdown(wait=False, cancel_futures=True)
