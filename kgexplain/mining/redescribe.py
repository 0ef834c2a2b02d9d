"""Redescriptions between neuron activations and attributes (ExItNeRdoM, read as ReReMi / CLUS-RM).

After Mihelčić, Grubišić & Keber, *A redescription mining framework for post-hoc explaining and relating
deep learning models* (the spec is ``design/algorithms.md`` section 5; the paper file holds the abstract
only, so **everything below is a reading** of standard redescription mining, each choice stated).

Data. Two *views* over the same ``n`` samples (documents), rows in the same order: a ``View`` is an
``(n, m)`` matrix of small non-negative integer codes. An *ordinal* view holds binned activations: ``b``
equal-width bins per neuron over its ``[min, max]`` (``models.activations.uniform_bins``, default
``b = 4``), so conditions may be ``>=``, ``<=`` or ``==`` a bin. A *categorical* view holds 0/1 attributes
(``P106=Q1028181``, ``label=1``) or other codes, tested with ``==``. Neurons vs attributes or labels of
one model and neurons of model A vs neurons of model B (two ordinal views) are the same computation.

Negations are off by default: a 0/1 attribute is only ever used as "has it" (``== 1``), never "lacks it"
(``== 0``), and ``!=`` is not used — a fact missing from a knowledge graph is unknown, not false. Encode a
binary label as two columns (``label=0``, ``label=1``), or pass ``negations=True``.

Queries and scores. A ``Condition`` tests one column; a ``Query`` is a *conjunction* of conditions over
one view (one tree path; disjunctions of paths are not produced — each path is its own query, which keeps
every query one readable rule). A ``Redescription`` pairs a left and a right query with

- ``J = |supp(q1) ∩ supp(q2)| / |supp(q1) ∪ supp(q2)|`` (``J(∅, ∅) = 1``, so ``J = 1`` iff the supports
  are equal);
- the spec's binomial p-value ``P[X ≥ |supp(q1) ∩ supp(q2)|]``, ``X ~ Binomial(n, p1·p2)``,
  ``p_i = |supp(q_i)|/n`` (``scipy.stats.binom.sf``; accurate for ``n`` up to 1e5 and beyond). For a
  *fixed* pair of queries on unrelated views the exact null of the intersection is hypergeometric: same
  mean, smaller variance (``n·p1(1−p1)·p2(1−p2)`` against ``n·p1p2(1−p1p2)``), so this p-value is
  conservative there, markedly so when both supports are large.

Search (``search_redescriptions``), in three stages:

1. *Literals.* Every column yields its single conditions: for an ordinal column with present codes
   ``c_0 < … < c_r``: ``>= c_k`` (k ≥ 1), ``<= c_k`` (k < r), ``== c_k`` (0 < k < r); for a categorical
   column ``== c_k`` for each present code (only ``== 1`` for a 0/1 column without negations). Constant
   columns yield none.
2. *All single-condition pairs, exactly.* One product of the two views' one-hot code matrices (in blocks
   of rows and columns) gives the joint code counts of every column pair; cumulative sums turn them into
   ``|l1 ∩ l2|`` for every pair of literals, and every pair is a candidate. Each literal's *seed score* is
   the best Jaccard it reaches with a literal of the other view in a pair that passes the support bounds
   and ``p ≤ max_p``; literals scoring at least ``min_jaccard / 2`` become seeds, best first, at most
   ``max_seeds`` (a constraint — the paper scales "via constraints": a literal with no significant
   partner at half the wanted Jaccard rarely starts a good redescription). Exact p-values are computed
   only where they can matter: pairs whose normal-approximation z-score is more than 1 below the
   ``max_p`` quantile cannot reach ``p ≤ max_p`` and count as ``p = 1``.
3. *Alternation with PCTs.* From each seed (a query on view ``a``): fit a predictive clustering tree on
   view ``b`` with the query's support as the target — a PCT with one 0/1 target is a regression tree
   minimising variance, ``sklearn.tree.DecisionTreeRegressor`` (classes weighted to balance, so a rare
   target is still fitted; ``min_samples_leaf = min_support``; depth ``max_depth``). Every node but the
   root is a query (the path's conditions merged per column into ``>=``/``<=``/``==``; nodes below a
   negation are skipped when negations are off); each is paired with the target query as a candidate.
   The best node (by Jaccard, then fewer conditions) becomes the target of a tree on view ``a``, and so on:
   ``1 + alternations`` trees per seed at most, stopping as soon as the best Jaccard no longer improves.
   Before each fit the other view's columns are screened to the ``screen_columns`` whose best literal has
   the highest Jaccard with the target (a constraint for speed). Identical targets reuse one tree.

Output. Candidates are kept when ``J ≥ min_jaccard``, ``|q1 ∩ q2| ≥ min_support``, the intersection and
both queries cover at most ``max_support_fraction`` of the samples (a query true for nearly everything
says nothing) and ``p ≤ max_p``. Candidates with the same pair of supports are one redescription, and so
are a pair and its complement ``(¬supp(q1), ¬supp(q2))`` (``a <= 1 ⇔ b <= 1`` says what ``a >= 2 ⇔ b >= 2``
says: the same rows disagree); the form with fewer conditions, then the smaller support, is kept. A
redescription is dropped when one ranked before it (Jaccard at least as high) uses a subset of its
conditions on both sides. Results are sorted by Jaccard (descending), then p-value, then length.

Randomisation test. The raw p-value is *not* corrected for the search: a tree picks, among many
conjunctions, the one that matches its target best, so on unrelated views the pairs it returns have
small p-values by construction. ``p_randomized`` therefore tests the **whole search** (single-step
min-P, Westfall & Young 1993): the right view's rows are permuted ``randomizations`` times (seeded; one
permutation of whole rows, so each view keeps its own column structure and only the link between views is
broken), the *same* search (same settings and seed) runs on each permuted pair of views, and its
statistic ``T`` is the smallest binomial p-value among its candidates passing the support and Jaccard
bounds (``T = 1`` when none). For a redescription with binomial p-value ``p``::

    p_randomized = (1 + #{k : T_k ≤ p}) / (randomizations + 1)

— the chance that a search over *unrelated* views finds something at least as significant anywhere.
``SearchResult.p_global`` is the same value for the observed ``T`` (defined even when nothing passes); under
"the views are unrelated" (rows exchangeable) the observed ``T`` and the ``T_k`` are exchangeable, so
``p_global`` is uniform on ``{1, …, R+1}/(R+1)``. Every reported ``p_randomized`` is ``≥ p_global``, so
``P(any p_randomized ≤ α) ≤ α``: a family-wise adjusted p-value, exact for the most significant candidate
and conservative for the others. ``randomization_p_value`` is the per-pair test (permute rows, compare
the intersection of two *fixed* supports — a Monte-Carlo hypergeometric tail); it is valid only for a
pair fixed before looking at the data, not for a mined one.

Defaults: ``min_jaccard = 0.2`` and ``max_p = 0.01`` (ReReMi's usual filters); ``min_support =
max(5, ⌈0.01·n⌉)``; ``max_support_fraction = 0.8``; ``max_depth = 3`` (queries of at most three
conditions per tree path, still readable); ``alternations = 2``; ``max_seeds = 200``; ``screen_columns =
32``; ``randomizations = 19`` (the fewest that can give ``p_randomized = 0.05``; use 99 or more to report).

Costs: stage 2 is one matrix product of ``n × (m1·b1)`` by ``n × (m2·b2)``; stage 3 fits at most
``max_seeds · (1 + alternations)`` trees on ``screen_columns`` columns, in ``n_jobs`` threads (tree
building releases the GIL). The randomisation test repeats the whole search ``randomizations`` times.
Measured on 2 cores, 2000 samples × 300 neurons (4 bins) vs 500 0/1 attributes: one search 1.6 s; with
the default 19 randomisations 18 s.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from scipy import stats

from ..errors import InputError
from ..models.activations import DEFAULT_BINS, uniform_bins

__all__ = [
    "OPS",
    "Condition",
    "Query",
    "Redescription",
    "SearchResult",
    "View",
    "binomial_p_value",
    "jaccard",
    "randomization_p_value",
    "redescribe",
    "search_redescriptions",
]

#: Condition operators: ``==``/``!=`` on any column, ``>=``/``<=`` on ordinal columns.
OPS = ("==", "!=", ">=", "<=")
# Codes per column are 0..63 (``uniform_bins`` gives at most 36 bins); wider categoricals should be
# one-hot encoded into 0/1 columns.
_MAX_CODES = 64
# Row chunk for the one-hot products of stage 2 (bounded memory at n = 1e5).
_ROW_CHUNK = 4096
# Literal pairs scored per block in stage 2 (bounds memory when both views are wide).
_PAIR_BLOCK = 1 << 22


# --------------------------------------------------------------------------------------------------
# data


@dataclass
class View:
    """One view: ``values`` an ``(n, m)`` matrix of integer codes (bins ``0..b-1`` of neurons, or 0/1
    attributes), ``names`` one per column, ``ordinal`` when codes are ordered (binned activations:
    conditions may use ``>=``/``<=``). Values are checked and stored as C-contiguous ``uint8``."""

    values: np.ndarray
    names: list[str] | None = None
    ordinal: bool = False

    def __post_init__(self) -> None:
        self.values = _as_codes(self.values)
        m = self.values.shape[1]
        if self.names is None:
            self.names = [str(i) for i in range(m)]
        else:
            self.names = [str(name) for name in self.names]
            if len(self.names) != m:
                raise InputError(f"a view with {m} columns needs {m} names, got {len(self.names)}")
        self.ordinal = bool(self.ordinal)

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_columns(self) -> int:
        return int(self.values.shape[1])

    @classmethod
    def from_activations(
        cls, values: np.ndarray, names: Sequence[str] | None = None, *, bins: int = DEFAULT_BINS
    ) -> View:
        """An ordinal view of raw activations ``(n, neurons)``: equal-width bins per neuron (``uniform_bins``)."""
        raw = np.asarray(values)
        if raw.ndim != 2 or raw.size == 0:
            raise InputError(f"activations must be a non-empty 2-D (samples × neurons) matrix, got shape {raw.shape}")
        if raw.dtype.kind not in "biuf" or not np.isfinite(raw.astype(np.float64)).all():
            raise InputError(f"activations must be finite numbers, got dtype {raw.dtype} (or NaN/inf values)")
        codes, _low, _high = uniform_bins(raw, bins)
        return cls(codes, None if names is None else list(names), ordinal=True)

    @classmethod
    def from_boolean(cls, matrix: np.ndarray, names: Sequence[str] | None = None) -> View:
        """A categorical view of 0/1 (or boolean) attributes ``(n, attributes)``."""
        return cls(np.asarray(matrix), None if names is None else list(names), ordinal=False)

    def is_boolean(self, column: int) -> bool:
        """True for a categorical column whose codes are all 0 or 1."""
        return not self.ordinal and int(self.values[:, column].max()) <= 1


def _as_codes(values: object) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 2:
        raise InputError(f"a view must be a 2-D (samples × columns) matrix, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"a view is empty: shape {array.shape}; it needs at least one sample and one column")
    kind = array.dtype.kind
    if kind == "b":
        return np.ascontiguousarray(array, dtype=np.uint8)
    if kind == "f":
        bad = ~np.isfinite(array) | (array != np.round(array))
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise InputError(
                f"view values must be integer codes (bins or 0/1), got {array[row, col].item()!r} at row {row}, "
                f"column {col} ({int(bad.sum())} non-integer values in a {array.shape} {array.dtype} matrix); "
                f"bin raw activations with View.from_activations (uniform_bins) first"
            )
    elif kind not in "iu":
        raise InputError(f"view values must be integer codes (bins or 0/1), got dtype {array.dtype}")
    low, high = array.min(), array.max()
    if low < 0 or high >= _MAX_CODES:
        raise InputError(
            f"view codes must lie in 0..{_MAX_CODES - 1}, got {low}..{high}; "
            f"one-hot encode wide categorical columns into 0/1 columns"
        )
    return np.ascontiguousarray(array, dtype=np.uint8)


@dataclass(frozen=True, order=True)
class Condition:
    """``column op value`` on view ``view`` (0 = left, 1 = right). On a 0/1 attribute, ``== 1`` is
    "has the attribute" and ``== 0`` "does not"."""

    view: int
    column: int
    op: str
    value: int

    def __post_init__(self) -> None:
        if self.view not in (0, 1):
            raise InputError(f"a condition's view is 0 (left) or 1 (right), got {self.view!r}")
        if self.op not in OPS:
            raise InputError(f"unknown condition operator {self.op!r}; use one of {', '.join(OPS)}")

    def mask(self, view: View) -> np.ndarray:
        """Boolean mask of the samples of ``view`` where the condition holds."""
        if not 0 <= self.column < view.n_columns:
            raise InputError(f"condition on column {self.column}, but the view has {view.n_columns} columns")
        column = view.values[:, self.column]
        if self.op == "==":
            return column == self.value
        if self.op == "!=":
            return column != self.value
        if self.op == ">=":
            return column >= self.value
        return column <= self.value

    def describe(self, view: View) -> str:
        name = view.names[self.column]  # type: ignore[index]
        if view.is_boolean(self.column) and self.op in ("==", "!="):
            return name if (self.op == "==") == (self.value == 1) else f"not {name}"
        return f"{name} {self.op} {self.value}"


@dataclass(frozen=True, order=True)
class Query:
    """A conjunction of conditions over one view (stored sorted; the empty query is true everywhere)."""

    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        conditions = tuple(sorted(self.conditions))
        if len({c.view for c in conditions}) > 1:
            raise InputError("a query's conditions must all be on the same view")
        object.__setattr__(self, "conditions", conditions)

    def __len__(self) -> int:
        return len(self.conditions)

    @property
    def view(self) -> int | None:
        return self.conditions[0].view if self.conditions else None

    def mask(self, view: View) -> np.ndarray:
        """Boolean mask of the samples of ``view`` where every condition holds (the query's support)."""
        out = np.ones(view.n_rows, dtype=bool)
        for condition in self.conditions:
            out &= condition.mask(view)
        return out

    def describe(self, view: View) -> str:
        return " and ".join(c.describe(view) for c in self.conditions) or "true"


@dataclass(frozen=True)
class Redescription:
    """``left ⇔ right``. ``support`` is ``|supp(left) ∩ supp(right)|``; ``rows`` its sample indices;
    ``p_value`` the binomial p-value; ``p_randomized`` the search-level randomisation p-value (see the
    module docstring), ``None`` when no randomisations were run."""

    left: Query
    right: Query
    support: int
    left_support: int
    right_support: int
    jaccard: float
    p_value: float
    p_randomized: float | None
    rows: np.ndarray = field(repr=False, compare=False, hash=False)

    def describe(self, left: View, right: View) -> str:
        return f"{self.left.describe(left)} <=> {self.right.describe(right)}"


@dataclass(frozen=True, eq=False)
class SearchResult:
    """A search's redescriptions and what the randomisation test needs.

    ``candidates`` counts the query pairs whose Jaccard was computed (every single-condition pair plus
    every tree node paired with its target); ``seeds`` the tree chains run; ``best_p`` the statistic
    ``T`` (smallest binomial p-value among candidates passing the support and Jaccard bounds, 1 if none);
    ``null_best_p`` the ``T_k`` of the randomised searches."""

    redescriptions: list[Redescription]
    candidates: int
    seeds: int
    best_p: float
    null_best_p: np.ndarray = field(repr=False)

    @property
    def p_global(self) -> float | None:
        """``(1 + #{T_k ≤ T}) / (R + 1)``: does the search find anything beyond chance? ``None`` if R = 0."""
        if self.null_best_p.size == 0:
            return None
        return _adjusted(self.best_p, self.null_best_p)


# --------------------------------------------------------------------------------------------------
# scores


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """``|a ∩ b| / |a ∪ b|`` of two boolean (or 0/1) masks of the same length; 1 when both are empty."""
    a, b = _mask(a, "a"), _mask(b, "b")
    if a.shape != b.shape:
        raise InputError(f"jaccard needs masks of the same length, got {a.shape[0]} and {b.shape[0]}")
    union = int(np.count_nonzero(a | b))
    return 1.0 if union == 0 else int(np.count_nonzero(a & b)) / union


def _mask(x: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(x)
    if array.ndim != 1:
        raise InputError(f"{name} must be a 1-D mask over the samples, got shape {array.shape}")
    if array.dtype.kind != "b":
        if array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all():
            raise InputError(f"{name} must be a boolean or 0/1 mask, got dtype {array.dtype}")
        array = array.astype(bool)
    return array


def binomial_p_value(
    n: int | np.ndarray, support_left: int | np.ndarray, support_right: int | np.ndarray, intersection: int | np.ndarray
) -> float | np.ndarray:
    """``P[X ≥ intersection]`` for ``X ~ Binomial(n, (support_left/n)·(support_right/n))`` (vectorised:
    arrays broadcast and give an array)."""
    arrays = [np.asarray(v) for v in (n, support_left, support_right, intersection)]
    for name, arr in zip(("n", "support_left", "support_right", "intersection"), arrays, strict=False):
        if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
            raise InputError(f"binomial_p_value needs integer counts, got {name} of dtype {arr.dtype}")
    n_a, left, right, inter = (a.astype(np.int64) for a in arrays)
    if np.any(n_a < 1) or np.any(left < 0) or np.any(right < 0) or np.any(left > n_a) or np.any(right > n_a):
        raise InputError(
            f"binomial_p_value needs 0 <= supports <= n and n >= 1, got n={n!r}, "
            f"supports {support_left!r} and {support_right!r}"
        )
    if np.any(inter < 0) or np.any(inter > np.minimum(left, right)):
        raise InputError(
            f"the intersection must lie in 0..min(supports), got {intersection!r} "
            f"for supports {support_left!r} and {support_right!r}"
        )
    prob = (left / n_a) * (right / n_a)
    out = stats.binom.sf(inter - 1, n_a, prob)
    out = np.clip(out, 0.0, 1.0)
    return float(out) if out.ndim == 0 else out


def randomization_p_value(left: np.ndarray, right: np.ndarray, *, randomizations: int = 999, seed: int = 0) -> float:
    """Per-pair randomisation test of two *fixed* supports (boolean masks over the same samples): the
    rows of ``right`` are permuted ``randomizations`` times (seeded) and
    ``p = (1 + #{|left ∩ π(right)| ≥ |left ∩ right|}) / (randomizations + 1)``. It is a Monte-Carlo
    version of the hypergeometric upper tail and is valid (``P(p ≤ α) ≤ α`` on unrelated data) only for a
    pair fixed before looking at these samples; a mined pair needs the search-level test
    (``Redescription.p_randomized``)."""
    left_m, right_m = _mask(left, "left"), _mask(right, "right")
    if left_m.shape != right_m.shape:
        raise InputError(
            f"randomization_p_value needs masks of the same length, got {left_m.shape[0]} and {right_m.shape[0]}"
        )
    if isinstance(randomizations, bool) or not isinstance(randomizations, Integral) or randomizations < 1:
        raise InputError(f"randomizations must be a positive integer, got {randomizations!r}")
    rng = np.random.default_rng(seed)
    observed = int(np.count_nonzero(left_m & right_m))
    exceed = 0
    block = max(1, (1 << 22) // max(1, left_m.size))
    for start in range(0, randomizations, block):
        count = min(block, randomizations - start)
        shuffled = rng.permuted(np.broadcast_to(right_m, (count, right_m.size)), axis=1)
        exceed += int(np.count_nonzero((shuffled & left_m).sum(axis=1) >= observed))
    return (1 + exceed) / (randomizations + 1)


def _adjusted(p: float, null: np.ndarray) -> float:
    return (1 + int(np.count_nonzero(null <= p))) / (null.size + 1)


# --------------------------------------------------------------------------------------------------
# prepared views


class _Prepared:
    """A view's literals (single conditions), tree features and per-code bitsets, computed once;
    ``permuted`` gives the same view with its rows reordered."""

    def __init__(self, view: View, side: int, negations: bool) -> None:
        codes = view.values
        self.side = side
        self.ordinal = view.ordinal
        self.negations = negations
        self.n, self.m = codes.shape
        self.width = int(codes.max()) + 1  # codes per column in the one-hot layout
        counts = _value_counts(codes, self.width)  # (m, width)
        cols, lows, highs, ops, values = [], [], [], [], []
        features: list[np.ndarray] = []
        feature_info: list[tuple[int, str, int]] = []  # (column, kind, value)
        self.column_features: list[list[int]] = []
        self.column_range: list[tuple[int, int]] = []
        self.boolean = np.zeros(self.m, dtype=bool)  # categorical 0/1 columns: 0 is "absent"
        for c in range(self.m):
            present = np.flatnonzero(counts[c])
            self.column_range.append((int(present[0]), int(present[-1])))
            own: list[int] = []
            if present.size >= 2:
                if self.ordinal:
                    singles = [(int(v), int(present[-1]), ">=", int(v)) for v in present[1:]]
                    singles += [(int(present[0]), int(v), "<=", int(v)) for v in present[:-1]]
                    singles += [(int(v), int(v), "==", int(v)) for v in present[1:-1]]
                    own.append(len(features))
                    features.append(codes[:, c])
                    feature_info.append((c, "ord", 0))
                else:
                    self.boolean[c] = present.size == 2 and present[-1] == 1
                    shown = present[1:] if self.boolean[c] and not negations else present
                    singles = [(int(v), int(v), "==", int(v)) for v in shown]
                    hot = present[1:] if present.size == 2 else present
                    for v in hot:
                        own.append(len(features))
                        features.append(codes[:, c] == v)
                        feature_info.append((c, "bin" if present.size == 2 else "hot", int(v)))
                for low, high, op, value in singles:
                    cols.append(c)
                    lows.append(low)
                    highs.append(high)
                    ops.append(op)
                    values.append(value)
            self.column_features.append(own)
        self.lit_col = np.asarray(cols, dtype=np.int64)
        self.lit_low = np.asarray(lows, dtype=np.int64)
        self.lit_high = np.asarray(highs, dtype=np.int64)
        self.lit_op = ops
        self.lit_value = values
        self.lit_support = _interval_counts(counts, self.lit_col, self.lit_low, self.lit_high)
        # literals are generated column by column: the first literal of each column that has any
        self.lit_starts = np.flatnonzero(np.r_[True, np.diff(self.lit_col) != 0]) if cols else np.zeros(0, np.int64)
        self.features = (
            np.ascontiguousarray(np.stack(features, axis=1), dtype=np.float32)
            if features
            else np.zeros((self.n, 0), np.float32)
        )
        self.feature_info = feature_info
        self.n_literals = len(cols)
        self._set_codes(codes)

    def _set_codes(self, codes: np.ndarray) -> None:
        self.codes = codes
        # bit t of row (column·width + code) is set when sample t has that code in that column
        words = _n_words(self.n)
        bits = np.zeros((self.m * self.width, words * 64), dtype=bool)
        rows = (np.arange(self.m, dtype=np.int64) * self.width)[None, :] + codes
        bits[rows.T.ravel(), np.tile(np.arange(self.n), self.m)] = True
        self.value_bits = np.packbits(bits, axis=1, bitorder="little").view(np.uint64)

    def permuted(self, order: np.ndarray) -> _Prepared:
        clone = object.__new__(_Prepared)
        clone.__dict__.update(self.__dict__)
        clone.features = self.features[order]
        clone._set_codes(self.codes[order])
        return clone

    def literal_mask(self, index: int) -> np.ndarray:
        column = self.codes[:, self.lit_col[index]]
        return (column >= self.lit_low[index]) & (column <= self.lit_high[index])

    def literal_condition(self, index: int) -> Condition:
        return Condition(self.side, int(self.lit_col[index]), self.lit_op[index], self.lit_value[index])

    def literal_overlap(self, mask: np.ndarray) -> np.ndarray:
        """``|literal ∩ mask|`` for every literal (popcounts of the per-code bitsets)."""
        target = _pack(mask)
        counts = np.bitwise_count(self.value_bits & target).sum(axis=1, dtype=np.int64)
        return _interval_counts(counts.reshape(self.m, self.width), self.lit_col, self.lit_low, self.lit_high)

    def one_hot(self, start: int, stop: int, first: int = 0, last: int | None = None) -> np.ndarray:
        """Rows ``start:stop``, columns ``first:last`` as one-hot codes: ``(rows, columns · width)`` float32."""
        last = self.m if last is None else last
        chunk = (
            self.codes[start:stop, first:last].astype(np.int64) + np.arange(last - first, dtype=np.int64) * self.width
        )
        out = np.zeros((stop - start, (last - first) * self.width), dtype=np.float32)
        np.put_along_axis(out, chunk, 1.0, axis=1)
        return out


def _n_words(n: int) -> int:
    return max(1, -(-n // 64))


def _pack(mask: np.ndarray) -> np.ndarray:
    padded = np.zeros(_n_words(mask.size) * 64, dtype=bool)
    padded[: mask.size] = mask
    return np.packbits(padded, bitorder="little").view(np.uint64)


def _value_counts(codes: np.ndarray, width: int) -> np.ndarray:
    """(m, width) counts of each code per column."""
    m = codes.shape[1]
    if codes.shape[0] == 0:
        return np.zeros((m, width), dtype=np.int64)
    flat = (codes.astype(np.int64) + np.arange(m, dtype=np.int64) * width).ravel()
    return np.bincount(flat, minlength=m * width).reshape(m, width)


def _interval_counts(counts: np.ndarray, cols: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    cumulative = np.zeros((counts.shape[0], counts.shape[1] + 1), dtype=np.int64)
    np.cumsum(counts, axis=1, out=cumulative[:, 1:])
    return cumulative[cols, highs + 1] - cumulative[cols, lows]


def _literal_pair_blocks(left: _Prepared, right: _Prepared) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(first, stop, |l1 ∩ l2|)`` for blocks of left literals ``first:stop`` × every right literal:
    joint code counts of every column pair from one product of one-hot matrices, then 2-D cumulative sums
    over the code axes. Blocks of left columns keep each block near ``_PAIR_BLOCK`` literal pairs."""
    per_column = max(1, -(-left.n_literals // max(1, left.m)))
    columns = max(1, _PAIR_BLOCK // max(1, per_column * right.n_literals))
    rc, rl, rh = right.lit_col[None, :], right.lit_low[None, :], right.lit_high[None, :] + 1
    for c0 in range(0, left.m, columns):
        c1 = min(left.m, c0 + columns)
        first, stop = (int(i) for i in np.searchsorted(left.lit_col, [c0, c1]))
        if first == stop:
            continue
        joint = np.zeros(((c1 - c0) * left.width, right.m * right.width), dtype=np.float64)
        for start in range(0, left.n, _ROW_CHUNK):
            end = min(left.n, start + _ROW_CHUNK)
            joint += left.one_hot(start, end, c0, c1).T @ right.one_hot(start, end)  # exact: counts <= 4096
        cumulative = np.zeros((c1 - c0, left.width + 1, right.m, right.width + 1), dtype=np.float64)
        cumulative[:, 1:, :, 1:] = joint.reshape(c1 - c0, left.width, right.m, right.width).cumsum(1).cumsum(3)
        lc = left.lit_col[first:stop, None] - c0
        ll, lh = left.lit_low[first:stop, None], left.lit_high[first:stop, None] + 1
        block = (
            cumulative[lc, lh, rc, rh]
            - cumulative[lc, ll, rc, rh]
            - cumulative[lc, lh, rc, rl]
            + cumulative[lc, ll, rc, rl]
        )
        yield first, stop, np.rint(block).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# search


@dataclass(frozen=True)
class _Settings:
    n: int
    min_jaccard: float
    max_p: float
    min_support: int
    max_support: int
    max_depth: int
    alternations: int
    max_seeds: int
    screen_columns: int
    negations: bool
    seed: int
    n_jobs: int


@dataclass
class _Found:
    """One search's candidates passing the support and Jaccard bounds: single-condition pairs as literal
    indices (queries built only for the ones kept), tree pairs as queries and support masks."""

    literal_pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    literal_counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    literal_p: np.ndarray = field(default_factory=lambda: np.zeros(0))
    left: list[Query] = field(default_factory=list)
    right: list[Query] = field(default_factory=list)
    left_masks: list[np.ndarray] = field(default_factory=list)
    right_masks: list[np.ndarray] = field(default_factory=list)
    counts: list[tuple[int, int, int]] = field(default_factory=list)  # (left, right, intersection)
    tested: int = 0
    seeds: int = 0


def _passes(s: _Settings, left: np.ndarray, right: np.ndarray, inter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Jaccard, bool passes the support and Jaccard bounds) for arrays of counts."""
    union = left + right - inter
    jac = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    ok = (inter >= s.min_support) & (left <= s.max_support) & (right <= s.max_support) & (jac >= s.min_jaccard)
    return jac, ok


# a tree's (query, support mask) nodes by its packed target
_TreeCache = dict[bytes, list[tuple[Query, np.ndarray]]]


def _tree_nodes(s: _Settings, view: _Prepared, target: np.ndarray, cache: _TreeCache) -> list[tuple[Query, np.ndarray]]:
    """Fit a PCT (regression tree, one balanced 0/1 target) on the screened columns of ``view``; every
    non-root node as (query, support mask). Identical targets in one search reuse the same tree."""
    key = _pack(target).tobytes()
    if key in cache:
        return cache[key]
    nodes = _fit_tree(s, view, target)
    cache[key] = nodes
    return nodes


def _fit_tree(s: _Settings, view: _Prepared, target: np.ndarray) -> list[tuple[Query, np.ndarray]]:
    from sklearn.tree import DecisionTreeRegressor

    positives = int(np.count_nonzero(target))
    if positives == 0 or positives == s.n or view.features.shape[1] == 0:
        return []
    overlap = view.literal_overlap(target)
    union = positives + view.lit_support - overlap
    literal_score = overlap / np.maximum(union, 1)
    column_score = np.full(view.m, -1.0)
    if view.n_literals:
        column_score[view.lit_col[view.lit_starts]] = np.maximum.reduceat(literal_score, view.lit_starts)
    order = np.argsort(-column_score, kind="stable")
    columns = [int(c) for c in order[: s.screen_columns] if column_score[c] >= 0]
    feature_ids = [f for c in columns for f in view.column_features[c]]
    if not feature_ids:
        return []
    X = np.ascontiguousarray(view.features[:, feature_ids])
    y = target.astype(np.float64)
    weight = np.where(target, s.n / (2.0 * positives), s.n / (2.0 * (s.n - positives)))
    tree = DecisionTreeRegressor(max_depth=s.max_depth, min_samples_leaf=s.min_support, random_state=s.seed)
    tree.fit(X, y, sample_weight=weight, check_input=False)
    structure = tree.tree_
    if structure.node_count <= 1:
        return []
    children_left, children_right = structure.children_left, structure.children_right
    split_feature, split_threshold = structure.feature, structure.threshold
    nodes: list[tuple[Query, np.ndarray]] = []
    # depth first, each node's support = its parent's ∩ the split's side (as sklearn's apply: x <= threshold)
    stack: list[tuple[int, tuple[tuple[int, bool, float], ...], np.ndarray]] = [(0, (), np.ones(s.n, dtype=bool))]
    while stack:
        node, path, mask = stack.pop()
        if node != 0:
            query = _path_query(view, [(feature_ids[f], left, t) for f, left, t in path])
            if query is None:  # a negation, and negations are off: so is every node below
                continue
            nodes.append((query, mask))
        if children_left[node] != -1:
            feature, threshold = int(split_feature[node]), float(split_threshold[node])
            goes_left = X[:, feature] <= threshold
            stack.append((int(children_right[node]), path + ((feature, False, threshold),), mask & ~goes_left))
            stack.append((int(children_left[node]), path + ((feature, True, threshold),), mask & goes_left))
    return nodes


def _path_query(view: _Prepared, path: list[tuple[int, bool, float]]) -> Query | None:
    """A tree path (feature, went left i.e. ``x <= threshold``, threshold) as merged conditions; ``None``
    when it needs a negation (``!=``, or ``== 0`` on a 0/1 attribute) and negations are off."""
    bounds: dict[int, list[int]] = {}
    equal: dict[int, int] = {}
    differ: dict[int, set[int]] = {}
    for feature, went_left, threshold in path:
        column, kind, value = view.feature_info[feature]
        if kind == "ord":
            low, high = bounds.setdefault(column, list(view.column_range[column]))
            cut = math.floor(threshold)
            bounds[column] = [low, min(high, cut)] if went_left else [max(low, cut + 1), high]
        elif kind == "bin":
            if went_left and view.boolean[column] and not view.negations:
                return None
            equal[column] = view.column_range[column][0] if went_left else value
        elif went_left:
            differ.setdefault(column, set()).add(value)
        else:
            equal[column] = value
    conditions: list[Condition] = []
    for column, (low, high) in bounds.items():
        first, last = view.column_range[column]
        if low == high and first < low < last:
            conditions.append(Condition(view.side, column, "==", low))
            continue
        if low > first:
            conditions.append(Condition(view.side, column, ">=", low))
        if high < last:
            conditions.append(Condition(view.side, column, "<=", high))
    for column, value in equal.items():
        conditions.append(Condition(view.side, column, "==", value))
    for column, values in differ.items():
        if column not in equal:
            if not view.negations:
                return None
            conditions.extend(Condition(view.side, column, "!=", v) for v in sorted(values))
    return Query(tuple(conditions))


def _chain(
    s: _Settings, views: tuple[_Prepared, _Prepared], side: int, literal: int, caches: tuple[_TreeCache, _TreeCache]
) -> _Found:
    """Alternate PCTs between the views from one seed literal (see the module docstring)."""
    found = _Found()
    target_side = side
    target_query = Query((views[side].literal_condition(literal),))
    target_mask = views[side].literal_mask(literal)
    previous = -1.0
    for _step in range(1 + s.alternations):
        other = 1 - target_side
        nodes = _tree_nodes(s, views[other], target_mask, caches[other])
        found.tested += len(nodes)
        if not nodes:
            break
        target_count = int(np.count_nonzero(target_mask))
        node_masks = np.stack([mask for _q, mask in nodes])
        node_counts = node_masks.sum(axis=1)
        inter = (node_masks & target_mask).sum(axis=1)
        if target_side == 0:
            jac, ok = _passes(s, np.full_like(node_counts, target_count), node_counts, inter)
        else:
            jac, ok = _passes(s, node_counts, np.full_like(node_counts, target_count), inter)
        for i in np.flatnonzero(ok):
            query, mask = nodes[i]
            if target_side == 0:
                found.left.append(target_query)
                found.right.append(query)
                found.left_masks.append(target_mask)
                found.right_masks.append(mask)
                found.counts.append((target_count, int(node_counts[i]), int(inter[i])))
            else:
                found.left.append(query)
                found.right.append(target_query)
                found.left_masks.append(mask)
                found.right_masks.append(target_mask)
                found.counts.append((int(node_counts[i]), target_count, int(inter[i])))
        best = int(np.lexsort((np.asarray([len(q) for q, _m in nodes]), -jac))[0])
        if jac[best] <= previous:
            break
        previous = float(jac[best])
        target_side, target_query, target_mask = other, nodes[best][0], nodes[best][1]
    return found


def _search(
    s: _Settings,
    left: _Prepared,
    right: _Prepared,
    *,
    executor: ThreadPoolExecutor | None,
    on_seeds: Callable[[int], None] | None = None,
    on_chain: Callable[[], None] | None = None,
) -> _Found:
    views = (left, right)
    found = _Found()
    floor = s.min_jaccard / 2.0
    # Exact p-values where they matter: candidates (J >= min_jaccard) and seed partners (J >= floor),
    # skipping pairs whose normal-approximation z-score is more than 1 below the max_p quantile, which
    # cannot reach p <= max_p (their p-value counts as 1).
    z_floor = -np.inf if s.max_p >= 0.5 else float(stats.norm.isf(s.max_p)) - 1.0
    score_left = np.full(left.n_literals, -1.0)
    score_right = np.full(right.n_literals, -1.0)
    right_sup = right.lit_support[None, :]
    pairs, counts, p_values = [], [], []
    for first, stop, inter in _literal_pair_blocks(left, right):
        found.tested += inter.size
        left_sup = left.lit_support[first:stop, None]
        jac, _ = _passes(s, left_sup, right_sup, inter)
        expected = left_sup * right_sup / s.n
        z = (inter - expected) / np.sqrt(np.maximum(expected * (1.0 - expected / s.n), 1e-12))
        wide = (
            (inter >= s.min_support)
            & (left_sup <= s.max_support)
            & (right_sup <= s.max_support)
            & (jac >= floor)
            & (z >= z_floor)
        )
        rows, cols = np.nonzero(wide)
        inter_wide = inter[rows, cols]
        rows += first
        p = np.asarray(
            binomial_p_value(s.n, left.lit_support[rows], right.lit_support[cols], inter_wide), dtype=np.float64
        ).reshape(-1)
        wide_jac = jac[rows - first, cols]
        significant = p <= s.max_p
        np.maximum.at(score_left, rows[significant], wide_jac[significant])
        np.maximum.at(score_right, cols[significant], wide_jac[significant])
        keep = wide_jac >= s.min_jaccard  # the candidates (among the wide pairs)
        pairs.append(np.stack([rows[keep], cols[keep]], axis=1))
        counts.append(
            np.stack([left.lit_support[rows[keep]], right.lit_support[cols[keep]], inter_wide[keep]], axis=1).astype(
                np.int64
            )
        )
        p_values.append(p[keep])
    if pairs:
        found.literal_pairs = np.concatenate(pairs)
        found.literal_counts = np.concatenate(counts)
        found.literal_p = np.concatenate(p_values)
    seeds = [(-score, 0, i) for i, score in enumerate(score_left) if score >= floor]
    seeds += [(-score, 1, j) for j, score in enumerate(score_right) if score >= floor]
    seeds.sort()
    seeds = seeds[: s.max_seeds]
    found.seeds = len(seeds)
    if on_seeds:
        on_seeds(len(seeds))
    caches: tuple[_TreeCache, _TreeCache] = ({}, {})

    def run(seed: tuple[float, int, int]) -> _Found:
        return _chain(s, views, seed[1], seed[2], caches)

    results = executor.map(run, seeds) if executor is not None else map(run, seeds)
    for part in results:
        found.tested += part.tested
        found.left += part.left
        found.right += part.right
        found.left_masks += part.left_masks
        found.right_masks += part.right_masks
        found.counts += part.counts
        if on_chain:
            on_chain()
    return found


def _p_values(s: _Settings, found: _Found) -> np.ndarray:
    """Binomial p-values of all candidates: the single-condition pairs first, then the tree pairs."""
    if not found.counts:
        return found.literal_p
    counts = np.asarray(found.counts, dtype=np.int64)
    tree_p = np.asarray(binomial_p_value(s.n, counts[:, 0], counts[:, 1], counts[:, 2]), dtype=np.float64)
    return np.concatenate([found.literal_p, tree_p.reshape(-1)])


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _resolve_support(value: int | float | None, n: int, name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InputError(f"{name} must be an int count or a float fraction, got {value!r}")
    if isinstance(value, Integral):
        if not 1 <= value <= n:
            raise InputError(f"{name} as a count must be in 1..{n} (the number of samples), got {value}")
        return int(value)
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise InputError(f"{name} as a fraction must be in (0, 1], got {value!r}")
    return max(1, math.ceil(value * n - 1e-9))


def search_redescriptions(
    left: View,
    right: View,
    *,
    min_jaccard: float = 0.2,
    max_p: float = 0.01,
    min_support: int | float | None = None,
    max_support_fraction: float = 0.8,
    max_depth: int = 3,
    alternations: int = 2,
    max_seeds: int = 200,
    screen_columns: int = 32,
    negations: bool = False,
    randomizations: int = 19,
    seed: int = 0,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SearchResult:
    """Mine redescriptions between ``left`` and ``right`` (same samples, same order) and run the
    search-level randomisation test; see the module docstring for every step and default.

    ``min_support``: the smallest intersection, an int count or a float fraction of the samples (default
    ``max(5, ceil(0.01·n))``). ``max_support_fraction``: the largest share of samples the intersection and
    either query may cover. ``randomizations``: permuted searches for ``p_randomized`` (0: none, and
    ``p_randomized`` is ``None``; the default 19 is the least that can reach 0.05). ``n_jobs``: threads
    (default: the CPUs this process may use). ``progress(done, total)`` is called after each tree chain
    of the search and each randomised search; ``total`` is fixed once the seeds are known.
    ``negations``: also use ``== 0`` on 0/1 attributes and ``!=`` on categorical codes (off by default: a
    missing knowledge-graph fact is unknown, not false; encode a binary label as two columns
    ``label=0``/``label=1`` instead).
    """
    if not isinstance(left, View) or not isinstance(right, View):
        raise InputError(f"redescribe needs two View objects, got {type(left).__name__} and {type(right).__name__}")
    if left.n_rows != right.n_rows:
        raise InputError(
            f"the views must describe the same samples: the left view has shape {left.values.shape}, "
            f"the right view {right.values.shape} ({left.n_rows} vs {right.n_rows} rows)"
        )
    n = left.n_rows
    if not (isinstance(min_jaccard, Real) and 0.0 <= min_jaccard <= 1.0):
        raise InputError(f"min_jaccard must be in [0, 1], got {min_jaccard!r}")
    if not (isinstance(max_p, Real) and 0.0 < max_p <= 1.0):
        raise InputError(f"max_p must be in (0, 1], got {max_p!r}")
    if not (isinstance(max_support_fraction, Real) and 0.0 < max_support_fraction <= 1.0):
        raise InputError(f"max_support_fraction must be in (0, 1], got {max_support_fraction!r}")
    for name, value, low in (
        ("max_depth", max_depth, 1),
        ("alternations", alternations, 0),
        ("max_seeds", max_seeds, 0),
        ("screen_columns", screen_columns, 1),
        ("randomizations", randomizations, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or n_jobs < 1):
        raise InputError(f"n_jobs must be a positive integer or None, got {n_jobs!r}")
    settings = _Settings(
        n=n,
        min_jaccard=float(min_jaccard),
        max_p=float(max_p),
        min_support=_resolve_support(min_support, n, "min_support", min(n, max(5, math.ceil(0.01 * n)))),
        max_support=math.floor(max_support_fraction * n + 1e-9),
        max_depth=int(max_depth),
        alternations=int(alternations),
        max_seeds=int(max_seeds),
        screen_columns=int(screen_columns),
        negations=bool(negations),
        seed=int(seed),
        n_jobs=int(n_jobs or _available_cpus()),
    )
    prepared_left = _Prepared(left, 0, settings.negations)
    prepared_right = _Prepared(right, 1, settings.negations)

    state = {"done": 0, "total": 0}

    def on_seeds(count: int) -> None:
        state["total"] = count + randomizations

    def tick() -> None:
        state["done"] += 1
        if progress:
            progress(state["done"], state["total"])

    executor = ThreadPoolExecutor(settings.n_jobs) if settings.n_jobs > 1 else None
    try:
        found = _search(settings, prepared_left, prepared_right, executor=executor, on_seeds=on_seeds, on_chain=tick)
        p_values = _p_values(settings, found)
        best_p = float(p_values.min()) if p_values.size else 1.0
        rng = np.random.default_rng(seed)
        null = np.ones(randomizations)
        for k in range(randomizations):
            shuffled = prepared_right.permuted(rng.permutation(n))
            null_found = _search(settings, prepared_left, shuffled, executor=executor)
            null_p = _p_values(settings, null_found)
            null[k] = null_p.min() if null_p.size else 1.0
            tick()
    finally:
        if executor is not None:
            executor.shutdown()

    redescriptions = _collect(
        settings, found, p_values, prepared_left, prepared_right, null if randomizations else None
    )
    return SearchResult(redescriptions, found.tested, found.seeds, best_p, null)


def _collect(
    s: _Settings, found: _Found, p_values: np.ndarray, left: _Prepared, right: _Prepared, null: np.ndarray | None
) -> list[Redescription]:
    """Candidates with ``p ≤ max_p``; one per pair of supports, a pair and its complement
    ``(¬supp(q1), ¬supp(q2))`` counting as the same (both say the same rows disagree), kept in its
    shortest form, then the smaller support; then the dominated ones dropped; best first."""
    literal_masks: dict[tuple[int, int], np.ndarray] = {}

    def literal(view: _Prepared, index: int) -> tuple[Query, np.ndarray]:
        key = (view.side, index)
        if key not in literal_masks:
            literal_masks[key] = view.literal_mask(index)
        return Query((view.literal_condition(index),)), literal_masks[key]

    n_literal = len(found.literal_p)
    best: dict[
        tuple[bytes, bytes], tuple[tuple[int, int, Query, Query], Query, Query, tuple[int, ...], float, np.ndarray]
    ] = {}
    for i in np.flatnonzero(p_values <= s.max_p):
        if i < n_literal:
            left_query, left_mask = literal(left, int(found.literal_pairs[i, 0]))
            right_query, right_mask = literal(right, int(found.literal_pairs[i, 1]))
            counts = tuple(int(c) for c in found.literal_counts[i])
        else:
            t = i - n_literal
            left_query, left_mask = found.left[t], found.left_masks[t]
            right_query, right_mask = found.right[t], found.right_masks[t]
            counts = found.counts[t]
        key = min(
            (_pack(left_mask).tobytes(), _pack(right_mask).tobytes()),
            (_pack(~left_mask).tobytes(), _pack(~right_mask).tobytes()),
        )
        rank = (len(left_query) + len(right_query), counts[2], left_query, right_query)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, left_query, right_query, counts, float(p_values[i]), left_mask & right_mask)
    out: list[Redescription] = []
    for _rank, left_query, right_query, (left_count, right_count, inter), p, both in best.values():
        union = left_count + right_count - inter
        out.append(
            Redescription(
                left=left_query,
                right=right_query,
                support=inter,
                left_support=left_count,
                right_support=right_count,
                jaccard=inter / union if union else 1.0,
                p_value=p,
                p_randomized=None if null is None else _adjusted(p, null),
                rows=np.flatnonzero(both),
            )
        )
    out.sort(key=lambda r: (-r.jaccard, r.p_value, len(r.left) + len(r.right), r.left, r.right))
    return _drop_dominated(out)


def _drop_dominated(ranked: list[Redescription]) -> list[Redescription]:
    """Drops a redescription when one ranked before it (Jaccard at least as high) uses a subset of its
    conditions on both sides: the extra conditions only lower the Jaccard."""
    kept: list[tuple[Redescription, frozenset[Condition], frozenset[Condition]]] = []
    for r in ranked:
        left, right = frozenset(r.left.conditions), frozenset(r.right.conditions)
        if any(lower <= left and upper <= right for _k, lower, upper in kept):
            continue
        kept.append((r, left, right))
    return [r for r, _l, _r in kept]


def redescribe(
    left: View,
    right: View,
    *,
    min_jaccard: float = 0.2,
    max_p: float = 0.01,
    min_support: int | float | None = None,
    max_support_fraction: float = 0.8,
    max_depth: int = 3,
    alternations: int = 2,
    max_seeds: int = 200,
    screen_columns: int = 32,
    negations: bool = False,
    randomizations: int = 19,
    seed: int = 0,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Redescription]:
    """The redescriptions of ``search_redescriptions`` with the same arguments (best first)."""
    return search_redescriptions(
        left,
        right,
        min_jaccard=min_jaccard,
        max_p=max_p,
        min_support=min_support,
        max_support_fraction=max_support_fraction,
        max_depth=max_depth,
        alternations=alternations,
        max_seeds=max_seeds,
        screen_columns=screen_columns,
        negations=negations,
        randomizations=randomizations,
        seed=seed,
        n_jobs=n_jobs,
        progress=progress,
    ).redescriptions
