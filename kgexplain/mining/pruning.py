"""Closed-rule-set cover pruning (main paper, Sec. 5.3), per class.

1. Rules with equal covered sets ``T`` keep one: the shortest antecedent, then the most confident, then
   the first by key.
2. A rule whose ``T`` is a strict subset of another rule's ``T`` is covered by it and dropped.
3. Rules whose ``T`` overlap form connected components (the paper's closed rule sets, Figure 4); each
   keeps a greedy set cover of its transactions: the rule covering most uncovered transactions first,
   ties by confidence.
The result keeps every transaction the input covered, and no kept rule covers another.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .rules import CLASSES, Rule

__all__ = ["prune", "bitset"]


def bitset(tids: np.ndarray) -> int:
    """A set of transaction indices as a Python int (bit i set for transaction i)."""
    tids = np.asarray(tids, dtype=np.int64)
    if tids.size == 0:
        return 0
    mask = np.zeros(int(tids.max()) + 1, dtype=bool)
    mask[tids] = True
    return int.from_bytes(np.packbits(mask, bitorder="little").tobytes(), "little")


def _rank(rule: Rule, measure: str) -> tuple[int, float, str]:
    return (len(rule.antecedent), -rule.confidence[measure], rule.key())


def _prune_class(rules: list[Rule], measure: str) -> list[Rule]:
    best: dict[int, tuple[Rule, int]] = {}
    for rule in rules:
        bits = bitset(rule.entities)
        if bits not in best or _rank(rule, measure) < _rank(best[bits][0], measure):
            best[bits] = (rule, bits)
    unique = sorted(best.values(), key=lambda rb: -len(rb[0].entities))
    maximal: list[tuple[Rule, int]] = []
    for rule, bits in unique:  # larger sets first: a strict superset, if any, is already in `maximal`
        if not any(bits & other == bits for _r, other in maximal):
            maximal.append((rule, bits))
    parent = list(range(len(maximal)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for i, (rule, _bits) in enumerate(maximal):
        for t in rule.entities:
            j = owner.setdefault(int(t), i)
            if j != i:
                parent[find(i)] = find(j)
    components: dict[int, list[tuple[Rule, int]]] = defaultdict(list)
    for i, rb in enumerate(maximal):
        components[find(i)].append(rb)
    kept: list[Rule] = []
    for members in components.values():
        uncovered = 0
        for _r, bits in members:
            uncovered |= bits
        remaining = list(range(len(members)))
        while uncovered and remaining:
            pick = max(
                remaining,
                key=lambda k: (
                    (members[k][1] & uncovered).bit_count(),
                    members[k][0].confidence[measure],
                    -len(members[k][0].antecedent),
                    members[k][0].key(),
                ),
            )
            rule, bits = members[pick]
            if not bits & uncovered:
                break
            kept.append(rule)
            uncovered &= ~bits
            remaining.remove(pick)
    return kept


def prune(rules: list[Rule], measure: str = "H") -> list[Rule]:
    """The pruned rule set, best first by ``measure`` confidence, then support."""
    kept: list[Rule] = []
    for cls in dict.fromkeys([*CLASSES, *(r.consequent for r in rules)]):  # k > 2 classes: by name (issue #19)
        kept += _prune_class([r for r in rules if r.consequent == cls], measure)
    return sorted(kept, key=lambda r: (-r.confidence[measure], -r.support, r.key()))
