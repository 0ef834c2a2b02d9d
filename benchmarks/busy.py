"""``kgexplain demo`` beside one busy process: kgexplain's default torch threads vs torch's own default.

Each run is a fresh ``python -m kgexplain.cli demo`` into a temporary directory, timed wall-clock, either on
a quiet machine or with one ``while True: pass`` process this script starts before the run and ends after
it. ``ours`` runs with no ``--threads`` and no ``KGX_THREADS`` (``kgexplain.threads.default_threads``); the
peer passes ``--threads`` equal to what torch picks by itself in a fresh process (one per core). The four
settings are interleaved within each repetition, so both sides see the same background load, and the best
of the repetitions is reported. Lines: the quiet and the busy time, and the slowdown one busy process causes.
It takes minutes (``run_all.py`` runs two repetitions); its quiet numbers mean something only on a machine
nobody else is using, so the table states the load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, arg_parser, time_ratio  # noqa: E402

BENCH = "busy"
BUSY_LOOP = "while True: pass"


def torch_default_threads() -> int:
    """The intra-op thread count torch chooses in a fresh process, with nothing set."""
    code = "import torch; print(torch.get_num_threads())"
    return int(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def time_demo(threads: int | None, busy: bool, out: Path) -> float:
    """Seconds one ``kgexplain demo`` takes, with ``--threads`` when given, beside a busy loop when ``busy``."""
    env = {k: v for k, v in os.environ.items() if k != "KGX_THREADS"}
    command = [sys.executable, "-m", "kgexplain.cli", "demo", "--out", str(out)]
    if threads is not None:
        command += ["--threads", str(threads)]
    loop = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if busy else None
    try:
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return time.perf_counter() - start
    finally:
        if loop is not None:
            loop.kill()
            loop.wait()


def main() -> None:
    parser = arg_parser(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None, help="repetitions of each setting (default 3, --quick 1)")
    args = parser.parse_args()
    rec = Recorder(args.output)
    repeat = args.repeat or (1 if args.quick else 3)
    peer_threads = torch_default_threads()
    peer = f"torch default threads ({peer_threads})"
    settings = [(side, busy) for busy in (False, True) for side in ("ours", "peer")]
    best = {key: float("inf") for key in settings}
    with tempfile.TemporaryDirectory(prefix="kgx-busy-") as tmp:
        for rep in range(repeat):
            for side, busy in settings:
                out = Path(tmp) / f"{side}-{'busy' if busy else 'quiet'}-{rep}"
                seconds = time_demo(None if side == "ours" else peer_threads, busy, out)
                best[side, busy] = min(best[side, busy], seconds)
                print(f"# rep {rep}: {side} {'busy' if busy else 'quiet'} {seconds:.1f} s", file=sys.stderr, flush=True)
    quiet, loaded = (best["ours", False], best["peer", False]), (best["ours", True], best["peer", True])
    rec.emit(BENCH, "demo-quiet", "s", quiet[0], peer, quiet[1], time_ratio(*quiet))
    rec.emit(BENCH, "demo-with-1-busy-process", "s", loaded[0], peer, loaded[1], time_ratio(*loaded))
    slowdown = (loaded[0] / quiet[0], loaded[1] / quiet[1])
    rec.emit(
        BENCH,
        "demo-slowdown-from-1-busy-process (busy / quiet)",
        "x",
        slowdown[0],
        peer,
        slowdown[1],
        time_ratio(*slowdown),
    )


if __name__ == "__main__":
    main()
