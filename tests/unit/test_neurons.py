"""Neuron-level helpers: neuron ↔ concept rules against brute-force counts, per-neuron binarization, subject
names."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from kgexplain import neurons
from kgexplain.errors import InputError
from kgexplain.models.activations import neuron_thresholds
from kgexplain.neurons import Concept, ConceptView, _subject_name, concept_rules


def _view(matrix: np.ndarray) -> ConceptView:
    return ConceptView(
        [f"d{i}" for i in range(len(matrix))], [Concept("fact", text=f"c{j}") for j in range(matrix.shape[1])], matrix
    )


def test_concept_rules_match_brute_force_counts_and_find_the_planted_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Concepts 0 ∧ 1 switch neuron 3 on (with 5% noise); every rule's support, confidence and lift equal a
    direct count, every rule passes the thresholds, and no kept rule has a sub-antecedent rule for the same
    neuron that is at least as confident."""
    rng = np.random.default_rng(7)
    n = 3000
    concepts = rng.random((n, 8)) < 0.3
    active = rng.random((n, 6)) < 0.4
    both = concepts[:, 0] & concepts[:, 1]
    active[both, 3] = rng.random(both.sum()) < 0.95
    rules, n_sets, found = concept_rules(
        _view(concepts),
        {"L": active, "M": active[:, ::-1]},
        min_support=20,
        max_concepts=2,
        min_confidence=0.6,
        min_lift=1.5,
    )
    assert n_sets > 8 and found == len(rules)
    # the first `top` in bounded memory are the first `top` of all (a block of sets at a time)
    monkeypatch.setattr(neurons, "_SET_BLOCK", 5)
    best, _, found_too = concept_rules(
        _view(concepts),
        {"L": active, "M": active[:, ::-1]},
        min_support=20,
        max_concepts=2,
        min_confidence=0.6,
        min_lift=1.5,
        top=3,
    )
    assert found_too == found and best == rules[:3]
    rules = [r for r in rules if r.layer == "L"]
    assert any(r.concepts == (0, 1) and r.neuron == 3 for r in rules)
    assert rules[0].concepts == (0, 1) and rules[0].neuron == 3
    base = active.mean(axis=0)
    kept = {(r.concepts, r.neuron): r.confidence for r in rules}
    for r in rules:
        covered = concepts[:, list(r.concepts)].all(axis=1)
        joint = int((covered & active[:, r.neuron]).sum())
        assert r.support == joint >= 20
        assert r.confidence == pytest.approx(joint / covered.sum(), rel=1e-6) and r.confidence >= 0.6
        assert r.lift == pytest.approx(r.confidence / base[r.neuron], rel=1e-5) and r.lift >= 1.5
        for size in range(1, len(r.concepts)):
            for sub in combinations(r.concepts, size):
                assert kept.get((sub, r.neuron), -1) < r.confidence
    # a neuron unrelated to the concepts gets no rule at these thresholds
    assert not any(r.neuron in (0, 1, 2, 4, 5) for r in rules)


def test_neuron_thresholds() -> None:
    values = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, -1.0]])
    np.testing.assert_array_equal(neuron_thresholds(values, 0.0, pooled=False), [0.0, 0.0])
    np.testing.assert_array_equal(neuron_thresholds(values, 0.0, pooled=True), [3.0, 2.0])
    np.testing.assert_array_equal(neuron_thresholds(values, 2.5, pooled=True), [3.0, 2.5])
    np.testing.assert_array_equal(neuron_thresholds(values, 0.0, pooled=True, rule="threshold"), [0.0, 0.0])
    with pytest.raises(InputError, match="binarization rule"):
        neuron_thresholds(values, rule="median")


def test_subject_names_follow_the_painters_readme() -> None:
    assert _subject_name("Vincent_van_Gogh") == "vincent van gogh"
    assert _subject_name("Jan_Both_(painter)") == "jan both"
    assert _subject_name("Louis-Fran%C3%A7ois_Lejeune") == _subject_name("Louis-François_Lejeune")
