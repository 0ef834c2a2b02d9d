"""Where the service's store work runs: never on the event loop, always under a deadline.

``QueryExecutor.answer`` runs a user's SPARQL query within the query slots, the time budget and the size
budget; ``call`` runs any other store call (the REST routes' fixed queries, Graph Store reads and writes)
in the same pool under the same timeout, so no route can hang.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import KgExplainError, StoreError
from ..store import NotAcceptable as StoreNotAcceptable
from ..store import TripleStore
from .errors import NotAcceptable, PayloadTooLarge, ServiceUnavailable, problem_of
from .guard import Budget, BudgetExceeded

if TYPE_CHECKING:
    from .state import ServiceConfig

__all__ = ["QueryExecutor"]

T = TypeVar("T")


class QueryExecutor:
    """A pool of ``max_concurrent_queries`` threads over the store, with one slot per running query."""

    def __init__(self, store: TripleStore, config: ServiceConfig) -> None:
        self.store, self.config = store, config
        self._pool = ThreadPoolExecutor(max_workers=config.max_concurrent_queries, thread_name_prefix="kgx-sparql")
        self._slots = threading.BoundedSemaphore(config.max_concurrent_queries)

    def _timeout(self) -> ServiceUnavailable:
        return ServiceUnavailable(f"the query ran past the {self.config.query_timeout_s:g} s timeout",
                                  title="Query timeout")

    def _run(self, text: str, accept: Sequence[str], options: dict[str, Any]) -> tuple[bytes, str]:
        config = self.config
        deadline = time.monotonic() + config.query_timeout_s
        if not self._slots.acquire(timeout=config.query_timeout_s):
            raise ServiceUnavailable(f"all {config.max_concurrent_queries} query slots stayed busy for "
                                     f"{config.query_timeout_s:g} s", title="Query timeout")
        try:
            budget = Budget(config.max_result_bytes, deadline, config.query_timeout_s)
            try:
                media = self.store.answer(text, accept, budget, **options)
            except StoreError:
                if budget.stopped is not None:   # the store reports our own stop as its error
                    raise budget.stopped from None
                raise
            return budget.getvalue(), media
        finally:
            self._slots.release()

    async def answer(self, text: str, accept: Sequence[str], **options: Any) -> tuple[bytes, str]:
        """The query's answer in the first fitting media type of ``accept``: (body, media type)."""
        try:
            return await self.call(self._run, text, list(accept), options)
        except BudgetExceeded as exc:
            if exc.status == 503:
                raise self._timeout() from None
            raise PayloadTooLarge(str(exc), title="Result too large") from None
        except StoreNotAcceptable as exc:
            raise NotAcceptable(str(exc)) from None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the pool; a 503 once the query timeout (plus a second's grace) has passed."""
        job = asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        try:
            return await asyncio.wait_for(asyncio.shield(job), timeout=self.config.query_timeout_s + 1)
        except TimeoutError:
            raise self._timeout() from None
        except (BudgetExceeded, StoreNotAcceptable):
            raise
        except KgExplainError as exc:    # the store's errors, typed into the service's here, once
            raise problem_of(exc) from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
