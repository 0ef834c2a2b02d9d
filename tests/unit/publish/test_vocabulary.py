"""The vocabulary (ontology/kgexplain.ttl) and its SHACL shapes (ontology/shapes.ttl) against what kgexplain
publishes: every kgx term a publish function writes or a query reads is declared with an English label and
comment; every class the publish functions instantiate is the target of a shape and their graphs conform; the
ontology is aligned with PROV-O, ML Schema, SKOS and DCAT as it says; docs/vocabulary.md is current.

tests/e2e/test_demo_vocabulary.py does the same over every graph of a real demo store."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from kgexplain.attribution.grounding import Mention
from kgexplain.loaders.datasets import Dataset, Document, dataset_triples
from kgexplain.mining.rules import Item, Rule
from kgexplain.publish.neurons import concept_rule_triples, concept_triples, neuron_rule_triples, redescription_triples
from kgexplain.publish.rdf import (
    IMPLEMENTATIONS,
    OUTCOMES,
    RunRecord,
    activation_triples,
    influence_triples,
    mention_triples,
    rule_triples,
    run_triples,
    token_ntriples,
)
from kgexplain.publish.shacl import ONTOLOGY, SHAPES, validate
from kgexplain.publish.vocabdoc import DOCUMENT, vocabulary_markdown
from kgexplain.store import to_ntriples
from kgexplain.vocab import KGX, WD, WDT, Minter

ROOT = Path(__file__).resolve().parents[3]
K = rdflib.Namespace(KGX)
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")
MLS = rdflib.Namespace("http://www.w3.org/ns/mls#")
SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")
VANN = rdflib.Namespace("http://purl.org/vocab/vann/")
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
XSD = rdflib.Namespace("http://www.w3.org/2001/XMLSchema#")
MINTER = Minter("https://example.org/id/")
START, END = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"

# External terms the ontology may align to: a misspelt one (prov:Entitiy) is an error, not an alignment.
KNOWN_EXTERNAL = {
    PROV.Activity,
    PROV.Entity,
    PROV.used,
    PROV.wasGeneratedBy,
    PROV.wasInformedBy,
    PROV.generated,
    MLS.Run,
    MLS.HyperParameter,
    MLS.Implementation,
    SKOS.Concept,
    DCAT.Dataset,
    DCTERMS.identifier,
    DCTERMS.isPartOf,
    DCTERMS.source,
    DCTERMS.subject,
    XSD.string,
    XSD.integer,
    XSD.double,
    XSD.boolean,
    RDFS.Resource,
}


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY, format="turtle")


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    return rdflib.Graph().parse(SHAPES, format="turtle")


def declared(ontology: rdflib.Graph) -> set[rdflib.URIRef]:
    return {s for s in ontology.subjects(RDF.type, None) if isinstance(s, rdflib.URIRef) and s.startswith(KGX)}


def english(graph: rdflib.Graph, term: rdflib.URIRef, predicate: rdflib.URIRef) -> list[str]:
    return [
        str(v)
        for v in graph.objects(term, predicate)
        if isinstance(v, rdflib.Literal) and v.language == "en" and str(v).strip()
    ]


# --- the graphs the publish functions write, on small real inputs ------------------------------------------


def _record(run_id: str, kind: str, settings: dict[str, object], links: dict[str, str] | None = None) -> RunRecord:
    return RunRecord(
        run_id, kind, MINTER.dataset("d"), MINTER.run_graph(run_id).value, START, END, settings=settings, links=links
    )


@cache
def published_graphs() -> dict[str, bytes]:
    """One N-Triples graph per kind of graph kgexplain writes, each built by the publish functions the pipeline
    calls, with the run record in its run graph, plus the catalog holding every run record."""
    docs = [
        Document("a", "Ada was born in Rome", 1, "train", source="https://example.org/src/a", subject=WD + "Q7"),
        Document("b", "Bob was born in Oslo", 0, "test"),
    ]
    dataset = Dataset("d", docs, ("neg", "pos"))
    doc_iris = [MINTER.document("d", d.id) for d in docs]
    graphs: dict[str, list] = {"dataset": list(dataset_triples(dataset, MINTER))}
    records = []

    # attribution: tokens, predictions, mentions
    tokens = [["ada", "was", "born", "in", "rome"], ["bob", "was", "born", "in", "oslo"]]
    relevance = [np.array([0.1, -0.2, 0.0, 0.05, 0.4]), np.array([-0.1, 0.2, 0.0, 0.0, -0.3])]
    mentions = [[Mention(4, 5, WD + "Q220", "rome")], [Mention(4, 5, WD + "Q585", "oslo")]]
    attribution = _record(
        "explain-1",
        "AttributionRun",
        {
            "model": "cnn",
            "method": "shap",
            "reference": "train",
            "expectedValue": 0.5,
            "additivityError": 1e-7,
            "testAccuracy": 0.75,
            "maxTokens": 50,
        },
        {"kgGraph": MINTER.kg_graph("d").value},
    )
    body = token_ntriples("explain-1", MINTER, doc_iris, tokens, relevance, np.array([0.8, 0.3]))
    body += b"".join(to_ntriples(mention_triples("explain-1", MINTER, doc_iris, relevance, mentions, np.sum)))
    graphs["attribution"] = [body]
    records.append(attribution)

    # activations
    layers = {
        "head.relu1": np.array([[0.0, 1.5, 0.2], [2.0, 0.0, 0.7]]),
        "head.relu2": np.array([[0.3, 0.0], [0.0, 0.9]]),
    }
    top = {"head.relu1": [[("rome", 0.6)], [("oslo", 0.5), ("born", 0.2)], []], "head.relu2": [[("ada", 1.0)], []]}
    activation = _record(
        "act-1",
        "ActivationRun",
        {"model": "cnn", "bins": 4, "activationThreshold": 0.0, "binarization": "auto", "maxTokens": 50},
    )
    graphs["activation"] = list(
        activation_triples("act-1", MINTER, doc_iris, layers, 4, 0.0, top, pooled=["head.relu1"])
    )
    records.append(activation)

    # mining: rules, items, influence
    rule = Rule(
        (Item("out", WDT + "P19", WD + "Q220"), Item("in", WDT + "P36", WD + "Q38")),
        "Pos",
        1,
        dict.fromkeys(("TC", "TS", "WTS", "H"), 0.9),
        1.5,
        np.array([0]),
    )
    influence = pl.DataFrame(
        {
            "entity": [WD + "Q220"],
            "n": [1],
            "n_pos": [1],
            "n_neg": [0],
            "sum_pos": [0.4],
            "sum_neg": [0.0],
            "documents": [1],
            "tc": [1],
            "ts": [1.0],
        }
    )
    mining = _record(
        "mine-1",
        "MiningRun",
        {
            "theta": 0.8,
            "minConfidence": 0.75,
            "minSupport": 1,
            "maxAntecedentLength": 2,
            "measure": "H",
            "miner": "apriori",
            "transactions": 1,
        },
        {"informedBy": MINTER.run("explain-1"), "kgGraph": MINTER.kg_graph("d").value},
    )
    graphs["mining"] = list(
        rule_triples(
            [rule], "mine-1", MINTER, {WD + "P19": "place of birth"}, [WD + "Q220"], {WD + "Q220": [doc_iris[0]]}
        )
    ) + list(influence_triples(influence, "mine-1", MINTER))
    records.append(mining)

    # neuron rules (ExplaiNN)
    neurons1 = [MINTER.neuron("act-1", "head.relu1", i) for i in range(3)]
    neurons2 = [MINTER.neuron("act-1", "head.relu2", i) for i in range(2)]
    explainn = SimpleNamespace(head=[0, 1], tail=[1], l=1, k=1, applies=2, holds=1, gain_bits=3.5)
    neuron_rules = _record(
        "neurons-1",
        "NeuronRuleRun",
        {
            "headLayer": "head.relu1",
            "tailLayer": "head.relu2",
            "theta": 0.5,
            "mu": None,
            "robust": True,
            "baselineBits": 40.0,
            "totalBits": 36.5,
            "transactions": 2,
            "model": "cnn",
        },
        {"informedBy": MINTER.run("act-1")},
    )
    graphs["neuron rules"] = list(
        neuron_rule_triples(
            "neurons-1", MINTER, [explainn], neurons1, neurons2, ["r1#0", "r1#1", "r1#2"], ["r2#0", "r2#1"]
        )
    )
    records.append(neuron_rules)

    # concepts, neuron-concept rules and redescriptions
    concept, concept_body = concept_triples(MINTER, "fact", WDT + "P19", WD + "Q220", False, "place of birth: Rome")
    label, label_body = concept_triples(MINTER, "label", "", "pos", True, "label: pos")
    concept_rules = _record(
        "concepts-1",
        "NeuronConceptRuleRun",
        {
            "minSupport": 1,
            "minConfidence": 0.5,
            "minLift": 1.0,
            "maxAntecedentLength": 2,
            "transactions": 2,
            "model": "cnn",
        },
        {"informedBy": MINTER.run("act-1")},
    )
    graphs["neuron-concept rules"] = (
        concept_body
        + label_body
        + list(
            concept_rule_triples(
                "concepts-1",
                MINTER,
                [([concept, label], neurons1[1], 1, 1.0, 2.0, "place of birth: Rome ∧ label: pos → r1#1")],
            )
        )
    )
    records.append(concept_rules)
    found = SimpleNamespace(support=1, left_support=1, right_support=1, jaccard=1.0, p_value=0.5, p_randomized=0.3)
    redescriptions = _record(
        "redescribe-1",
        "RedescriptionRun",
        {
            "leftLayer": "head.relu2",
            "against": "concepts",
            "minJaccard": 0.2,
            "maxPValue": 0.05,
            "randomizations": 9,
            "minSupport": 1,
            "transactions": 2,
            "model": "cnn",
        },
        {"informedBy": MINTER.run("act-1")},
    )
    graphs["redescriptions"] = concept_body + list(
        redescription_triples(
            "redescribe-1",
            MINTER,
            [found],
            ["head.relu2#1 ≥ 2"],
            ["place of birth: Rome"],
            [[neurons2[1]]],
            [[concept]],
            "rightConcept",
            [[doc_iris[0]]],
        )
    )
    records.append(redescriptions)

    out: dict[str, bytes] = {}
    for (name, body), record in zip(graphs.items(), [None, *records], strict=True):
        run = list(run_triples(record, MINTER)) if record else []
        parts = [b for b in body if isinstance(b, bytes)]
        triples = [t for t in body if not isinstance(t, bytes)]
        out[name] = b"".join(parts) + b"".join(to_ntriples(triples + run))
    out["catalog"] = b"".join(to_ntriples([t for r in records for t in run_triples(r, MINTER)]))
    return out


@pytest.fixture(scope="module")
def graphs() -> dict[str, rdflib.Graph]:
    return {name: rdflib.Graph().parse(data=data, format="nt") for name, data in published_graphs().items()}


# --- (a) every kgx term published or queried is declared ---------------------------------------------------


def kgx_terms(graph: rdflib.Graph) -> set[rdflib.URIRef]:
    terms = set()
    for s, p, o in graph:
        for term in (s, p, o):
            if isinstance(term, rdflib.URIRef) and term.startswith(KGX):
                terms.add(term)
        if isinstance(o, rdflib.Literal) and o.datatype is not None and o.datatype.startswith(KGX):
            terms.add(o.datatype)
    return terms


def test_every_published_kgx_term_is_declared_with_label_and_comment(graphs, ontology) -> None:
    used = set().union(*(kgx_terms(g) for g in graphs.values()))
    assert len(used) > 100
    missing = sorted(t for t in used if t not in declared(ontology))
    assert not missing, f"published but not declared in ontology/kgexplain.ttl: {missing}"
    unlabelled = sorted(
        t for t in used if not english(ontology, t, RDFS.label) or not english(ontology, t, RDFS.comment)
    )
    assert not unlabelled, f"no English rdfs:label or rdfs:comment: {unlabelled}"


def test_every_kgx_term_a_query_reads_is_declared(ontology) -> None:
    names = declared(ontology)
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "queries").rglob("*.rq")):
        text = re.sub(r"#[^\n<>]*$", "", path.read_text(), flags=re.M)  # comments mention terms loosely
        for name in re.findall(r"\bkgx:([A-Za-z][\w-]*)", text):
            used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert used
    missing = {name: sorted(where) for name, where in used.items() if K[name] not in names}
    assert not missing, f"queries use undeclared kgx terms: {missing}"


def test_every_term_has_one_english_label_and_comment(ontology) -> None:
    terms = declared(ontology)
    assert len(terms) > 150
    for term in sorted(terms):
        assert len(english(ontology, term, RDFS.label)) == 1, f"{term}: needs one English rdfs:label"
        assert len(english(ontology, term, RDFS.comment)) == 1, f"{term}: needs one English rdfs:comment"


# --- (b) every published class is the target of a shape, and the graphs conform -------------------------


def targeted_classes(shapes: rdflib.Graph) -> set[rdflib.URIRef]:
    return set(shapes.objects(None, SH.targetClass))


def untargeted(graph: rdflib.Graph, targets: set[rdflib.URIRef]) -> list[tuple[str, str]]:
    """(class, example instance) for classes that no shape targets, unless each of their instances also has a
    targeted type (prov:Activity and mls:Run of a kgx:MiningRun)."""
    bad = {}
    for node, cls in graph.subject_objects(RDF.type):
        if cls not in targets and not any(t in targets for t in graph.objects(node, RDF.type)):
            bad.setdefault(str(cls), str(node))
    return sorted(bad.items())


def test_every_published_class_is_targeted_by_a_shape(graphs, shapes) -> None:
    targets = targeted_classes(shapes)
    classes = set()
    for name, graph in graphs.items():
        assert not untargeted(graph, targets), f"{name}: {untargeted(graph, targets)}"
        classes |= {c for c in graph.objects(None, RDF.type) if c in targets}
    assert {
        K.Dataset,
        K.Document,
        K.Token,
        K.Prediction,
        K.Mention,
        K.AttributionRun,
        K.ActivationRun,
        K.Layer,
        K.Neuron,
        K.NeuronToken,
        K.ActivationVector,
        K.MiningRun,
        K.AssociationRule,
        K.Item,
        K.EntityInfluence,
        K.NeuronRuleRun,
        K.NeuronRule,
        K.NeuronConceptRuleRun,
        K.NeuronConceptRule,
        K.Concept,
        K.RedescriptionRun,
        K.Redescription,
        MLS.HyperParameterSetting,
        MLS.Implementation,
    } <= classes


@pytest.mark.parametrize(
    "name",
    [
        "dataset",
        "attribution",
        "activation",
        "mining",
        "neuron rules",
        "neuron-concept rules",
        "redescriptions",
        "catalog",
    ],
)
def test_every_published_graph_conforms(name: str) -> None:
    report = validate(published_graphs()[name])
    assert report.conforms, report.report[:3000]


@pytest.mark.parametrize(
    "breakage",
    [
        "document without text",
        "setting without value",
        "run without status",
        "implementation without label",
        "prediction of no run",
    ],
)
def test_the_new_shapes_bite(breakage: str) -> None:
    graph = "dataset" if breakage == "document without text" else "attribution"
    lines = published_graphs()[graph].decode().splitlines(keepends=True)
    drop = {
        "document without text": "#text>",
        "setting without value": "mls#hasValue>",
        "run without status": "#status>",
        "prediction of no run": "/pred/",
    }.get(breakage)
    if drop == "/pred/":
        lines = [ln for ln in lines if not (drop in ln.split(" ")[0] and "#run>" in ln)]
    elif drop:
        lines = [ln for ln in lines if drop not in ln]
    else:
        lines = [ln for ln in lines if not ("/implementation/" in ln.split(" ")[0] and "rdf-schema#label" in ln)]
    assert len(lines) < len(published_graphs()[graph].decode().splitlines())
    report = validate("".join(lines).encode())
    assert not report.conforms and report.violations >= 1


def test_every_shape_is_about_declared_terms(shapes, ontology) -> None:
    names = declared(ontology)
    for target in targeted_classes(shapes):
        assert target in names or target.startswith(str(MLS)), f"shape target {target} is not declared"
    paths = {p for p in shapes.objects(None, SH.path) if isinstance(p, rdflib.URIRef) and p.startswith(KGX)}
    assert not sorted(paths - names), f"shapes constrain undeclared properties: {sorted(paths - names)}"


# --- ML Schema settings in run records -------------------------------------------------------------------


def test_settings_are_also_ml_schema_hyper_parameter_settings(graphs, ontology) -> None:
    catalog = graphs["catalog"]
    runs = set(catalog.subjects(RDF.type, MLS.Run))
    assert len(runs) == 6
    for run in runs:
        plain = {p: o for p, o in catalog.predicate_objects(run) if p.startswith(KGX)}
        settings = {
            catalog.value(s, MLS.specifiedBy): catalog.value(s, MLS.hasValue)
            for s in catalog.objects(run, MLS.hasInput)
        }
        assert settings, run
        for setting in catalog.objects(run, MLS.hasInput):
            assert (setting, RDF.type, MLS.HyperParameterSetting) in catalog
        for hyper_parameter, value in settings.items():
            assert (hyper_parameter, RDF.type, MLS.HyperParameter) in ontology, hyper_parameter
            assert plain[hyper_parameter] == value  # the same value as the plain kgx property
        chosen = {
            p
            for p in plain
            if p.removeprefix(KGX) not in OUTCOMES
            and p.removeprefix(KGX) not in IMPLEMENTATIONS
            and (p, RDF.type, MLS.HyperParameter) in ontology
        }
        assert chosen == set(settings), run
        assert not any(name in OUTCOMES for name in (h.removeprefix(KGX) for h in settings))
        for name in IMPLEMENTATIONS:
            if K[name] in plain:
                implementations = [
                    i
                    for i in catalog.objects(run, MLS.executes)
                    if str(catalog.value(i, RDFS.label)).startswith(f"{plain[K[name]]} ")
                ]
                assert len(implementations) == 1 and (implementations[0], RDF.type, MLS.Implementation) in catalog
    for run in catalog.subjects(K.informedBy, None):
        assert (run, PROV.wasInformedBy, catalog.value(run, K.informedBy)) in catalog


def test_every_setting_a_run_record_writes_is_declared_as_hyper_parameter_or_outcome(ontology) -> None:
    settings = [n for n in (OUTCOMES | set(IMPLEMENTATIONS))]
    assert all(K[n] in declared(ontology) for n in settings)
    assert not any((K[n], RDF.type, MLS.HyperParameter) in ontology for n in settings)


# --- (c) the ontology and its alignments -------------------------------------------------------------------


def test_ontology_header(ontology) -> None:
    o = rdflib.URIRef("https://w3id.org/kgexplain/ns")
    assert (o, RDF.type, OWL.Ontology) in ontology
    assert english(ontology, o, DCTERMS.title) and english(ontology, o, DCTERMS.description)
    assert ontology.value(o, DCTERMS.license) is not None and ontology.value(o, OWL.versionInfo) is not None
    assert str(ontology.value(o, DCTERMS.creator)) == "kgexplain"
    assert str(ontology.value(o, VANN.preferredNamespacePrefix)) == "kgx"
    assert str(ontology.value(o, VANN.preferredNamespaceUri)) == KGX


def test_ontology_is_aligned(ontology) -> None:
    def sub(cls: rdflib.URIRef) -> set[rdflib.URIRef]:
        return set(ontology.transitive_objects(cls, RDFS.subClassOf))

    classes = set(ontology.subjects(RDF.type, OWL.Class))
    runs = {c for c in classes if str(c).endswith("Run")}
    assert len(runs) >= 6
    for run in runs:
        assert {MLS.Run, PROV.Activity} <= sub(run), f"{run} must be an mls:Run and a prov:Activity"
    for result in (
        "Dataset",
        "Document",
        "Token",
        "Mention",
        "Prediction",
        "EntityInfluence",
        "AssociationRule",
        "Layer",
        "Neuron",
        "NeuronToken",
        "ActivationVector",
        "NeuronRule",
        "Redescription",
        "NeuronConceptRule",
    ):
        assert PROV.Entity in sub(K[result]), f"kgx:{result} must be a prov:Entity"
        assert PROV.Activity not in sub(K[result])
    for concept in ("Item", "Concept", "ClassLabel"):
        assert SKOS.Concept in sub(K[concept])
    assert DCAT.Dataset in sub(K.Dataset)
    for prop, parent in (
        ("run", PROV.wasGeneratedBy),
        ("informedBy", PROV.wasInformedBy),
        ("onDataset", PROV.used),
        ("kgGraph", PROV.used),
        ("runGraph", PROV.generated),
    ):
        assert (K[prop], RDFS.subPropertyOf, parent) in ontology
    hyper = set(ontology.subjects(RDF.type, MLS.HyperParameter))
    assert len(hyper) >= 20
    for term in hyper:
        assert (term, RDF.type, OWL.DatatypeProperty) in ontology, f"{term}: a hyper-parameter must be a kgx property"


def test_ontology_references_only_declared_or_known_terms(ontology) -> None:
    names = declared(ontology)
    kinds = {
        OWL.Class: (RDFS.subClassOf,),
        OWL.ObjectProperty: (RDFS.subPropertyOf,),
        OWL.DatatypeProperty: (RDFS.subPropertyOf,),
    }
    for term in names:
        for predicate in (RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range):
            for target in ontology.objects(term, predicate):
                assert target in names or target in KNOWN_EXTERNAL, f"{term} {predicate} {target}: unknown term"
        types = set(ontology.objects(term, RDF.type))
        assert types & (set(kinds) | {RDF.Property, OWL.NamedIndividual, RDFS.Datatype}), f"{term}: no kind"
        assert not ({OWL.Class} & types and types & {OWL.ObjectProperty, OWL.DatatypeProperty}), term
        if OWL.DatatypeProperty in types:
            for target in ontology.objects(term, RDFS.range):
                assert target.startswith(str(XSD)) or (target, RDF.type, RDFS.Datatype) in ontology, term
        if OWL.ObjectProperty in types:
            for target in ontology.objects(term, RDFS.range):
                assert not target.startswith(str(XSD)), term


# --- (d) the document --------------------------------------------------------------------------------------


def test_vocabulary_document_is_current(ontology) -> None:
    text = vocabulary_markdown()
    assert DOCUMENT.read_text(encoding="utf-8") == text, (
        "docs/vocabulary.md is stale: python -m kgexplain.publish.vocabdoc"
    )
    for term in declared(ontology):
        assert f"### `kgx:{term.removeprefix(KGX)}`" in text
    assert "/work/" not in text and "/home/" not in text
