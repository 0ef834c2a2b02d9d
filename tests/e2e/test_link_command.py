"""`kgexplain link` on a copy of the demo store, as a user runs it (the DBpedia ontology, an SSSOM file and a
dump excerpt), then the links on the rule's page: /api/rules/{run}/{rule} (the service's own
`rules/external_links` query), the HTML page, and the README's SPARQL join of rules with DBpedia."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.publish.shacl import validate
from kgexplain.store import EmbeddedStore
from kgexplain.vocab import SYN, WD, WDT

PLANTED = "country(x, Varnia) → Pos"
DBO_COUNTRY = "http://dbpedia.org/ontology/country"

SSSOM = """\
# mapping_set_id: https://example.org/sets/varnia
# curie_map:
#   syn: https://w3id.org/kgexplain/synthetic/
#   geo: https://example.org/geo/
subject_id\tpredicate_id\tobject_id\tmapping_justification\tconfidence
syn:Q2001\tskos:closeMatch\tgeo:Varnia\tsemapv:ManualMappingCuration\t0.9
syn:Q2001\tskos:closeMatch\tgeo:Varnia with a space\tsemapv:ManualMappingCuration\t0.9
syn:Q9999\tskos:exactMatch\tgeo:Nowhere\tsemapv:ManualMappingCuration\t
"""

DUMP = f"""\
<{WD}P17> <{WDT}P1628> <http://schema.org/addressCountry> .
<{WD}P17> <http://www.w3.org/2000/01/rdf-schema#label> "country"@en .
<{WD}Q5> <{WDT}P1709> <http://xmlns.com/foaf/0.1/Person> .
not a triple
"""

#: The README's query: each rule with the DBpedia terms its items' properties and values are linked to.
RULES_WITH_DBPEDIA = """
PREFIX kgx:  <https://w3id.org/kgexplain/ns#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?rule ?label (GROUP_CONCAT(DISTINCT STR(?dbpedia); separator=" ") AS ?dbpedia_terms) WHERE {
  GRAPH ?mining { ?rule a kgx:AssociationRule ; rdfs:label ?label ; kgx:antecedent ?item .
                  ?item kgx:property|kgx:value ?iri . }
  GRAPH ?links  { ?iri skos:exactMatch|skos:closeMatch ?dbpedia . }
  FILTER(STRSTARTS(STR(?dbpedia), "http://dbpedia.org/"))
}
GROUP BY ?rule ?label
ORDER BY ?label
"""


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, " ".join(result.output.split())  # rich wraps at the terminal's width


@pytest.fixture(scope="module")
def linked(
    demo: tuple[Path, str], dbpedia_ontology: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """A copy of the demo store after one `kgexplain link`; (store, what it printed)."""
    work = tmp_path_factory.mktemp("links")
    store = work / "store"
    shutil.copytree(demo[0] / "store", store)
    (work / "varnia.sssom.tsv").write_text(SSSOM, encoding="utf-8")
    (work / "excerpt.nt").write_text(DUMP, encoding="utf-8")
    code, output = _run(
        [
            "link",
            "--store",
            str(store),
            "--dataset",
            "synthetic",
            "--ontology",
            str(dbpedia_ontology),
            "--sssom",
            str(work / "varnia.sssom.tsv"),
            "--dump",
            str(work / "excerpt.nt"),
        ]
    )
    assert code == 0, output
    return store, output


def test_the_command_reports_counts_per_source_and_publishes_a_valid_run(linked: tuple[Path, str]) -> None:
    store, output = linked
    # the demo's rules name wdt:P17 (country) and its cities' countries: DBpedia maps P17 to dbo:country
    assert "ontology dbpedia-ontology.ttl: 796 found, 2 published (skos:exactMatch 2); 1 malformed" in output
    assert "dump excerpt.nt: 2 found, 2 published (skos:exactMatch 2); 1 malformed" in output
    assert "sssom varnia.sssom.tsv: 2 found, 1 published (skos:closeMatch 1); 1 malformed" in output
    assert "line 7" in output and "Q737498Q13381863" in output
    assert re.search(r"5 links published \(links of the \d+ IRIs named by rule items of 1 mining run\)", output)
    with EmbeddedStore(store) as db:
        graphs = [g for g in db.graphs() if "/run/links-" in g]
        assert len(graphs) == 1
        report = validate(db.dump(ox.NamedNode(graphs[0])))
        assert report.conforms, report.report[:2000]


def test_the_rule_page_shows_the_links(
    linked: tuple[Path, str], serve: Callable[..., AbstractContextManager[str]]
) -> None:
    store, _output = linked
    with EmbeddedStore(store) as db, serve(db) as url:
        planted = next(r for r in httpx.get(f"{url}/api/rules").json()["rules"] if r["label"] == PLANTED)
        rule = httpx.get(f"{url}{planted['url']}").json()
        (item,) = rule["antecedent"]
        assert item["property"] == WDT + "P17" and item["value"] == SYN + "Q2001"
        links = {(link["of"], link["relation"], link["target"]) for link in item["links"]}
        assert {
            ("property", "skos:exactMatch", DBO_COUNTRY),
            ("property", "skos:exactMatch", "http://schema.org/addressCountry"),
            ("value", "skos:closeMatch", "https://example.org/geo/Varnia"),
        } <= links
        page = httpx.get(f"{url}/rules/{planted['run']}/{planted['id'].split('/')[-1]}")
        assert page.status_code == 200 and DBO_COUNTRY in page.text and "https://example.org/geo/Varnia" in page.text


def test_the_readme_query_joins_rules_with_dbpedia(linked: tuple[Path, str]) -> None:
    store, _output = linked
    with EmbeddedStore(store) as db:
        frame = db.select(RULES_WITH_DBPEDIA)
    rows = dict(zip(frame["label"].to_list(), frame["dbpedia_terms"].to_list(), strict=True))
    assert rows[PLANTED] == DBO_COUNTRY
    assert all(DBO_COUNTRY in terms for terms in rows.values())  # every demo rule is about country(x, …)


def test_bad_input_exits_2_with_one_clear_line(linked: tuple[Path, str], tmp_path: Path) -> None:
    store, _output = linked
    code, output = _run(
        ["link", "--store", str(store), "--dataset", "synthetic", "--ontology", str(tmp_path / "missing.ttl")]
    )
    assert code == 2 and re.search(r"error: --ontology \S*missing.ttl does not exist", output), output
    code, output = _run(["link", "--store", str(store), "--dataset", "nope"])
    assert code == 2 and "no completed mining run of dataset 'nope'" in output, output
    bad = tmp_path / "bad.tsv"
    bad.write_text("subject_id\tobject_id\n", encoding="utf-8")
    code, output = _run(["link", "--store", str(store), "--dataset", "synthetic", "--sssom", str(bad)])
    assert code == 2 and "lacks the column(s) predicate_id, mapping_justification" in output, output
