"""SHACL validation of published graphs against ``ontology/shapes.ttl`` (pyshacl)."""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import rdflib

__all__ = ["SHAPES", "ONTOLOGY", "Conformance", "validate", "preload"]

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
        data, shacl_graph=_shapes(), ont_graph=_ontology(), inference="none", advanced=False, allow_warnings=True
    )
    violations = len(
        list(report_graph.subjects(rdflib.RDF.type, rdflib.URIRef("http://www.w3.org/ns/shacl#ValidationResult")))
    )
    return Conformance(bool(conforms), violations, text)


def preload() -> threading.Thread:
    """Imports pyshacl and parses the shapes and the vocabulary in a daemon thread (about 1.5 s of Python), so
    that a pipeline run's mine stage, which validates what it publishes, finds them ready: started with the
    run, this overlaps the load stage, whose cut and bulk load run mostly outside the GIL."""

    def work() -> None:
        importlib.import_module("pyshacl")
        _shapes()
        _ontology()

    thread = threading.Thread(target=work, name="kgx-preload-shacl", daemon=True)
    thread.start()
    return thread
