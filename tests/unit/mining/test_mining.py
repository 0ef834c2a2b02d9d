"""Influence, confidences and cover pruning, against the paper's own examples and as laws."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgexplain.errors import InputError
from kgexplain.mining.influence import influence
from kgexplain.mining.pruning import prune
from kgexplain.mining.rules import InfluenceArrays, Item, Rule, confidences, make_rules


def counts(rows: list[tuple[str, int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "entity": [r[0] for r in rows],
            "n": [r[1] for r in rows],
            "n_pos": [r[2] for r in rows],
            "n_neg": [r[3] for r in rows],
            "sum_pos": [float(r[2]) for r in rows],
            "sum_neg": [float(r[3]) for r in rows],
            "documents": [r[1] for r in rows],
        }
    )


def test_belluno_counts_and_theta() -> None:
    """algorithms.md §1.5 check 2: signs (+,−,−,−) give r+ = 0.25; TC = −1 iff θ ≤ 0.75."""
    frame = counts([("belluno", 4, 1, 3)])
    assert influence(frame, 0.75)["r_pos"][0] == pytest.approx(0.25)
    assert influence(frame, 0.75)["tc"][0] == -1
    assert influence(frame, 0.7)["tc"][0] == -1
    assert influence(frame, 0.8)["tc"][0] == 0
    assert influence(frame, 1.0)["tc"][0] == 0


def test_theta_one_labels_pure_entities() -> None:
    """Check 3: with θ = 1.0 all-positive → 1, all-negative → −1, mixed → 0; zeros count in |Φ| only."""
    frame = influence(counts([("a", 3, 3, 0), ("b", 5, 0, 5), ("c", 4, 3, 1), ("d", 4, 3, 0)]), 1.0)
    assert dict(zip(frame["entity"], frame["tc"], strict=True)) == {"a": 1, "b": -1, "c": 0, "d": 0}
    assert frame.filter(pl.col("entity") == "d")["ts"][0] == pytest.approx(0.75)


def test_theta_out_of_range_is_refused() -> None:
    with pytest.raises(InputError, match="theta"):
        influence(counts([("a", 1, 1, 0)]), 0.4)


def ted_cruz() -> InfluenceArrays:
    """Check 5: four entities with (n+, n−) = (3, 0) and one with (1, 20), θ = 1.0."""
    frame = influence(
        counts([("e1", 3, 3, 0), ("e2", 3, 3, 0), ("e3", 3, 3, 0), ("e4", 3, 3, 0), ("e5", 21, 1, 20)]), 1.0
    )
    return InfluenceArrays(
        frame["tc"].to_numpy(), frame["ts"].to_numpy(), frame["n_pos"].to_numpy(), frame["n_neg"].to_numpy()
    )


def test_ted_cruz_fixture() -> None:
    conf = confidences(np.arange(5), ted_cruz())
    assert conf["Pos"]["TC"] == pytest.approx(0.8)
    assert conf["Pos"]["TS"] == pytest.approx((4 + 1 / 21) / 5)
    assert conf["Pos"]["WTS"] == pytest.approx(13 / 33)
    assert conf["Pos"]["H"] == pytest.approx(13 / 33)
    assert conf["Neg"]["WTS"] == pytest.approx(20 / 33)
    item = (Item("out", "P27", "Canada"),)
    accepted = {
        m: [r.consequent for r in make_rules([item], [np.arange(5)], ted_cruz(), min_confidence=0.75, measure=m)]
        for m in ("TC", "TS", "WTS", "H")
    }
    assert accepted == {"TC": ["Pos"], "TS": ["Pos"], "WTS": [], "H": []}


@st.composite
def influence_and_tidsets(draw: st.DrawFn) -> tuple[InfluenceArrays, list[np.ndarray]]:
    n = draw(st.integers(1, 150))  # past one 64-bit word of the packed rows
    pos = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)))
    neg = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)))
    total = np.maximum(pos + neg, 1)
    frame = influence(
        counts(
            [
                (f"e{i:02d}", int(t), int(p), int(q))
                for i, (t, p, q) in enumerate(zip(total + (pos + neg == 0), pos, neg, strict=True))
            ]
        ),
        draw(st.sampled_from([0.6, 0.8, 1.0])),
    )
    arrays = InfluenceArrays(
        frame["tc"].to_numpy(), frame["ts"].to_numpy(), frame["n_pos"].to_numpy(), frame["n_neg"].to_numpy()
    )
    sets = draw(st.lists(st.sets(st.integers(0, n - 1), min_size=1), min_size=1, max_size=12))
    return arrays, [np.array(sorted(s)) for s in sets]


@settings(max_examples=150, deadline=None)
@given(influence_and_tidsets())
def test_confidence_laws(data: tuple[InfluenceArrays, list[np.ndarray]]) -> None:
    """Check 4 (H = min(TC, WTS)) and confidences in [0, 1]; with confmin > 0.5 no antecedent gets both
    a Pos and a Neg rule under TS or WTS (check 6)."""
    arrays, tidsets = data
    for tids in tidsets:
        conf = confidences(tids, arrays)
        for cls in ("Pos", "Neg"):
            assert all(0.0 <= v <= 1.0 + 1e-12 for v in conf[cls].values())
            assert conf[cls]["H"] == min(conf[cls]["TC"], conf[cls]["WTS"])
    antecedents = [(Item("out", "p", str(i)),) for i in range(len(tidsets))]
    for measure in ("TS", "WTS"):
        rules = make_rules(antecedents, tidsets, arrays, min_confidence=0.51, measure=measure)
        keys = [r.antecedent for r in rules]
        assert len(keys) == len(set(keys))


def rule(name: str, tids: set[int], cls: str = "Pos", conf: float = 0.9, length: int = 1) -> Rule:
    items = tuple(Item("out", "p", f"{name}{k}") for k in range(length))
    return Rule(
        items,
        cls,
        len(tids),
        dict.fromkeys(("TC", "TS", "WTS", "H"), conf),
        1.0,
        np.array(sorted(tids), dtype=np.int64),
    )


def test_pruning_keeps_exactly_the_uncovered_rules() -> None:
    big = rule("big", {0, 1, 2, 3})
    inside = rule("inside", {1, 2})  # strict subset of big: covered, dropped
    twin = rule("twin", {0, 1, 2, 3}, length=2)  # same set, longer antecedent: dropped
    other = rule("other", {7, 8})  # separate component: kept
    neg_inside = rule("neg", {1, 2}, cls="Neg")  # other class: pruned separately, kept
    kept = prune([inside, big, twin, other, neg_inside])
    assert {r.antecedent[0].value for r in kept} == {"big0", "other0", "neg0"}


def test_greedy_cover_drops_a_rule_covered_jointly() -> None:
    left, right, middle = rule("l", {0, 1, 2}), rule("r", {3, 4, 5}), rule("m", {2, 3})
    kept = prune([left, right, middle])
    assert {r.antecedent[0].value for r in kept} == {"l0", "r0"}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sets(st.integers(0, 15), min_size=1, max_size=8),
            st.sampled_from(["Pos", "Neg"]),
            st.floats(0.5, 1.0),
            st.integers(1, 3),
        ),
        min_size=1,
        max_size=15,
    )
)
def test_pruning_laws(spec: list[tuple[set[int], str, float, int]]) -> None:
    """Check 7: (a) no kept rule is covered by another kept rule of its class; (b) per class the union of
    covered transactions is preserved; (c) pruning is idempotent."""
    rules = [rule(f"r{i}-", tids, cls, conf, length) for i, (tids, cls, conf, length) in enumerate(spec)]
    kept = prune(rules)
    for cls in ("Pos", "Neg"):
        mine = [r for r in kept if r.consequent == cls]
        for a in mine:
            for b in mine:
                if a is not b:
                    assert not set(b.entities) <= set(a.entities)
        before = set().union(*[set(r.entities) for r in rules if r.consequent == cls])
        after = set().union(*[set(r.entities) for r in mine])
        assert before == after
    assert [r.key() for r in prune(kept)] == [r.key() for r in kept]


@settings(max_examples=60, deadline=None)
@given(influence_and_tidsets(), st.integers(1, 3))
def test_vectorised_scoring_equals_the_direct_definition(
    data: tuple[InfluenceArrays, list[np.ndarray]], max_len: int
) -> None:
    """rules_from_itemsets (packed rows: popcounts of bit planes, per-byte tables) gives exactly the rules and
    confidences of make_rules over explicit tidsets."""
    from kgexplain.mining.apriori import apriori
    from kgexplain.mining.rules import rules_from_itemsets

    arrays, tidsets = data
    n = len(arrays.tc)
    baskets = [[f"i{k}" for k, tids in enumerate(tidsets) if t in set(tids.tolist())] for t in range(n)]
    frequent = apriori(baskets, min_support=1, max_len=max_len)
    vocab = [Item("out", "p", str(v)) for v in frequent.items]
    fast = rules_from_itemsets(frequent, vocab, arrays, min_confidence=0.6, measure="H")
    slow = make_rules(
        [tuple(vocab[i] for i in s) for s in frequent.itemsets],
        [frequent.tidset(s) for s in frequent.itemsets],
        arrays,
        min_confidence=0.6,
        measure="H",
    )
    assert [(r.key(), r.support) for r in fast] == [
        (r.key(), r.support) for r in sorted(slow, key=lambda r: ("Pos", "Neg").index(r.consequent))
    ]
    for a, b in zip(fast, sorted(slow, key=lambda r: ("Pos", "Neg").index(r.consequent)), strict=True):
        for m in ("TC", "TS", "WTS", "H"):
            assert a.confidence[m] == pytest.approx(b.confidence[m], abs=1e-9)
        assert np.array_equal(a.entities, b.entities)


@pytest.mark.parametrize("hash_", ["random", "always-colliding"])
def test_itemsets_are_grouped_by_exactly_their_transactions(hash_: str) -> None:
    """Scoring groups itemsets by transaction set: every itemset's row equals its representative's word
    for word, also under a hash for which every row collides; with the real hash, one group per set."""
    from kgexplain.mining.rules import _chunk_rows, _distinct_tidsets

    rng = np.random.default_rng(5)
    bits = (rng.random((12, 3, 64)) < 0.5).astype(np.uint64)  # 12 items, 3 words, bits as 0/1 ...
    bits = (bits << np.arange(64, dtype=np.uint64)).sum(axis=2, dtype=np.uint64)  # ... packed into words
    bits[3] = bits[4]  # two items with the same transactions
    matrix = rng.integers(0, 12, (400, 2))
    matrix[:50, 0] = 3
    matrix[50:100, 0] = 4  # itemsets equal through items 3 and 4
    multiplier = np.zeros(3, dtype=np.uint64) if hash_ == "always-colliding" else None
    reps, inverse = _distinct_tidsets(bits, matrix, chunk=64, multiplier=multiplier)
    rows = _chunk_rows(bits, matrix)
    assert np.array_equal(rows, rows[reps][inverse])  # everyone equals its representative
    if hash_ == "random":
        assert len({r.tobytes() for r in rows}) == len(reps) < 400  # one representative per distinct set
