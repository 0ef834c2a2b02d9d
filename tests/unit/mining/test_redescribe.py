"""Redescription mining (ExItNeRdoM reading): scores, binning, planted relations, randomisation calibration
on seeded nulls, and input errors. Tolerances and designs are stated per test."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from kgexplain.errors import InputError
from kgexplain.mining import redescribe as module
from kgexplain.mining.redescribe import (
    Condition,
    Query,
    View,
    binomial_p_value,
    jaccard,
    randomization_p_value,
    redescribe,
    search_redescriptions,
)
from kgexplain.models.activations import uniform_bins

# --------------------------------------------------------------------------------------------------
# data


def planted_within(seed: int = 0, n: int = 800, neurons: int = 30, attributes: int = 40, noise: float = 0.05):
    """Neuron 7's top bin ⇔ attribute 5 ("P106=painter"), except on ``noise`` of the rows (redrawn
    uniformly); every other neuron and attribute is independent noise."""
    rng = np.random.default_rng(seed)
    activations = rng.random((n, neurons))
    attrs = rng.random((n, attributes)) < rng.uniform(0.05, 0.3, attributes)
    painter = attrs[:, 5]
    activations[:, 7] = np.where(painter, rng.uniform(0.76, 1.0, n), rng.uniform(0.0, 0.74, n))
    noisy = rng.random(n) < noise
    activations[noisy, 7] = rng.random(int(noisy.sum()))
    activations[0, 7], activations[1, 7] = 0.0, 1.0  # bin edges at 0, .25, .5, .75, 1
    names = [f"P106=a{j}" for j in range(attributes)]
    names[5] = "P106=painter"
    left = View.from_activations(activations, [f"conv:{i}" for i in range(neurons)])
    return left, View.from_boolean(attrs, names), activations, attrs


def check_consistent(result_list, left: View, right: View, n: int) -> None:
    """Every redescription's counts, Jaccard, p-value and rows agree with its queries evaluated afresh."""
    for r in result_list:
        lm, rm = r.left.mask(left), r.right.mask(right)
        assert r.left.view == 0 and r.right.view == 1
        assert r.left_support == lm.sum() and r.right_support == rm.sum()
        assert r.support == (lm & rm).sum() == len(r.rows)
        np.testing.assert_array_equal(r.rows, np.flatnonzero(lm & rm))
        assert r.jaccard == pytest.approx(jaccard(lm, rm), abs=1e-12)
        assert r.p_value == pytest.approx(
            binomial_p_value(n, r.left_support, r.right_support, r.support), rel=1e-9, abs=1e-300
        )


# --------------------------------------------------------------------------------------------------
# Jaccard and the binomial p-value


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.booleans(), min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)
        )
    )
)
def test_jaccard_in_unit_interval_and_one_iff_equal(pair):
    a, b = (np.asarray(x, dtype=bool) for x in pair)
    j = jaccard(a, b)
    assert 0.0 <= j <= 1.0
    assert (j == 1.0) == bool(np.array_equal(a, b))
    assert j == jaccard(b, a)


def test_jaccard_values_and_inputs():
    assert jaccard(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0])) == pytest.approx(1 / 3)
    assert jaccard(np.zeros(3, bool), np.zeros(3, bool)) == 1.0  # equal (empty) supports
    assert jaccard(np.array([1, 0]), np.array([0, 1])) == 0.0
    with pytest.raises(InputError, match="same length, got 3 and 2"):
        jaccard(np.ones(3, bool), np.ones(2, bool))
    with pytest.raises(InputError, match="boolean or 0/1"):
        jaccard(np.array([0, 2]), np.array([0, 1]))


def test_binomial_p_value_is_the_spec_sum():
    """Exact rational sum of the spec's formula for small n (relative tolerance 1e-9)."""
    for n, s1, s2 in [(20, 7, 9), (30, 15, 15), (12, 1, 11)]:
        q = Fraction(s1, n) * Fraction(s2, n)
        for k in range(min(s1, s2) + 1):
            exact = sum(math.comb(n, h) * q**h * (1 - q) ** (n - h) for h in range(k, n + 1))
            assert binomial_p_value(n, s1, s2, k) == pytest.approx(float(exact), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("n,s1,s2", [(50, 20, 30), (2000, 300, 500), (100_000, 5_000, 8_000)])
def test_binomial_p_decreases_as_the_intersection_grows(n, s1, s2):
    """Supports fixed: p(k) is 1 at k = 0, never increasing, strictly decreasing wherever float64 can
    tell the steps apart (1e-300 < p < 1 - 1e-12), and finite in [0, 1] — also at n = 1e5."""
    k = np.arange(0, min(s1, s2) + 1)
    p = binomial_p_value(np.full_like(k, n), np.full_like(k, s1), np.full_like(k, s2), k)
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    assert p[0] == 1.0
    assert (np.diff(p) <= 0).all()
    alive = (p[:-1] > 1e-300) & (p[1:] < 1 - 1e-12)
    assert alive.sum() >= 10
    assert (np.diff(p)[alive] < 0).all()


def test_binomial_p_value_large_n_is_stable():
    n, s1, s2 = 100_000, 5_000, 8_000
    expected = s1 * s2 / n  # 400
    sd = math.sqrt(expected * (1 - expected / n))
    assert 0.4 < binomial_p_value(n, s1, s2, round(expected)) < 0.6
    far = binomial_p_value(n, s1, s2, round(expected + 6 * sd))
    assert 0 < far < 1e-7
    with pytest.raises(InputError, match="intersection must lie in 0..min"):
        binomial_p_value(10, 3, 4, 5)
    with pytest.raises(InputError, match="0 <= supports <= n"):
        binomial_p_value(10, 11, 4, 2)


# --------------------------------------------------------------------------------------------------
# binning (uniform_bins is the one in models.activations; View.from_activations uses it)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 25), st.integers(1, 4)),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    ),
    st.integers(1, 8),
)
def test_each_value_falls_in_exactly_one_bin_and_extremes_in_end_bins(values, bins):
    codes, low, high = uniform_bins(values, bins)
    view = View.from_activations(values, bins=bins)
    np.testing.assert_array_equal(view.values, codes)
    assert view.ordinal
    for j in range(values.shape[1]):
        column, code = values[:, j], codes[:, j].astype(int)
        assert ((code >= 0) & (code < bins)).all()
        if high[j] == low[j]:
            assert (code == 0).all()  # a constant neuron sits in bin 0
            continue
        width = (high[j] - low[j]) / bins
        eps = 1e-9 * (high[j] - low[j])
        lower, upper = low[j] + code * width, low[j] + (code + 1) * width
        last = code == bins - 1
        assert (column >= lower - eps).all()  # in its bin ...
        assert ((column < upper + eps) | last).all()  # ... and only there (bins are disjoint)
        assert (column[last] <= high[j]).all()
        assert code[np.argmin(column)] == 0 and code[np.argmax(column)] == bins - 1


# --------------------------------------------------------------------------------------------------
# planted relations


def test_planted_neuron_attribute_redescription_comes_first():
    """conv:7 top bin ⇔ painter with 5% noisy rows: first, J ≥ 0.85, p ≤ 1e-40, and the search-level
    p_randomized is the smallest possible (1 / (R + 1)) since no permuted search gets near it."""
    left, right, _act, attrs = planted_within()
    result = search_redescriptions(left, right, randomizations=9, seed=0)
    top = result.redescriptions[0]
    assert top.left == Query((Condition(0, 7, ">=", 3),))
    assert top.right == Query((Condition(1, 5, "==", 1),))
    assert top.describe(left, right) == "conv:7 >= 3 <=> P106=painter"
    assert top.jaccard >= 0.85
    assert top.p_value <= 1e-40
    assert top.p_randomized == pytest.approx(1 / 10)
    assert result.p_global == pytest.approx(1 / 10)
    assert top.support == int((attrs[:, 5] & (left.values[:, 7] == 3)).sum())
    assert all(r.jaccard >= 0.2 and r.p_value <= 0.01 for r in result.redescriptions)
    ranked = [r.jaccard for r in result.redescriptions]
    assert ranked == sorted(ranked, reverse=True)
    check_consistent(result.redescriptions, left, right, left.n_rows)
    # without negations no query uses "not attribute" or "!="
    assert all(
        c.op != "!=" and not (c.op == "==" and c.value == 0) for r in result.redescriptions for c in r.right.conditions
    )


def test_planted_relation_between_two_models():
    """Two ordinal views (model A, model B): B's neuron 3 copies A's neuron 11 up to N(0, 0.03) noise.
    The best redescription relates a:11 to b:3 only, with J ≥ 0.85 and p ≤ 1e-30; no other column pair
    reaches J 0.5."""
    rng = np.random.default_rng(3)
    n = 600
    a, b = rng.random((n, 20)), rng.random((n, 25))
    b[:, 3] = np.clip(a[:, 11] + rng.normal(0, 0.03, n), 0, 1)
    left = View.from_activations(a, [f"a:{i}" for i in range(20)])
    right = View.from_activations(b, [f"b:{i}" for i in range(25)])
    found = redescribe(left, right, randomizations=4, seed=1)
    top = found[0]
    assert {c.column for c in top.left.conditions} == {11}
    assert {c.column for c in top.right.conditions} == {3}
    assert top.jaccard >= 0.85 and top.p_value <= 1e-30
    assert top.p_randomized == pytest.approx(1 / 5)
    for r in found:
        if r.jaccard >= 0.5:
            assert 11 in {c.column for c in r.left.conditions} and 3 in {c.column for c in r.right.conditions}
    check_consistent(found, left, right, n)
    # a pair and its complement (¬q1, ¬q2) are reported once: the smaller-support form is kept
    high = (Query((Condition(0, 11, ">=", 2),)), Query((Condition(1, 3, ">=", 2),)))
    low = (Query((Condition(0, 11, "<=", 1),)), Query((Condition(1, 3, "<=", 1),)))
    keys = {(r.left, r.right) for r in found}
    assert (high in keys) + (low in keys) == 1


def test_conjunctions_from_trees_and_alternation():
    """A relation only a conjunction explains: attribute 2 ⇔ (n4 top bin and n9 bottom bin). The trees
    find the two-condition query with J ≥ 0.9; no single condition on n4 or n9 gets above J 0.6."""
    rng = np.random.default_rng(11)
    n = 800
    act = rng.random((n, 15))
    attrs = rng.random((n, 10)) < 0.2
    attrs[:, 2] = (act[:, 4] >= 0.75) & (act[:, 9] < 0.25)
    act[0, [4, 9]], act[1, [4, 9]] = 0.0, 1.0
    left, right = View.from_activations(act), View.from_boolean(attrs)
    found = redescribe(left, right, randomizations=0, min_support=10)
    conjunction = Query((Condition(0, 4, ">=", 3), Condition(0, 9, "<=", 0)))
    match = [r for r in found if r.left == conjunction and r.right == Query((Condition(1, 2, "==", 1),))]
    assert match and match[0].jaccard >= 0.9
    assert found[0] == match[0]
    singles = [r for r in found if len(r.left) == 1 and r.right == match[0].right]
    assert all(r.jaccard < 0.6 for r in singles)
    check_consistent(found, left, right, n)


# --------------------------------------------------------------------------------------------------
# randomisation: seeded nulls


@pytest.mark.slow
def test_search_level_p_values_are_uniform_on_a_seeded_null():
    """Design: 40 independent null data sets (150 samples; 6 uniform neurons in 4 bins vs 8 independent
    attributes); each runs the search with R = 19 permutations. The search-level p-value of the search's
    best statistic (p_global, a lower bound of every reported p_randomized) is uniform on
    {1..20}/20 under the null; subtracting U/20 (U uniform, seeded) makes it exactly U(0, 1), so a KS test
    against U(0, 1) must not reject at 0.01. With min_jaccard = 0 and max_p = 1 every search has
    candidates, so the statistic is never the tie value 1. Also: the share of nulls with p_global ≤ 0.1
    stays ≤ 10/40 (expected 4; P(Bin(40, 0.1) ≥ 11) ≈ 0.002)."""
    repeats, permutations = 40, 19
    values = []
    for s in range(repeats):
        rng = np.random.default_rng(1000 + s)
        left = View.from_activations(rng.random((150, 6)))
        right = View.from_boolean(rng.random((150, 8)) < rng.uniform(0.2, 0.5, 8))
        result = search_redescriptions(
            left,
            right,
            min_jaccard=0.0,
            max_p=1.0,
            max_seeds=4,
            max_depth=2,
            alternations=1,
            randomizations=permutations,
            seed=s,
            n_jobs=1,
        )
        assert result.best_p < 1.0
        assert all(r.p_randomized >= result.p_global for r in result.redescriptions)
        values.append(result.p_global)
    values = np.asarray(values)
    jitter = np.random.default_rng(7).random(repeats) / (permutations + 1)
    assert stats.kstest(values - jitter, "uniform").pvalue > 0.01
    assert np.count_nonzero(values <= 0.1) <= 10


@pytest.mark.slow
def test_raw_p_values_on_permuted_labels_stay_within_the_false_positive_rate():
    """The attribute rows of the planted data are permuted (6 seeded permutations), so no relation is left.

    Single-condition pairs (max_seeds = 0: no tree, no selection; min_jaccard = 0 so Jaccard hides
    nothing): the number passing p ≤ max_p, pooled, is at most max_p × the number of literal pairs within
    the support bounds (counted here by brute force) — the expected false-positive count of that many
    fixed tests; the binomial p-value is conservative against the permutation (hypergeometric) null, so it
    is usually far below. Full default search: the number of redescriptions is at most max_p × the number
    of query pairs it evaluated (``candidates``), and none survives p_randomized ≤ 0.1 in more than 2 of
    the 6 (R = 9; each has probability ≤ 0.1)."""
    left, right, _act, attrs = planted_within(seed=4, noise=0.0)
    n = left.n_rows
    literal_masks = np.stack(
        [
            Condition(0, c, op, v).mask(left)
            for c in range(left.n_columns)
            for op, v in ((">=", 1), (">=", 2), (">=", 3), ("<=", 0), ("<=", 1), ("<=", 2), ("==", 1), ("==", 2))
        ]
    ).astype(np.int64)
    min_support, max_support = max(5, math.ceil(0.01 * n)), int(0.8 * n)
    passing = bounded = 0
    significant_runs = 0
    for s in range(6):
        permuted = View.from_boolean(attrs[np.random.default_rng(s).permutation(n)], right.names)
        single = search_redescriptions(left, permuted, min_jaccard=0.0, max_seeds=0, randomizations=0)
        assert all(len(r.left) == len(r.right) == 1 for r in single.redescriptions)
        inter = literal_masks @ permuted.values.astype(np.int64)
        ok = (
            (inter >= min_support)
            & (literal_masks.sum(1)[:, None] <= max_support)
            & (permuted.values.sum(0)[None, :] <= max_support)
        )
        passing += len(single.redescriptions)
        bounded += int(ok.sum())
        full = search_redescriptions(left, permuted, randomizations=9, seed=s)
        assert len(full.redescriptions) <= 0.01 * full.candidates
        significant_runs += any(r.p_randomized <= 0.1 for r in full.redescriptions)
    assert passing <= 0.01 * bounded
    assert significant_runs <= 2


def test_per_pair_randomization_matches_the_hypergeometric_tail_and_is_valid():
    """Design: 150 fixed pairs of random supports on unrelated samples (n = 300), R = 499 each. The per-pair
    p-value is a Monte-Carlo estimate of the hypergeometric upper tail: within 4 binomial standard errors
    (+ 1/(R+1)) of it for every pair; and valid: the share ≤ α is at most α + 3 standard errors for
    α in (0.05, 0.1, 0.25). (It is not uniform: the intersection is discrete.)"""
    rng = np.random.default_rng(21)
    n, repeats, permutations = 300, 150, 499
    values = []
    for s in range(repeats):
        a = rng.random(n) < rng.uniform(0.05, 0.5)
        b = rng.random(n) < rng.uniform(0.05, 0.5)
        p = randomization_p_value(a, b, randomizations=permutations, seed=s)
        k = int((a & b).sum())
        exact = stats.hypergeom.sf(k - 1, n, int(a.sum()), int(b.sum()))
        assert abs(p - exact) <= 4 * math.sqrt(exact * (1 - exact) / permutations) + 1 / (permutations + 1)
        values.append(p)
    values = np.asarray(values)
    for alpha in (0.05, 0.1, 0.25):
        assert np.mean(values <= alpha) <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / repeats)


# --------------------------------------------------------------------------------------------------
# behaviour


def test_deterministic_threads_blocks_and_progress(monkeypatch):
    """The same seed gives the same redescriptions with 1 or 2 threads and with stage 2 cut into tiny
    blocks; progress runs from 1 to its fixed total."""
    left, right, _act, _attrs = planted_within(seed=2, n=300, neurons=10, attributes=12)
    calls = []
    one = search_redescriptions(
        left, right, randomizations=3, n_jobs=1, progress=lambda done, total: calls.append((done, total))
    )
    two = search_redescriptions(left, right, randomizations=3, n_jobs=2)
    monkeypatch.setattr(module, "_PAIR_BLOCK", 7)
    monkeypatch.setattr(module, "_ROW_CHUNK", 64)
    blocked = search_redescriptions(left, right, randomizations=3, n_jobs=2)
    assert one.redescriptions == two.redescriptions == blocked.redescriptions
    assert one.candidates == two.candidates == blocked.candidates
    np.testing.assert_array_equal(one.null_best_p, blocked.null_best_p)
    total = one.seeds + 3
    assert calls == [(i, total) for i in range(1, total + 1)]


def test_negations_and_categorical_codes():
    """With negations on, a 0/1 attribute can appear as "not x"; a categorical column with 3 codes is
    tested with == and != and its queries still evaluate to their reported rows."""
    rng = np.random.default_rng(5)
    n = 500
    act = rng.random((n, 8))
    colour = rng.integers(0, 3, n)  # categorical, 3 codes
    flag = rng.random(n) < 0.7
    act[:, 2] = np.where(colour == 1, rng.uniform(0.76, 1, n), rng.uniform(0, 0.74, n))
    act[:, 5] = np.where(flag, rng.uniform(0, 0.74, n), rng.uniform(0.76, 1, n))
    act[0, [2, 5]], act[1, [2, 5]] = 0.0, 1.0
    left = View.from_activations(act)
    right = View(np.stack([colour, flag.astype(int)], axis=1), ["colour", "flag"], ordinal=False)
    found = redescribe(left, right, randomizations=0, negations=True)
    texts = [r.describe(left, right) for r in found]
    # both planted relations are exact (J = 1); "5 <= 2 <=> flag" is the same pair's complement
    assert set(texts[:2]) == {"5 >= 3 <=> not flag", "2 >= 3 <=> colour == 1"}
    assert found[0].jaccard == found[1].jaccard == 1.0
    assert "5 <= 2 <=> flag" not in texts
    assert any("colour != 1" in t for t in texts)
    check_consistent(found, left, right, n)
    plain = redescribe(left, right, randomizations=0)
    plain_texts = [r.describe(left, right) for r in plain]
    assert set(plain_texts[:2]) == {"5 <= 2 <=> flag", "2 >= 3 <=> colour == 1"}
    assert not any("not flag" in t or "!=" in t for t in plain_texts)
    check_consistent(plain, left, right, n)


# --------------------------------------------------------------------------------------------------
# bad input


def test_bad_input_is_an_input_error_with_a_clear_message():
    good = View(np.zeros((5, 2), np.uint8) + np.arange(2), ["a", "b"])
    with pytest.raises(InputError, match=r"same samples: the left view has shape \(5, 2\), the right view \(4, 2\)"):
        search_redescriptions(good, View(np.zeros((4, 2), int), ["a", "b"]))
    with pytest.raises(InputError, match=r"view is empty: shape \(0, 3\)"):
        View(np.zeros((0, 3), int))
    with pytest.raises(InputError, match=r"view is empty: shape \(5, 0\)"):
        View.from_boolean(np.zeros((5, 0), bool))
    with pytest.raises(InputError, match=r"integer codes .* got 0.5 at row 1, column 0"):
        View(np.array([[0.0], [0.5]]))
    with pytest.raises(InputError, match="integer codes"):
        View(np.array([["x"], ["y"]]))
    with pytest.raises(InputError, match=r"codes must lie in 0..63, got -1..1"):
        View(np.array([[-1], [1]]))
    with pytest.raises(InputError, match="a view with 2 columns needs 2 names, got 1"):
        View(np.zeros((3, 2), int), ["only"])
    with pytest.raises(InputError, match=r"2-D \(samples × columns\) matrix, got shape \(3,\)"):
        View(np.zeros(3, int))
    with pytest.raises(InputError, match="finite numbers"):
        View.from_activations(np.array([[0.0], [np.nan]]))
    with pytest.raises(InputError, match=r"min_jaccard must be in \[0, 1\], got 2"):
        search_redescriptions(good, good, min_jaccard=2)
    with pytest.raises(InputError, match="randomizations must be an integer >= 0"):
        search_redescriptions(good, good, randomizations=-1)
    with pytest.raises(InputError, match=r"min_support as a count must be in 1..5"):
        search_redescriptions(good, good, min_support=9)
    with pytest.raises(InputError, match="unknown condition operator '>'"):
        Condition(0, 1, ">", 2)
    with pytest.raises(InputError, match="same view"):
        Query((Condition(0, 1, "==", 1), Condition(1, 1, "==", 1)))
    # float codes that are whole numbers are accepted (e.g. a 0/1 frame read as floats)
    assert View(np.array([[0.0, 1.0], [1.0, 0.0]])).values.dtype == np.uint8
