"""`kgexplain export` on the demo's real mining run: JSON-LD round trip, SHACL rules applied by pySHACL to
new entities, SWRL structure, and a DCAT catalog that passes its shapes."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import URIRef
from rdflib.compare import isomorphic
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.evaluation.metrics import assign_classes
from kgexplain.mining.rules import Item
from kgexplain.publish.export import CONTEXT, SWRL, read_rule_set
from kgexplain.store import EmbeddedStore
from kgexplain.vocab import KGX, local_id

K = rdflib.Namespace(KGX)
RDF_TYPE = rdflib.RDF.type
NEW = "https://example.org/new/"


@pytest.fixture(scope="module")
def exported(demo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path], str]:
    """Every format written by the command from a copy of the demo store: (store, outputs, run graph)."""
    out, _ = demo
    work = tmp_path_factory.mktemp("exports")
    store = work / "store"
    shutil.copytree(out / "store", store)
    outputs = {}
    for fmt in ("turtle", "json-ld", "swrl", "shacl-rules", "dcat"):
        outputs[fmt] = work / f"rules.{fmt}"
        result = CliRunner().invoke(
            app,
            ["export", "--store", str(store), "--dataset", "synthetic", "--format", fmt, "--output", str(outputs[fmt])],
        )
        assert result.exit_code == 0, result.output
    graph = json.loads((out / "summary.json").read_text())["rules_graph"]
    return store, outputs, graph


@pytest.mark.e2e
def test_demo_jsonld_round_trips(exported: tuple[Path, dict[str, Path], str]) -> None:
    store, outputs, graph = exported
    with EmbeddedStore(store) as db:
        stored = rdflib.Graph().parse(data=db.dump(ox.NamedNode(graph)), format="nt")
    document = json.loads(outputs["json-ld"].read_text())
    assert document["@context"] == json.loads(CONTEXT.read_text())["@context"]
    back = rdflib.Graph().parse(outputs["json-ld"], format="json-ld")
    assert len(back) == len(stored) > 100
    assert isomorphic(back, stored)
    oxigraph = {str(t) for t in ox.parse(path=str(outputs["json-ld"]), format=ox.RdfFormat.JSON_LD)}
    assert oxigraph == {str(t) for t in ox.parse(path=str(outputs["turtle"]), format=ox.RdfFormat.TURTLE)}


@pytest.mark.e2e
def test_demo_shacl_rules_classify_new_entities_as_kgexplain_does(exported: tuple[Path, dict[str, Path], str]) -> None:
    """New entities, each given the items of some real rules plus real facts of other entities of the
    demo's KG; pySHACL applies the exported rules, the most confident rule decides."""
    import pyshacl

    store, outputs, graph = exported
    with EmbeddedStore(store) as db:
        rule_set = read_rule_set(db, graph)
        kg = rdflib.Graph().parse(data=db.dump(ox.NamedNode(rule_set.kg_graph)), format="nt")
    rules = [r.rule for r in rule_set.rules]
    assert rules
    pool = sorted({i for r in rules for i in r.antecedent})
    facts = sorted((s, p, o) for s, p, o in kg if isinstance(o, URIRef) and p != rdflib.RDFS.label)
    rng = random.Random(5)
    data, items = rdflib.Graph(), {}
    for k in range(40):
        entity = URIRef(f"{NEW}e{k}")
        mine: set[Item] = set(rng.sample(pool, rng.randint(0, min(3, len(pool)))))
        for _s, p, o in rng.sample(facts, 2):  # someone else's facts, moved onto the new entity
            mine.add(Item("out", str(p), str(o)))
        for item in mine:
            assert not item.literal
            if item.direction == "out":
                data.add((entity, URIRef(item.property), URIRef(item.value)))
            else:
                data.add((URIRef(item.value), URIRef(item.property), entity))
        items[str(entity)] = mine
    pyshacl.validate(data, shacl_graph=rdflib.Graph().parse(outputs["shacl-rules"]), advanced=True, inplace=True)
    prop = K["conf" + rule_set.measure]
    best: dict[str, tuple[float, set[str]]] = {}
    for rule, entity in data.subject_objects(K.coversEntity):
        score, cls = float(data.value(rule, prop)), local_id(str(data.value(rule, K.consequent)))
        current = best.get(str(entity))
        if current is None or score > current[0]:
            best[str(entity)] = (score, {cls})
        elif score == current[0]:
            current[1].add(cls)
    classes = {e: next(iter(c)) for e, (_, c) in best.items() if len(c) == 1}
    expected = assign_classes(rules, items, rule_set.measure)
    assert len(expected.classes) >= 10
    assert classes == expected.classes


@pytest.mark.e2e
def test_demo_swrl_and_dcat(exported: tuple[Path, dict[str, Path], str]) -> None:
    import pyshacl

    store, outputs, graph = exported
    with EmbeddedStore(store) as db:
        rule_set = read_rule_set(db, graph)
    swrl = rdflib.Graph().parse(outputs["swrl"])
    imps = set(swrl.subjects(RDF_TYPE, SWRL.Imp))
    assert len(imps) == len(rule_set.rules)
    assert {str(swrl.value(i, rdflib.PROV.wasDerivedFrom)) for i in imps} == {r.iri for r in rule_set.rules}
    dcat = rdflib.Graph().parse(outputs["dcat"])
    conforms, _, text = pyshacl.validate(dcat, shacl_graph=rdflib.Graph().parse(CONTEXT.parent / "dcat-shapes.ttl"))
    assert conforms, text
    assert (URIRef(graph), RDF_TYPE, rdflib.DCAT.Dataset) in dcat
