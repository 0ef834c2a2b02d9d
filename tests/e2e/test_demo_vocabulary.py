"""Every graph of a real store, as `kgexplain demo` and the three neuron commands leave it (the catalog, the
dataset and knowledge-graph graphs, and the attribution, activation, mining, neuron-rule, neuron-concept-rule
and redescription run graphs), against the vocabulary and the shapes: every kgx term it uses is declared with an
English label and comment, every class it instantiates is the target of a shape, and every graph passes SHACL
validation in full."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import RDF, RDFS
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.publish.shacl import ONTOLOGY, SHAPES, validate
from kgexplain.store import EmbeddedStore
from kgexplain.vocab import KGX

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
MLS = rdflib.Namespace("http://www.w3.org/ns/mls#")


@pytest.fixture(scope="module")
def store_graphs(demo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """graph IRI → its N-Triples, for a copy of the demo store with one run of each neuron command."""
    store = tmp_path_factory.mktemp("vocabulary") / "store"
    shutil.copytree(demo[0] / "store", store)
    common = ["--store", str(store), "--dataset", "synthetic"]
    for name, extra in (
        ("explainn", ["--layers", "head.relu1", "head.relu2"]),
        ("concepts", []),
        ("redescribe", ["--layer", "head.relu2", "--randomizations", "19"]),
    ):
        result = CliRunner().invoke(app, ["neurons", name, *common, *extra])
        assert result.exit_code == 0, result.output
    with EmbeddedStore(store) as db:
        return {g: db.dump(ox.NamedNode(g)) for g in db.graphs()}


def _kind(graph: str) -> str:
    found = re.search(r"/graph/(catalog|dataset|kg|run/[a-z]+)", graph)
    assert found, graph
    return found[1]


def _parse(data: bytes) -> rdflib.Graph:
    return rdflib.Graph().parse(data=data, format="nt")


@pytest.mark.e2e
def test_the_store_holds_every_kind_of_graph(store_graphs: dict[str, bytes]) -> None:
    kinds = {_kind(g) for g in store_graphs}
    assert kinds == {
        "catalog",
        "dataset",
        "kg",
        "run/explain",
        "run/activations",
        "run/mine",
        "run/neurons",
        "run/concepts",
        "run/redescribe",
    }, kinds


@pytest.mark.e2e
def test_every_kgx_term_in_the_store_is_declared_with_label_and_comment(store_graphs: dict[str, bytes]) -> None:
    ontology = rdflib.Graph().parse(ONTOLOGY, format="turtle")
    used: dict[str, str] = {}
    pattern = re.compile(rb"<(" + re.escape(KGX.encode()) + rb"[^>]+)>")
    for graph, data in store_graphs.items():
        for term in set(pattern.findall(data)):
            used.setdefault(term.decode(), graph)
    assert len(used) > 120
    missing = {t: g for t, g in used.items() if not any(ontology.triples((rdflib.URIRef(t), RDF.type, None)))}
    assert not missing, f"used in the store but not declared: {missing}"
    for term in used:
        for predicate in (RDFS.label, RDFS.comment):
            assert any(
                getattr(v, "language", None) == "en" for v in ontology.objects(rdflib.URIRef(term), predicate)
            ), f"{term}: no English {predicate}"


@pytest.mark.e2e
def test_every_class_kgexplain_instantiates_is_the_target_of_a_shape(store_graphs: dict[str, bytes]) -> None:
    """In every graph kgexplain writes with its own vocabulary (all but the knowledge graph, which is Wikidata's):
    each class is targeted by a shape, or each of its instances also has a targeted class (mls:Run, prov:Activity
    of a kgx:MiningRun)."""
    targets = set(rdflib.Graph().parse(SHAPES, format="turtle").objects(None, SH.targetClass))
    instantiated = set()
    for graph, data in store_graphs.items():
        if _kind(graph) == "kg":
            continue
        parsed = _parse(data)
        bad = {
            str(cls): str(node)
            for node, cls in parsed.subject_objects(RDF.type)
            if not any(t in targets for t in parsed.objects(node, RDF.type))
        }
        assert not bad, f"{graph}: instances of classes no shape targets: {bad}"
        instantiated |= set(parsed.objects(None, RDF.type)) & targets
    assert len(instantiated) >= 24
    assert {MLS.HyperParameterSetting, MLS.Implementation} <= instantiated


@pytest.mark.e2e
def test_every_graph_of_the_store_passes_shacl(store_graphs: dict[str, bytes]) -> None:
    """Each graph in full, as it is stored (the largest, the attribution run's, has some 265k triples)."""
    for graph, data in sorted(store_graphs.items(), key=lambda kv: len(kv[1])):
        report = validate(data)
        triples = data.count(b"\n")
        assert report.conforms, f"{graph} ({triples} triples):\n{report.report[:3000]}"


@pytest.mark.e2e
def test_run_records_carry_ml_schema_settings(store_graphs: dict[str, bytes]) -> None:
    catalog = _parse(next(data for g, data in store_graphs.items() if _kind(g) == "catalog"))
    runs = set(catalog.subjects(RDF.type, MLS.Run))
    assert len(runs) == 6
    for run in runs:
        settings = list(catalog.objects(run, MLS.hasInput))
        assert settings, f"{run} has no mls:HyperParameterSetting"
        for setting in settings:
            hyper_parameter = catalog.value(setting, MLS.specifiedBy)
            assert catalog.value(run, hyper_parameter) == catalog.value(setting, MLS.hasValue)
        assert any(catalog.objects(run, MLS.executes)), f"{run} executes no mls:Implementation"
