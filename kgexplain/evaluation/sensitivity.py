"""``kgexplain evaluate --sensitivity``: Table 1's measures over the mining settings the paper leaves
unstated, supmin × longest antecedent × measure, so a reader sees the trade-off rather than one point.

The paper states confmin and θ (Table 1) but neither supmin nor the longest antecedent. The grid is
``SUPPORTS`` × ``LENGTHS``, plus the run's own settings. One Apriori run at the grid's loosest point
(smallest supmin, longest antecedent) holds every other point's frequent itemsets: an itemset is frequent
at (s, L) exactly when that run found it with support ≥ s and at most L items. So each point's rules come
from those itemsets filtered (``restrict``), scored once, instead of a mining run per point; a test
checks that every point's rules equal a fresh mining run's. The loosest point is also the dearest: with
supmin 1 every itemset of a single transaction is frequent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from ..config import Settings
from ..mining.rules import Item, score_itemsets
from ..stages.mine import MiningInput
from .metrics import SetMetrics, assign_classes, assign_supporters, score_sets

__all__ = ["SUPPORTS", "LENGTHS", "SensitivityRow", "grid", "restrict", "sensitivity"]

#: supmin values of the grid (entities), and the longest antecedents.
SUPPORTS = (1, 2, 3, 5)
LENGTHS = (2, 3)


@dataclass
class SensitivityRow:
    model: str
    measure: str
    min_support: int  # as asked; clamped to the number of transactions when mining
    max_length: int
    rules: int  # after pruning
    all: SetMetrics
    unseen: SetMetrics
    ties: int
    conflicts: int  # test-mentioned entities matching rules of both classes
    current: bool  # the run's own settings (the point of the main table)


def grid(
    settings: Settings, supports: Sequence[int] = SUPPORTS, lengths: Sequence[int] = LENGTHS
) -> list[tuple[int, int]]:
    """(supmin, longest antecedent) points: the grid and the run's own point, longest first."""
    return [
        (s, n)
        for n in sorted(set(lengths) | {settings.max_antecedent})
        for s in sorted(set(supports) | {settings.min_support})
    ]


def restrict(mined: MiningInput, min_support: int, max_length: int) -> MiningInput:
    """``mined`` as if mined with ``min_support`` and ``max_length``: its itemsets with support ≥
    ``min_support`` (clamped as ``stages.mine.mining_input`` clamps it) and at most ``max_length`` items.
    ``mined`` must have been mined with no larger supmin and no shorter antecedents."""
    frequent = mined.frequent
    floor = min(min_support, max(1, len(mined.entities)))
    if floor < mined.min_support:
        raise ValueError(f"cannot restrict itemsets mined at supmin {mined.min_support} to supmin {floor}")
    if mined.scores is None and len(frequent.matrix):
        mined.scores = score_itemsets(frequent.encoded, frequent.matrix, frequent.n_transactions, mined.arrays)
    keep = np.flatnonzero((frequent.support >= floor) & (frequent.lengths <= max_length))
    narrowed = replace(frequent, matrix=frequent.matrix[keep], support=frequent.support[keep], min_count=floor)
    scores = {name: values[keep] for name, values in mined.scores.items()} if mined.scores is not None else None
    # k > 2 classes: each class's scores narrowed alike, in a dict of the restricted input's own
    class_scores = {
        name: {m: values[keep] for m, values in per_class.items()} for name, per_class in mined.class_scores.items()
    }
    return replace(mined, frequent=narrowed, min_support=floor, scores=scores, class_scores=class_scores)


def sensitivity(
    model: str,
    loosest: MiningInput,
    settings: Settings,
    measures: Sequence[str],
    test: pl.DataFrame,
    test_items: Mapping[str, set[Item]],
    test_entities: set[str],
    unseen: set[str],
    conflicts: str,
    points: Sequence[tuple[int, int]],
    progress: Callable[[int], None] = lambda _done: None,
    classes: Sequence[str] = (),
) -> list[SensitivityRow]:
    """One row per (point, measure) for one model. ``loosest``: its mining input at the loosest point;
    the other arguments as ``stage.evaluate_stage`` reads them for the main table (more than two ``classes``:
    the rows hold the macro averages)."""
    rows = []
    transactions = set(loosest.entities)
    for done, (min_support, max_length) in enumerate(points):
        mined = restrict(loosest, min_support, max_length)
        for measure in measures:
            _candidates, rules = mined.rules(settings, measure)
            assignment = assign_classes(rules, test_items, measure, conflicts)
            supporters = assign_supporters(rules, loosest.entities, measure, conflicts)
            scored, _per_class = score_sets(test, assignment, supporters, test_entities, unseen, transactions, classes)
            rows.append(
                SensitivityRow(
                    model,
                    measure,
                    min_support,
                    max_length,
                    len(rules),
                    scored["all"],
                    scored["unseen"],
                    assignment.ties,
                    assignment.conflicts,
                    (min_support, max_length) == (settings.min_support, settings.max_antecedent),
                )
            )
        progress(done + 1)
    return rows
