"""The evaluation's open readings as options (issue #18.5): how an entity matched by rules of both classes
is scored (``conflicts``), what coverage divides by (test-mentioned entities or training transactions), and
the sensitivity grid over supmin × longest antecedent, whose itemsets are filtered from one mining run."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
from test_evaluation import CITY, ITALY, ITEMS, OCCURRENCES, RULES, rule

from kgexplain.config import Settings
from kgexplain.errors import InputError
from kgexplain.evaluation.metrics import CONFLICTS, assign_classes, assign_supporters, set_metrics
from kgexplain.evaluation.sensitivity import grid, restrict
from kgexplain.mining.apriori import apriori
from kgexplain.mining.rules import MEASURES, InfluenceArrays, Item
from kgexplain.stages.mine import MiningInput

ALL = {"rome", "paris", "lyon", "turin"}


def test_confident_is_the_default_and_resolves_a_conflict_by_confidence() -> None:
    """rome matches Neg (ITALY, 0.9) and Pos (CITY, 0.85): the more confident Neg rule decides."""
    default = assign_classes(RULES, ITEMS, "H")
    assert default == assign_classes(RULES, ITEMS, "H", "confident")
    assert default.classes["rome"] == "Neg" and default.conflicts == 1 and default.ties == 0


def test_drop_leaves_a_conflicted_entity_out_of_every_measure() -> None:
    """Covered: paris (Pos; φ 0.3, −0.1; scores 0.9, 0.6) and turin (Neg; φ 0, score 0.5) → 3 occurrences.
    Acc_imp 1/3, Acc_overall 2/3, coverage 2 of 4."""
    assignment = assign_classes(RULES, ITEMS, "H", "drop")
    assert assignment.classes == {"paris": "Pos", "turin": "Neg"} and assignment.conflicts == 1
    m = set_metrics(OCCURRENCES, assignment.classes, ALL)
    assert (m.covered, m.occurrences) == (2, 3)
    assert m.acc_imp == pytest.approx(1 / 3) and m.acc_overall == pytest.approx(2 / 3) and m.coverage == 0.5


def test_union_reads_the_formula_literally() -> None:
    """rome's mentions are in M⁺ and M⁻: each counts as correct when its φ is non-zero (all three), and
    for Acc_overall when its document's score is not exactly 0.5 (all three). With paris (1 of 2; 2 of 2)
    and turin (φ = 0, score 0.5: 0; 0): Acc_imp 4/6, Acc_overall 5/6, coverage 3 of 4."""
    assignment = assign_classes(RULES, ITEMS, "H", "union")
    assert assignment.classes == {"rome": "both", "paris": "Pos", "turin": "Neg"}
    m = set_metrics(OCCURRENCES, assignment.classes, ALL)
    assert (m.covered, m.occurrences) == (3, 6)
    assert m.acc_imp == pytest.approx(4 / 6) and m.acc_overall == pytest.approx(5 / 6) and m.coverage == 0.75


def test_a_tie_is_dropped_by_confident_and_drop_and_kept_by_union() -> None:
    tied = [rule((ITALY,), "Neg", 0.85), rule((CITY,), "Pos", 0.85)]
    for mode, expected in (("confident", None), ("drop", None), ("union", "both")):
        assignment = assign_classes(tied, ITEMS, "H", mode)
        assert assignment.classes.get("rome") == expected and assignment.ties == 1 == assignment.conflicts


def test_unknown_conflicts_reading_is_refused() -> None:
    with pytest.raises(InputError, match="--conflicts 'first'"):
        assign_classes(RULES, ITEMS, "H", "first")


def test_train_coverage_divides_by_the_training_transactions() -> None:
    """Train base: of the 5 training transactions, rome and paris carry a class (turin's entry is not a
    training transaction and does not count); the test base is unchanged."""
    classes = assign_classes(RULES, ITEMS, "H").classes
    train = {"rome", "paris", "naples", "nice", "bern"}
    m = set_metrics(OCCURRENCES, classes, ALL, train_classes=classes, train_entities=train)
    assert (m.train_covered, m.train_entities) == (2, 5) and m.coverage_train == pytest.approx(2 / 5)
    assert m.coverage_of("train") == m.coverage_train and m.coverage_of("test") == m.coverage == 0.75
    with pytest.raises(InputError, match="coverage base 'dev'"):
        m.coverage_of("dev")
    assert np.isnan(set_metrics(OCCURRENCES, classes, ALL).coverage_train)


# --- mining inputs built in memory, as stages.mine.mining_input builds them from the store ---------------

ITEM_POOL = [("out", "P31", f"Q{i}", False) for i in range(5)] + [("in", "P17", f"Q{i}", False) for i in range(5)]


def _baskets(seed: int, n: int = 60) -> list[list[tuple]]:
    rng = random.Random(seed)
    # skewed item frequencies, so supmin 1..5 and lengths 2..3 give different itemsets
    return [rng.sample(ITEM_POOL, rng.randint(1, 6)) for _ in range(n)]


def _inf(seed: int, n: int) -> InfluenceArrays:
    rng = np.random.default_rng(seed)
    n_pos, n_neg = rng.integers(0, 6, n), rng.integers(0, 6, n)
    total = np.maximum(n_pos + n_neg, 1)
    r_pos = n_pos / total
    tc = np.where(r_pos >= 0.8, 1, np.where(r_pos <= 0.2, -1, 0)).astype(np.int8)
    return InfluenceArrays(tc, r_pos.astype(float), n_pos, n_neg)


def _mining_input(baskets: list[list[tuple]], inf: InfluenceArrays, min_support: int, max_length: int) -> MiningInput:
    frequent = apriori(baskets, min_support=min_support, max_len=max_length)
    vocab = [Item(d, p, v, lit) for d, p, v, lit in frequent.items]
    entities = [f"e{i}" for i in range(len(baskets))]
    return MiningInput(
        "run",
        "graph",
        None,
        entities,
        None,
        frequent,
        vocab,
        inf,  # type: ignore[arg-type]
        min_support=min(min_support, len(baskets)),
    )


def _rule_set(rules: list) -> set:
    return {
        (
            frozenset(r.antecedent),
            r.consequent,
            r.support,
            tuple(round(r.confidence[m], 12) for m in MEASURES),
            tuple(r.entities.tolist()),
        )
        for r in rules
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_grid_point_equals_a_fresh_mining_run(seed: int) -> None:
    """The sensitivity grid filters one mining run at (supmin 1, length 3); at each point the rules before
    and after pruning, and their supporting sets, are those of Apriori run afresh with that point's settings."""
    baskets = _baskets(seed)
    inf = _inf(seed, len(baskets))
    settings = replace(Settings(), min_confidence=0.6)
    points = grid(settings)
    assert points == [(s, n) for n in (2, 3) for s in (1, 2, 3, 5)]
    loosest = _mining_input(baskets, inf, 1, 3)
    differs = set()
    for min_support, max_length in points:
        narrowed = restrict(loosest, min_support, max_length)
        fresh = _mining_input(baskets, inf, min_support, max_length)
        assert len(narrowed.frequent.itemsets) == len(fresh.frequent.itemsets)
        for measure in MEASURES:
            got, want = narrowed.rules(settings, measure), fresh.rules(settings, measure)
            assert _rule_set(got[0]) == _rule_set(want[0])
            assert _rule_set(got[1]) == _rule_set(want[1])
            differs.add((measure, len(got[0])))
    assert len(differs) > len(MEASURES)  # the grid's points do give different rule sets


def test_grid_adds_the_runs_own_point_and_restrict_cannot_loosen() -> None:
    settings = replace(Settings(), min_support=10, max_antecedent=4)
    assert grid(settings) == [(s, n) for n in (2, 3, 4) for s in (1, 2, 3, 5, 10)]
    baskets = _baskets(4)
    mined = _mining_input(baskets, _inf(4, len(baskets)), 3, 3)
    with pytest.raises(ValueError, match="supmin 3 to supmin 2"):
        restrict(mined, 2, 3)


@pytest.mark.parametrize("conflicts", CONFLICTS)
def test_supporters_are_the_transactions_that_match(conflicts: str) -> None:
    """Train-base coverage reads each rule's supporting set; an entity's class from those sets equals its
    class from matching its items, under every conflict reading."""
    baskets = _baskets(5)
    mined = _mining_input(baskets, _inf(5, len(baskets)), 2, 3)
    items = {e: {Item(*i) for i in b} for e, b in zip(mined.entities, baskets, strict=True)}
    for measure in MEASURES:
        _candidates, rules = mined.rules(replace(Settings(), min_confidence=0.6), measure)
        assert rules
        by_support = assign_supporters(rules, mined.entities, measure, conflicts)
        by_items = assign_classes(rules, items, measure, conflicts)
        assert by_support == by_items


def test_train_coverage_grows_as_supmin_falls_and_antecedents_lengthen() -> None:
    """Pruning keeps every transaction its input covered, and a looser point's rules include a stricter
    one's: so the training transactions matching some rule (union) never shrink as the grid loosens."""
    baskets = _baskets(6)
    loosest = _mining_input(baskets, _inf(6, len(baskets)), 1, 3)
    settings = replace(Settings(), min_confidence=0.6)
    for measure in MEASURES:
        covered = {}
        for min_support, max_length in grid(settings):
            _c, rules = restrict(loosest, min_support, max_length).rules(settings, measure)
            covered[min_support, max_length] = set(assign_supporters(rules, loosest.entities, measure, "union").classes)
        for (s, n), entities in covered.items():
            for (s2, n2), other in covered.items():
                if s2 <= s and n2 >= n:
                    assert entities <= other, (measure, (s, n), (s2, n2))
