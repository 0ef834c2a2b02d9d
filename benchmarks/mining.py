"""Frequent-itemset mining: kgexplain's bitset Apriori against other Python miners.

Every miner gets the same list of baskets and its time covers what a user would run from there:
ours encodes the baskets to bitsets and mines; mlxtend's ``apriori`` and ``fpgrowth`` include the
``TransactionEncoder`` one-hot encoding into a pandas DataFrame; pyfim and efficient-apriori take the
baskets as they are. pyfim and efficient-apriori are optional (``pip install pyfim efficient-apriori``);
a missing one is noted on stderr and skipped. Before any line is printed, each peer's itemsets and
supports are checked to equal ours. Preparing the baskets is not timed.

Cases: two synthetic ones (seeded Zipf baskets) and, unless ``--quick``, two on real data from
``../shared/data`` (or ``$KGX_SHARED_DATA``):

* ``painters-transactions``: the transactions the pipeline mines for the painters task -- one per entity
  grounded in a training text, holding its (direction, property, value, literal) items -- built with
  kgexplain's own load, lexicon, grounding and ``transactions`` code (no model is trained); min support
  5 transactions and max length 3, the pipeline's defaults. That gives 5.6 million itemsets, which
  mlxtend cannot mine here (see ``PAINTERS_SKIP``), so only pyfim and efficient-apriori are compared;
* ``wikidata-entities-(p,o)``: every subject of ``wikidata-subset.nt.gz`` that has a direct
  (``wdt:P…``) fact, with those facts as (property, object) items; min support 0.01, max length 3.

Without the data the real cases are skipped with a note, or fail when ``CI=true``.

    python benchmarks/mining.py            # all cases
    python benchmarks/mining.py --quick    # the small synthetic case only, a few seconds
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
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

#: ``../shared/data`` beside the project root, as the tests find it (``KGX_SHARED_DATA`` overrides).
DATA = Path(os.environ.get("KGX_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
#: Tokens of a text that are grounded (``explain_stage`` cuts them at the model's ``max_len``). A default
#: cnn trained on painters gets max_len 500 (its longest training text has 1,209 tokens); 400 is what this
#: case was specified with: 3,206 transactions, against 3,232 at 500.
GROUND_TOKENS = 400
#: Subjects of the Wikidata case: the first this many, in sorted order.
WIKIDATA_SUBJECTS = 50_000
#: Min support of the Wikidata case (a fraction): 393 itemsets. mlxtend.fpgrowth takes 55-105 s a run on
#: this case here (mlxtend.apriori 35-40 s, the others under a second), but raising the support does not
#: help: 0.02 and 0.05 took as long, its time going into walking the dense 50,000 x 48,418 one-hot frame.
WIKIDATA_MIN_SUPPORT = 0.01
#: Peers not run on the painters case at the pipeline's settings (5.6 million frequent itemsets, 5.5 million
#: of them triples, mostly from ~150 countries sharing hundreds of items), and why. Measured here.
PAINTERS_SKIP = {
    "mlxtend.apriori": "its triple candidates need a 58 GiB boolean array (6.5 million x 3 x 3,206)",
    "mlxtend.fpgrowth": "it had not finished after 15 minutes",
}


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


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fraction_for(count: int, n_transactions: int) -> float:
    """A support fraction that every miner here reads as ``count`` transactions of ``n_transactions``.

    ``count / n`` itself, unless float round-off would make ``ceil(f * n)`` (mlxtend.fpgrowth's
    threshold) exceed ``count``; then the float just below it, which still excludes ``count - 1``.
    """
    fraction = count / n_transactions
    if math.ceil(fraction * n_transactions) > count:
        fraction = math.nextafter(fraction, 0.0)
    if not (
        (count - 1) / n_transactions < fraction <= count / n_transactions
        and math.ceil(fraction * n_transactions) == count
        and resolve_min_support(fraction, n_transactions) == count
    ):
        raise AssertionError(f"no support fraction stands for {count} of {n_transactions} transactions")
    return fraction


def painters_baskets(data: Path) -> tuple[list[list[tuple]], float, int]:
    """The painters task's transactions, as ``stages.mine.mining_input`` builds them, and its support and
    max length (a fraction standing for the pipeline's absolute ``min_support``).

    The store, lexicon and transactions come from the pipeline's own functions; the entities are the ones
    ``explain_stage`` would ground in the training texts (all of them: mining keeps every entity with a
    mention, whatever its relevance), so no model is needed. As in ``mining_input``, an entity without
    facts is an empty transaction and an item is (direction, property, value, literal).
    """
    from kgexplain.attribution.grounding import ground
    from kgexplain.config import Settings
    from kgexplain.loaders.datasets import read_dataset
    from kgexplain.stages.explain import kg_lexicon
    from kgexplain.stages.load import load_stage
    from kgexplain.stages.mine import transactions
    from kgexplain.store import open_store
    from kgexplain.text import is_cased_corpus, tokenize, tokenize_cased
    from kgexplain.vocab import Minter

    settings = Settings()
    dataset = read_dataset(data / "painters", text_column="desc", label_column="inmuseum")
    store = open_store(None)
    try:
        loaded = load_stage(store, dataset, data / "wikidata" / "wikidata-subset.nt.gz", settings)
        log(f"painters: {loaded.kg_report}")
        kg_graph = Minter(settings.base_iri).kg_graph(dataset.name)
        lexicon = kg_lexicon(store, kg_graph, settings)
        texts = [doc.text for doc in dataset.docs]  # in kgx:index order, as explain_stage reads them
        cased = settings.ground_case == "cased" or settings.ground_case == "auto" and is_cased_corpus(texts)
        entities: set[str] = set()
        for doc in dataset.split("train"):
            tokens = tokenize(doc.text)[:GROUND_TOKENS]
            original = tokenize_cased(doc.text)[:GROUND_TOKENS] if cased else None
            entities.update(mention.entity for mention in ground(tokens, lexicon, original))
        ordered = sorted(entities)
        items = transactions(store, kg_graph, ordered, settings)
    finally:
        store.close()
    index = {entity: tid for tid, entity in enumerate(ordered)}
    baskets: list[list[tuple]] = [[] for _ in ordered]
    for entity, direction, prop, value, literal in items.select(
        "entity", "direction", "property", "value", "literal"
    ).iter_rows():
        baskets[index[entity]].append((direction, prop, value, bool(literal)))
    distinct = len({item for basket in baskets for item in basket})
    empty = sum(1 for basket in baskets if not basket)
    log(
        f"painters-transactions: {len(baskets):,} transactions (entities grounded in "
        f"{len(dataset.split('train')):,} training texts; {empty} without facts), {items.height:,} "
        f"(entity, item) rows, {distinct:,} distinct items; lexicon {len(lexicon):,} keys, "
        f"{'cased' if cased else 'any-case'} grounding"
    )
    count = min(settings.min_support, max(1, len(baskets)))  # as mining_input
    return baskets, fraction_for(count, len(baskets)), settings.max_antecedent


def wikidata_baskets(subset: Path, limit: int = WIKIDATA_SUBJECTS) -> list[list[tuple[str, str]]]:
    """Per subject with a ``wdt:P…`` fact (the first ``limit`` in sorted order), its (property, object)
    items, terms in N-Triples syntax as kgexplain's dump reader gives them."""
    from kgexplain.loaders.wikidata import LoadReport, iter_triples
    from kgexplain.vocab import WDT

    report = LoadReport.for_path(subset)
    direct = f"<{WDT}P"
    facts: dict[str, set[tuple[str, str]]] = {}
    subjects: set[str] = set()
    for s, p, o in iter_triples(subset, report):
        subjects.add(s)
        if p.startswith(direct):
            facts.setdefault(s, set()).add((p, o))
    kept = sorted(facts)[:limit]
    baskets = [sorted(facts[s]) for s in kept]
    distinct = len({item for basket in baskets for item in basket})
    log(
        f"wikidata-entities-(p,o): {report.summary()}; {len(subjects):,} subjects, {len(facts):,} with a "
        f"direct fact; {len(baskets):,} transactions kept, {sum(map(len, baskets)):,} items in them, "
        f"{distinct:,} distinct"
    )
    return baskets


RealCase = tuple[str, Callable[[], tuple[list[list[Any]], float, int]], dict[str, str]]


def real_cases(quick: bool) -> list[RealCase]:
    """(name, basket builder, peers to skip with why) for the real-data cases; none with ``quick`` or
    without the data."""
    if quick:
        return []
    subset = DATA / "wikidata" / "wikidata-subset.nt.gz"
    needed = [subset, DATA / "painters" / "train.csv", DATA / "painters" / "test.csv"]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        message = f"real data not found ({', '.join(missing)}); set KGX_SHARED_DATA to point at shared/data"
        if os.environ.get("CI") == "true":
            raise SystemExit(f"error: {message}")
        log(f"note: {message}; skipping the real-data cases")
        return []
    return [
        ("painters-transactions", lambda: painters_baskets(DATA), PAINTERS_SKIP),
        ("wikidata-entities-(p,o)", lambda: (wikidata_baskets(subset), WIKIDATA_MIN_SUPPORT, 3), {}),
    ]


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
        return {frozenset(s): round(f * n) for s, f in zip(found["itemsets"], found["support"], strict=False)}

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
    baskets: Sequence[Sequence[Hashable]],
    min_support: float,
    max_len: int,
    repeat: int,
    miners: Sequence[tuple[str, Callable[[Baskets, float, int], Itemsets]]],
    skip: dict[str, str] | None = None,
) -> None:
    reference = run_ours(baskets, min_support, max_len)
    sizes = np.bincount([len(s) for s in reference], minlength=max_len + 1)[1:].tolist()
    ours = best_of(lambda: run_ours(baskets, min_support, max_len), repeat)
    encode_only = best_of(lambda: encode(baskets), repeat)
    threshold = resolve_min_support(min_support, len(baskets))
    print(
        f"{case}: {len(reference)} frequent itemsets by size {sizes} (min support {threshold} of "
        f"{len(baskets)} transactions); ours {ours * 1e3:.1f} ms (encoding {encode_only * 1e3:.1f} ms of it)",
        file=sys.stderr,
        flush=True,
    )
    for name, run in miners:
        if skip and name in skip:
            log(f"note: {case}: {name} not run: {skip[name]}")
            continue
        theirs = run(baskets, min_support, max_len)
        if theirs != reference:
            mismatch = _describe_mismatch(reference, theirs)
            raise AssertionError(f"{case}: {name} disagrees with ours: {mismatch}")
        peer_time = best_of(lambda run=run: run(baskets, min_support, max_len), repeat)
        log(f"{case}: {name} {peer_time * 1e3:.1f} ms")
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
        baskets = synthetic_baskets(n_transactions, n_items)
        bench_case(recorder, case, baskets, min_support, max_len, args.repeat, miners)
    for case, build, skip in real_cases(args.quick):
        prepared = time.perf_counter()
        baskets, min_support, max_len = build()
        log(f"{case}: baskets ready in {time.perf_counter() - prepared:.1f} s (not timed)")
        bench_case(recorder, case, baskets, min_support, max_len, args.repeat, miners, skip)
    print(f"mining benchmark done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
