"""How many CPU threads torch may use: ``--threads N``, else ``KGX_THREADS``, else a default sized to the cores
that are free.

kgexplain's models are small, so each torch op is short, and with torch's default of one intra-op thread per
core every op waits for all of them: when another process holds a core, the thread that lost it holds up the
op (issue #17). On this project's 2-core machine (``benchmarks/busy.py``), one thread was as fast as two on a
quiet machine and beside one busy loop, and 2.3× faster beside a test suite (36 s vs 83 s for the demo).
So the default is one thread on two cores or fewer; on larger machines, the cores the 1-minute load
average leaves free (not measured here: no such machine).
"""

from __future__ import annotations

import os

from .errors import InputError

__all__ = ["ENV_VAR", "apply_threads", "choose_threads", "default_threads", "usable_cores"]

ENV_VAR = "KGX_THREADS"
SMALL_MACHINE_CORES = 2  # at or below this many cores the default is one thread


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads(cores: int | None = None, load_1min: float | None = None) -> int:
    """One thread on two cores or fewer; else the cores not taken by the 1-minute load average, at least one."""
    cores = usable_cores() if cores is None else cores
    if cores <= SMALL_MACHINE_CORES:
        return 1
    if load_1min is None:
        try:
            load_1min = os.getloadavg()[0]
        except (AttributeError, OSError):  # no load average (Windows): assume the machine is quiet
            load_1min = 0.0
    return max(1, min(cores, cores - round(load_1min)))


def _parse(value: int | str, source: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{source} must be a whole number of threads, got {value!r}") from None
    if n < 1:
        raise InputError(f"{source} must be at least 1, got {n}")
    return n


def choose_threads(requested: int | None) -> int:
    """``requested`` (``--threads``) when given, else ``KGX_THREADS`` when set, else ``default_threads()``."""
    if requested is not None:
        return _parse(requested, "--threads")
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return _parse(env, ENV_VAR)
    return default_threads()


def apply_threads(n: int) -> None:
    """Makes torch run its CPU ops on ``n`` intra-op threads (from now on, in this process)."""
    import torch

    torch.set_num_threads(_parse(n, "threads"))
