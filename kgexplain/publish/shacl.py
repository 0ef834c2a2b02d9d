"""SHACL validation of published graphs against ``ontology/shapes.ttl`` (pyshacl)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import rdflib

__all__ = ["SHAPES", "ONTOLOGY", "Conformance", "validate"]

_ONTOLOGY_DIR = Path(__file__).resolve().parents[1] / "ontology"
SHAPES = _ONTOLOGY_DIR / "shapes.ttl"
ONTOLOGY = _ONTOLOGY_DIR / "kgexplain.ttl"


@dataclass
class Conformance:
    conforms: bool
    violations: int
    report: str


@cache
def _shapes() -> rdflib.Graph:
    return rdflib.Graph().parse(SHAPES, format="turtle")


@cache
def _ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY, format="turtle")


def validate(ntriples: bytes) -> Conformance:
    """Validates an N-Triples graph; the vocabulary is added so that subclass targets resolve."""
    import pyshacl

    data = rdflib.Graph().parse(data=ntriples, format="nt")
    conforms, report_graph, text = pyshacl.validate(
        data, shacl_graph=_shapes(), ont_graph=_ontology(), inference="none", advanced=False,
        allow_warnings=True)
    violations = len(list(report_graph.subjects(
        rdflib.RDF.type, rdflib.URIRef("http://www.w3.org/ns/shacl#ValidationResult"))))
    return Conformance(bool(conforms), violations, text)
