"""The paper's evaluation measures on a hand-computed example (design/algorithms.md §1.2, Sec. 6.1)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from kgexplain.evaluation.metrics import assign_classes, context_metrics, overlap, set_metrics
from kgexplain.mining.rules import Item, Rule

ITALY = Item("out", "P17", "Q38")
FRANCE = Item("out", "P17", "Q142")
CITY = Item("out", "P31", "Q515")


def rule(items: tuple[Item, ...], cls: str, h: float) -> Rule:
    return Rule(items, cls, 5, {"TC": h, "TS": h, "WTS": h, "H": h}, 1.0, np.arange(5))


RULES = [rule((ITALY,), "Neg", 0.9), rule((FRANCE, CITY), "Pos", 0.8), rule((CITY,), "Pos", 0.85)]
ITEMS = {
    "rome": {ITALY, CITY},  # Neg 0.9 beats Pos 0.85 → Neg
    "paris": {FRANCE, CITY},  # Pos (0.85 and 0.8, both Pos)
    "lyon": {FRANCE},  # no rule: CITY missing
    "turin": {ITALY},  # Neg
}
# test mentions: entity, relevance φ of the mention, P(positive) of its document
OCCURRENCES = pl.DataFrame(
    {
        "entity": ["rome", "rome", "rome", "paris", "paris", "lyon", "turin"],
        "relevance": [-0.2, 0.1, -0.05, 0.3, -0.1, 0.4, 0.0],
        "score": [0.2, 0.7, 0.4, 0.9, 0.6, 0.3, 0.5],
    }
)


def test_classes_come_from_the_most_confident_matching_rule() -> None:
    assignment = assign_classes(RULES, ITEMS, "H")
    assert assignment.classes == {"rome": "Neg", "paris": "Pos", "turin": "Neg"}
    assert assignment.ties == 0


def test_a_tie_between_classes_drops_the_entity() -> None:
    tied = [rule((ITALY,), "Neg", 0.85), rule((CITY,), "Pos", 0.85)]
    assignment = assign_classes(tied, ITEMS, "H")
    assert "rome" not in assignment.classes and assignment.ties == 1
    assert assignment.classes["paris"] == "Pos" and assignment.classes["turin"] == "Neg"


def test_metrics_by_hand() -> None:
    """Covered: rome (Neg, 3 mentions), paris (Pos, 2), turin (Neg, 1) → 6 occurrences.
    Acc_imp: rome φ<0 twice, paris φ>0 once, turin φ=0 never → 3/6.
    Acc_overall: rome score<0.5 twice, paris score>0.5 twice, turin 0.5 is not < 0.5 → 4/6.
    Coverage: 3 of 4 test entities; unseen = {lyon, turin}: 1 of 2 covered, 1 occurrence."""
    classes = assign_classes(RULES, ITEMS, "H").classes
    every = set_metrics(OCCURRENCES, classes, {"rome", "paris", "lyon", "turin"})
    assert (every.covered, every.entities, every.occurrences) == (3, 4, 6)
    assert every.acc_imp == pytest.approx(3 / 6)
    assert every.acc_overall == pytest.approx(4 / 6)
    assert every.coverage == pytest.approx(3 / 4)
    unseen = set_metrics(OCCURRENCES, classes, {"lyon", "turin"})
    assert (unseen.covered, unseen.entities, unseen.occurrences) == (1, 2, 1)
    assert unseen.acc_imp == 0.0 and unseen.acc_overall == 0.0 and unseen.coverage == 0.5


def test_unseen_excludes_training_entities() -> None:
    """The unseen set is computed by the caller as test − train; the metrics only ever count the entities
    they are given, so a covered training entity cannot leak into the unseen numbers."""
    classes = assign_classes(RULES, ITEMS, "H").classes
    train = {"rome", "paris"}
    unseen = set_metrics(OCCURRENCES, classes, {"rome", "paris", "lyon", "turin"} - train)
    assert unseen.entities == 2 and unseen.occurrences == 1  # only turin's one mention


def test_nothing_covered_gives_nan_accuracy_and_zero_coverage() -> None:
    m = set_metrics(OCCURRENCES, {}, {"lyon"})
    assert math.isnan(m.acc_imp) and math.isnan(m.acc_overall) and m.coverage == 0.0


def test_overlap_and_jaccard() -> None:
    assert overlap({"a", "b", "c"}, {"b", "c", "d", "e"}) == (2 / 3, 2 / 5)
    assert all(math.isnan(v) for v in overlap(set(), {"a"}))


def test_out_of_context_metrics_by_hand() -> None:
    """Table 3: per class, the mean P(positive) over the distinct covered entities' texts, the mean of
    each rule's own mean, and the share above 0.5. Entities without a text are not counted; an entity
    covered by rules of both classes counts for both."""
    scores = {"rome": 0.2, "paris": 0.9, "turin": 0.4, "lyon": 0.6}  # no text for "milan"
    items = {**ITEMS, "milan": {ITALY, CITY}}
    out = context_metrics(RULES, items, scores)
    # Neg (ITALY): rome 0.2, turin 0.4 (milan has no text) -> mean 0.3; one rule; none above 0.5
    assert out["Neg"].rules == 1 and out["Neg"].texts == 2
    assert out["Neg"].avg_score == pytest.approx(0.3) and out["Neg"].avg_rule_score == pytest.approx(0.3)
    assert out["Neg"].r_pos == 0.0
    # Pos: FRANCE∧CITY covers paris (0.9); CITY covers rome, paris (0.55) -> entities {rome, paris}
    assert out["Pos"].rules == 2 and out["Pos"].texts == 2
    assert out["Pos"].avg_score == pytest.approx(0.55)
    assert out["Pos"].avg_rule_score == pytest.approx((0.9 + 0.55) / 2)
    assert out["Pos"].r_pos == pytest.approx(0.5)


def test_out_of_context_metrics_with_nothing_covered_are_nan() -> None:
    out = context_metrics(RULES[:1], {"lyon": {FRANCE}}, {"lyon": 0.6})
    assert out["Neg"].texts == 0 and math.isnan(out["Neg"].avg_score) and math.isnan(out["Pos"].r_pos)


def test_the_rule_graph_draws_the_most_confident_rules_only() -> None:
    """At a low supmin the candidates number in the millions; the rule graph takes the most confident ones
    (the painters Bi-LSTM at supmin 2 asked for 2.8 TiB before this)."""
    from kgexplain.evaluation.stage import graph_rules

    assert graph_rules(RULES, "H", limit=2) == [RULES[0], RULES[2]]
    assert graph_rules(RULES, "H") == [RULES[0], RULES[2], RULES[1]]
