"""The main paper's evaluation of a rule set on the test texts (Sec. 6.1; design/algorithms.md §1.2).

Rules are mined on the training texts. On the test texts, every grounded entity that satisfies a rule's
antecedent gets that rule's class. ``M(e)`` are the test occurrences (mentions) of a covered entity ``e``:

- ``Acc_imp``: the share of those occurrences whose relevance has the rule's sign (φ > 0 for Pos, φ < 0
  for Neg) — how often the rule predicts the token's importance;
- ``Acc_overall``: the share whose document the model predicts as the rule's class (P(positive) > 0.5
  for Pos, < 0.5 for Neg; the paper's "f(X) > 0" read for a sigmoid output);
- ``coverage``: covered test-mentioned entities / all test-mentioned entities; ``coverage_train``:
  covered training transactions (entities mentioned in a training text) / all of them.

Each is reported for *all* test-mentioned entities and for the *unseen* ones, never mentioned in a
training text.

More than two classes (issue #19) are read one-vs-rest, as the rules were mined (``stages.mine.class_influence``):
class c's occurrences ``M_c(e)`` are e's test mentions in documents explained for c, with either sign, and its
mentions that push a document explained for another class towards that class (relevance > 0: evidence against c);
a mention pushing a document away from another class says nothing about c. ``Acc_imp`` of c is the share of
``M_c(e)`` that is evidence for c (explained for c, relevance > 0), ``Acc_overall`` the share whose document the
model predicts as c (its most probable class), coverage the share of test-mentioned entities c's rules take.
Each measure is reported per class and as the macro average over the classes (``class_metrics``, ``macro``);
with ``--target c`` every document is explained for c and c's row is the paper's binary reading. Readings the paper leaves open are options (``CONFLICTS``, ``COVERAGE_BASES``); the
README ("Evaluation") quotes the sentences each rests on.

An entity that satisfies rules of both classes (``conflicts``):

- ``confident`` (default): the more confident rule (by the run's measure) decides; an exact tie drops
  the entity (counted in ``ties``);
- ``drop``: the entity is dropped, neither covered nor scored;
- ``union``: the formula's ``⋃M⁺ ∪ ⋃M⁻`` read literally: the entity's occurrences are in both ``M⁺``
  and ``M⁻``, so one is correct when its φ (or its document's score) has either sign — when it is not
  exactly 0 (0.5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from ..errors import InputError
from ..mining.rules import Item, Rule

__all__ = [
    "Assignment",
    "SetMetrics",
    "assign_classes",
    "set_metrics",
    "overlap",
    "PAPER_TABLE1",
    "CONFLICTS",
    "COVERAGE_BASES",
    "check_conflicts",
    "assign_supporters",
    "class_metrics",
    "macro",
    "score_sets",
]

#: How an entity satisfying rules of both classes is scored; the first is the default.
CONFLICTS = ("confident", "drop", "union")
#: Which entities coverage divides by: test-mentioned entities (default) or the training transactions.
COVERAGE_BASES = ("test", "train")


@dataclass
class Assignment:
    classes: dict[str, str]  # entity IRI -> "Pos" | "Neg" (a class name), or "both" (conflicts="union")
    ties: int  # entities matching rules of several classes, the two best equally confident
    conflicts: int = 0  # entities matching rules of several classes, however scored
    #: entity IRI -> the classes it counts for: one, or (conflicts="union") every class whose rules it matches
    members: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class SetMetrics:
    entities: int  # test-mentioned entities in the set
    covered: int  # of them, covered by a rule (ties excluded)
    occurrences: int  # test occurrences of the covered entities
    acc_imp: float
    acc_overall: float
    coverage: float  # covered / entities: the test base
    #: the train base: training transactions covered / all of them (NaN for the unseen set, which has none)
    train_entities: int = 0
    train_covered: int = 0
    coverage_train: float = float("nan")

    def add_train_base(self, entities: int, covered: int) -> None:
        """Sets the train base: ``covered`` of the ``entities`` training transactions satisfy a rule."""
        self.train_entities, self.train_covered = entities, covered
        self.coverage_train = covered / entities if entities else float("nan")

    def coverage_of(self, base: str) -> float:
        """Coverage on the given base (``COVERAGE_BASES``)."""
        if base not in COVERAGE_BASES:
            raise InputError(f"unknown coverage base {base!r}; use {' or '.join(COVERAGE_BASES)}")
        return self.coverage if base == "test" else self.coverage_train


def check_conflicts(conflicts: str) -> None:
    if conflicts not in CONFLICTS:
        raise InputError(f"unknown --conflicts {conflicts!r}; use {', '.join(CONFLICTS)}")


def assign_classes(
    rules: Iterable[Rule], entity_items: Mapping[str, set[Item]], measure: str, conflicts: str = "confident"
) -> Assignment:
    """Each entity's class from the rules whose antecedent its items satisfy; an entity satisfying rules
    of both classes is scored as ``conflicts`` says (module docstring)."""
    check_conflicts(conflicts)
    best: dict[str, dict[str, float]] = {}  # entity -> class -> best confidence among its rules
    for rule in rules:
        antecedent = set(rule.antecedent)
        score = rule.confidence[measure]
        for entity, items in entity_items.items():
            if antecedent <= items:
                per_class = best.setdefault(entity, {})
                per_class[rule.consequent] = max(score, per_class.get(rule.consequent, score))
    return _resolve(best, conflicts)


def assign_supporters(
    rules: Iterable[Rule], transactions: Sequence[str], measure: str, conflicts: str = "confident"
) -> Assignment:
    """Like ``assign_classes`` for the transactions the rules were mined from, read off each rule's
    supporting set (``Rule.entities``, positions in ``transactions``) instead of matching items."""
    check_conflicts(conflicts)
    best: dict[str, dict[str, float]] = {}
    for rule in rules:
        score = rule.confidence[measure]
        for t in rule.entities:
            per_class = best.setdefault(transactions[int(t)], {})
            per_class[rule.consequent] = max(score, per_class.get(rule.consequent, score))
    return _resolve(best, conflicts)


def _resolve(best: Mapping[str, Mapping[str, float]], conflicts: str) -> Assignment:
    classes: dict[str, str] = {}
    members: dict[str, frozenset[str]] = {}
    ties = both = 0
    for entity, per_class in best.items():
        if len(per_class) == 1:
            classes[entity] = next(iter(per_class))
            members[entity] = frozenset(per_class)
            continue
        both += 1
        first, second = sorted(per_class.values(), reverse=True)[:2]
        tied = first == second
        ties += tied
        if conflicts == "union":
            classes[entity] = "both"
            members[entity] = frozenset(per_class)
        elif conflicts == "confident" and not tied:
            classes[entity] = max(per_class, key=per_class.__getitem__)
            members[entity] = frozenset((classes[entity],))
    return Assignment(classes, ties, both, members)


def set_metrics(
    occurrences: pl.DataFrame,
    classes: Mapping[str, str],
    entities: set[str],
    *,
    train_classes: Mapping[str, str] | None = None,
    train_entities: set[str] | None = None,
) -> SetMetrics:
    """``occurrences``: one row per test mention (columns entity, relevance, score = P(positive) of its
    document); ``entities``: the test-mentioned entities of the set (all, or unseen). Given the training
    transactions (``train_entities``) and their classes under the same rules, also the train-base coverage."""
    covered = {e for e in entities if e in classes}
    rows = occurrences.filter(pl.col("entity").is_in(list(covered)))
    if rows.height:
        cls = rows["entity"].replace_strict(dict(classes), return_dtype=pl.String)
        pos, neg = cls.is_in(["Pos", "both"]), cls.is_in(["Neg", "both"])
        relevance, score = rows["relevance"].cast(pl.Float64), rows["score"].cast(pl.Float64)
        imp = ((pos & (relevance > 0)) | (neg & (relevance < 0))).sum() / rows.height
        overall = ((pos & (score > 0.5)) | (neg & (score < 0.5))).sum() / rows.height
    else:
        imp = overall = float("nan")
    coverage = len(covered) / len(entities) if entities else float("nan")
    result = SetMetrics(len(entities), len(covered), rows.height, float(imp), float(overall), coverage)
    if train_entities is not None:
        result.add_train_base(len(train_entities), sum(1 for e in train_entities if e in (train_classes or {})))
    return result


def class_metrics(
    occurrences: pl.DataFrame,
    members: Mapping[str, frozenset[str]],
    entities: set[str],
    cls: str,
    index: int,
    *,
    train_members: Mapping[str, frozenset[str]] | None = None,
    train_entities: set[str] | None = None,
) -> SetMetrics:
    """One class's metrics with more than two classes, one-vs-rest (module docstring). ``occurrences``: one row
    per test mention (columns entity, relevance, explained: the label its document is explained for, predicted:
    the document's predicted label); ``members``: the classes each entity counts for (``Assignment.members``);
    ``index``: ``cls``'s label."""
    covered = {e for e in entities if cls in members.get(e, ())}
    own = pl.col("explained") == index
    rows = (
        occurrences.filter(pl.col("entity").is_in(list(covered)) & (own | (pl.col("relevance") > 0)))
        if occurrences.height
        else occurrences  # no test mention at all (its columns may not even be there)
    )
    if rows.height:
        imp = rows.select((own & (pl.col("relevance") > 0)).mean()).item()
        overall = rows.select((pl.col("predicted") == index).mean()).item()
    else:
        imp = overall = float("nan")
    result = SetMetrics(
        len(entities),
        len(covered),
        rows.height,
        float(imp),
        float(overall),
        len(covered) / len(entities) if entities else float("nan"),
    )
    if train_entities is not None:
        taken = sum(1 for e in train_entities if cls in (train_members or {}).get(e, ()))
        result.add_train_base(len(train_entities), taken)
    return result


def macro(
    per_class: Mapping[str, SetMetrics],
    entities: set[str],
    members: Mapping[str, frozenset[str]],
    *,
    train_members: Mapping[str, frozenset[str]] | None = None,
    train_entities: set[str] | None = None,
) -> SetMetrics:
    """The macro average of ``class_metrics`` over the classes: Acc_imp and Acc_overall are the unweighted means
    of the classes that cover an entity (a class whose rules cover none has no accuracy to average); coverage
    is the share of the entities that any class's rules take."""

    def mean(values: Iterable[float]) -> float:
        kept = [v for v in values if not math.isnan(v)]
        return sum(kept) / len(kept) if kept else float("nan")

    covered = sum(1 for e in entities if members.get(e))
    result = SetMetrics(
        len(entities),
        covered,
        sum(m.occurrences for m in per_class.values()),
        mean(m.acc_imp for m in per_class.values()),
        mean(m.acc_overall for m in per_class.values()),
        covered / len(entities) if entities else float("nan"),
    )
    if train_entities is not None:
        result.add_train_base(len(train_entities), sum(1 for e in train_entities if (train_members or {}).get(e)))
    return result


def score_sets(
    test: pl.DataFrame,
    assignment: Assignment,
    supporters: Assignment,
    test_entities: set[str],
    unseen: set[str],
    seen: set[str],
    classes: Sequence[str] = (),
) -> tuple[dict[str, SetMetrics], dict[str, dict[str, SetMetrics]]]:
    """The metrics of one rule set on the test mentions, for "all" test-mentioned entities and the "unseen" ones:
    ({set: metrics}, {set: {class: metrics}}). Two classes (``classes`` empty): ``set_metrics``, no per-class
    part; more: the macro average and each class's ``class_metrics`` (``test`` then has explained, predicted)."""
    if not classes:
        return (
            {
                "all": set_metrics(
                    test, assignment.classes, test_entities, train_classes=supporters.classes, train_entities=seen
                ),
                "unseen": set_metrics(test, assignment.classes, unseen),
            },
            {},
        )
    members, train = assignment.members, supporters.members
    per_class = {
        "all": {
            c: class_metrics(test, members, test_entities, c, i, train_members=train, train_entities=seen)
            for i, c in enumerate(classes)
        },
        "unseen": {c: class_metrics(test, members, unseen, c, i) for i, c in enumerate(classes)},
    }
    return (
        {
            "all": macro(per_class["all"], test_entities, members, train_members=train, train_entities=seen),
            "unseen": macro(per_class["unseen"], unseen, members),
        },
        per_class,
    )


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
    ("cnn", "all"): {
        "TC": (0.80, 0.69, 0.45),
        "TS": (0.69, 0.49, 0.96),
        "WTS": (0.73, 0.70, 0.96),
        "H": (0.86, 0.75, 0.43),
    },
    ("cnn", "unseen"): {
        "TC": (0.79, 0.72, None),
        "TS": (0.71, 0.53, None),
        "WTS": (0.51, 0.47, None),
        "H": (0.80, 0.72, None),
    },
    ("bilstm", "all"): {
        "TC": (0.85, 0.73, 0.59),
        "TS": (0.74, 0.55, 0.97),
        "WTS": (0.77, 0.68, 0.96),
        "H": (0.86, 0.74, 0.58),
    },
    ("bilstm", "unseen"): {
        "TC": (0.81, 0.70, None),
        "TS": (0.73, 0.59, None),
        "WTS": (0.74, 0.60, None),
        "H": (0.81, 0.70, None),
    },
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

    rules: int  # rules of the class that cover at least one entity with a text
    texts: int  # distinct covered entities with a text
    avg_score: float  # mean P(positive) over those texts
    avg_rule_score: float  # mean over rules of each rule's mean P(positive)
    r_pos: float  # share of those texts with P(positive) > 0.5


def context_metrics(
    rules: Iterable[Rule],
    entity_items: Mapping[str, set[Item]],
    scores: Mapping[str, float],
    hits: Mapping[str, bool] | None = None,
) -> dict[str, ContextMetrics]:
    """Table 3 per class. ``entity_items``: the items of every entity that has an outside text;
    ``scores``: the model's P(positive) on each such entity's text. An entity covered by rules of both
    classes counts for both: the table asks what each class's rules pick out, not how an entity is
    classified. More than two classes: call it per class c with c's rules, ``scores`` = P(c) and ``hits``
    = whether c is the most probable class of each text (what r_Pos then counts; default: score > 0.5)."""
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
            len(rule_means),
            len(values),
            sum(values) / len(values) if values else float("nan"),
            sum(rule_means) / len(rule_means) if rule_means else float("nan"),
            sum((hits[e] if hits is not None else scores[e] > 0.5) for e in entities) / len(values)
            if values
            else float("nan"),
        )
    return out
