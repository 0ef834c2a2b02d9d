"""`kgexplain link` on the real DBpedia ontology snapshot (``../shared/data/mappings/dbpedia-ontology.ttl``):
its counts, its one malformed Wikidata IRI and its checksum are facts of that file. Moved here from
tests/unit/test_links.py, which reads a hand-written ontology in tests/data instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgexplain.links import DBO, ontology_links, wikidata_forms
from kgexplain.vocab import SKOS, WD, WDT

pytestmark = pytest.mark.shared

EXACT = SKOS + "exactMatch"
DBPEDIA_SHA256 = "98ef886d4c638759f25983d650fc108076ad0a6505eb1cb129ed02f66fe62d21"  # shared/data/README.md


def test_the_dbpedia_ontology_links_classes_and_both_forms_of_properties(dbpedia_ontology: Path) -> None:
    links, report = ontology_links(dbpedia_ontology)
    found = {(k.subject, k.relation, k.target) for k in links}
    assert (WD + "Q5", EXACT, DBO + "Person") in found
    assert (WD + "Q1028181", EXACT, DBO + "Painter") in found
    for form in (WD + "P27", WDT + "P27"):
        assert {t for s, _r, t in found if s == form} == {DBO + "nationality", DBO + "citizenship"}
    # 342 class equivalences, 227 property equivalences in two forms; the malformed one is counted, not linked
    assert len(links) == 342 + 2 * 227
    assert report.malformed == 1 and "Q737498Q13381863" in report.problems[0]
    assert not any("Q737498Q13381863" in k.subject for k in links)
    assert all(wikidata_forms(k.subject) for k in links)
    assert report.sha256 == DBPEDIA_SHA256
