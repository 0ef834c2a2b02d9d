"""Neuron rules (ExplaiNN), redescriptions and neuron ↔ concept rules as RDF (N-Triples terms).

Neurons are the ``kgx:Neuron`` IRIs of the activation run the results come from, so a query can go from a
rule to its neurons' layers, ranges and driving tokens in that run's graph. Concepts (``kgx:Concept``) are
shared across runs like items: one IRI per (kind, property, value).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from ..store import RawTriple
from ..vocab import KGX, PROV, RDF, RDFS, Minter, nt_float, nt_int, nt_iri, nt_str

if TYPE_CHECKING:
    from ..mining.explainn import NeuronRule
    from ..mining.redescribe import Redescription

__all__ = [
    "concept_triples",
    "neuron_rule_triples",
    "redescription_triples",
    "concept_rule_triples",
    "neuron_rule_label",
]

TYPE = nt_iri(RDF + "type")
LABEL = nt_iri(RDFS + "label")
GENERATED_BY = nt_iri(PROV + "wasGeneratedBy")


def _k(name: str) -> str:
    return nt_iri(KGX + name)


def concept_triples(
    minter: Minter, kind: str, prop: str, value: str, literal: bool, text: str
) -> tuple[str, list[RawTriple]]:
    """(IRI, triples) of one concept: what the knowledge graph says about a document (see ``neurons``)."""
    iri = minter.concept(kind, prop, value)
    c = nt_iri(iri)
    triples = [(c, TYPE, _k("Concept")), (c, LABEL, nt_str(text)), (c, _k("conceptKind"), nt_str(kind))]
    if prop:
        triples.append((c, _k("property"), nt_iri(prop)))
    if kind == "label":
        triples.append((c, _k("value"), nt_str(value)))
    elif value:
        triples.append((c, _k("value"), nt_str(value) if literal else nt_iri(value)))
    return iri, triples


def neuron_rule_triples(
    run_id: str,
    minter: Minter,
    rules: Sequence[NeuronRule],
    head_iris: Sequence[str],
    tail_iris: Sequence[str],
    head_names: Sequence[str],
    tail_names: Sequence[str],
) -> Iterator[RawTriple]:
    """ExplaiNN rules ``X →(l, k) Y``: ``head_iris[i]`` is the IRI of head column i (a neuron, or a class for
    the predicted-label head), likewise for tails."""
    run = nt_iri(minter.run(run_id))
    for rank, rule in enumerate(rules, start=1):
        head, tail = list(rule.head), list(rule.tail)
        key = "|".join(head_iris[i] for i in head) + "→" + "|".join(tail_iris[j] for j in tail)
        r = nt_iri(minter.rule(run_id, key))
        yield r, TYPE, _k("NeuronRule")
        yield r, LABEL, nt_str(neuron_rule_label(rule, head_names, tail_names))
        for i in head:
            yield r, _k("headNeuron"), nt_iri(head_iris[i])
        for j in tail:
            yield r, _k("tailNeuron"), nt_iri(tail_iris[j])
        yield r, _k("headThreshold"), nt_int(rule.l)
        yield r, _k("tailThreshold"), nt_int(rule.k)
        yield r, _k("applies"), nt_int(rule.applies)
        yield r, _k("holds"), nt_int(rule.holds)
        yield r, _k("confidence"), nt_float(rule.holds / rule.applies if rule.applies else 0.0)
        yield r, _k("gainBits"), nt_float(float(rule.gain_bits))
        yield r, _k("rank"), nt_int(rank)
        yield r, GENERATED_BY, run


def neuron_rule_label(rule: NeuronRule, head_names: Sequence[str], tail_names: Sequence[str]) -> str:
    head = [head_names[i] for i in rule.head]
    tail = [tail_names[j] for j in rule.tail]
    l, k = rule.l, rule.k
    left = " ∧ ".join(head) if l == len(head) else f"{l} of ({', '.join(head)})"
    right = " ∧ ".join(tail) if k == len(tail) else f"{k} of ({', '.join(tail)})"
    return f"{left} → {right}"


def redescription_triples(
    run_id: str,
    minter: Minter,
    found: Iterable[Redescription],
    left_text: Sequence[str],
    right_text: Sequence[str],
    left_iris: Sequence[Sequence[str]],
    right_iris: Sequence[Sequence[str]],
    right_property: str,
    documents: Sequence[Sequence[str]],
) -> Iterator[RawTriple]:
    """Redescriptions ``q1 ⇔ q2``: per redescription i, its queries as text, the neurons of the left query,
    the neurons or concepts of the right one (``right_property``: ``rightNeuron`` or ``rightConcept``),
    its scores and the documents it covers."""
    run = nt_iri(minter.run(run_id))
    for rank, (red, left, right, lefts, rights, docs) in enumerate(
        zip(found, left_text, right_text, left_iris, right_iris, documents, strict=True), start=1
    ):
        r = nt_iri(minter.redescription(run_id, f"{left}⇔{right}"))
        yield r, TYPE, _k("Redescription")
        yield r, LABEL, nt_str(f"{left} ⇔ {right}")
        yield r, _k("leftQuery"), nt_str(left)
        yield r, _k("rightQuery"), nt_str(right)
        for iri in lefts:
            yield r, _k("leftNeuron"), nt_iri(iri)
        for iri in rights:
            yield r, _k(right_property), nt_iri(iri)
        yield r, _k("support"), nt_int(red.support)
        yield r, _k("leftSupport"), nt_int(red.left_support)
        yield r, _k("rightSupport"), nt_int(red.right_support)
        yield r, _k("jaccard"), nt_float(red.jaccard)
        yield r, _k("pValue"), nt_float(red.p_value)
        if red.p_randomized is not None:
            yield r, _k("randomizedPValue"), nt_float(red.p_randomized)
        for doc in docs:
            yield r, _k("coversDocument"), nt_iri(doc)
        yield r, _k("rank"), nt_int(rank)
        yield r, GENERATED_BY, run


def concept_rule_triples(
    run_id: str, minter: Minter, rules: Iterable[tuple[list[str], str, int, float, float, str]]
) -> Iterator[RawTriple]:
    """Neuron ↔ concept rules ``concepts → neuron active``: (concept IRIs, neuron IRI, support,
    confidence, lift, label) each."""
    run = nt_iri(minter.run(run_id))
    for rank, (concepts, neuron, support, confidence, lift, label) in enumerate(rules, start=1):
        r = nt_iri(minter.rule(run_id, "|".join(sorted(concepts)) + "→" + neuron))
        yield r, TYPE, _k("NeuronConceptRule")
        yield r, LABEL, nt_str(label)
        for c in concepts:
            yield r, _k("antecedentConcept"), nt_iri(c)
        yield r, _k("activeNeuron"), nt_iri(neuron)
        yield r, _k("support"), nt_int(support)
        yield r, _k("confidence"), nt_float(confidence)
        yield r, _k("lift"), nt_float(lift)
        yield r, _k("rank"), nt_int(rank)
        yield r, GENERATED_BY, run
