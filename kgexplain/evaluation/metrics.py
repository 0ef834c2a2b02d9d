"""The main paper's evaluation of a rule set on the test texts (Sec. 6.1; design/algorithms.md §1.2).

Rules are mined on the training texts. On the test texts, every grounded entity that satisfies a rule's
antecedent gets that rule's class; when it satisfies rules of both classes the more confident rule (by the
run's measure) decides, and an exact tie drops the entity (counted in ``ties``). ``M(e)`` are the test
occurrences (mentions) of a covered entity ``e``:

- ``Acc_imp``: the share of those occurrences whose relevance has the rule's sign (φ > 0 for Pos, φ < 0
  for Neg) — how often the rule predicts the token's importance;
- ``Acc_overall``: the share whose document the model predicts as the rule's class (P(positive) > 0.5
  for Pos, < 0.5 for Neg; the paper's "f(X) > 0" read for a sigmoid output);
- ``coverage``: covered test-mentioned entities / all test-mentioned entities.

Each is reported for *all* test-mentioned entities and for the *unseen* ones, never mentioned in a
training text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import polars as pl

from ..mining.rules import Item, Rule

__all__ = ["Assignment", "SetMetrics", "assign_classes", "set_metrics", "overlap", "PAPER_TABLE1"]


@dataclass
class Assignment:
    classes: dict[str, str]          # entity IRI -> "Pos" | "Neg"
    ties: int                        # entities matching rules of both classes with equal confidence


@dataclass
class SetMetrics:
    entities: int                    # test-mentioned entities in the set
    covered: int                     # of them, covered by a rule (ties excluded)
    occurrences: int                 # test occurrences of the covered entities
    acc_imp: float
    acc_overall: float
    coverage: float


def assign_classes(rules: Iterable[Rule], entity_items: Mapping[str, set[Item]], measure: str) -> Assignment:
    """Each entity's class from the most confident rule whose antecedent its items satisfy."""
    best: dict[str, tuple[float, set[str]]] = {}
    for rule in rules:
        antecedent = set(rule.antecedent)
        score = rule.confidence[measure]
        for entity, items in entity_items.items():
            if antecedent <= items:
                current = best.get(entity)
                if current is None or score > current[0]:
                    best[entity] = (score, {rule.consequent})
                elif score == current[0]:
                    current[1].add(rule.consequent)
    classes = {e: next(iter(c)) for e, (_, c) in best.items() if len(c) == 1}
    return Assignment(classes, sum(1 for _, c in best.values() if len(c) > 1))


def set_metrics(occurrences: pl.DataFrame, classes: Mapping[str, str], entities: set[str]) -> SetMetrics:
    """``occurrences``: one row per test mention (columns entity, relevance, score = P(positive) of its
    document); ``entities``: the test-mentioned entities of the set (all, or unseen)."""
    covered = {e for e in entities if e in classes}
    rows = occurrences.filter(pl.col("entity").is_in(list(covered)))
    if rows.height:
        cls = rows["entity"].replace_strict(dict(classes), return_dtype=pl.String)
        pos = cls == "Pos"
        relevance, score = rows["relevance"].cast(pl.Float64), rows["score"].cast(pl.Float64)
        imp = ((pos & (relevance > 0)) | (~pos & (relevance < 0))).sum() / rows.height
        overall = ((pos & (score > 0.5)) | (~pos & (score < 0.5))).sum() / rows.height
    else:
        imp = overall = float("nan")
    coverage = len(covered) / len(entities) if entities else float("nan")
    return SetMetrics(len(entities), len(covered), rows.height, float(imp), float(overall), coverage)


def overlap(a: set[str], b: set[str]) -> tuple[float, float]:
    """(overlap coefficient |A∩B| / min(|A|, |B|), Jaccard |A∩B| / |A∪B|) — the reading of the paper's
    Table 2 "overlap distance" (high = similar)."""
    if not a or not b:
        return float("nan"), float("nan")
    common = len(a & b)
    return common / min(len(a), len(b)), common / len(a | b)


#: The paper's Table 1, painters rows: (model, set) -> measure -> (Acc_imp, Acc_overall, coverage or None).
#: Its "LSTM" rows for painters are the Bi-LSTM of App. A, our ``bilstm``.
PAPER_TABLE1: dict[tuple[str, str], dict[str, tuple[float, float, float | None]]] = {
    ("cnn", "all"): {"TC": (0.80, 0.69, 0.45), "TS": (0.69, 0.49, 0.96), "WTS": (0.73, 0.70, 0.96),
                     "H": (0.86, 0.75, 0.43)},
    ("cnn", "unseen"): {"TC": (0.79, 0.72, None), "TS": (0.71, 0.53, None), "WTS": (0.51, 0.47, None),
                        "H": (0.80, 0.72, None)},
    ("bilstm", "all"): {"TC": (0.85, 0.73, 0.59), "TS": (0.74, 0.55, 0.97), "WTS": (0.77, 0.68, 0.96),
                      "H": (0.86, 0.74, 0.58)},
    ("bilstm", "unseen"): {"TC": (0.81, 0.70, None), "TS": (0.73, 0.59, None), "WTS": (0.74, 0.60, None),
                         "H": (0.81, 0.70, None)},
}
#: The paper's model accuracy on painters (both models).
PAPER_ACCURACY = {"cnn": 0.71, "bilstm": 0.71}
#: The paper's Table 3, painters rows: class -> (avg. score, avg. per-rule score, r_Pos).
PAPER_TABLE3 = {"Pos": (0.47, 0.55, 0.47), "Neg": (0.10, 0.12, 0.05)}
__all__ += ["PAPER_ACCURACY", "PAPER_TABLE3", "ContextMetrics", "context_metrics"]


@dataclass
class ContextMetrics:
    """Out-of-context validity of one class's rules (Table 3): the model's P(positive) on outside texts
    about the entities those rules cover."""

    rules: int                       # rules of the class that cover at least one entity with a text
    texts: int                       # distinct covered entities with a text
    avg_score: float                 # mean P(positive) over those texts
    avg_rule_score: float            # mean over rules of each rule's mean P(positive)
    r_pos: float                     # share of those texts with P(positive) > 0.5


def context_metrics(rules: Iterable[Rule], entity_items: Mapping[str, set[Item]],
                    scores: Mapping[str, float]) -> dict[str, ContextMetrics]:
    """Table 3 per class. ``entity_items``: the items of every entity that has an outside text;
    ``scores``: the model's P(positive) on each such entity's text. An entity covered by rules of both
    classes counts for both: the table asks what each class's rules pick out, not how an entity is
    classified."""
    per_class: dict[str, tuple[set[str], list[float]]] = {"Pos": (set(), []), "Neg": (set(), [])}
    for rule in rules:
        antecedent = set(rule.antecedent)
        covered = [e for e, items in entity_items.items() if e in scores and antecedent <= items]
        if covered:
            entities, rule_means = per_class.setdefault(rule.consequent, (set(), []))
            entities.update(covered)
            rule_means.append(sum(scores[e] for e in covered) / len(covered))
    out = {}
    for cls, (entities, rule_means) in per_class.items():
        values = [scores[e] for e in entities]
        out[cls] = ContextMetrics(
            len(rule_means), len(values),
            sum(values) / len(values) if values else float("nan"),
            sum(rule_means) / len(rule_means) if rule_means else float("nan"),
            sum(v > 0.5 for v in values) / len(values) if values else float("nan"))
    return out
