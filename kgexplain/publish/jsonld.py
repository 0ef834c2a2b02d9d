"""Compacted JSON-LD of an N-Triples graph under kgexplain's own context, written directly.

pyld runs the general JSON-LD algorithms (RDF to expanded form, then compaction through an inverse
context) in pure Python: 0.9 s for the demo's mining run graph (1,459 triples) and minutes for a painters
run (40,853 triples). kgexplain's context is small and fixed: prefixes, plain aliases of IRIs, and aliases
with one type coercion (``@id``, ``@vocab`` or a datatype); its graphs hold no lists, no nested graphs and
no base direction. For such a context, compaction comes down to two choices the JSON-LD 1.1 algorithms
make per value, both done here:

- *IRI compaction* (JSON-LD 1.1 API, §6.2): a term whose IRI is the IRI (only where a vocabulary-relative
  IRI is allowed: keys, ``@type``, ``@vocab``-coerced values), else the shortest, then least, compact IRI
  ``prefix:suffix`` over the prefixes (simple definitions ending in a gen-delim character), else the IRI;
- *term selection* (§6.2.2): for a property and a value, the term whose type mapping fits the value
  (``@id``/``@vocab`` for an IRI, the datatype for a typed literal), else a term with no type mapping,
  else the property's compact IRI, with the value in expanded form.

The tests hold the output to pyld's own compaction of the same graph (same nodes, same keys, same values)
and round-trip it through Oxigraph's and rdflib's JSON-LD parsers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox

__all__ = ["JsonLdCompactor"]

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
GEN_DELIMS = tuple(":/?#[]@")


class JsonLdCompactor:
    """Compacts graphs under ``context`` (the value of a document's ``@context``)."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = dict(context)
        raw = {k: v for k, v in self.context.items() if not k.startswith("@")}
        simple = {k: v for k, v in raw.items() if isinstance(v, str)}
        # prefixes may be defined through one another (``comment: rdfs:comment``); absolute ones first
        self.prefixes: dict[str, str] = {}
        for term, value in simple.items():
            if value.startswith(("http://", "https://")) and value.endswith(GEN_DELIMS):
                self.prefixes[term] = value
        self.terms: dict[str, tuple[str, str | None]] = {}  # term → (IRI, type mapping)
        for term, value in raw.items():
            if isinstance(value, str):
                self.terms[term] = (self._expand(value), None)
            elif isinstance(value, Mapping) and "@id" in value:
                kind = value.get("@type")
                self.terms[term] = (
                    self._expand(value["@id"]),
                    kind if kind in (None, "@id", "@vocab") else self._expand(kind),
                )
        # per IRI, its terms in the order term selection tries them: shortest, then least
        self.by_iri: dict[str, list[tuple[str, str | None]]] = {}
        for term in sorted(self.terms, key=lambda t: (len(t), t)):
            iri, kind = self.terms[term]
            self.by_iri.setdefault(iri, []).append((term, kind))
        self._compact_cache: dict[tuple[str, bool], str] = {}

    def _expand(self, value: str) -> str:
        prefix, sep, suffix = value.partition(":")
        if sep and not suffix.startswith("//") and prefix in self.prefixes:
            return self.prefixes[prefix] + suffix
        return value

    # IRIs ------------------------------------------------------------------------------------------

    def iri(self, iri: str, vocab: bool) -> str:
        """``iri`` compacted: to a term (``vocab`` only), a compact IRI, or itself."""
        key = (iri, vocab)
        found = self._compact_cache.get(key)
        if found is None:
            found = self._compact_cache[key] = self._compact(iri, vocab)
        return found

    def _compact(self, iri: str, vocab: bool) -> str:
        if iri.startswith("_:"):
            return iri
        if vocab:
            for term, kind in self.by_iri.get(iri, ()):
                if kind is None:
                    return term
        best: str | None = None
        for prefix, base in self.prefixes.items():
            if iri.startswith(base) and len(iri) > len(base):
                candidate = f"{prefix}:{iri[len(base) :]}"
                # a candidate that is itself a term meaning something else would read back wrongly
                if candidate in self.terms and self.terms[candidate][0] != iri:
                    continue
                if best is None or (len(candidate), candidate) < (len(best), best):
                    best = candidate
        return best or iri

    # values ----------------------------------------------------------------------------------------

    def _term_for(
        self, predicate: str, value: ox.NamedNode | ox.BlankNode | ox.Literal
    ) -> tuple[str, str | None] | None:
        """The term term selection picks for ``value`` under ``predicate`` (and its type mapping), or None."""
        candidates = self.by_iri.get(predicate, ())
        if not candidates:
            return None
        if isinstance(value, (ox.NamedNode, ox.BlankNode)):
            is_term = isinstance(value, ox.NamedNode) and self.iri(value.value, True) in self.terms
            preferred: tuple[str | None, ...] = ("@vocab", "@id", None) if is_term else ("@id", "@vocab", None)
        elif value.language:
            preferred = (None,)
        else:
            datatype = value.datatype.value
            preferred = (None,) if datatype == XSD_STRING else (datatype, None)
        for want in preferred:
            for term, kind in candidates:
                if kind == want:
                    return term, kind
        return None

    def _value(self, value: ox.NamedNode | ox.BlankNode | ox.Literal, kind: str | None) -> object:
        if isinstance(value, ox.BlankNode):
            return f"_:{value.value}" if kind == "@id" else {"@id": f"_:{value.value}"}
        if isinstance(value, ox.NamedNode):
            if kind == "@id":
                return self.iri(value.value, False)
            if kind == "@vocab":
                return self.iri(value.value, True)
            return {"@id": self.iri(value.value, False)}
        if value.language:
            return {"@value": value.value, "@language": value.language}
        datatype = value.datatype.value
        if datatype in (kind, XSD_STRING):
            return value.value
        return {"@value": value.value, "@type": self.iri(datatype, True)}

    # graphs ----------------------------------------------------------------------------------------

    def document(self, ntriples: bytes) -> dict[str, object]:
        """The N-Triples graph ``ntriples`` as one compacted document: ``@context`` and ``@graph``."""
        nodes: dict[str, dict[str, Any]] = {}
        value: object
        for triple in ox.parse(ntriples, ox.RdfFormat.N_TRIPLES):
            s, p, o = triple.subject, triple.predicate.value, triple.object
            sid = f"_:{s.value}" if isinstance(s, ox.BlankNode) else s.value
            node = nodes.get(sid)
            if node is None:
                node = nodes[sid] = {"@id": sid if sid.startswith("_:") else self.iri(sid, False)}
            if p == RDF_TYPE and isinstance(o, ox.NamedNode):
                key, value = "@type", self.iri(o.value, True)
            else:
                chosen = self._term_for(p, o)
                if chosen is None:
                    key, value = self.iri(p, True), self._value(o, None)
                else:
                    key, value = chosen[0], self._value(o, chosen[1])
            if key in node:
                existing = node[key]
                if not isinstance(existing, list):
                    existing = node[key] = [existing]
                existing.append(value)
            else:
                node[key] = value
        return {"@context": self.context, "@graph": [nodes[k] for k in sorted(nodes)]}
