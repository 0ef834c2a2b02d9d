"""Rules ``Y(x) → Pos|Neg`` from frequent itemsets, with the main paper's confidences (Sec. 5.1–5.2).

For the entities ``D_Y`` that satisfy antecedent ``Y``:
``conf_TC = |{d : TC(d) = ±1}| / |D_Y|``; ``conf_TS = mean r+`` (Neg: ``mean 1 − r+``);
``conf_WTS = Σ|Φ±| / Σ(|Φ+| + |Φ−|)``; ``conf_H = min(conf_TC, conf_WTS)``. Neg forms are the paper's
Pos forms by symmetry (our reading, see design/algorithms.md §1.2). ``lift`` divides the ranking
measure by its value over all transactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

__all__ = ["MEASURES", "CLASSES", "Item", "Rule", "InfluenceArrays", "confidences", "make_rules"]

MEASURES = ("TC", "TS", "WTS", "H")
CLASSES = ("Pos", "Neg")


@dataclass(frozen=True, order=True)
class Item:
    """``direction`` "out": the fact (x, property, value); "in": the fact (value, property, x)."""

    direction: str
    property: str
    value: str
    literal: bool = False


@dataclass
class Rule:
    antecedent: tuple[Item, ...]
    consequent: str
    support: int
    confidence: dict[str, float]
    lift: float
    entities: np.ndarray                     # sorted transaction indices of D_Y
    labels: dict[str, str] = field(default_factory=dict)

    def key(self) -> str:
        return "|".join(f"{i.direction} {i.property} {i.value}" for i in sorted(self.antecedent)) + f"→{self.consequent}"


@dataclass
class InfluenceArrays:
    """Per transaction (entity): TC label, TS score and WTS counts, aligned by index."""

    tc: np.ndarray
    ts: np.ndarray
    n_pos: np.ndarray
    n_neg: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.tc)
        if not all(len(a) == n for a in (self.ts, self.n_pos, self.n_neg)):
            raise InputError("influence arrays must all have one value per transaction")


def confidences(tids: np.ndarray, inf: InfluenceArrays) -> dict[str, dict[str, float]]:
    """Every measure for both classes over the transactions ``tids``."""
    n = len(tids)
    if n == 0:
        return {c: dict.fromkeys(MEASURES, 0.0) for c in CLASSES}
    tc = inf.tc[tids]
    pos, neg = float(inf.n_pos[tids].sum()), float(inf.n_neg[tids].sum())
    total = pos + neg
    ts = float(inf.ts[tids].mean())
    out = {
        "Pos": {"TC": float((tc == 1).sum()) / n, "TS": ts, "WTS": pos / total if total else 0.0},
        "Neg": {"TC": float((tc == -1).sum()) / n, "TS": 1.0 - ts, "WTS": neg / total if total else 0.0},
    }
    for c in CLASSES:
        out[c]["H"] = min(out[c]["TC"], out[c]["WTS"])
    return out


def make_rules(antecedents: list[tuple[Item, ...]], tidsets: list[np.ndarray], inf: InfluenceArrays, *,
               min_confidence: float, measure: str = "H") -> list[Rule]:
    """A rule per antecedent and class whose ``measure`` confidence reaches ``min_confidence``."""
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
    if not 0.0 <= min_confidence <= 1.0:
        raise InputError(f"min_confidence must be in [0, 1], got {min_confidence}")
    base = confidences(np.arange(len(inf.tc)), inf)
    rules = []
    for antecedent, tids in zip(antecedents, tidsets, strict=True):
        conf = confidences(tids, inf)
        for cls in CLASSES:
            value = conf[cls][measure]
            if value >= min_confidence and len(tids) > 0:
                base_value = base[cls][measure]
                rules.append(Rule(antecedent, cls, len(tids), conf[cls],
                                  value / base_value if base_value else float("inf"), tids))
    return rules
