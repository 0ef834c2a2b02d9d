"""kgexplain's JSON-LD compaction (``publish.jsonld``) against pyld's, the JSON-LD 1.1 reference
implementation in Python, on graphs that use every kind of term the context has and what it lacks."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from pyld import jsonld

from kgexplain.publish.export import CONTEXT
from kgexplain.publish.jsonld import JsonLdCompactor

CONTEXT_DOC = json.loads(CONTEXT.read_text())
KGX = "https://w3id.org/kgexplain/ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RUN = "https://w3id.org/kgexplain/id/run/mine-1"

# Every value shape kgexplain's graphs have, and some they may get: typed literals under a term coerced to
# their datatype and under one coerced to another, IRIs under @id and @vocab terms (a term and a non-term
# IRI), plain and language-tagged strings, a predicate no term names (compact IRI and absolute), several
# values of one predicate, blank nodes, rdf:type to a term, to a compact IRI and to an absolute IRI.
GRAPH = f"""
<{RUN}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{KGX}MiningRun> .
<{RUN}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/prov#Activity> .
<{RUN}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://example.org/Other> .
<{RUN}> <{KGX}support> "12"^^<{XSD}integer> .
<{RUN}> <{KGX}support> "1.5E1"^^<{XSD}double> .
<{RUN}> <{KGX}lift> "0.5"^^<{XSD}double> .
<{RUN}> <{KGX}consequent> <{KGX}Pos> .
<{RUN}> <{KGX}consequent> <http://example.org/NotATerm> .
<{RUN}> <{KGX}document> <http://www.wikidata.org/entity/Q5> .
<{RUN}> <{KGX}document> _:b1 .
<{RUN}> <http://www.w3.org/2000/01/rdf-schema#label> "a run" .
<{RUN}> <http://www.w3.org/2000/01/rdf-schema#label> "ein Lauf"@de .
<{RUN}> <http://www.wikidata.org/prop/direct/P17> <http://www.wikidata.org/entity/Q2001> .
<{RUN}> <http://example.org/p> "x"^^<http://example.org/dt> .
<{RUN}> <http://example.org/p> <{RUN}/other> .
_:b1 <{KGX}occurrences> "3"^^<{XSD}integer> .
_:b1 <{KGX}values> "AAAA"^^<{KGX}float32Base64> .
<{RUN}/other> <http://www.w3.org/ns/prov#startedAtTime> "2026-01-01T00:00:00Z"^^<{XSD}dateTime> .
<{RUN}/other> <http://www.w3.org/ns/prov#startedAtTime> "2026-01-02T00:00:00Z"^^<{XSD}dateTime> .
"""


def _normal(value: object) -> object:
    """Order-free form: keys sorted, arrays sorted, one-element arrays as their element."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = sorted((_normal(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
        return items[0] if len(items) == 1 else items
    return value


def _nodes(document: dict, blank_ids: bool = False) -> dict[str, object]:
    graph = document.get("@graph", [document])
    return {
        ("_:" if str(n["@id"]).startswith("_:") else n["@id"]): _normal(
            {k: v for k, v in n.items() if k != "@id" and not (blank_ids and k == "document")}
        )
        for n in graph
        if isinstance(n, dict)
    }


def _pyld(ntriples: bytes) -> dict:
    expanded = jsonld.from_rdf(ntriples.decode(), {"format": "application/n-quads"})
    return jsonld.compact(expanded, CONTEXT_DOC, {"documentLoader": None})


@pytest.fixture(scope="module")
def ntriples() -> bytes:
    return ox.serialize(ox.parse(GRAPH.encode(), ox.RdfFormat.N_TRIPLES), format=ox.RdfFormat.N_TRIPLES)


def test_compaction_is_pyld_s(ntriples: bytes) -> None:
    ours = JsonLdCompactor(CONTEXT_DOC["@context"]).document(ntriples)
    theirs = _pyld(ntriples)
    # blank node labels are the implementations' own; everything else must be the same, key for key
    assert _nodes(ours, blank_ids=True) == _nodes(theirs, blank_ids=True)
    assert ours["@context"] == CONTEXT_DOC["@context"]


def test_compaction_reads_back_as_the_same_graph(ntriples: bytes) -> None:
    body = json.dumps(JsonLdCompactor(CONTEXT_DOC["@context"]).document(ntriples)).encode()
    back = ox.Dataset(ox.parse(body, ox.RdfFormat.JSON_LD))
    original = ox.Dataset(ox.parse(ntriples, ox.RdfFormat.N_TRIPLES))
    back.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    original.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    assert {str(q) for q in back} == {str(q) for q in original}


def test_terms_and_compact_iris_are_used(ntriples: bytes) -> None:
    node = _nodes(JsonLdCompactor(CONTEXT_DOC["@context"]).document(ntriples))[RUN]
    # coerced to its datatype: the lexical form alone; another datatype, no term: compact IRI, typed value
    assert node["support"] == "12"
    assert node["kgx:support"] == {"@value": "1.5E1", "@type": "xsd:double"}
    assert node["consequent"] == ["Pos", "http://example.org/NotATerm"]  # @vocab: a term where there is one
    assert node["wdt:P17"] == {"@id": "wd:Q2001"}  # no term: compact IRIs
    assert node["http://example.org/p"] == sorted(
        [{"@value": "x", "@type": "http://example.org/dt"}, {"@id": f"{RUN}/other"}],
        key=lambda v: json.dumps(v, sort_keys=True),
    )
    assert node["@type"] == ["Activity", "MiningRun", "http://example.org/Other"]
