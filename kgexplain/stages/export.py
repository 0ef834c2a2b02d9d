"""The export stage: one run graph written to a file (see ``publish.export`` for the formats)."""

from __future__ import annotations

from pathlib import Path

from ..publish.export import DEFAULT_ENDPOINT_URL, EXPORT_FORMATS, export_rules
from ..store import TripleStore
from ..vocab import DEFAULT_BASE

__all__ = ["export_stage", "EXPORT_FORMATS"]


def export_stage(
    store: TripleStore,
    graph: str,
    output: Path,
    fmt: str = "turtle",
    *,
    base_iri: str = DEFAULT_BASE,
    endpoint_url: str = DEFAULT_ENDPOINT_URL,
) -> int:
    """Writes one run graph to ``output`` in ``fmt`` (see ``publish.export``: Turtle, N-Triples,
    compacted JSON-LD, SWRL, SHACL rules or DCAT) through a temporary file; returns its triple count."""
    return export_rules(store, graph, output, fmt, base_iri=base_iri, endpoint_url=endpoint_url).triples
