"""The SPARQL 1.1 Graph Store HTTP Protocol at ``/store``: the operations as SPARQL text.

``?graph=IRI`` names a graph, ``?default`` the default graph. Reads become a ``CONSTRUCT`` answered like any
query (content negotiation, time and size budget); writes become one SPARQL update each, so a ``PUT`` replaces a
graph in one transaction — a reader sees the old graph or the new one — and a body that does not parse changes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from ..store import GRAPH_FORMATS

__all__ = ["GraphTarget", "BadGraphRequest", "target", "parse_body"]


class BadGraphRequest(ValueError):
    """A request the protocol cannot serve (HTTP ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class GraphTarget:
    """The graph a request names: ``iri`` is None for the default graph."""

    iri: str | None

    @property
    def label(self) -> str:
        return "the default graph" if self.iri is None else f"graph <{self.iri}>"

    @property
    def _pattern(self) -> str:
        return "{ ?s ?p ?o }" if self.iri is None else f"{{ GRAPH <{self.iri}> {{ ?s ?p ?o }} }}"

    def exists(self) -> str:
        """ASK whether it holds a triple (an empty graph does not exist for the protocol's 404)."""
        return f"ASK {self._pattern}"

    def read(self) -> str:
        return f"CONSTRUCT {{ ?s ?p ?o }} WHERE {self._pattern}"

    def _insert(self, ntriples: str) -> str:
        body = ntriples if self.iri is None else f"GRAPH <{self.iri}> {{\n{ntriples}}}"
        return f"INSERT DATA {{\n{body}}}"

    def _drop(self) -> str:
        return "DROP SILENT DEFAULT" if self.iri is None else f"DROP SILENT GRAPH <{self.iri}>"

    def replace(self, ntriples: str) -> str:
        """One update: the old content goes and the new comes in the same transaction."""
        return f"{self._drop()} ;\n{self._insert(ntriples)}" if ntriples else self._drop()

    def merge(self, ntriples: str) -> str:
        return self._insert(ntriples)

    def delete(self) -> str:
        return self._drop()


def target(graph: str | None, default: bool) -> GraphTarget:
    """The graph of ``?graph=IRI`` or ``?default`` (exactly one of them)."""
    if default and graph is not None:
        raise BadGraphRequest("give either ?graph=IRI or ?default, not both")
    if default:
        return GraphTarget(None)
    if graph is None:
        raise BadGraphRequest("name the graph: ?graph=IRI, or ?default for the default graph")
    try:
        return GraphTarget(ox.NamedNode(graph).value)
    except ValueError as exc:
        raise BadGraphRequest(f"?graph={graph!r} is not an absolute IRI: {exc}") from None


def parse_body(body: bytes, content_type: str | None, base_iri: str | None = None) -> str:
    """The request's RDF as N-Triples text (blank nodes kept as labels; INSERT DATA makes them fresh)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in GRAPH_FORMATS:
        raise BadGraphRequest(
            f"send the graph as one of {', '.join(GRAPH_FORMATS)} (Content-Type), not {media or 'nothing'}", 415
        )
    try:
        quads = list(ox.parse(body, GRAPH_FORMATS[media], base_iri=base_iri))
    except (SyntaxError, ValueError) as exc:
        raise BadGraphRequest(f"the {media} body does not parse: {exc}") from None
    if any(not isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
        raise BadGraphRequest("the body names graphs of its own; send the triples of one graph")
    return "".join(f"{q.subject} {q.predicate} {q.object} .\n" for q in quads)
