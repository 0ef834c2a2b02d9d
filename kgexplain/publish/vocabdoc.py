"""``docs/vocabulary.md``, generated from ``ontology/kgexplain.ttl`` (and the shapes of ``ontology/shapes.ttl``)
so that the document cannot drift from the vocabulary: every class, property, individual and datatype with its
label, comment, domain, range, alignment to other vocabularies and the SHACL shapes that validate it.

``python -m kgexplain.publish.vocabdoc`` rewrites the document; ``--check`` only says whether it is current.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from .shacl import ONTOLOGY, SHAPES

__all__ = ["DOCUMENT", "vocabulary_markdown", "main"]

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "vocabulary.md"

KGX = rdflib.Namespace("https://w3id.org/kgexplain/ns#")
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")
VANN = rdflib.Namespace("http://purl.org/vocab/vann/")
ONTOLOGY_IRI = rdflib.URIRef("https://w3id.org/kgexplain/ns")

# (heading, the rdf:type that puts a term in the section)
_SECTIONS = (
    ("Classes", OWL.Class),
    ("Object properties", OWL.ObjectProperty),
    ("Datatype properties", OWL.DatatypeProperty),
    ("Other properties", RDF.Property),
    ("Individuals", OWL.NamedIndividual),
    ("Datatypes", RDFS.Datatype),
)
_KIND_TYPES = {kind for _, kind in _SECTIONS}
# the vocabularies kgexplain aligns to, in the order the summary lists them
_ALIGNED = (
    ("PROV-O", "http://www.w3.org/ns/prov#"),
    ("ML Schema", "http://www.w3.org/ns/mls#"),
    ("SKOS", "http://www.w3.org/2004/02/skos/core#"),
    ("DCAT 3", "http://www.w3.org/ns/dcat#"),
    ("Dublin Core terms", "http://purl.org/dc/terms/"),
)


def _graph(path: Path) -> rdflib.Graph:
    return rdflib.Graph(bind_namespaces="none").parse(path, format="turtle")


def _curie(graph: rdflib.Graph, term: rdflib.term.Node) -> str:
    if isinstance(term, rdflib.URIRef):
        for prefix, namespace in sorted(graph.namespaces(), key=lambda p: -len(str(p[1]))):
            if prefix and str(term).startswith(str(namespace)) and len(str(term)) > len(str(namespace)):
                return f"`{prefix}:{str(term)[len(str(namespace)) :]}`"
        return f"<{term}>"
    return f"`{term}`"


def _text(value: str) -> str:
    """Literal text as Markdown: no accidental emphasis, one line."""
    return " ".join(value.split()).replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def _english(graph: rdflib.Graph, subject: rdflib.term.Node, predicate: rdflib.URIRef) -> str:
    values = sorted(graph.objects(subject, predicate), key=lambda v: (getattr(v, "language", None) != "en", str(v)))
    return _text(str(values[0])) if values else ""


def _list(graph: rdflib.Graph, terms: Iterable[rdflib.term.Node]) -> str:
    return ", ".join(sorted(_curie(graph, t) for t in terms))


def _header(graph: rdflib.Graph) -> list[str]:
    o = ONTOLOGY_IRI
    prefix = graph.value(o, VANN.preferredNamespacePrefix)
    namespace = graph.value(o, VANN.preferredNamespaceUri)
    lines = [
        f"# {_english(graph, o, DCTERMS.title) or 'Vocabulary'}",
        "",
        "<!-- Generated from ontology/kgexplain.ttl and ontology/shapes.ttl by "
        "`python -m kgexplain.publish.vocabdoc`; do not edit by hand (a test compares). -->",
        "",
        _english(graph, o, DCTERMS.description),
        "",
        f"- Ontology: <{o}>",
        f"- Namespace: `{prefix}:` = <{namespace}>",
        f"- Version: {graph.value(o, OWL.versionInfo)}",
        f"- Licence: <{graph.value(o, DCTERMS.license)}>",
        f"- Creator: {graph.value(o, DCTERMS.creator)}",
        "",
    ]
    return lines


def _alignment_summary(graph: rdflib.Graph, terms: list[rdflib.URIRef]) -> list[str]:
    """One row per (vocabulary, relation, aligned term): the kgx terms so related."""
    lines = ["## Alignment", "", "| Vocabulary | Relation | Aligned term | kgx terms |", "|---|---|---|---|"]
    for name, namespace in _ALIGNED:
        rows: dict[tuple[str, str], list[rdflib.URIRef]] = {}
        for relation in (RDFS.subClassOf, RDFS.subPropertyOf, RDF.type, RDFS.range):
            for term in terms:
                for target in graph.objects(term, relation):
                    if str(target).startswith(namespace) and not (relation == RDF.type and target in _KIND_TYPES):
                        rows.setdefault((_curie(graph, relation), _curie(graph, target)), []).append(term)
        for (relation_curie, target_curie), members in rows.items():
            lines.append(f"| {name} | {relation_curie} | {target_curie} | {_list(graph, members)} |")
    return lines + [""]


def _entry(graph: rdflib.Graph, shapes: rdflib.Graph, term: rdflib.URIRef, kind: rdflib.URIRef) -> list[str]:
    label = _english(graph, term, RDFS.label)
    lines = [
        f"### {_curie(graph, term)}" + (f" — {label}" if label else ""),
        "",
        _english(graph, term, RDFS.comment),
        "",
    ]
    facts = []
    types = [t for t in graph.objects(term, RDF.type) if t not in _KIND_TYPES]
    if types:
        facts.append(f"- type: {_list(graph, types)}")
    for name, predicate in (
        ("subclass of", RDFS.subClassOf),
        ("subproperty of", RDFS.subPropertyOf),
        ("domain", RDFS.domain),
        ("range", RDFS.range),
    ):
        values = list(graph.objects(term, predicate))
        if values:
            facts.append(f"- {name}: {_list(graph, values)}")
    if kind == OWL.Class:
        targeted = list(shapes.subjects(SH.targetClass, term))
        facts.append(f"- SHACL shapes: {_list(shapes, targeted) if targeted else 'none'}")
    elif kind != RDFS.Datatype and kind != OWL.NamedIndividual:
        used = {s for path in shapes.subjects(SH.path, term) for s in shapes.subjects(SH.property, path)}
        if used:
            facts.append(f"- constrained in: {_list(shapes, used)}")
    return lines + facts + ([""] if facts else [])


def vocabulary_markdown(ontology: Path = ONTOLOGY, shapes_path: Path = SHAPES) -> str:
    """The vocabulary document for the Turtle at ``ontology`` and the shapes at ``shapes_path``."""
    graph = _graph(ontology)
    shapes = _graph(shapes_path)
    own = sorted(
        {s for s in graph.subjects(RDF.type, None) if isinstance(s, rdflib.URIRef) and s.startswith(KGX)},
        key=lambda t: (str(t).lower(), str(t)),
    )
    lines = _header(graph) + _alignment_summary(graph, own)
    for heading, kind in _SECTIONS:
        members = [
            t
            for t in own
            if (t, RDF.type, kind) in graph
            and not (kind == RDF.Property and any((t, RDF.type, k) in graph for k in _KIND_TYPES - {kind}))
        ]
        if not members:
            continue
        lines += [f"## {heading}", ""]
        for term in members:
            lines += _entry(graph, shapes, term, kind)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """``[--check] [PATH]``: writes the document to PATH (default ``docs/vocabulary.md``), or with ``--check``
    exits 1 when PATH differs from what the vocabulary generates."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    target = Path(paths[0]) if paths else DOCUMENT
    text = vocabulary_markdown()
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run python -m kgexplain.publish.vocabdoc", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
