"""Frequent-itemset mining: kgexplain's bitset Apriori against other Python miners.

Every miner gets the same list of baskets and its time covers what a user would run from there:
ours encodes the baskets to bitsets and mines; mlxtend's ``apriori`` and ``fpgrowth`` include the
``TransactionEncoder`` one-hot encoding into a pandas DataFrame; pyfim and efficient-apriori take the
baskets as they are. pyfim and efficient-apriori are optional (``pip install pyfim efficient-apriori``);
a missing one is noted on stderr and skipped. Before any line is printed, each peer's itemsets and
supports are checked to equal ours.

    python benchmarks/mining.py            # both cases
    python benchmarks/mining.py --quick    # the small case only, a few seconds
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

try:
    from _common import Recorder, arg_parser, best_of, time_ratio
except ImportError:  # imported as ``benchmarks.mining``
    from benchmarks._common import Recorder, arg_parser, best_of, time_ratio

from kgexplain.mining.apriori import apriori, encode, resolve_min_support

Baskets = list[list[int]]
Itemsets = dict[frozenset[Hashable], int]

# (name, transactions, items, min_support, max_len); the first is the full-size case.
CASES = [
    ("zipf-50000x3000-s0.02-k3", 50_000, 3_000, 0.02, 3),
    ("zipf-5000x500-s0.01-k3", 5_000, 500, 0.01, 3),
]
QUICK = {"zipf-5000x500-s0.01-k3"}


def synthetic_baskets(n_transactions: int, n_items: int, mean_len: float = 10.0, seed: int = 0) -> Baskets:
    """Seeded baskets with skewed (Zipf, s=1) item frequencies and ~``mean_len`` items each.

    Half the baskets also carry most of one of ``n_items // 30`` planted 3-to-5-item patterns, so
    that there are frequent pairs and triples beyond what independent items would give.
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1)
    weights /= weights.sum()
    relabel = rng.permutation(n_items)  # item ids carry no hint of their frequency
    lengths = np.maximum(1, rng.poisson(mean_len, n_transactions))
    draws = relabel[rng.choice(n_items, size=int(lengths.sum()), p=weights)]
    n_patterns = max(10, n_items // 30)
    pool = min(n_items, 300)
    patterns = [relabel[rng.choice(pool, size=rng.integers(3, 6), replace=False)] for _ in range(n_patterns)]
    pick = rng.choice(n_patterns, size=n_transactions, p=rng.dirichlet(np.ones(n_patterns)))
    planted = rng.random(n_transactions) < 0.5
    baskets: Baskets = []
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    for t in range(n_transactions):
        items = set(draws[bounds[t] : bounds[t + 1]].tolist())
        if planted[t]:
            pattern = patterns[pick[t]]
            items.update(pattern[rng.random(pattern.size) < 0.8].tolist())
        baskets.append(sorted(items))
    return baskets


def run_ours(baskets: Baskets, min_support: float, max_len: int) -> Itemsets:
    return apriori(baskets, min_support, max_len).labelled()


def _mlxtend(kind: str) -> Callable[[Baskets, float, int], Itemsets] | None:
    try:
        import pandas as pd
        from mlxtend import frequent_patterns
        from mlxtend.preprocessing import TransactionEncoder
    except ImportError as error:
        print(f"note: mlxtend not importable ({error}); skipping mlxtend.{kind}", file=sys.stderr)
        return None
    miner = getattr(frequent_patterns, kind)

    def run(baskets: Baskets, min_support: float, max_len: int) -> Itemsets:
        encoder = TransactionEncoder()
        onehot = encoder.fit(baskets).transform(baskets)
        frame = pd.DataFrame(onehot, columns=encoder.columns_)
        found = miner(frame, min_support=min_support, use_colnames=True, max_len=max_len)
        n = len(baskets)
        return {frozenset(s): round(f * n) for s, f in zip(found["itemsets"], found["support"])}

    return run


def _pyfim() -> Callable[[Baskets, float, int], Itemsets] | None:
    try:
        import fim
    except ImportError:
        print("note: pyfim not installed (pip install pyfim); skipping it", file=sys.stderr)
        return None

    def run(baskets: Baskets, min_support: float, max_len: int) -> Itemsets:
        count = resolve_min_support(min_support, len(baskets))  # negative supp = absolute count
        found = fim.apriori(baskets, target="s", supp=-count, zmin=1, zmax=max_len, report="a")
        return {frozenset(s): int(c) for s, c in found}

    return run


def _efficient_apriori() -> Callable[[Baskets, float, int], Itemsets] | None:
    try:  # the itemset stage alone; efficient_apriori.apriori would also derive rules
        from efficient_apriori.itemsets import itemsets_from_transactions
    except ImportError:
        note = "note: efficient-apriori not installed (pip install efficient-apriori); skipping it"
        print(note, file=sys.stderr)
        return None

    def run(baskets: Baskets, min_support: float, max_len: int) -> Itemsets:
        found, _ = itemsets_from_transactions(baskets, min_support=min_support, max_length=max_len)
        return {frozenset(s): int(c) for by_size in found.values() for s, c in by_size.items()}

    return run


def peers() -> list[tuple[str, Callable[[Baskets, float, int], Itemsets]]]:
    candidates: list[tuple[str, Any]] = [
        ("mlxtend.apriori", _mlxtend("apriori")),
        ("mlxtend.fpgrowth", _mlxtend("fpgrowth")),
        ("pyfim.apriori", _pyfim()),
        ("efficient-apriori", _efficient_apriori()),
    ]
    return [(name, run) for name, run in candidates if run is not None]


def _describe_mismatch(ours: Itemsets, theirs: Itemsets) -> str:
    missing = [s for s in ours if s not in theirs][:3]
    extra = [s for s in theirs if s not in ours][:3]
    differ = [(s, ours[s], theirs[s]) for s in ours if s in theirs and ours[s] != theirs[s]][:3]
    return f"{len(ours)} vs {len(theirs)} itemsets; only ours {missing}; only theirs {extra}; counts {differ}"


def bench_case(
    recorder: Recorder,
    case: str,
    n_transactions: int,
    n_items: int,
    min_support: float,
    max_len: int,
    repeat: int,
    miners: Sequence[tuple[str, Callable[[Baskets, float, int], Itemsets]]],
) -> None:
    baskets = synthetic_baskets(n_transactions, n_items)
    reference = run_ours(baskets, min_support, max_len)
    sizes = np.bincount([len(s) for s in reference], minlength=max_len + 1)[1:].tolist()
    ours = best_of(lambda: run_ours(baskets, min_support, max_len), repeat)
    encode_only = best_of(lambda: encode(baskets), repeat)
    print(
        f"{case}: {len(reference)} frequent itemsets by size {sizes}; ours {ours * 1e3:.1f} ms "
        f"(encoding {encode_only * 1e3:.1f} ms of it)",
        file=sys.stderr,
    )
    for name, run in miners:
        theirs = run(baskets, min_support, max_len)
        if theirs != reference:
            mismatch = _describe_mismatch(reference, theirs)
            raise AssertionError(f"{case}: {name} disagrees with ours: {mismatch}")
        peer_time = best_of(lambda: run(baskets, min_support, max_len), repeat)
        recorder.emit("mining", case, "s", ours, name, peer_time, time_ratio(ours, peer_time))


def main(argv: Sequence[str] | None = None) -> int:
    parser = arg_parser(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    args = parser.parse_args(argv)
    recorder = Recorder(args.output)
    miners = peers()
    started = time.perf_counter()
    for case, n_transactions, n_items, min_support, max_len in CASES:
        if args.quick and case not in QUICK:
            continue
        bench_case(recorder, case, n_transactions, n_items, min_support, max_len, args.repeat, miners)
    print(f"mining benchmark done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
