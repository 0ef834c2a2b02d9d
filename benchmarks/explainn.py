"""ExplaiNN: wall time of the MDL rule search between two binarized layers, against the issue's goal.

No other library implements ExplaiNN, so the peers are targets: the goal from the issue (10k documents ×
2 layers × 100 neurons in under 120 s on 2 cores), linear growth from the smallest case (``ratio > 1``:
better than linear), and the paper's non-relaxed baseline on the same data (time, and the bits of the
model each finds, ``ratio > 1``: the robust rules compress more).

The data are two seeded, correlated binarized ReLU layers, about 40 % active: layer 1 is
``ReLU(z W1 + ε − q)`` for a rank-16 latent ``z`` with sparse loadings; layer 2 is ``ReLU(a1 W2 + ε − q)``
where its neurons come in groups of five driven by the same three layer-1 neurons (the structure the
rules should find); ``q`` is each neuron's 60 % quantile. θ = 0 and μ = ∞ (the paper's best-MDL setting).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, arg_parser, best_of, time_ratio  # noqa: E402

from kgexplain.mining.explainn import explainn  # noqa: E402

GOAL_S = 120.0


def layers(docs: int, neurons: int, seed: int = 0, rank: int = 16, group: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(docs, rank))
    w1 = rng.normal(size=(rank, neurons)) * (rng.random((rank, neurons)) < 0.2)
    a1 = z @ w1 + rng.normal(scale=0.5, size=(docs, neurons))
    a1 = np.maximum(a1 - np.quantile(a1, 0.6, axis=0), 0)
    drive = np.zeros((neurons, -(-neurons // group)))
    for g in range(drive.shape[1]):
        drive[rng.choice(neurons, 3, replace=False), g] = rng.uniform(0.5, 1.5, 3)
    a2 = a1 @ np.repeat(drive, group, axis=1)[:, :neurons] + rng.normal(scale=0.3, size=(docs, neurons))
    a2 = np.maximum(a2 - np.quantile(a2, 0.6, axis=0), 0)
    return a1 > 0, a2 > 0


def label(docs: int, neurons: int) -> str:
    size = f"{docs / 1000:g}k" if docs >= 1000 else str(docs)
    return f"{size} docs x 2 layers x {neurons} neurons"


def timed(docs: int, neurons: int, repeat: int, **options) -> tuple[float, object]:
    head, tail = layers(docs, neurons)
    result = explainn(head, tail, **options)
    seconds = best_of(lambda: explainn(head, tail, **options), repeat)
    return seconds, result


def main() -> None:
    args = arg_parser(__doc__.splitlines()[0]).parse_args()
    rec = Recorder(args.output)
    if args.quick:
        docs_steps, neuron_steps, repeat = (250, 500, 1000), (10, 20, 40), 1
    else:
        docs_steps, neuron_steps, repeat = (2_500, 5_000, 10_000), (25, 50, 100), 3
    big_docs, big_neurons = docs_steps[-1], neuron_steps[-1]
    explainn(*layers(50, 4))  # builds the parametric-complexity table once, outside the timings

    times: dict[tuple[int, int], float] = {}
    results = {}
    for docs in docs_steps:
        times[docs, big_neurons], results[docs, big_neurons] = timed(docs, big_neurons, repeat)
    for neurons in neuron_steps[:-1]:
        times[big_docs, neurons], results[big_docs, neurons] = timed(big_docs, neurons, repeat)

    main_case = (big_docs, big_neurons)
    ours = times[main_case]
    found = results[main_case]
    rec.emit(
        "explainn",
        f"{label(*main_case)}: mining ({len(found.rules)} rules)",
        "s",
        ours,
        "goal",
        GOAL_S,
        time_ratio(ours, GOAL_S),
    )

    linear = "linear from smallest case"
    base_docs = docs_steps[0]
    for docs in docs_steps:
        peer = times[base_docs, big_neurons] * docs / base_docs
        t = times[docs, big_neurons]
        rec.emit(
            "explainn", f"growth in documents: {label(docs, big_neurons)}", "s", t, linear, peer, time_ratio(t, peer)
        )
    base_neurons = neuron_steps[0]
    for neurons in neuron_steps:
        peer = times[big_docs, base_neurons] * neurons / base_neurons
        t = times[big_docs, neurons]
        rec.emit(
            "explainn", f"growth in neurons: {label(big_docs, neurons)}", "s", t, linear, peer, time_ratio(t, peer)
        )

    head, tail = layers(*main_case)
    start = time.perf_counter()
    plain = explainn(head, tail, robust=False)
    plain_s = min(
        time.perf_counter() - start,
        best_of(lambda: explainn(head, tail, robust=False), repeat - 1) if repeat > 1 else float("inf"),
    )
    name = "baseline (no relaxation)"
    rec.emit(
        "explainn",
        f"{label(*main_case)}: mining time, robust vs plain rules",
        "s",
        ours,
        name,
        plain_s,
        time_ratio(ours, plain_s),
    )
    rec.emit(
        "explainn",
        f"{label(*main_case)}: L(D, M) of the model found (baseline {found.baseline_bits:.0f} bits)",
        "bits",
        found.total_bits,
        name,
        plain.total_bits,
        plain.total_bits / found.total_bits,
    )


if __name__ == "__main__":
    main()
