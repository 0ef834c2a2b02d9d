"""Level-wise Apriori over packed vertical bitsets.

Transactions are encoded *vertically*: one row of ``np.uint64`` words per item, bit ``t`` of a row
set when transaction ``t`` contains that item. The support of an itemset is the popcount of the AND
of its items' rows. Mining follows Agrawal & Srikant (1994): frequent 1-itemsets first; then, level
by level, candidates of size k+1 are joined from frequent k-itemsets sharing their first k-1 items
and pruned when any k-subset is infrequent; the survivors are counted against the bitsets.

Counting is vectorised and memory-bounded:

* pairs (every pair of frequent items is a candidate): tiles of rows are ANDed against tiles of
  later rows by broadcasting, no gather needed;
* larger itemsets: candidates are (frequent k-itemset, extension item) pairs, generated a batch of
  prefix groups at a time (``_CANDIDATE_BATCH`` joins), pruned with vectorised lookups, and counted
  in chunks of ``_CHUNK_WORDS`` words that AND the prefixes' bitsets against all their extensions'.

The Python loops run once per tile, batch or chunk, never per candidate.

Item indices follow the vocabulary, which is in order of first appearance (baskets in order, items
in each basket's iteration order; for a polars frame, row order). Itemsets are rows of those indices sorted
ascending (``FrequentItemsets.matrix``; tuples on demand); results are ordered by size, then lexicographically.
"""

from __future__ import annotations

import gc
import itertools
import math
from array import array
from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from numbers import Integral, Real
from typing import Any

import numpy as np
import polars as pl

__all__ = ["Encoded", "FrequentItemsets", "apriori", "encode", "gc_paused", "itemset_matrix", "resolve_min_support"]

_WORD_BITS = 64
# Words held by each scratch buffer while counting (two uint64 buffers and one uint8): 64 Ki words =
# 512 KiB, sized so a chunk's AND / popcount / sum passes stay in cache (larger measured slower).
_CHUNK_WORDS = 1 << 16
# Integer items spanning at most this many values are re-indexed with a lookup table, not a sort.
_LUT_SPAN = 1 << 22
# Joins (candidate (k+1)-itemsets before pruning) generated and counted per batch.
_CANDIDATE_BATCH = 1 << 18


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector while millions of small tuples and frozensets are built. It
    runs every few hundred allocations and rescans the growing result each time (measured: 5.6 M
    itemsets as frozensets took 13.2 s with it, 7.6 s without); the containers hold no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------------------------------
# popcount


if hasattr(np, "bitwise_count"):  # numpy >= 2

    def _row_popcount(words: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        """Set bits along the last axis of a uint64 array (a narrow unsigned int, by row length)."""
        counts = np.bitwise_count(words, out=scratch)
        return counts.sum(axis=-1, dtype=_sum_dtype(words.shape[-1]))

else:  # pragma: no cover - numpy < 2 fallback, exercised only on old installs
    _BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)

    def _row_popcount(words: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        as_bytes = np.ascontiguousarray(words).view(np.uint8)
        return _BYTE_POPCOUNT[as_bytes].sum(axis=-1, dtype=_sum_dtype(words.shape[-1]))


def _sum_dtype(n_words: int) -> type[np.unsignedinteger]:
    """The narrowest accumulator that cannot overflow on ``n_words`` words (narrow sums run faster)."""
    if n_words * _WORD_BITS < 2**16:
        return np.uint16
    if n_words * _WORD_BITS < 2**32:
        return np.uint32
    return np.uint64


# --------------------------------------------------------------------------------------------------
# encoding


@dataclass(frozen=True, eq=False)
class Encoded:
    """Transactions as packed vertical bitsets.

    ``bits[i, w]`` holds transactions ``64*w .. 64*w+63`` for item ``items[i]``: bit ``t % 64`` of
    word ``t // 64`` is set when transaction ``t`` (the one with id ``tids[t]``) contains the item.
    Bits past ``n_transactions`` are always zero. ``item_counts`` (computed when not given) is each
    item's support.

    The matrix is kept ``dense`` unless items far outnumber the pairs (as with Wikidata facts, where most
    items occur once: 50k entities gave 48k items, a 300 MB matrix for 380k pairs); then each item's
    sorted transaction positions are kept instead (``item_ptr``/``positions``, CSR), ``rows`` packs
    only the rows asked for, and ``bits`` packs them all on first use.
    """

    items: list[Hashable]
    tids: list[Hashable]
    item_counts: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]  # set in __post_init__
    dense: np.ndarray | None = field(default=None, repr=False)
    item_ptr: np.ndarray | None = field(default=None, repr=False)
    positions: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        shape = (len(self.items), _n_words(len(self.tids)))
        if self.dense is not None:
            if self.dense.ndim != 2 or self.dense.dtype != np.uint64:
                raise ValueError(f"bits must be a 2-D uint64 array, got {self.dense.dtype} {self.dense.shape}")
            if self.dense.shape != shape:
                raise ValueError(f"bits has shape {self.dense.shape}, expected (n_items, n_words) = {shape}")
        elif self.item_ptr is None or self.positions is None or self.item_ptr.shape != (len(self.items) + 1,):
            raise ValueError("an encoding needs dense bits or item_ptr (n_items + 1) and positions")
        if self.item_counts is None:
            counts = (
                _row_popcount(self.dense).astype(np.int64)
                if self.dense is not None
                else np.diff(self.item_ptr).astype(np.int64)
            )
            object.__setattr__(self, "item_counts", counts)

    @property
    def bits(self) -> np.ndarray:
        """The whole (n_items, n_words) uint64 matrix (packed from the positions on first use)."""
        if self.dense is None:
            object.__setattr__(self, "dense", self.rows(np.arange(self.n_items)))
        return self.dense  # type: ignore[return-value]

    def rows(self, indices: np.ndarray | Sequence[int]) -> np.ndarray:
        """Packed rows of the items ``indices``: a (len(indices), n_words) uint64 array."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if self.dense is not None:
            return np.ascontiguousarray(self.dense[indices])
        out = np.zeros((indices.size, self.n_words), dtype=np.uint64)
        starts, ends = self.item_ptr[indices], self.item_ptr[indices + 1]  # type: ignore[index]
        lengths = ends - starts
        total = int(lengths.sum())
        if total:
            row = np.repeat(np.arange(indices.size, dtype=np.int64), lengths)
            shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
            tid = self.positions[np.arange(total, dtype=np.int64) + shift]  # type: ignore[index]
            masks = np.left_shift(np.uint64(1), (tid & 63).astype(np.uint64))
            np.add.at(out.reshape(-1), row * self.n_words + (tid >> 6), masks)  # distinct bits: sum = OR
        return out

    @property
    def n_transactions(self) -> int:
        return len(self.tids)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_words(self) -> int:
        return _n_words(len(self.tids))

    def item_support(self) -> np.ndarray:
        """Absolute support of every item, aligned with ``items`` (int64)."""
        return self.item_counts


def _n_words(n_transactions: int) -> int:
    return (n_transactions + _WORD_BITS - 1) // _WORD_BITS


def _pack(item_codes: np.ndarray, tid_codes: np.ndarray, items: list[Hashable], tids: list[Hashable]) -> Encoded:
    """The encoding of (item, transaction) index pairs, duplicates allowed.

    Dense: the bits are first *added* (``np.add.at`` has a fast path that ``np.bitwise_or.at`` lacks,
    ~4x faster): distinct pairs set distinct bits of a word, so the sum is their OR, and any duplicate
    causes a carry, which lowers the total popcount below the number of pairs. That is checked, and only
    then are the bits rebuilt with OR. Sparse (items * words > 8 * pairs): the pairs are sorted item
    first and deduplicated, which gives each item's transaction positions directly.
    """
    n_items, n_transactions = len(items), len(tids)
    n_words = _n_words(n_transactions)
    item_codes = item_codes.astype(np.int64, copy=False)
    tid_codes = tid_codes.astype(np.int64, copy=False)
    if item_codes.size and n_items * n_words > 8 * item_codes.size:
        pairs = np.sort(item_codes * n_transactions + tid_codes)
        distinct = np.empty(pairs.size, dtype=bool)
        distinct[0] = True
        np.not_equal(pairs[1:], pairs[:-1], out=distinct[1:])
        pairs = pairs[distinct]  # (np.unique hashes, ~10x slower here than a sort)
        item_codes, positions = np.divmod(pairs, n_transactions)
        counts = np.bincount(item_codes, minlength=n_items).astype(np.int64)
        item_ptr = np.zeros(n_items + 1, dtype=np.int64)
        np.cumsum(counts, out=item_ptr[1:])
        return Encoded(items, tids, counts, item_ptr=item_ptr, positions=positions)
    bits = np.zeros(n_items * n_words, dtype=np.uint64)
    if item_codes.size:
        slots = item_codes * n_words + (tid_codes >> 6)
        masks = np.left_shift(np.uint64(1), (tid_codes & 63).astype(np.uint64))
        np.add.at(bits, slots, masks)
        counts = _row_popcount(bits.reshape(n_items, n_words)).astype(np.int64)
        if int(counts.sum()) != item_codes.size:  # duplicate (item, transaction) pairs
            bits[:] = 0
            np.bitwise_or.at(bits, slots, masks)
            counts = _row_popcount(bits.reshape(n_items, n_words)).astype(np.int64)
    else:
        counts = np.zeros(n_items, dtype=np.int64)
    return Encoded(items, tids, counts, dense=bits.reshape(n_items, n_words))


def _first_appearance_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Re-index integer ``values`` 0..n-1 by order of first appearance; returns (codes, vocabulary)."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64), values[:0]
    low, high = int(values.min()), int(values.max())
    if high - low < _LUT_SPAN:
        offset = values - low
        first = np.full(high - low + 1, values.size, dtype=np.int64)
        np.minimum.at(first, offset, np.arange(values.size, dtype=np.int64))
        present = np.flatnonzero(first < values.size)
        order = present[np.argsort(first[present], kind="stable")]
        lut = np.empty(high - low + 1, dtype=np.int64)
        lut[order] = np.arange(order.size, dtype=np.int64)
        return lut[offset], order + low
    uniques, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size, dtype=np.int64)
    return rank[inverse.reshape(-1)], uniques[order]


def _as_basket(basket: Any) -> tuple[Hashable, ...]:
    try:
        return tuple(basket)
    except TypeError:
        raise ValueError(
            f"each transaction must be an iterable of items, got {type(basket).__name__} {basket!r}"
        ) from None


def _encode_baskets(transactions: Iterable[Iterable[Hashable]]) -> Encoded:
    if isinstance(transactions, (str, bytes)):
        raise ValueError("transactions must be a sequence of baskets, not a single string")
    baskets: list[Any] = transactions if isinstance(transactions, list) else list(transactions)
    try:
        lengths = np.fromiter(map(len, baskets), dtype=np.int64, count=len(baskets))
    except TypeError:  # some baskets are bare iterables (generators, ...) or not iterable at all
        baskets = [b if hasattr(b, "__len__") else _as_basket(b) for b in baskets]
        lengths = np.fromiter(map(len, baskets), dtype=np.int64, count=len(baskets))
    n_transactions = len(baskets)
    total = int(lengths.sum())
    flat = list(itertools.chain.from_iterable(baskets))
    if len(flat) != total:  # a basket's __len__ disagrees with its iteration
        raise ValueError("a basket's len() does not match the items it yields")
    tid_codes = np.repeat(np.arange(n_transactions, dtype=np.int64), lengths)

    try:  # fast path: integer items; array("q") refuses floats, strings and the like outright
        as_array: np.ndarray | None = np.frombuffer(array("q", flat), dtype=np.int64)
    except (TypeError, OverflowError):
        as_array = None

    if as_array is not None:
        item_codes, vocab = _first_appearance_codes(as_array)
        items: list[Hashable] = vocab.tolist()
    else:  # any hashable items: one dict lookup per item (hashing tuples is most of the cost here)
        index: dict[Hashable, int] = {}
        code_of = index.setdefault
        try:
            item_codes = np.frombuffer(array("q", [code_of(key, len(index)) for key in flat]), dtype=np.int64)
        except TypeError as error:
            raise ValueError(f"items must be hashable: {error}") from None
        items = list(index)
    return _pack(item_codes, tid_codes, items, list(range(n_transactions)))


def _encode_frame(frame: pl.DataFrame, tid: str, item: str) -> Encoded:
    missing = [c for c in (tid, item) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"transactions frame lacks column(s) {missing}; it has {frame.columns} "
            f"(pass tid=... and item=... to name them)"
        )
    pairs = frame.select(pl.col(tid).alias("tid"), pl.col(item).alias("item"))
    if pairs.get_column("tid").null_count():
        raise ValueError(f"column {tid!r} holds null transaction ids")
    tids = pairs.get_column("tid").unique(maintain_order=True)
    pairs = pairs.filter(pl.col("item").is_not_null())
    if pairs.height == 0:
        return Encoded([], tids.to_list(), dense=np.zeros((0, _n_words(len(tids))), dtype=np.uint64))
    items = pairs.get_column("item").unique(maintain_order=True)
    tid_map = pl.DataFrame({"tid": tids, "_t": np.arange(len(tids), dtype=np.int64)})
    item_map = pl.DataFrame({"item": items, "_i": np.arange(len(items), dtype=np.int64)})
    codes = pairs.join(tid_map, on="tid", how="inner").join(item_map, on="item", how="inner")
    return _pack(codes.get_column("_i").to_numpy(), codes.get_column("_t").to_numpy(), items.to_list(), tids.to_list())


def encode(
    transactions: pl.DataFrame | Sequence[Iterable[Hashable]] | Encoded,
    tid: str = "tid",
    item: str = "item",
) -> tuple[Encoded, list[Hashable]]:
    """Packs transactions into vertical bitsets; returns ``(encoded, vocabulary)``.

    ``transactions`` is either a polars frame with one row per (transaction id, item) pair, in columns
    named ``tid`` and ``item`` (any hashable values, duplicate rows allowed, null items ignored), or a
    sequence of baskets (iterables of hashable items; duplicates within a basket allowed). The
    vocabulary lists items in order of first appearance; ``encoded.tids`` lists the transaction ids in
    order of first appearance (for baskets, their positions ``0..n-1``).
    """
    if isinstance(transactions, pl.LazyFrame):
        transactions = transactions.collect()
    if isinstance(transactions, Encoded):
        encoded = transactions
    elif isinstance(transactions, pl.DataFrame):
        encoded = _encode_frame(transactions, tid, item)
    elif hasattr(transactions, "columns") and hasattr(transactions, "iloc"):
        raise ValueError("pass a polars DataFrame of (tid, item) rows (e.g. pl.from_pandas(frame))")
    else:
        encoded = _encode_baskets(transactions)
    return encoded, encoded.items


def itemset_matrix(itemsets: Sequence[Sequence[int]]) -> np.ndarray:
    """(len(itemsets), longest) item indices, shorter itemsets padded with -1."""
    by_length: dict[int, list[int]] = {}
    for i, itemset in enumerate(itemsets):
        by_length.setdefault(len(itemset), []).append(i)
    matrix = np.full((len(itemsets), max(by_length, default=1) or 1), -1, dtype=np.int64)
    for length, at in by_length.items():
        if length:
            matrix[at, :length] = np.asarray([itemsets[i] for i in at], dtype=np.int64).reshape(-1, length)
    return matrix


# --------------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class FrequentItemsets:
    """Frequent itemsets with their absolute supports.

    ``matrix`` holds one itemset per row: item indices into ``items``, ascending, padded with -1 past the
    itemset's length; rows are ordered by size and then lexicographically, and ``support`` is aligned with
    them. ``itemsets`` gives the same as a list of tuples, made on first use (on real knowledge graphs there
    are millions: painters has 6.7 million, whose tuples alone take seconds, and scoring needs only the
    matrix). ``min_count`` is the absolute threshold used.
    """

    matrix: np.ndarray
    support: np.ndarray
    n_transactions: int
    encoded: Encoded = field(repr=False)
    min_count: int = 1

    @classmethod
    def from_itemsets(
        cls,
        itemsets: Sequence[Sequence[int]],
        support: np.ndarray,
        n_transactions: int,
        encoded: Encoded,
        min_count: int = 1,
    ) -> FrequentItemsets:
        """From itemsets as sequences of item indices (each ascending; ordered by size, then lexicographically)."""
        return cls(itemset_matrix(itemsets), np.asarray(support, dtype=np.int64), n_transactions, encoded, min_count)

    @cached_property
    def itemsets(self) -> list[tuple[int, ...]]:
        """The itemsets as tuples of item indices, in ``matrix`` order."""
        out: list[tuple[int, ...]] = []
        if not len(self.matrix):
            return out
        lengths = self.lengths
        with gc_paused():
            for length in np.unique(lengths).tolist():  # rows are ordered by size: each length is one run
                at = np.flatnonzero(lengths == length)
                out.extend(map(tuple, self.matrix[at[0] : at[-1] + 1, :length].tolist()))
        return out

    @cached_property
    def lengths(self) -> np.ndarray:
        """The number of items of each itemset."""
        return (self.matrix >= 0).sum(axis=1) if self.matrix.size else np.zeros(len(self.matrix), dtype=np.int64)

    def itemset(self, i: int) -> tuple[int, ...]:
        """Itemset ``i`` as a tuple of item indices."""
        row = self.matrix[i]
        return tuple(row[row >= 0].tolist())

    @property
    def items(self) -> list[Hashable]:
        """The vocabulary: ``items[i]`` is the item that index ``i`` stands for."""
        return self.encoded.items

    @property
    def transaction_ids(self) -> list[Hashable]:
        """Transaction ids in bit order: ``tidset`` positions index into this list."""
        return self.encoded.tids

    def __len__(self) -> int:
        return len(self.matrix)

    def tidset(self, itemset: Sequence[int]) -> np.ndarray:
        """Sorted int64 positions of the transactions containing every item of ``itemset``.

        Works for any itemset, frequent or not; the empty itemset is in every transaction.
        """
        indices = [int(i) for i in itemset]
        n_items = self.encoded.n_items
        for i in indices:
            if not 0 <= i < n_items:
                raise ValueError(f"item index {i} is outside the vocabulary (0..{n_items - 1})")
        n = self.n_transactions
        if not indices:
            return np.arange(n, dtype=np.int64)
        rows = self.encoded.rows(indices)
        row = np.bitwise_and.reduce(rows, axis=0)
        flags = np.unpackbits(row.astype("<u8", copy=False).view(np.uint8), bitorder="little")[:n]
        return np.flatnonzero(flags).astype(np.int64, copy=False)

    def as_dict(self) -> dict[frozenset[int], int]:
        """``{frozenset(itemset): support}``."""
        with gc_paused():
            return {frozenset(s): c for s, c in zip(self.itemsets, self.support.tolist(), strict=True)}

    def labelled(self) -> dict[frozenset[Hashable], int]:
        """Like :meth:`as_dict`, with items mapped back through the vocabulary."""
        label = self.encoded.items.__getitem__
        with gc_paused():
            return {frozenset(map(label, s)): c for s, c in zip(self.itemsets, self.support.tolist(), strict=True)}


# --------------------------------------------------------------------------------------------------
# mining


def resolve_min_support(min_support: int | float, n_transactions: int) -> int:
    """The absolute count threshold for ``min_support`` over ``n_transactions`` transactions.

    An int (>= 1) is a count; a float in (0, 1] is a fraction, and an itemset is frequent when
    ``support / n_transactions >= min_support`` -- i.e. the threshold is ``ceil(min_support * n)``,
    computed so that float round-off (``0.07 * 100 = 7.000000000000001``) does not bump it.
    """
    if isinstance(min_support, bool) or not isinstance(min_support, Real):
        raise ValueError(f"min_support must be an int count or a float fraction, got {min_support!r}")
    if isinstance(min_support, Integral):
        count = int(min_support)
        if count < 1:
            raise ValueError(f"min_support as a count must be >= 1, got {count}")
        if n_transactions and count > n_transactions:
            raise ValueError(
                f"min_support {count} exceeds the number of transactions ({n_transactions}); "
                f"no itemset could be frequent"
            )
        return count
    fraction = float(min_support)
    if not (math.isfinite(fraction) and 0.0 < fraction <= 1.0):
        raise ValueError(f"min_support as a fraction must be in (0, 1], got {min_support!r}")
    if n_transactions == 0:
        return 1
    count = max(1, math.ceil(fraction * n_transactions))
    while count > 1 and (count - 1) / n_transactions >= fraction:
        count -= 1
    while count / n_transactions < fraction:
        count += 1
    return count


def _row_keys(rows: np.ndarray, base: int) -> np.ndarray:
    """Mixed-radix int64 keys of index rows; preserves lexicographic order (caller checks overflow)."""
    keys = np.zeros(rows.shape[0], dtype=np.int64)
    for j in range(rows.shape[1]):
        keys *= base
        keys += rows[:, j]
    return keys


class _Membership:
    """Tests whether rows are among the (lexicographically sorted) rows of one level."""

    def __init__(self, level: np.ndarray, n_items: int) -> None:
        self._base = n_items
        if n_items ** level.shape[1] < 2**62:
            self._keys: np.ndarray | None = _row_keys(level, n_items)  # sorted, as ``level`` is
            self._set: set[tuple[int, ...]] | None = None
        else:  # pragma: no cover - needs more than 2**62 possible k-itemsets
            self._keys = None
            self._set = set(map(tuple, level.tolist()))

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if self._keys is not None:
            probe = _row_keys(rows, self._base)
            at = np.minimum(np.searchsorted(self._keys, probe), self._keys.size - 1)
            return self._keys[at] == probe
        assert self._set is not None  # pragma: no cover
        found = map(self._set.__contains__, map(tuple, rows.tolist()))
        return np.fromiter(found, dtype=bool, count=len(rows))


def _next_level(bits: np.ndarray, level: np.ndarray, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequent (k+1)-itemsets from the frequent k-itemsets ``level`` (k >= 2, rows sorted).

    Rows sharing their first k-1 items form a prefix group; each row is joined with every later row
    of its group. Rows are taken in batches of about ``_CANDIDATE_BATCH`` joins, so memory stays
    bounded by the batch and the output, never by the full candidate set.
    """
    n, k = level.shape
    new_group = np.any(level[1:, :-1] != level[:-1, :-1], axis=1)
    ends = np.append(np.flatnonzero(new_group) + 1, n)
    group_end = np.repeat(ends, np.diff(np.concatenate(([0], ends))))
    rows = np.arange(n, dtype=np.int64)
    n_joins = group_end - rows - 1
    cumulative = np.cumsum(n_joins)
    is_known = _Membership(level, bits.shape[0])
    out_rows: list[np.ndarray] = []
    out_support: list[np.ndarray] = []
    lo = 0
    while lo < n:
        done = int(cumulative[lo - 1]) if lo else 0
        hi = max(lo + 1, int(np.searchsorted(cumulative, done + _CANDIDATE_BATCH, side="right")))
        hi = min(hi, n)
        joins = n_joins[lo:hi]
        left = np.repeat(rows[lo:hi], joins)
        if left.size:
            starts = np.cumsum(joins) - joins
            right = np.arange(left.size, dtype=np.int64) - np.repeat(starts, joins) + left + 1
            candidates = np.empty((left.size, k + 1), dtype=level.dtype)
            candidates[:, :k] = level[left]
            candidates[:, k] = level[right, -1]
            # Apriori pruning: the k-subsets that drop either of the last two items are the joined rows
            # themselves; check those dropping one of the first k-1.
            keep = np.ones(left.size, dtype=bool)
            for j in range(k - 1):
                survivors = np.flatnonzero(keep)
                keep[survivors[~is_known(np.delete(candidates[survivors], j, axis=1))]] = False
            candidates, left = candidates[keep], left[keep]
            support = _count(bits, level, left, candidates[:, k])
            frequent = support >= min_count
            out_rows.append(candidates[frequent])
            out_support.append(support[frequent])
        lo = hi
    if not out_rows:
        return np.zeros((0, k + 1), dtype=level.dtype), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_rows), np.concatenate(out_support)


def _count_pairs(bits: np.ndarray, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequent 2-itemsets over all rows of ``bits``: (pairs of shape (n, 2), lexicographic; supports).

    Every pair is a candidate, so no gather is needed: tiles of rows ``a..b`` are ANDed against the
    later rows ``c..d`` by broadcasting, a tile at a time; the few lower-triangle cells a tile covers
    on the diagonal are masked out.
    """
    n_rows, n_words = bits.shape
    budget = max(n_words, _CHUNK_WORDS)
    and_buf = np.empty(budget, dtype=np.uint64)
    pop_buf = np.empty(budget, dtype=np.uint8)
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    supports: list[np.ndarray] = []
    a = 0
    while a < n_rows - 1:
        later = n_rows - a - 1  # partners of row a: a+1 .. n_rows-1
        n_tile_rows = max(1, min(later, budget // (later * n_words)))
        b = a + n_tile_rows
        n_tile_cols = min(later, budget // (n_tile_rows * n_words))
        for c in range(a + 1, n_rows, n_tile_cols):
            d = min(c + n_tile_cols, n_rows)
            size = (b - a) * (d - c) * n_words
            tile = and_buf[:size].reshape(b - a, d - c, n_words)
            np.bitwise_and(bits[a:b, None, :], bits[None, c:d, :], out=tile)
            counts = _row_popcount(tile, pop_buf[:size].reshape(tile.shape))
            hit = counts >= min_count
            if c <= b - 1:  # the tile reaches the diagonal: keep only j > i
                hit &= np.arange(c, d)[None, :] > np.arange(a, b)[:, None]
            i, j = np.nonzero(hit)
            firsts.append(i + a)
            seconds.append(j + c)
            supports.append(counts[i, j])
        a = b
    first = np.concatenate(firsts)
    second = np.concatenate(seconds)
    order = np.lexsort((second, first))
    pairs = np.column_stack((first[order], second[order]))
    return pairs, np.concatenate(supports)[order].astype(np.int64)


def _count(bits: np.ndarray, level: np.ndarray, left: np.ndarray, ext: np.ndarray) -> np.ndarray:
    """Support of each candidate ``level[left[c]] + (ext[c],)``, counted chunk by chunk."""
    n_cand = left.size
    counts = np.empty(n_cand, dtype=np.int64)  # candidates of one batch, so a bounded array
    if n_cand == 0:
        return counts
    n_words = bits.shape[1]
    chunk = max(1, min(n_cand, _CHUNK_WORDS // max(1, n_words)))
    prefix_buf = np.empty((chunk, n_words), dtype=np.uint64)
    ext_buf = np.empty((chunk, n_words), dtype=np.uint64)
    pop_buf = np.empty((chunk, n_words), dtype=np.uint8)
    k = level.shape[1]
    for start in range(0, n_cand, chunk):
        stop = min(start + chunk, n_cand)
        size = stop - start
        lo, hi = int(left[start]), int(left[stop - 1]) + 1
        # Bitsets of the distinct prefixes in this chunk (at most ``size`` of them).
        prefixes = bits[level[lo:hi, 0]]
        for j in range(1, k):
            np.bitwise_and(prefixes, bits[level[lo:hi, j]], out=prefixes)
        xs = prefix_buf[:size]
        np.take(prefixes, left[start:stop] - lo, axis=0, out=xs, mode="clip")
        ys = ext_buf[:size]
        np.take(bits, ext[start:stop], axis=0, out=ys, mode="clip")
        np.bitwise_and(xs, ys, out=xs)
        counts[start:stop] = _row_popcount(xs, pop_buf[:size])
    return counts


def _mine(encoded: Encoded, min_count: int, max_len: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per level: (itemsets as an index array of shape (n, k), supports)."""
    item_support = encoded.item_counts
    frequent = np.flatnonzero(item_support >= min_count)
    levels = [(frequent.reshape(-1, 1), item_support[frequent])]
    if max_len < 2 or frequent.size < 2:
        return levels
    compact = encoded.rows(frequent)  # rows of frequent items only, in index order
    n_frequent = frequent.size
    dtype = np.int32 if n_frequent < 2**31 else np.int64
    level, support = _count_pairs(compact, min_count)
    level = level.astype(dtype)
    for size in range(2, max_len + 1):
        if size > 2:
            level, support = _next_level(compact, level, min_count)
        if level.shape[0] == 0:
            break
        levels.append((frequent[level], support))
        if level.shape[0] <= size:  # k+1 frequent k-itemsets are needed for one (k+1)-itemset
            break
    return levels


def apriori(
    transactions: pl.DataFrame | Sequence[Iterable[Hashable]] | Encoded,
    min_support: int | float,
    max_len: int = 3,
    *,
    min_len: int = 1,
    tid: str = "tid",
    item: str = "item",
) -> FrequentItemsets:
    """All itemsets of ``min_len``..``max_len`` items whose support reaches ``min_support``.

    ``transactions``: a polars frame of (``tid``, ``item``) rows, a sequence of baskets, or an
    :class:`Encoded` (see :func:`encode`). ``min_support``: an int >= 1 is an absolute count, a float in
    (0, 1] a fraction of the transactions (see :func:`resolve_min_support`). Items are re-indexed
    ``0..n-1`` in order of first appearance; ``result.items`` maps indices back to items.
    """
    if isinstance(max_len, bool) or not isinstance(max_len, Integral) or max_len < 1:
        raise ValueError(f"max_len must be an int >= 1, got {max_len!r}")
    if isinstance(min_len, bool) or not isinstance(min_len, Integral) or min_len < 1:
        raise ValueError(f"min_len must be an int >= 1, got {min_len!r}")
    if min_len > max_len:
        raise ValueError(f"min_len ({min_len}) must not exceed max_len ({max_len})")
    resolve_min_support(min_support, 0)  # type and range checks before any encoding work
    encoded, _ = encode(transactions, tid=tid, item=item)
    n = encoded.n_transactions
    min_count = resolve_min_support(min_support, n)
    levels = (
        [(rows, support) for rows, support in _mine(encoded, min_count, int(max_len)) if rows.shape[1] >= min_len]
        if n and encoded.n_items
        else []
    )
    width = max((rows.shape[1] for rows, _ in levels), default=1)
    matrix = np.full((sum(len(rows) for rows, _ in levels), width), -1, dtype=np.int64)
    at = 0
    for rows, _ in levels:
        matrix[at : at + len(rows), : rows.shape[1]] = rows
        at += len(rows)
    support = (
        np.concatenate([s.astype(np.int64, copy=False) for _, s in levels]) if levels else np.zeros(0, dtype=np.int64)
    )
    return FrequentItemsets(matrix=matrix, support=support, n_transactions=n, encoded=encoded, min_count=min_count)
