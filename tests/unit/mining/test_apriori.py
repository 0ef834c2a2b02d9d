"""Apriori over vertical bitsets: checked against brute force, mlxtend, and its own invariants."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgexplain.mining import apriori as apriori_module
from kgexplain.mining.apriori import Encoded, FrequentItemsets, apriori, encode, resolve_min_support


def brute_force(baskets, min_support, max_len, min_len=1):
    """{frozenset(items): count} for every itemset of min_len..max_len items meeting the threshold."""
    sets = [frozenset(b) for b in baskets]
    n = len(sets)
    universe = sorted(set().union(*sets)) if sets else []
    out = {}
    for size in range(min_len, max_len + 1):
        for combo in itertools.combinations(universe, size):
            candidate = frozenset(combo)
            count = sum(candidate <= s for s in sets)
            ok = count / n >= min_support if isinstance(min_support, float) else count >= min_support
            if count and ok:
                out[candidate] = count
    return out


def random_baskets(rng, n_transactions, n_items, mean_len):
    weights = 1.0 / np.arange(1, n_items + 1)
    weights /= weights.sum()
    return [
        sorted(set(rng.choice(n_items, size=max(1, rng.poisson(mean_len)), p=weights).tolist()))
        for _ in range(n_transactions)
    ]


def check_shape(result: FrequentItemsets) -> None:
    assert result.support.dtype == np.int64
    assert len(result.itemsets) == len(result.support) == len(result)
    for itemset in result.itemsets:
        assert list(itemset) == sorted(set(itemset)), itemset
    keys = [(len(s), s) for s in result.itemsets]
    assert keys == sorted(keys), "itemsets must be ordered by size, then lexicographically"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.frozensets(st.integers(0, 6), max_size=4), max_size=30),
    st.floats(0.05, 1.0),
    st.integers(1, 4),
)
def test_matches_brute_force(baskets, min_support, max_len):
    result = apriori(baskets, min_support, max_len)
    check_shape(result)
    assert result.n_transactions == len(baskets)
    assert result.labelled() == brute_force(baskets, min_support, max_len)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 9), max_size=6), min_size=1, max_size=40),
    st.integers(1, 40),
    st.integers(1, 5),
    st.integers(1, 3),
)
def test_matches_brute_force_with_count_threshold(baskets, count, max_len, min_len):
    count = min(count, len(baskets))
    min_len = min(min_len, max_len)
    result = apriori(baskets, count, max_len, min_len=min_len)
    check_shape(result)
    assert all(min_len <= len(s) <= max_len for s in result.itemsets)
    assert result.labelled() == brute_force(baskets, count, max_len, min_len)


def test_small_chunks_and_batches_give_the_same_result(monkeypatch):
    rng = np.random.default_rng(7)
    baskets = random_baskets(rng, 700, 40, 8)  # 11 words per row
    reference = apriori(baskets, 0.03, 4).labelled()
    assert sum(len(s) == 4 for s in reference) > 10, "the data should reach level 4"
    monkeypatch.setattr(apriori_module, "_CHUNK_WORDS", 30)  # tiles of 2 cells; chunks of 2 rows
    monkeypatch.setattr(apriori_module, "_CANDIDATE_BATCH", 5)
    assert apriori(baskets, 0.03, 4).labelled() == reference


def test_support_is_anti_monotone_and_tidsets_match():
    rng = np.random.default_rng(11)
    baskets = random_baskets(rng, 400, 25, 7)
    result = apriori(baskets, 0.02, 4)
    found = result.as_dict()
    assert len(found) > 50
    for itemset, support in zip(result.itemsets, result.support.tolist(), strict=False):
        for size in range(1, len(itemset)):
            for subset in itertools.combinations(itemset, size):
                assert found[frozenset(subset)] >= support
        tids = result.tidset(itemset)
        assert tids.dtype == np.int64 and len(tids) == support
        labels = {result.items[i] for i in itemset}
        assert tids.tolist() == [t for t, b in enumerate(baskets) if labels <= set(b)]


def test_tidset_of_any_itemset():
    baskets = [["a", "b"], ["b", "c"], ["a", "c"], ["a", "b", "c"]]
    result = apriori(baskets, 3, 3)
    index = {item: i for i, item in enumerate(result.items)}
    assert result.as_dict() == {frozenset({index[x]}): 3 for x in "abc"}
    assert result.tidset([index["a"], index["b"], index["c"]]).tolist() == [3]  # infrequent, still works
    assert result.tidset([index["c"], index["a"]]).tolist() == [2, 3]
    assert result.tidset([]).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        result.tidset([3])


def test_fraction_and_count_thresholds_agree():
    rng = np.random.default_rng(3)
    baskets = random_baskets(rng, 30, 8, 3)
    for fraction in (0.1, 0.2, 1 / 3, 0.5, 0.7, 1.0):
        count = resolve_min_support(fraction, len(baskets))
        assert count == min(c for c in range(1, 31) if c / 30 >= fraction)
        by_fraction, by_count = apriori(baskets, fraction), apriori(baskets, count)
        assert by_fraction.as_dict() == by_count.as_dict()
        assert by_fraction.min_count == count
    # 0.07 * 100 is 7.000000000000001 in floating point; the threshold must still be 7.
    assert 0.07 * 100 > 7
    assert resolve_min_support(0.07, 100) == 7
    exactly_seven = [[1, 2]] * 7 + [[3]] * 93
    assert apriori(exactly_seven, 0.07).labelled() == {
        frozenset({1}): 7,
        frozenset({2}): 7,
        frozenset({3}): 93,
        frozenset({1, 2}): 7,
    }


def test_polars_frame_with_duplicates_and_strings():
    frame = pl.DataFrame(
        {
            "basket": ["t1", "t1", "t1", "t2", "t2", "t3", "t3", "t3", "t4", "t5"],
            "token": ["milk", "bread", "milk", "bread", "eggs", "milk", "bread", "eggs", "milk", None],
        }
    )
    result = apriori(frame, 2, 3, tid="basket", item="token")
    assert result.n_transactions == 5  # t5 has only a null item: an empty transaction
    assert result.items == ["milk", "bread", "eggs"]  # order of first appearance
    assert result.transaction_ids == ["t1", "t2", "t3", "t4", "t5"]
    assert result.labelled() == {
        frozenset({"milk"}): 3,
        frozenset({"bread"}): 3,
        frozenset({"eggs"}): 2,
        frozenset({"milk", "bread"}): 2,
        frozenset({"bread", "eggs"}): 2,
    }
    milk_bread = result.tidset([0, 1])
    assert [result.transaction_ids[t] for t in milk_bread] == ["t1", "t3"]
    baskets = [["milk", "bread"], ["bread", "eggs"], ["milk", "bread", "eggs"], ["milk"], []]
    assert apriori(baskets, 2, 3).labelled() == result.labelled()


def test_default_column_names_and_missing_columns():
    frame = pl.DataFrame({"tid": [1, 1, 2, 2, 3], "item": [10, 20, 10, 20, 30]})
    assert apriori(frame, 2).labelled() == {frozenset({10}): 2, frozenset({20}): 2, frozenset({10, 20}): 2}
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['item'\]"):
        apriori(frame.rename({"item": "x"}), 1)


def test_duplicate_items_within_a_basket():
    result = apriori([[1, 1, 2], [2, 2], [2, 1, 1, 1]], 1, 2)
    assert result.labelled() == {frozenset({1}): 2, frozenset({2}): 3, frozenset({1, 2}): 2}
    strings = apriori([["x", "x"], ["y", "x", "y"]], 1, 2)
    assert strings.labelled() == {frozenset({"x"}): 2, frozenset({"y"}): 1, frozenset({"x", "y"}): 1}


def test_vocabulary_is_first_appearance_for_every_item_kind():
    assert apriori([[5, 3], [9, 3]], 1, 1).items == [5, 3, 9]
    wide = [[10**12, 7], [-(10**12)], [7]]  # too wide a span for the lookup table: the sort path
    result = apriori(wide, 1, 2)
    assert result.items == [10**12, 7, -(10**12)]
    assert result.labelled() == brute_force(wide, 1, 2)
    mixed = [["b", 2], [2.5, "b"], [(1, 2)]]
    assert apriori(mixed, 1, 1).items == ["b", 2, 2.5, (1, 2)]
    generators = apriori((iter(b) for b in [[1, 2], [2]]), 1, 2)
    assert generators.labelled() == {frozenset({1}): 1, frozenset({2}): 2, frozenset({1, 2}): 1}


def test_encode_returns_bitsets_and_vocabulary():
    encoded, vocabulary = encode([["a", "b"], ["b"], [], ["c", "a"]] + [["b"]] * 63)
    assert isinstance(encoded, Encoded)
    assert vocabulary == encoded.items == ["a", "b", "c"]
    assert encoded.bits.dtype == np.uint64 and encoded.bits.shape == (3, 2)
    assert encoded.n_transactions == 67 and encoded.tids == list(range(67))
    assert encoded.bits[0].tolist() == [0b1001, 0]
    assert encoded.bits[2].tolist() == [0b1000, 0]
    assert encoded.bits[1, 1] == (1 << 3) - 1  # transactions 64..66
    assert encoded.item_support().tolist() == [2, 65, 1]
    assert apriori(encoded, 2, 2).labelled() == {frozenset({"a"}): 2, frozenset({"b"}): 65}


def test_empty_inputs():
    for empty in ([], pl.DataFrame({"tid": [], "item": []})):
        result = apriori(empty, 0.5)
        assert len(result) == 0 and result.n_transactions == 0
        assert result.support.dtype == np.int64 and result.as_dict() == {}
    only_empty_baskets = apriori([[], []], 1)
    assert len(only_empty_baskets) == 0 and only_empty_baskets.n_transactions == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_support": 0}, r"count must be >= 1, got 0"),
        ({"min_support": -3}, r"count must be >= 1, got -3"),
        ({"min_support": 5}, r"min_support 5 exceeds the number of transactions \(4\)"),
        ({"min_support": 0.0}, r"fraction must be in \(0, 1\], got 0.0"),
        ({"min_support": 1.5}, r"fraction must be in \(0, 1\], got 1.5"),
        ({"min_support": math.nan}, r"fraction must be in \(0, 1\]"),
        ({"min_support": True}, r"must be an int count or a float fraction"),
        ({"min_support": "2"}, r"must be an int count or a float fraction"),
        ({"min_support": 1, "max_len": 0}, r"max_len must be an int >= 1, got 0"),
        ({"min_support": 1, "min_len": 0}, r"min_len must be an int >= 1, got 0"),
        ({"min_support": 1, "max_len": 2, "min_len": 3}, r"min_len \(3\) must not exceed max_len \(2\)"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        apriori([[1, 2], [2], [1], [3]], **kwargs)


def test_invalid_transactions():
    with pytest.raises(ValueError, match="iterable of items"):
        apriori([[1], 2], 1)
    with pytest.raises(ValueError, match="not a single string"):
        apriori("abc", 1)
    with pytest.raises(ValueError, match="hashable"):
        apriori([[["unhashable"]]], 1)
    with pytest.raises(ValueError, match="null transaction ids"):
        apriori(pl.DataFrame({"tid": [1, None], "item": ["a", "b"]}), 1)


def test_pandas_frames_are_refused_not_read_as_baskets():
    pandas = pytest.importorskip("pandas", reason="pandas is in the bench extra; not installed")
    with pytest.raises(ValueError, match="pass a polars DataFrame"):
        apriori(pandas.DataFrame({"tid": [1], "item": ["a"]}), 1)
    lazy = pl.DataFrame({"tid": [1, 1], "item": ["a", "b"]}).lazy()
    assert apriori(lazy, 1, 2).labelled() == {
        frozenset({"a"}): 1,
        frozenset({"b"}): 1,
        frozenset({"a", "b"}): 1,
    }


def test_equals_mlxtend():
    pytest.importorskip("pandas", reason="pandas is in the bench extra; not installed")
    mlxtend = pytest.importorskip("mlxtend.frequent_patterns", reason="mlxtend (the bench extra) is not installed")
    from mlxtend.preprocessing import TransactionEncoder

    rng = np.random.default_rng(2024)
    baskets = random_baskets(rng, 500, 30, 6)
    encoder = TransactionEncoder()
    onehot = encoder.fit(baskets).transform(baskets)
    import pandas as pd

    frame = pd.DataFrame(onehot, columns=encoder.columns_)
    theirs = mlxtend.apriori(frame, min_support=0.02, use_colnames=True, max_len=3)
    expected = {
        frozenset(int(i) for i in items): round(support * len(baskets))
        for items, support in zip(theirs["itemsets"], theirs["support"], strict=False)
    }
    ours = apriori(baskets, 0.02, 3)
    assert len(expected) > 100
    assert ours.labelled() == expected


def test_candidates_with_an_infrequent_subset_are_pruned_before_counting(monkeypatch):
    # {0,1} and {0,2} are frequent, {1,2} is not: {0,1,2} must never reach the counter.
    baskets = [[0, 1]] * 3 + [[0, 2]] * 3 + [[1, 3]] * 3 + [[1, 2]] * 2
    counted = []
    real_count = apriori_module._count

    def spy(bits, level, left, ext):
        counted.append(left.size)
        return real_count(bits, level, left, ext)

    monkeypatch.setattr(apriori_module, "_count", spy)
    result = apriori(baskets, 3, 3)
    assert result.labelled() == {
        frozenset({0}): 6,
        frozenset({1}): 8,
        frozenset({2}): 5,
        frozenset({3}): 3,
        frozenset({0, 1}): 3,
        frozenset({0, 2}): 3,
        frozenset({1, 3}): 3,
    }
    assert counted == [0]  # level 3 ran, with no candidate left


@pytest.mark.slow
def test_sparse_encoding_with_many_rare_items_and_duplicates():
    """Many more items than (item, transaction) pairs across many words (as with Wikidata facts) takes
    the sort-and-bincount encoding path: same itemsets and supports as brute force, duplicates ignored."""
    rng = np.random.default_rng(7)
    common = [f"c{i}" for i in range(5)]
    baskets = []
    for t in range(3000):
        basket = [f"rare{t}-{k}" for k in range(rng.integers(1, 6))]  # items seen once
        basket += list(rng.choice(common, size=rng.integers(0, 4)))  # repeats allowed
        basket += basket[:1]  # a duplicate pair
        baskets.append(basket)
    encoded, vocab = encode(baskets)
    assert encoded.dense is None and encoded.positions is not None  # the sparse path
    picked = [0, len(vocab) - 1, *range(0, len(vocab), 97)]
    rows = encoded.rows(picked)
    flags = np.unpackbits(rows.view(np.uint8), axis=1, bitorder="little")[:, : len(baskets)]
    assert flags.tolist() == [[int(vocab[i] in b) for b in baskets] for i in picked]
    assert np.array_equal(encoded.bits[picked], rows)  # bits packs all rows
    assert encoded.item_counts.tolist() == [sum(item in b for b in baskets) for item in vocab]
    result = apriori(baskets, 20, max_len=3)
    # brute force over the common items only: a rare item is in no frequent itemset (anti-monotone)
    assert result.labelled() == brute_force([[i for i in b if i in common] for b in baskets], 20, 3)
