"""Frequent itemsets with Spark's FPGrowth, for transactions that outgrow one machine.

``spark_itemsets`` mines the same ``Encoded`` transactions as ``apriori`` and returns the same
``FrequentItemsets`` (same itemsets, supports and order), so rules, scoring and publishing do not change.
Items travel to Spark as their integer codes. Spark ML's FPGrowth has no length limit: it mines every
frequent itemset and the longer ones are dropped here, so on data where long itemsets are frequent it does
much more work than ``apriori(max_len=...)`` (the scale-out is for many transactions, not dense ones).

Spark runs in local mode (``local[*]``) unless ``master`` names a cluster (``spark://host:7077``,
``yarn``, ...). pyspark is an optional dependency: ``pip install 'kgexplain[spark]'`` (needs Java 17+).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

from ..errors import InputError
from .apriori import Encoded, FrequentItemsets, encode, gc_paused, resolve_min_support

__all__ = ["spark_itemsets", "spark_session"]


def spark_session(master: str = "local[*]", app_name: str = "kgexplain") -> Any:
    """A Spark session (the running one when there is one), quiet and without its web UI."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise InputError(
            "the Spark miner needs pyspark: pip install 'kgexplain[spark]' (and Java 17 or newer)"
        ) from exc
    try:
        session = (
            SparkSession.builder.master(master)
            .appName(app_name)
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "8")
            .getOrCreate()
        )
    except Exception as exc:  # noqa: BLE001 - the JVM's failures arrive as many exception types
        raise InputError(f"could not start Spark ({master}): {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _baskets(encoded: Encoded) -> list[list[int]]:
    """Each transaction's item codes (the vertical encoding turned back into baskets)."""
    n = encoded.n_transactions
    baskets: list[list[int]] = [[] for _ in range(n)]
    if encoded.dense is not None:
        flags = np.unpackbits(encoded.dense.astype("<u8", copy=False).view(np.uint8), axis=1, bitorder="little")[:, :n]
        item_codes, positions = np.nonzero(flags)
    else:
        assert encoded.item_ptr is not None and encoded.positions is not None  # Encoded checks: dense or sparse
        item_codes = np.repeat(np.arange(encoded.n_items), np.diff(encoded.item_ptr))
        positions = encoded.positions
    for item, t in zip(item_codes.tolist(), positions.tolist(), strict=True):
        baskets[t].append(item)
    return baskets


def spark_itemsets(
    transactions: pl.DataFrame | Sequence[Iterable[Hashable]] | Encoded,
    min_support: int | float,
    max_len: int = 3,
    *,
    spark: Any = None,
    master: str = "local[*]",
    partitions: int | None = None,
) -> FrequentItemsets:
    """``apriori(transactions, min_support, max_len)``'s result, mined by Spark ML's FPGrowth.

    ``spark``: a session to use (default: ``spark_session(master)``). ``partitions``: FPGrowth's
    ``numPartitions`` (default: Spark's parallelism)."""
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len must be an int >= 1, got {max_len!r}")
    resolve_min_support(min_support, 0)
    encoded, _ = encode(transactions)
    n = encoded.n_transactions
    min_count = resolve_min_support(min_support, n)
    itemsets: list[tuple[int, ...]] = []
    supports: list[int] = []
    if n and encoded.n_items and int(encoded.item_counts.max(initial=0)) >= min_count:
        from pyspark.ml.fpm import FPGrowth
        from pyspark.sql.types import ArrayType, IntegerType, StructField, StructType

        session = spark if spark is not None else spark_session(master)
        schema = StructType([StructField("items", ArrayType(IntegerType(), containsNull=False), False)])
        # every transaction, empty ones too: Spark counts the rows to turn minSupport into a count
        frame = session.createDataFrame([(b,) for b in _baskets(encoded)], schema)
        # Spark keeps itemsets with freq >= ceil(minSupport * rows): half a transaction below min_count
        # makes that ceiling exactly min_count, whatever the rounding of the division.
        miner = FPGrowth(itemsCol="items", minSupport=(min_count - 0.5) / n, minConfidence=1.0)
        if partitions is not None:
            miner = miner.setNumPartitions(partitions)
        found = miner.fit(frame).freqItemsets.where(f"size(items) <= {int(max_len)}").collect()
        with gc_paused():
            rows = sorted((tuple(sorted(r["items"])), int(r["freq"])) for r in found)
            rows.sort(key=lambda row: len(row[0]))  # by size, then lexicographically (sort is stable)
        itemsets = [items for items, _ in rows]
        supports = [freq for _, freq in rows]
    return FrequentItemsets.from_itemsets(itemsets, np.asarray(supports, dtype=np.int64), n, encoded, min_count)
