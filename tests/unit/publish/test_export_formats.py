"""Exports of a mining run (issue #8): compacted JSON-LD, SWRL, SHACL rules and DCAT.

The store here holds a mining run published the way ``mine_stage`` publishes one (``rule_triples`` and
``run_triples`` into the run graph and the catalog, in one transaction) with rules drawn at random over
real Wikidata items: outgoing and incoming items, literal items, antecedents of one to three items, both
classes, confidences that often tie. The rules are then applied to *new* entities, made up here from
those items and unrelated facts, by external engines (pySHACL for the SHACL rules, HermiT through
owlready2 for SWRL), and the outcome must be kgexplain's own ``assign_classes``."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import rdflib
from rdflib import Literal, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, PROV, RDF, RDFS
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.evaluation.metrics import assign_classes
from kgexplain.mining.rules import Item, Rule
from kgexplain.publish.export import CONTEXT, SWRL, SWRL_VARIABLE, export_rules, read_rule_set
from kgexplain.publish.rdf import RunRecord, rule_triples, run_triples
from kgexplain.store import EmbeddedStore, open_store
from kgexplain.vocab import KGX, WD, WDT, Minter, local_id, nt_iri, nt_str

MINTER = Minter()
RUN = "mine-export-test"
DATASET = "toy"
GRAPH = MINTER.run_graph(RUN).value
NEW = "https://example.org/new/"
K = rdflib.Namespace(KGX)
# plain namespaces: pytest probes module attributes, and rdflib warns on unknown names of its closed ones
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
XSD = rdflib.Namespace("http://www.w3.org/2001/XMLSchema#")
DCAT_SHAPES = CONTEXT.parent / "dcat-shapes.ttl"
ONTOLOGY = CONTEXT.parent / "kgexplain.ttl"

#: Items over real Wikidata terms: nationality, occupation, instance of (outgoing); creator, author
#: (incoming: the entity is the fact's object); demonym and population (literals).
ITEMS = [
    Item("out", WDT + "P27", WD + "Q142"),
    Item("out", WDT + "P27", WD + "Q183"),
    Item("out", WDT + "P106", WD + "Q1028181"),
    Item("out", WDT + "P31", WD + "Q5"),
    Item("in", WDT + "P170", WD + "Q12418"),
    Item("in", WDT + "P50", WD + "Q8337"),
    Item("out", WDT + "P1549", "Terran", literal=True),
    Item("out", WDT + "P1082", "42", literal=True),
]
#: How the knowledge graph writes the literal items' values.
LITERALS = {(WDT + "P1549", "Terran"): Literal("Terran"), (WDT + "P1082", "42"): Literal("42", datatype=XSD.integer)}
CONFIDENCES = [0.6, 0.75, 0.8, 0.9, 1.0]


def random_rules(rng: random.Random, n: int = 25) -> list[Rule]:
    rules: dict[str, Rule] = {}
    while len(rules) < n:
        antecedent = tuple(sorted(rng.sample(ITEMS, rng.randint(1, 3))))
        confidence = {
            m: rng.choice(CONFIDENCES) if rng.random() < 0.8 else rng.random() for m in ("TC", "TS", "WTS", "H")
        }
        rule = Rule(
            antecedent, rng.choice(["Pos", "Neg"]), rng.randint(2, 30), confidence, 1.0 + rng.random(), np.array([0, 1])
        )
        rules.setdefault(rule.key(), rule)
    return list(rules.values())


def new_entities(rng: random.Random, n: int = 50) -> tuple[dict[str, set[Item]], rdflib.Graph]:
    """Fresh entities (not in the store) with random items and unrelated facts, as items and as RDF."""
    items: dict[str, set[Item]] = {}
    data = rdflib.Graph()
    for k in range(n):
        entity = f"{NEW}e{k}"
        mine = set(rng.sample(ITEMS, rng.randint(0, 5)))
        mine.add(Item("out", WDT + "P735", WD + f"Q{rng.randint(1, 99)}"))  # given name: never in a rule
        if rng.random() < 0.5:
            mine.add(Item("in", WDT + "P40", WD + f"Q{rng.randint(100, 199)}"))  # someone's child
        items[entity] = mine
        e = URIRef(entity)
        for item in mine:
            p = URIRef(item.property)
            if item.literal:
                data.add((e, p, LITERALS[(item.property, item.value)]))
            elif item.direction == "out":
                data.add((e, p, URIRef(item.value)))
            else:
                data.add((URIRef(item.value), p, e))
    return items, data


def build_store(path: Path | None, rules: list[Rule], measure: str) -> EmbeddedStore:
    store = open_store(path)
    record = RunRecord(
        RUN,
        "MiningRun",
        MINTER.dataset(DATASET),
        GRAPH,
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:01:00Z",
        settings={
            "theta": 0.8,
            "minConfidence": 0.5,
            "minSupport": 2,
            "maxAntecedentLength": 3,
            "measure": measure,
            "transactions": 2,
        },
        links={"informedBy": MINTER.run("explain-x"), "kgGraph": MINTER.kg_graph(DATASET).value},
    )
    labels = {WD + "P27": "country of citizenship", WD + "Q142": "France"}
    body = list(rule_triples(rules, RUN, MINTER, labels, [WD + "Q1", WD + "Q2"], {}))
    store.publish(
        {
            MINTER.run_graph(RUN): body + list(run_triples(record, MINTER)),
            MINTER.catalog_graph(): list(run_triples(record, MINTER)),
        }
    )
    kg = [(nt_iri(WD + "Q2"), nt_iri(p), lit.n3()) for (p, _), lit in LITERALS.items()]
    kg.append((nt_iri(WD + "Q2"), nt_iri(WDT + "P1549"), nt_str("Terran", lang="en")))  # another form: SHACL only
    store.load(kg, MINTER.kg_graph(DATASET))
    store.load(
        [(nt_iri(MINTER.dataset(DATASET)), nt_iri(KGX + "name"), nt_str(DATASET))], MINTER.dataset_graph(DATASET)
    )
    return store


@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory) -> tuple[EmbeddedStore, list[Rule]]:
    rules = random_rules(random.Random(8))
    store = build_store(tmp_path_factory.mktemp("export") / "store", rules, measure="TS")
    yield store, rules
    store.close()


def resolve(graph: rdflib.Graph) -> tuple[dict[str, str], int]:
    """The consumer's side: per entity, the class of the most confident rule that covers it under the run's
    measure (both read from the inferred graph); entities whose best rules disagree are ties."""
    measure = {str(m) for m in graph.objects(None, K.measure)}
    assert len(measure) == 1, measure
    prop = K["conf" + measure.pop()]
    best: dict[str, tuple[float, set[str]]] = {}
    for rule, entity in graph.subject_objects(K.coversEntity):
        score = float(graph.value(rule, prop))
        cls = local_id(str(graph.value(rule, K.consequent)))
        current = best.get(str(entity))
        if current is None or score > current[0]:
            best[str(entity)] = (score, {cls})
        elif score == current[0]:
            current[1].add(cls)
    return {e: next(iter(c)) for e, (_, c) in best.items() if len(c) == 1}, sum(len(c) > 1 for _, c in best.values())


# ---------------------------------------------------------------------------------------------------
# JSON-LD


def test_context_covers_the_vocabulary() -> None:
    """Every class and property of ontology/kgexplain.ttl has a term; numeric ranges are coerced."""
    context = json.loads(CONTEXT.read_text())["@context"]
    assert context["@version"] == 1.1
    for prefix in ("kgx", "prov", "mls", "skos", "dcat", "dcterms", "xsd", "wd", "wdt"):
        assert prefix in context
    onto = rdflib.Graph().parse(ONTOLOGY)
    expanded = {}
    for name, term in context.items():
        if isinstance(term, dict):
            expanded[term["@id"]] = term.get("@type")
        elif isinstance(term, str) and not name.startswith("@"):
            expanded[term] = None
    missing, wrong = [], []
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        for s in onto.subjects(RDF.type, kind):
            if not str(s).startswith(KGX):
                continue
            compact = "kgx:" + str(s)[len(KGX) :]
            if compact not in expanded:
                missing.append(compact)
                continue
            rng = onto.value(s, RDFS.range)
            if kind == OWL.ObjectProperty and expanded[compact] not in ("@id", "@vocab"):
                wrong.append(compact)
            if (
                kind == OWL.DatatypeProperty
                and rng is not None
                and rng != XSD.string
                and expanded[compact] != str(rng).replace(str(XSD), "xsd:").replace(KGX, "kgx:")
            ):
                wrong.append(compact)
    assert not missing, f"terms missing from ontology/context.jsonld: {missing}"
    assert not wrong, f"terms whose coercion disagrees with their range: {wrong}"


def test_jsonld_is_compacted_and_round_trips(mined: tuple[EmbeddedStore, list[Rule]], tmp_path: Path) -> None:
    store, rules = mined
    out = tmp_path / "rules.jsonld"
    result = export_rules(store, GRAPH, out, "json-ld")
    document = json.loads(out.read_text())
    assert document["@context"] == json.loads(CONTEXT.read_text())["@context"]  # embedded, works offline
    nodes = {n["@id"]: n for n in document["@graph"]}
    rule = nodes[MINTER.rule(RUN, rules[0].key())]
    assert rule["@type"] == "AssociationRule" and rule["consequent"] == rules[0].consequent
    assert {"confTC", "confTS", "confWTS", "confH", "support", "rank"} <= set(rule)  # typed terms used
    stored = rdflib.Graph().parse(data=store.dump(MINTER.run_graph(RUN)), format="nt")
    back = rdflib.Graph().parse(out, format="json-ld")
    assert len(back) == len(stored) == result.triples
    assert isomorphic(back, stored)


# ---------------------------------------------------------------------------------------------------
# SHACL rules


@pytest.mark.slow
def test_shacl_rules_applied_by_pyshacl_agree_with_assign_classes(
    mined: tuple[EmbeddedStore, list[Rule]], tmp_path: Path
) -> None:
    import pyshacl

    store, rules = mined
    out = tmp_path / "rules.shacl.ttl"
    result = export_rules(store, GRAPH, out, "shacl-rules")
    assert result.rules == len(rules)
    shapes = rdflib.Graph().parse(out)
    assert len(set(shapes.subjects(RDF.type, rdflib.SH.SPARQLRule))) == len(rules)
    items, data = new_entities(random.Random(21))
    assert not set(items) & {
        str(s) for s in rdflib.Graph().parse(data=store.dump(MINTER.kg_graph(DATASET)), format="nt").all_nodes()
    }
    pyshacl.validate(data, shacl_graph=shapes, advanced=True, inplace=True)
    classes, ties = resolve(data)
    expected = assign_classes(rules, items, "TS")
    assert len(expected.classes) >= 20 and expected.ties >= 1  # the draw exercises conflicts and ties
    assert classes == expected.classes
    assert ties == expected.ties
    # the head holds every class of every matching rule, before any resolution
    for entity, mine in items.items():
        predicted = {local_id(str(c)) for c in data.objects(URIRef(entity), K.predictedClass)}
        assert predicted == {r.consequent for r in rules if set(r.antecedent) <= mine}, entity


# ---------------------------------------------------------------------------------------------------
# SWRL


def _atoms(g: rdflib.Graph, head: rdflib.term.Node) -> list[tuple[str, str, str, str]]:
    out = []
    for atom in Collection(g, head):
        out.append(
            (
                local_id(str(g.value(atom, RDF.type))),
                str(g.value(atom, SWRL.propertyPredicate)),
                str(g.value(atom, SWRL.argument1)),
                str(g.value(atom, SWRL.argument2)),
            )
        )
    return out


def test_swrl_has_one_imp_per_rule_with_one_atom_per_item(
    mined: tuple[EmbeddedStore, list[Rule]], tmp_path: Path
) -> None:
    store, rules = mined
    out = tmp_path / "rules.swrl.ttl"
    export_rules(store, GRAPH, out, "swrl")
    g = rdflib.Graph().parse(out)
    imps = list(g.subjects(RDF.type, SWRL.Imp))
    assert len(imps) == len(rules)
    x = SWRL_VARIABLE
    for rule in rules:
        iri = MINTER.rule(RUN, rule.key())
        (imp,) = [i for i in imps if str(g.value(i, PROV.wasDerivedFrom)) == iri]
        assert str(g.value(imp, RDFS.comment)) == str(g.value(URIRef(iri), RDFS.label))
        expected = []
        for item in rule.antecedent:
            if item.literal:
                expected.append(("DatavaluedPropertyAtom", item.property, x, item.value))
            elif item.direction == "out":
                expected.append(("IndividualPropertyAtom", item.property, x, item.value))
            else:
                expected.append(("IndividualPropertyAtom", item.property, item.value, x))
        assert sorted(_atoms(g, g.value(imp, SWRL.body))) == sorted(expected)
        assert sorted(_atoms(g, g.value(imp, SWRL.head))) == sorted(
            [
                ("IndividualPropertyAtom", KGX + "predictedClass", x, KGX + rule.consequent),
                ("IndividualPropertyAtom", KGX + "coversEntity", iri, x),
            ]
        )
    # literal atoms carry the knowledge graph's own literal where it has exactly one form
    literal_atoms = {
        (str(g.value(a, SWRL.propertyPredicate)), g.value(a, SWRL.argument2))
        for a in g.subjects(RDF.type, SWRL.DatavaluedPropertyAtom)
    }
    assert (WDT + "P1082", LITERALS[(WDT + "P1082", "42")]) in literal_atoms


@pytest.fixture(scope="session")
def hermit() -> None:
    """owlready2 (test extra) runs HermiT on Java: fails in CI when either is missing, skips elsewhere.
    (owlready2's Pellet needs a newer Java than Debian's 17; HermiT runs on it and implements SWRL.)"""
    try:
        import owlready2  # noqa: F401
    except ImportError:
        pytest.fail("owlready2 is missing: it is in the test extra (pip install -e '.[test]')")
    if shutil.which("java") is None:
        message = "HermiT needs Java on PATH (Debian: apt install default-jre-headless)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.slow
def test_swrl_applied_by_hermit_agrees_with_assign_classes(
    mined: tuple[EmbeddedStore, list[Rule]], tmp_path: Path, hermit: None
) -> None:
    """An OWL reasoner that implements SWRL (HermiT, through owlready2) applies the exported rules to new
    entities; resolving its inferences by confidence gives kgexplain's classes."""
    import owlready2

    store, rules = mined
    out = tmp_path / "rules.swrl.ttl"
    export_rules(store, GRAPH, out, "swrl")
    items, data = new_entities(random.Random(21))
    merged = rdflib.Graph().parse(out)
    for entity in items:
        merged.add((URIRef(entity), RDF.type, OWL.NamedIndividual))
    for s, p, o in data:
        merged.add((s, p, o))
        if isinstance(o, URIRef):
            merged.add((o, RDF.type, OWL.NamedIndividual))
            merged.add((s, RDF.type, OWL.NamedIndividual))
        if (p, RDF.type, None) not in merged:
            merged.add((p, RDF.type, OWL.DatatypeProperty if isinstance(o, Literal) else OWL.ObjectProperty))
    world = owlready2.World()
    onto = world.get_ontology("https://example.org/swrl-check.owl").load(
        fileobj=io.BytesIO(merged.serialize(format="nt", encoding="utf-8")), format="ntriples"
    )
    with onto:
        owlready2.sync_reasoner_hermit(world, infer_property_values=True, debug=0)
    inferred = world.as_rdflib_graph()
    result = rdflib.Graph()
    for triple in inferred.triples((None, K.coversEntity, None)):
        result.add(triple)
    for pred in (K.consequent, K.measure, K.confTS):
        for triple in inferred.triples((None, pred, None)):
            result.add(triple)
    classes, ties = resolve(result)
    expected = assign_classes(rules, items, "TS")
    assert classes == expected.classes
    assert ties == expected.ties


# ---------------------------------------------------------------------------------------------------
# DCAT


def test_dcat_conforms_to_the_dcat_shapes(mined: tuple[EmbeddedStore, list[Rule]], tmp_path: Path) -> None:
    import pyshacl

    store, _ = mined
    out = tmp_path / "catalog.ttl"
    export_rules(store, GRAPH, out, "dcat", endpoint_url="https://rules.example.org/sparql")
    g = rdflib.Graph().parse(out)
    shapes = rdflib.Graph().parse(DCAT_SHAPES)
    conforms, _, text = pyshacl.validate(g, shacl_graph=shapes)
    assert conforms, text
    (dataset,) = g.subjects(RDF.type, DCAT.Dataset)
    assert str(dataset) == GRAPH
    assert str(g.value(dataset, PROV.wasGeneratedBy)) == MINTER.run(RUN)
    (service,) = g.subjects(RDF.type, DCAT.DataService)
    assert str(g.value(service, DCAT.endpointURL)) == "https://rules.example.org/sparql"
    assert (service, DCAT.servesDataset, dataset) in g
    media = {
        str(g.value(d, DCAT.mediaType)).rsplit("media-types/", 1)[1] for d in g.objects(dataset, DCAT.distribution)
    }
    assert media == {"text/turtle", "application/n-triples", "application/ld+json"}
    downloads = {str(u) for u in g.objects(None, DCAT.downloadURL)}
    assert all(u.startswith("https://rules.example.org/store?graph=") for u in downloads) and len(downloads) == 1
    # the shapes are not vacuous: a service without an endpoint, a distribution without a media type fail
    broken = rdflib.Graph()
    for triple in g:
        if triple[1] not in (DCAT.endpointURL, DCAT.mediaType):
            broken.add(triple)
    conforms, report, _ = pyshacl.validate(broken, shacl_graph=shapes)
    assert not conforms
    assert len(set(report.subjects(RDF.type, rdflib.SH.ValidationResult))) == 1 + len(
        list(g.objects(dataset, DCAT.distribution))
    )


# ---------------------------------------------------------------------------------------------------
# the command


def test_export_command_writes_every_format(mined: tuple[EmbeddedStore, list[Rule]], tmp_path: Path) -> None:
    store, rules = mined
    path = tmp_path / "store"
    with open_store(path) as copy:
        copy.load(store.dump(MINTER.run_graph(RUN)), MINTER.run_graph(RUN))
        copy.load(store.dump(MINTER.catalog_graph()), MINTER.catalog_graph())
        copy.load(store.dump(MINTER.kg_graph(DATASET)), MINTER.kg_graph(DATASET))
        copy.load(store.dump(MINTER.dataset_graph(DATASET)), MINTER.dataset_graph(DATASET))
    runner = CliRunner()
    for fmt in ("turtle", "ntriples", "json-ld", "swrl", "shacl-rules", "dcat"):
        out = tmp_path / f"rules.{fmt}"
        result = runner.invoke(
            app, ["export", "--store", str(path), "--dataset", DATASET, "--format", fmt, "--output", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert out.is_file() and not out.with_name(out.name + ".tmp").exists()
        if fmt in ("swrl", "shacl-rules"):
            assert f"wrote {len(rules)} rules" in result.output
    result = runner.invoke(
        app, ["export", "--store", str(path), "--dataset", DATASET, "--format", "owl", "--output", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "unknown export format" in result.output


def test_read_rule_set_gives_back_the_published_rules(mined: tuple[EmbeddedStore, list[Rule]]) -> None:
    store, rules = mined
    rule_set = read_rule_set(store, GRAPH)
    assert rule_set.measure == "TS" and rule_set.run == MINTER.run(RUN)
    assert {(r.rule.antecedent, r.rule.consequent, tuple(r.rule.confidence.values())) for r in rule_set.rules} == {
        (r.antecedent, r.consequent, tuple(min(1.0, max(0.0, c)) for c in r.confidence.values())) for r in rules
    }
