"""Rules ``Y(x) → Pos|Neg`` from frequent itemsets, with the main paper's confidences (Sec. 5.1–5.2).

For the entities ``D_Y`` that satisfy antecedent ``Y``:
``conf_TC = |{d : TC(d) = ±1}| / |D_Y|``; ``conf_TS = mean r+`` (Neg: ``mean 1 − r+``);
``conf_WTS = Σ|Φ±| / Σ(|Φ+| + |Φ−|)``; ``conf_H = min(conf_TC, conf_WTS)``. Neg forms are the paper's
Pos forms by symmetry (our reading, see design/algorithms.md §1.2). ``lift`` divides the ranking
measure by its value over all transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from ..errors import InputError
from .apriori import Encoded, itemset_matrix

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
    entities: np.ndarray  # sorted transaction indices of D_Y
    labels: dict[str, str] = field(default_factory=dict)

    def key(self) -> str:
        return (
            "|".join(f"{i.direction} {i.property} {i.value}" for i in sorted(self.antecedent)) + f"→{self.consequent}"
        )


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


def make_rules(
    antecedents: list[tuple[Item, ...]],
    tidsets: list[np.ndarray],
    inf: InfluenceArrays,
    *,
    min_confidence: float,
    measure: str = "H",
) -> list[Rule]:
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
                rules.append(
                    Rule(
                        antecedent, cls, len(tids), conf[cls], value / base_value if base_value else float("inf"), tids
                    )
                )
    return rules


def _pack(mask: np.ndarray, words: int) -> np.ndarray:
    """A boolean per transaction as packed little-endian uint64 words (the layout of ``bits`` rows)."""
    packed = np.packbits(mask.astype(bool), bitorder="little")
    return np.pad(packed, (0, words * 8 - len(packed))).view("<u8")


class _PlaneSums:
    """Σ of per-transaction columns of small non-negative integers (class flags, mention counts) over the
    transactions packed rows mark, exactly: each column is split into bit planes packed like the rows, and
    a column's sum over a row is Σ_b 2^b · popcount(row & plane_b). All planes of all columns go through
    one AND and one popcount per chunk of rows."""

    def __init__(self, columns: list[np.ndarray], words: int) -> None:
        planes, weights = [], []
        for k, column in enumerate(columns):
            ints = np.asarray(column, dtype=np.int64)
            for b in range(int(ints.max()).bit_length() if len(ints) else 0):
                planes.append(_pack((ints >> b) & 1, words))
                weight = np.zeros(len(columns))
                weight[k] = 1 << b
                weights.append(weight)
        self.planes = np.asarray(planes, dtype=np.uint64).reshape(-1, words)
        self.weights = np.asarray(weights).reshape(-1, len(columns))

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        counts = np.bitwise_count(rows[:, None, :] & self.planes[None, :, :]).sum(axis=2, dtype=np.int64)
        return counts @ self.weights

    @staticmethod
    def applies(column: np.ndarray) -> bool:
        values = np.asarray(column, dtype=np.float64)
        return (
            bool(len(values))
            and values.min() >= 0
            and values.max() < 2**31
            and bool(np.all(values == np.round(values)))
        )


class _ByteTableSums:
    """Σ of a per-transaction column of any real values over the transactions packed rows mark: a table
    per byte of the row, ``table[j, v]`` the column's sum over the (up to) eight transactions of byte j
    whose bits are set in v, so a row's sum is one lookup per byte instead of one multiply-add per
    transaction."""

    def __init__(self, column: np.ndarray, n: int, words: int) -> None:
        n_bytes = words * 8
        padded = np.zeros(n_bytes * 8)
        padded[:n] = np.asarray(column, dtype=np.float64)
        patterns = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little")
        self.table = (patterns.astype(np.float64) @ padded.reshape(n_bytes, 8).T).T.ravel()
        self.offsets = np.arange(n_bytes, dtype=np.intp) * 256

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return self.table[rows.view(np.uint8).astype(np.intp) + self.offsets].sum(axis=1)


def _chunk_rows(bits: np.ndarray, itemsets: np.ndarray) -> np.ndarray:
    """Packed rows: row i marks the transactions containing itemset i (the AND of its items' rows)."""
    rows = bits[itemsets[:, 0]].copy()
    for j in range(1, itemsets.shape[1]):
        np.bitwise_and(rows, bits[itemsets[:, j]], out=rows)
    return rows


#: The per-transaction sums each measure needs: 0 support, 1 TC+ flags, 2 TC− flags, 3 TS, 4 n_pos, 5 n_neg.
_NEEDS = {"TC": {0, 1, 2}, "TS": {0, 3}, "WTS": {4, 5}, "H": {0, 1, 2, 4, 5}}


def _distinct_tidsets(
    bits: np.ndarray, matrix: np.ndarray, chunk: int, multiplier: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(representatives, inverse): one itemset per distinct transaction set, and for every itemset the
    position of its representative. Rows are keyed by a random linear hash (odd multipliers, mod 2^64),
    then every row is compared word for word with its representative's; a row whose key collided with
    another set's becomes its own representative (scored on its own), so every score is exact whatever
    the hash does."""
    if multiplier is None:
        multiplier = (
            np.random.default_rng(0x6B6778).integers(0, 2**62, int(bits.shape[1]), dtype=np.int64).view(np.uint64)
        )
        multiplier = multiplier * np.uint64(2) + np.uint64(1)
    keys = np.empty(len(matrix), dtype=np.uint64)
    for start in range(0, len(matrix), chunk):
        keys[start : start + chunk] = (_chunk_rows(bits, matrix[start : start + chunk]) * multiplier).sum(
            axis=1, dtype=np.uint64
        )
    # the first row of each key (a hash group-by: a third of np.unique's sort on painters' 6.7 million rows)
    representative = (
        pl.DataFrame({"key": keys})
        .with_row_index("row")
        .select(pl.col("row").first().over("key"))
        .to_series()
        .to_numpy()
        .astype(np.int64)
    )
    for start in range(0, len(matrix), chunk):
        rows = _chunk_rows(bits, matrix[start : start + chunk])
        theirs = _chunk_rows(bits, matrix[representative[start : start + chunk]])
        wrong = np.flatnonzero((rows != theirs).any(axis=1)) + start
        representative[wrong] = wrong
    # representatives are row numbers: their ranks come from a mark and a running count, no sort
    marked = np.zeros(len(matrix), dtype=bool)
    marked[representative] = True
    reps = np.flatnonzero(marked)
    return reps, (np.cumsum(marked) - 1)[representative]


def score_itemsets(
    bits: np.ndarray | Encoded,
    itemsets: Sequence[Sequence[int]] | np.ndarray,
    n_transactions: int,
    inf: InfluenceArrays,
    chunk: int = 2048,
    measures: Iterable[str] = MEASURES,
) -> dict[str, np.ndarray]:
    """The ``measures`` (default all) for both classes and every itemset at once, from packed vertical
    bitsets (``bits[item]`` = uint64 words, bit t set when transaction t holds the item; or an ``Encoded``,
    whose rows are packed only for the items the itemsets use). Returns arrays ``support`` and
    ``{Pos,Neg}_{measure}`` (H brings TC and WTS along), aligned with ``itemsets``.

    Itemsets with the same transactions have the same scores, and on real KGs most do (painters: 6.7
    million frequent itemsets, 341 thousand distinct transaction sets: facts that every country shares), so
    each distinct set is scored once (``_distinct_tidsets``, exact). A set's row is the AND of its items'
    rows; the sums over it are popcounts of bit planes for the counts and per-byte tables for TS
    (``_PlaneSums``, ``_ByteTableSums``), never a per-transaction matrix; only the sums the measures need
    are made (TS, the dearest, only when asked for)."""
    measures = list(measures)
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise InputError(f"unknown measure(s) {unknown}; use {', '.join(MEASURES)}")
    need = set().union(*(_NEEDS[m] for m in measures)) | {0}
    # a FrequentItemsets.matrix as it is; tuples are padded into one
    matrix = itemsets if isinstance(itemsets, np.ndarray) else itemset_matrix(itemsets)
    if isinstance(bits, Encoded):
        used = np.unique(matrix[matrix >= 0])
        bits = bits.rows(used)
        matrix = np.where(matrix >= 0, np.searchsorted(used, matrix), -1)
    words = bits.shape[1]
    # one more row, holding every real transaction: the filler of shorter itemsets, and ANDed into every
    # row so that no bit past the last transaction counts
    bits = np.concatenate([bits, _pack(np.ones(n_transactions, dtype=bool), words)[None, :]])
    everything = len(bits) - 1
    full = np.concatenate(
        [np.where(matrix >= 0, matrix, everything), np.full((len(matrix), 1), everything, dtype=np.int64)], axis=1
    )
    reps, inverse = _distinct_tidsets(bits, full, chunk) if len(full) else (np.zeros(0, int), np.zeros(0, int))
    columns = {0: np.ones(n_transactions), 1: inf.tc == 1, 2: inf.tc == -1, 3: inf.ts, 4: inf.n_pos, 5: inf.n_neg}
    exact = sorted(k for k in need if _PlaneSums.applies(columns[k]) or k == 0)
    planes = _PlaneSums([columns[k] for k in exact], words)
    tables = {k: _ByteTableSums(columns[k], n_transactions, words) for k in sorted(need - set(exact))}
    distinct = np.zeros((len(reps), 6))
    for start in range(0, len(reps), chunk):
        rows = _chunk_rows(bits, full[reps[start : start + chunk]])
        at = np.arange(start, min(start + chunk, len(reps)))
        distinct[np.ix_(at, np.asarray(exact))] = planes(rows)
        for k, table in tables.items():
            distinct[at, k] = table(rows)
    sums = distinct[inverse] if len(reps) else np.zeros((len(matrix), 6))
    support = sums[:, 0]
    out: dict[str, np.ndarray] = {"support": support.astype(np.int64)}
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.maximum(support, 1)
        if need >= _NEEDS["TC"]:
            out |= {"Pos_TC": sums[:, 1] / safe, "Neg_TC": sums[:, 2] / safe}
        if need >= _NEEDS["TS"]:
            out |= {"Pos_TS": sums[:, 3] / safe, "Neg_TS": np.where(support > 0, 1.0 - sums[:, 3] / safe, 0.0)}
        if need >= _NEEDS["WTS"]:
            total = sums[:, 4] + sums[:, 5]
            out |= {
                "Pos_WTS": np.where(total > 0, sums[:, 4] / np.maximum(total, 1e-300), 0.0),
                "Neg_WTS": np.where(total > 0, sums[:, 5] / np.maximum(total, 1e-300), 0.0),
            }
    if need >= _NEEDS["H"]:
        for cls in CLASSES:
            out[f"{cls}_H"] = np.minimum(out[f"{cls}_TC"], out[f"{cls}_WTS"])
    return out


def rules_from_itemsets(
    frequent: object,
    vocab: list[Item],
    inf: InfluenceArrays,
    *,
    min_confidence: float,
    measure: str = "H",
    scores: dict[str, np.ndarray] | None = None,
) -> list[Rule]:
    """Like ``make_rules`` over every itemset of an ``apriori`` result, vectorised: tidsets are only
    materialised for itemsets that become rules. ``scores``: ``score_itemsets`` of the same itemsets
    and influence, when already computed (it scores every measure at once)."""
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
    matrix = frequent.matrix  # type: ignore[attr-defined]
    if not len(matrix):
        return []
    if scores is None or f"Pos_{measure}" not in scores:
        scores = score_itemsets(
            frequent.encoded,  # type: ignore[attr-defined]
            matrix,
            frequent.n_transactions,  # type: ignore[attr-defined]
            inf,
            measures=(measure,),
        )
    base = confidences(np.arange(len(inf.tc)), inf)
    rules = []
    for cls in CLASSES:
        accepted = np.flatnonzero((scores[f"{cls}_{measure}"] >= min_confidence) & (scores["support"] > 0))
        base_value = base[cls][measure]
        for i in accepted:
            itemset = frequent.itemset(i)  # type: ignore[attr-defined]
            tids = frequent.tidset(itemset)  # type: ignore[attr-defined]
            # the measures not scored for every itemset, from the rule's own transactions
            direct = None if all(f"{cls}_{m}" in scores for m in MEASURES) else confidences(tids, inf)[cls]
            conf = {
                m: float(scores[f"{cls}_{m}"][i]) if f"{cls}_{m}" in scores else direct[m]  # type: ignore[index]
                for m in MEASURES
            }
            rules.append(
                Rule(
                    tuple(vocab[j] for j in itemset),
                    cls,
                    int(scores["support"][i]),
                    conf,
                    conf[measure] / base_value if base_value else float("inf"),
                    tids,
                )
            )
    return rules


__all__ += ["score_itemsets", "rules_from_itemsets"]
