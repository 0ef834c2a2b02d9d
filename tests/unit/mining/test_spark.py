"""Spark ML's FPGrowth (local mode) against the in-process Apriori, and the pipeline with --miner spark."""

from __future__ import annotations

import numpy as np
import pytest

from kgexplain.mining.apriori import apriori
from kgexplain.mining.spark import spark_itemsets, spark_session

pytestmark = pytest.mark.slow  # a local Spark session takes ~20 s to start


@pytest.fixture(scope="module")
def spark(java: None):
    session = spark_session("local[2]")
    yield session
    session.stop()


def same(a, b) -> None:
    assert a.itemsets == b.itemsets
    assert a.support.tolist() == b.support.tolist()
    assert a.items == b.items and a.min_count == b.min_count and a.n_transactions == b.n_transactions


def test_equal_to_apriori_on_zipf_baskets(spark) -> None:
    rng = np.random.default_rng(3)
    weights = 1 / np.arange(1, 81)
    baskets = [
        list(rng.choice(80, size=rng.integers(0, 9), replace=False, p=weights / weights.sum())) for _ in range(3000)
    ]
    baskets += [[], []]  # empty transactions count towards support
    for min_support, max_len in ((0.02, 3), (60, 2), (0.005, 4)):
        same(spark_itemsets(baskets, min_support, max_len, spark=spark), apriori(baskets, min_support, max_len))


def test_sparse_tuple_items_and_nothing_frequent(spark) -> None:
    baskets = [[("out", "P31", "Q5"), ("out", "P27", f"Q{t % 7}")] + [("in", "P50", f"Q{t}x")] for t in range(700)]
    same(spark_itemsets(baskets, 50, 3, spark=spark), apriori(baskets, 50, 3))
    none = spark_itemsets([["a"], ["b"]], 2, 3, spark=spark)
    assert none.itemsets == [] and none.n_transactions == 2
