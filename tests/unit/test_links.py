"""`kgexplain link`: SSSOM parsing, an ontology's equivalences (a hand-written one in tests/data; the real
DBpedia ontology is read in tests/e2e/test_real_data_links.py), Wikidata's own mappings in a dump, and the stage
on a real (in-memory) store: what it publishes, where the service's query finds it, and that it conforms to the
shapes."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pyoxigraph as ox
import pytest

from kgexplain.config import Settings
from kgexplain.errors import InputError
from kgexplain.links import (
    DBO,
    DBR,
    OWL,
    SEMAPV,
    Link,
    dbpedia_resource,
    dump_links,
    link_stage,
    ontology_links,
    read_sssom,
    wikidata_forms,
)
from kgexplain.publish.shacl import validate
from kgexplain.queries import load_query
from kgexplain.store import EmbeddedStore, RemoteStore, TripleStore
from kgexplain.vocab import KGX, SKOS, WD, WDT, Minter

EXACT, CLOSE, BROAD, NARROW = (SKOS + n for n in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch"))
EX = "https://example.org/onto/"
#: A hand-written ontology in the DBpedia ontology's style (tests/data/README.md): 5 class and 4 property
#: equivalences to Wikidata, one malformed Wikidata IRI and one equivalence without a Wikidata side.
ONTOLOGY = Path(__file__).resolve().parents[1] / "data" / "ontology-mini.ttl"


# --- IRIs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iri", "forms"),
    [
        (WD + "Q5", (WD + "Q5",)),
        (WD + "P27", (WD + "P27", WDT + "P27")),
        (WDT + "P27", (WD + "P27", WDT + "P27")),
        ("https://www.wikidata.org/wiki/Q142", (WD + "Q142",)),
        ("https://www.wikidata.org/wiki/Property:P17", (WD + "P17", WDT + "P17")),
        (WD + "Q737498Q13381863", ()),
        (WD + "Q0", ()),
        (WD + "", ()),
        (DBO + "Person", None),
        ("http://www.wikidata.org/prop/statement/P27", None),
    ],
)
def test_wikidata_forms(iri: str, forms: tuple[str, ...] | None) -> None:
    assert wikidata_forms(iri) == forms


@pytest.mark.parametrize(
    ("page", "resource"),
    [
        ("https://en.wikipedia.org/wiki/Douglas_Adams", DBR + "Douglas_Adams"),
        ("https://en.wikipedia.org/wiki/Jan_Both_(painter)", DBR + "Jan_Both_(painter)"),
        ("https://en.wikipedia.org/wiki/Louis-Fran%C3%A7ois_Lejeune", DBR + "Louis-François_Lejeune"),
        ("https://en.wikipedia.org/wiki/What%3F_(film)", DBR + "What%3F_(film)"),
        ("https://en.wikipedia.org/wiki/A%22B", DBR + "A%22B"),
        ("https://de.wikipedia.org/wiki/Berlin", None),
        ("https://en.wikipedia.org/wiki/", None),
    ],
)
def test_dbpedia_resource_of_a_sitelink(page: str, resource: str | None) -> None:
    assert dbpedia_resource(page) == resource


# --- SSSOM ------------------------------------------------------------------------------------------


SSSOM_FILE = """\
# mapping_set_id: https://example.org/sets/rules
# license: https://creativecommons.org/publicdomain/zero/1.0/
# curie_map:
#   ex: https://example.org/onto/
#   WIKI: http://www.wikidata.org/entity/
subject_id\tsubject_label\tpredicate_id\tobject_id\tmapping_justification\tconfidence\tpredicate_modifier
wd:Q5\thuman\tskos:exactMatch\tdbo:Person\tsemapv:ManualMappingCuration\t0.95\t
wdt:P27\tcitizenship\tskos:closeMatch\tex:citizenOf\tsemapv:LexicalMatching\t\t
ex:Country\tcountry\tskos:broadMatch\tWIKI:Q6256\tsemapv:ManualMappingCuration\t0.8\t
<https://example.org/onto/Painter>\tpainter\towl:equivalentClass\t<http://www.wikidata.org/entity/Q1028181>\tsemapv:ManualMappingCuration\t\t
nope:Q1\tx\tskos:exactMatch\tdbo:Thing\tsemapv:ManualMappingCuration\t\t
wd:Q2\ttoo few cells\tskos:exactMatch
wd:Q3\tx\tskos:exactMatch\tdbo:Thing\tsemapv:ManualMappingCuration\t1.5\t
wd:Q4\tx\trdfs:subClassOf\tdbo:Thing\tsemapv:ManualMappingCuration\t\t
wd:Q5\tx\tskos:exactMatch\tdbo:Animal\tsemapv:ManualMappingCuration\t\tNot
wd:Q7Q8\tx\tskos:exactMatch\tdbo:Thing\tsemapv:ManualMappingCuration\t\t
wd:Q9\tx\tskos:exactMatch\tdbo:Thing\t\t\t

"""


def test_sssom_expands_curies_keeps_predicates_and_counts_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "rules.sssom.tsv"
    path.write_text(SSSOM_FILE, encoding="utf-8")
    parsed = read_sssom(path)
    assert parsed.metadata["mapping_set_id"] == "https://example.org/sets/rules"
    assert parsed.prefixes["ex"] == EX and parsed.prefixes["dbo"] == DBO
    manual = SEMAPV + "ManualMappingCuration"
    assert parsed.links == [
        Link(WD + "Q5", EXACT, DBO + "Person", "sssom", 0.95, manual),
        Link(WD + "P27", CLOSE, EX + "citizenOf", "sssom", None, SEMAPV + "LexicalMatching"),
        Link(WDT + "P27", CLOSE, EX + "citizenOf", "sssom", None, SEMAPV + "LexicalMatching"),
        # ex:Country broadMatch wd:Q6256 is wd:Q6256 narrowMatch ex:Country
        Link(WD + "Q6256", NARROW, EX + "Country", "sssom", 0.8, manual),
        Link(WD + "Q1028181", OWL + "equivalentClass", EX + "Painter", "sssom", None, manual),
    ]
    assert parsed.rows == 11
    report = parsed.report
    assert report.malformed == 7
    assert [p.split(":")[0] for p in report.problems] == [f"rules.sssom.tsv line {n}" for n in range(11, 18)]
    joined = "\n".join(report.problems)
    for reason in (
        "unknown prefix 'nope'",
        "3 cells where the header has 7",
        "outside [0, 1]",
        "unsupported predicate rdfs:subClassOf",
        "negated mapping",
        "malformed Wikidata IRI",
        "empty mapping_justification",
    ):
        assert reason in joined
    assert len(report.sha256 or "") == 64


def test_sssom_without_metadata_or_required_columns(tmp_path: Path) -> None:
    plain = tmp_path / "plain.tsv"
    plain.write_text(
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\n"
        "wd:Q5\tskos:exactMatch\tdbo:Person\tsemapv:ManualMappingCuration\n",
        encoding="utf-8",
    )
    assert [(k.subject, k.target) for k in read_sssom(plain).links] == [(WD + "Q5", DBO + "Person")]
    lacking = tmp_path / "lacking.tsv"
    lacking.write_text("subject_id\tobject_id\nwd:Q5\tdbo:Person\n", encoding="utf-8")
    with pytest.raises(InputError, match="lacks the column.*predicate_id, mapping_justification"):
        read_sssom(lacking)
    broken = tmp_path / "broken.tsv"
    broken.write_text(
        "# curie_map: [unclosed\nsubject_id\tpredicate_id\tobject_id\tmapping_justification\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="not valid YAML"):
        read_sssom(broken)
    with pytest.raises(InputError, match="does not exist"):
        read_sssom(tmp_path / "missing.tsv")


# --- ontologies -------------------------------------------------------------------------------------


def test_an_ontology_links_classes_and_both_forms_of_properties() -> None:
    links, report = ontology_links(ONTOLOGY)
    found = {(k.subject, k.relation, k.target) for k in links}
    assert (WD + "Q5", EXACT, DBO + "Person") in found
    assert (WD + "Q1028181", EXACT, DBO + "Painter") in found
    for form in (WD + "P27", WDT + "P27"):
        assert {t for s, _r, t in found if s == form} == {DBO + "nationality", DBO + "citizenship"}
    # 5 class equivalences, 4 property equivalences in two forms; the malformed one is counted, not linked
    assert len(links) == 5 + 2 * 4
    assert report.malformed == 1 and "Q1281618Q5" in report.problems[0]
    assert not any("Q1281618Q5" in k.subject for k in links)
    assert report.ignored == 1  # dbo:Agent = foaf:Agent
    assert all(wikidata_forms(k.subject) for k in links)
    assert report.sha256 == hashlib.sha256(ONTOLOGY.read_bytes()).hexdigest()


def test_ontology_directions_and_formats(tmp_path: Path) -> None:
    turtle = tmp_path / "onto.ttl.gz"
    with gzip.open(turtle, "wt", encoding="utf-8") as handle:
        handle.write(f"""
            @prefix owl: <{OWL}> . @prefix skos: <{SKOS}> . @prefix wd: <{WD}> . @prefix ex: <{EX}> .
            ex:Sub skos:broadMatch wd:Q5 .          # wd:Q5 narrowMatch ex:Sub
            wd:Q6256 skos:broadMatch ex:Region .    # kept as it is
            ex:within owl:equivalentProperty wd:P131 .
            ex:A owl:equivalentClass ex:B .         # no Wikidata side: ignored
            wd:Q1 owl:sameAs wd:Q2 .                # both in Wikidata: not a link out
        """)
    links, report = ontology_links(turtle)
    assert {(k.subject, k.relation, k.target) for k in links} == {
        (WD + "Q5", NARROW, EX + "Sub"),
        (WD + "Q6256", BROAD, EX + "Region"),
        (WD + "P131", EXACT, EX + "within"),
        (WDT + "P131", EXACT, EX + "within"),
    }
    assert report.ignored == 1 and report.malformed == 0
    xml = tmp_path / "onto.owl"
    xml.write_text(
        f"""<?xml version="1.0"?>
        <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:owl="{OWL}">
          <owl:Class rdf:about="{EX}Human"><owl:equivalentClass rdf:resource="{WD}Q5"/></owl:Class>
        </rdf:RDF>""",
        encoding="utf-8",
    )
    assert [(k.subject, k.target) for k in ontology_links(xml)[0]] == [(WD + "Q5", EX + "Human")]
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is not turtle <", encoding="utf-8")
    with pytest.raises(InputError, match="bad.ttl cannot be read"):
        ontology_links(bad)
    with pytest.raises(InputError, match="RDF format"):
        ontology_links(_write(tmp_path / "onto.xyz", ""))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- dumps ------------------------------------------------------------------------------------------


DUMP = f"""\
<{WD}Q5> <{WDT}P1709> <http://xmlns.com/foaf/0.1/Person> .
<{WD}Q5> <{WDT}P2888> <http://schema.org/Person> .
<{WD}Q5> <http://www.w3.org/2000/01/rdf-schema#label> "human"@en .
<{WD}P27> <{WDT}P1628> <http://dbpedia.org/ontology/nationality> .
<https://en.wikipedia.org/wiki/Louis-Fran%C3%A7ois_Lejeune> <http://schema.org/about> <{WD}Q1> .
<https://de.wikipedia.org/wiki/Mensch> <http://schema.org/about> <{WD}Q5> .
<{WD}Q142> <{WDT}P2888> <http://example.org/france> .
<https://en.wikipedia.org/wiki/France> <http://schema.org/about> <{WD}Q142> .
this line is not N-Triples
<{WD}Q5> <{WDT}P1709> "a literal, no IRI" .
<{WD}Q6> <{WDT}P2888> <http://example.org/unclosed
"""


def test_dump_mappings_of_wanted_subjects_and_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "mappings.nt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(DUMP)
    wanted = {WD + "Q5", WD + "Q1", WD + "P27", WDT + "P27"}
    links, report = dump_links(path, wanted)
    assert {(k.subject, k.relation, k.target) for k in links} == {
        (WD + "Q5", EXACT, "http://xmlns.com/foaf/0.1/Person"),
        (WD + "Q5", EXACT, "http://schema.org/Person"),
        (WD + "P27", EXACT, DBO + "nationality"),
        (WDT + "P27", EXACT, DBO + "nationality"),
        (WD + "Q1", EXACT, DBR + "Louis-François_Lejeune"),
    }
    assert report.malformed == 2
    assert report.problems[0].startswith("mappings.nt.gz line 9: malformed")
    every, _ = dump_links(path, None)
    assert {(k.subject, k.target) for k in every} - {(k.subject, k.target) for k in links} == {
        (WD + "Q142", "http://example.org/france"),
        (WD + "Q142", DBR + "France"),
    }


# --- the stage on a store ---------------------------------------------------------------------------


def _store_with_rules(minter: Minter, store: TripleStore | None = None) -> TripleStore:
    """``store`` (default: a new in-memory one) with one completed mining run of ``toy`` whose one rule has the
    item citizenship(x, France), and a knowledge graph with Wikidata mappings of France and of Berlin."""
    store = EmbeddedStore() if store is None else store
    k = KGX
    run, graph = minter.run("mine-1"), minter.run_graph("mine-1")
    rule, item = minter.rule("mine-1", "r"), minter.item("out", WDT + "P27", WD + "Q142")
    store.load(
        [
            (f"<{run}>", f"<{k}status>", '"completed"'),
            (f"<{run}>", f"<{k}runGraph>", f"<{graph.value}>"),
            (f"<{run}>", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>", f"<{k}MiningRun>"),
            (f"<{run}>", f"<{k}onDataset>", f"<{minter.dataset('toy')}>"),
        ],
        minter.catalog_graph(),
    )
    store.load(
        [
            (f"<{rule}>", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>", f"<{k}AssociationRule>"),
            (f"<{rule}>", f"<{k}antecedent>", f"<{item}>"),
            (f"<{item}>", f"<{k}property>", f"<{WDT}P27>"),
            (f"<{item}>", f"<{k}value>", f"<{WD}Q142>"),
        ],
        graph,
    )
    store.load(
        [
            (f"<{WD}Q142>", f"<{WDT}P2888>", "<http://example.org/france>"),
            ("<https://en.wikipedia.org/wiki/France>", "<http://schema.org/about>", f"<{WD}Q142>"),
            (f"<{WD}Q142>", "<http://www.w3.org/2000/01/rdf-schema#label>", '"France"@en'),
            (f"<{WD}P27>", "<http://www.w3.org/2000/01/rdf-schema#label>", '"country of citizenship"@en'),
            (f"<{WD}Q64>", f"<{WDT}P2888>", "<http://example.org/berlin>"),
        ],
        minter.kg_graph("toy"),
    )
    return store


def _external_links(store: TripleStore, iris: list[str]) -> set[tuple[str, str, str]]:
    frame = store.select(load_query("rules/external_links"), iri=[ox.NamedNode(i) for i in iris])
    return set(frame.iter_rows()) if frame.height else set()


@pytest.mark.parametrize("backend", ["memory", "remote"])
def test_the_stage_publishes_links_of_rule_items_that_the_service_query_finds(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = Settings()
    minter = Minter(settings.base_iri)
    remote = RemoteStore(request.getfixturevalue("oxigraph_server")) if backend == "remote" else None
    store = _store_with_rules(minter, remote)
    request.addfinalizer(store.close)  # the remote store's HTTP connections too
    sssom = _write(
        tmp_path / "m.tsv",
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\tconfidence\n"
        "wd:Q142\tskos:closeMatch\thttps://example.org/fr\tsemapv:LexicalMatching\t0.7\n"
        "wd:Q64\tskos:closeMatch\thttps://example.org/berlin\tsemapv:LexicalMatching\t\n"
        "wd:Q1\tbroken row\n",
    )
    result = link_stage(store, "toy", settings, ontology=ONTOLOGY, sssom=sssom)
    assert result.mining_runs == 1 and result.rule_iris == 3  # wdt:P27, wd:P27, wd:Q142
    found = _external_links(store, [WD + "Q142", WDT + "P27", WD + "P27"])
    assert found == {
        (WD + "Q142", EXACT, "http://example.org/france"),
        (WD + "Q142", EXACT, DBR + "France"),
        (WD + "Q142", CLOSE, "https://example.org/fr"),
        *((form, EXACT, DBO + name) for form in (WD + "P27", WDT + "P27") for name in ("nationality", "citizenship")),
    }
    assert not _external_links(store, [WD + "Q64", WD + "Q5"])  # not in a rule: not published
    counts = result.counts()
    assert counts == {"kg": {EXACT: 2}, "ontology": {EXACT: 4}, "sssom": {CLOSE: 1}}
    sources = {s.kind: s for s in result.sources}
    assert sources["sssom"].malformed == 1 and sources["ontology"].malformed == 1 and sources["kg"].found == 3
    assert result.labels == {
        WD + "Q142": "France",
        WD + "P27": "country of citizenship",
        WDT + "P27": "country of citizenship",
    }
    body = store.dump(ox.NamedNode(result.graph))
    report = validate(body)
    assert report.conforms, report.report[:2000]
    confidence = store.select(f"""SELECT ?c WHERE {{ GRAPH <{result.graph}> {{
        ?l <{OWL}annotatedTarget> <https://example.org/fr> ; <{KGX}confidence> ?c }} }}""")
    assert confidence["c"].to_list() == [0.7]
    sha = store.select(f"""SELECT ?name ?sha ?n WHERE {{ GRAPH <{result.graph}> {{
        <{minter.run(result.run_id)}> <http://www.w3.org/ns/prov#used> ?s .
        ?s <{KGX}sourceKind> "ontology" ; <http://www.w3.org/2000/01/rdf-schema#label> ?name ;
           <{KGX}sha256> ?sha ; <{KGX}linkCount> ?n }} }}""")
    assert sha.rows() == [("ontology-mini.ttl", hashlib.sha256(ONTOLOGY.read_bytes()).hexdigest(), 4)]
    record = store.select(
        load_query("catalog/latest_run"),
        catalog=minter.catalog_graph(),
        kind=ox.NamedNode(KGX + "LinkRun"),
        dataset=ox.NamedNode(minter.dataset("toy")),
    )
    assert record["graph"].to_list() == [result.graph]

    again = link_stage(store, "toy", settings, sssom=sssom, all_links=True)
    assert (WD + "Q64", CLOSE, "https://example.org/berlin") in _external_links(store, [WD + "Q64"])
    assert (WD + "Q64", EXACT, "http://example.org/berlin") in _external_links(store, [WD + "Q64"])
    nodes = store.select(f"SELECT (COUNT(DISTINCT ?l) AS ?n) WHERE {{ GRAPH ?g {{ ?l a <{KGX}ExternalLink> }} }}")
    assert nodes["n"][0] == len(result.links) + len(again.links)  # a second run's nodes stay its own


def test_a_link_without_its_triple_does_not_conform(tmp_path: Path) -> None:
    settings = Settings()
    store = _store_with_rules(Minter(settings.base_iri))
    result = link_stage(store, "toy", settings)
    body = store.dump(ox.NamedNode(result.graph))
    assert validate(body).conforms
    stated = f"<{WD}Q142> <{EXACT}> <http://example.org/france> .\n".encode()
    assert stated in body
    report = validate(body.replace(stated, b""))
    assert not report.conforms and "does not assert" in report.report


def test_no_mining_run_is_an_input_error_unless_all() -> None:
    settings = Settings()
    store = _store_with_rules(Minter(settings.base_iri))
    with pytest.raises(InputError, match="no completed mining run of dataset 'other'.*--all"):
        link_stage(store, "other", settings)
    assert link_stage(store, "other", settings, all_links=True).links == []


def test_bad_files_are_refused_before_anything_is_published(tmp_path: Path) -> None:
    settings = Settings()
    minter = Minter(settings.base_iri)
    store = _store_with_rules(minter)
    with pytest.raises(InputError, match="unknown dump format"):
        link_stage(store, "toy", settings, dump=_write(tmp_path / "dump.csv", "a,b\n"))
    with pytest.raises(InputError, match="the ontology .*missing.ttl does not exist"):
        link_stage(store, "toy", settings, ontology=tmp_path / "missing.ttl")
    assert not [g for g in store.graphs() if "/run/links-" in g]
    assert not store.ask(f"ASK {{ ?run a <{KGX}LinkRun> }}")
