"""A mining run's rules in the formats other tools read (``kgexplain export --format …``).

- ``turtle``, ``ntriples``: the run graph as it is stored.
- ``json-ld``: the run graph as compacted JSON-LD 1.1 (``publish.jsonld``) under kgexplain's context,
  ``ontology/context.jsonld``, published at ``CONTEXT_IRI``. The context is *embedded* in the document,
  not referenced, so that it reads offline and stays the one it was written with; expanding the document
  gives back the stored graph exactly (every literal's lexical form kept).
- ``swrl``: each rule as one ``swrl:Imp`` (Turtle, OWL 2 DL with every property and individual
  declared). Body: one atom per antecedent item over the variable ``?x`` (``SWRL_VARIABLE``): an
  ``swrl:IndividualPropertyAtom`` ``p(?x, v)`` for an outgoing item, ``p(v, ?x)`` for an incoming one
  (the entity is the fact's object), an ``swrl:DatavaluedPropertyAtom`` ``p(?x, "v")`` for a literal
  value. Head: ``kgx:predictedClass(?x, kgx:Pos|Neg)`` (with more than two classes, the class of the rule's
  consequent, issue #19) and ``kgx:coversEntity(rule, ?x)``.
- ``shacl-rules``: each rule as one ``sh:SPARQLRule`` in a ``sh:NodeShape`` whose ``sh:SPARQLTarget``
  selects the entities that have every item (SHACL Advanced Features, like SPARQL rules: a consumer
  applies them with e.g. ``pyshacl.validate(data, shacl_graph=rules, advanced=True, inplace=True)``).
  Its CONSTRUCT adds the same two head triples plus the rule's class, confidences and run, and the
  run's measure, to the data graph. A literal item matches any literal of its property with its lexical
  form, as in kgexplain's own matching.
- ``dcat``: a DCAT 3 catalog of the dataset's rule sets (one ``dcat:Dataset`` per completed mining
  run, identified by its run graph, with a distribution per format) and of the SPARQL service.

Both rule formats give an entity every class whose rules match it; kgexplain itself
(``evaluation.metrics.assign_classes``) takes the class of the most confident matching rule under the
run's measure and drops exact ties between classes. The exports carry what that needs: each rule's four
confidences, and ``kgx:measure`` on the run.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlencode

import numpy as np
import pyoxigraph as ox
import rdflib
from rdflib import BNode, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, RDF, RDFS, SH, XSD
from rdflib.plugins.serializers.turtle import TurtleSerializer

from ..errors import InputError, StoreError
from ..mining.rules import MEASURES, Item, Rule
from ..queries import load_query
from ..results import split_terms
from ..store import TripleStore
from ..vocab import DEFAULT_BASE, KGX, PREFIXES, Minter, local_id

__all__ = [
    "EXPORT_FORMATS",
    "CONTEXT",
    "CONTEXT_IRI",
    "DEFAULT_ENDPOINT_URL",
    "SWRL",
    "SWRL_VARIABLE",
    "PublishedRule",
    "RuleSet",
    "ExportResult",
    "read_rule_set",
    "jsonld_document",
    "swrl_graph",
    "shacl_rules_graph",
    "dcat_graph",
    "export_rules",
]

log = logging.getLogger(__name__)

#: Format name → the media type of what it writes.
EXPORT_FORMATS: dict[str, str] = {
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "json-ld": "application/ld+json",
    "swrl": "text/turtle",
    "shacl-rules": "text/turtle",
    "dcat": "text/turtle",
}
_GRAPH_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES}

CONTEXT = Path(__file__).resolve().parents[1] / "ontology" / "context.jsonld"
CONTEXT_IRI = "https://w3id.org/kgexplain/context.jsonld"
DEFAULT_ENDPOINT_URL = "http://127.0.0.1:8000/sparql"

SWRL = rdflib.Namespace("http://www.w3.org/2003/11/swrl#")
#: The one variable of every exported SWRL rule: the entity the rule is about.
SWRL_VARIABLE = "urn:swrl:var#x"

_K = rdflib.Namespace(KGX)
_IANA = "https://www.iana.org/assignments/media-types/"
_SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")
_SPARQL_QUERY = URIRef("https://www.w3.org/TR/sparql11-query/")
_GRAPH_STORE_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-http-rdf-update/")
_SWRL_SPEC = URIRef("https://www.w3.org/submissions/SWRL/")
_SHACL_AF = URIRef("https://www.w3.org/TR/shacl-af/")
_VOCABULARY = URIRef("https://w3id.org/kgexplain/ns")


@dataclass(frozen=True)
class PublishedRule:
    """A rule as its run graph has it: IRI, label, rank, and the rule (``entities`` left empty)."""

    iri: str
    label: str
    rank: int
    rule: Rule
    consequent: str = ""  # the consequent's IRI: kgx:Pos, kgx:Neg or, with more than two classes, the class's

    @property
    def consequent_term(self) -> URIRef:
        return URIRef(self.consequent) if self.consequent else _K[self.rule.consequent]


@dataclass
class RuleSet:
    """The rules of one mining run graph, best first."""

    run: str
    graph: str
    dataset: str
    measure: str
    kg_graph: str | None
    rules: list[PublishedRule] = field(default_factory=list)


@dataclass
class ExportResult:
    format: str
    output: Path
    triples: int  # triples written (for json-ld: of the graph it expands to)
    rules: int  # rules written (0 for dcat)


@cache
def _context() -> dict[str, object]:
    return json.loads(CONTEXT.read_text(encoding="utf-8"))


def read_rule_set(store: TripleStore, graph: str) -> RuleSet:
    """The run, measure and rules (items, class, confidences, rank) of the mining run graph ``graph``."""
    g = ox.NamedNode(graph)
    info = store.select(load_query("export/rule_set"), graph=g)
    if info.height == 0:
        raise StoreError(f"graph {graph} holds no mining run in the {store.description}")
    row = info.row(0, named=True)
    metrics = store.select(load_query("export/rule_metrics"), graph=g)
    terms = store.select_terms(load_query("export/rule_items"), graph=g)
    items: dict[str, list[Item]] = {}
    if terms.height:
        rule, prop, direction = (split_terms(terms[c])["lex"] for c in ("rule", "property", "direction"))
        value = split_terms(terms["value"])
        for r, p, v, kind, d in zip(rule, prop, value["lex"], value["kind"], direction, strict=True):
            items.setdefault(r, []).append(Item("out" if local_id(d) == "Outgoing" else "in", p, v, kind == "literal"))
    rules = []
    for m in metrics.iter_rows(named=True):
        antecedent = tuple(sorted(items.get(m["rule"], ())))
        if not antecedent:
            raise StoreError(f"rule {m['rule']} in graph {graph} has no antecedent items")
        confidence = {
            "TC": float(m["conf_tc"]),
            "TS": float(m["conf_ts"]),
            "WTS": float(m["conf_wts"]),
            "H": float(m["conf_h"]),
        }
        mined = Rule(
            antecedent,
            unquote(local_id(m["consequent"])),
            int(m["support"]),
            confidence,
            float(m["lift"]),
            np.zeros(0, dtype=np.int64),
            {"rule": m["label"]},
        )
        rules.append(PublishedRule(m["rule"], m["label"], int(m["rank"]), mined, m["consequent"]))
    return RuleSet(row["run"], graph, row["dataset"], row["measure"], row["kg_graph"], rules)


def _literal_forms(store: TripleStore, rule_set: RuleSet) -> dict[tuple[str, str], list[Literal]]:
    """(property, lexical form) of each literal item → the distinct literals the run's KG has for it."""
    wanted = sorted({(i.property, i.value) for r in rule_set.rules for i in r.rule.antecedent if i.literal})
    forms: dict[tuple[str, str], list[Literal]] = {}
    if not wanted or not rule_set.kg_graph:
        return forms
    frame = store.select(
        load_query("export/literal_forms"),
        kg=ox.NamedNode(rule_set.kg_graph),
        property=[ox.NamedNode(p) for p, _ in wanted],
        lex=[ox.Literal(v) for _, v in wanted],
    )
    for row in frame.iter_rows(named=True):
        lang = row["lang"] or None
        datatype = None if lang or row["datatype"] in (None, str(XSD.string)) else URIRef(row["datatype"])
        forms.setdefault((row["property"], str(row["lex"])), []).append(
            Literal(str(row["lex"]), lang=lang, datatype=datatype)
        )
    return forms


# ---------------------------------------------------------------------------------------------------
# JSON-LD


def jsonld_document(ntriples: bytes) -> dict[str, object]:
    """An N-Triples graph as compacted JSON-LD with kgexplain's context embedded (``publish.jsonld``:
    the same document pyld's compaction gives, in linear time)."""
    from .jsonld import JsonLdCompactor

    return JsonLdCompactor(_context()["@context"]).document(ntriples)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# shared by the rule formats


class _TurtleSerializer(TurtleSerializer):
    """rdflib's Turtle, except that doubles keep their lexical form (rdflib writes them as ``%e``, six
    digits: a confidence would change, and with it which rule wins)."""

    def label(self, node: rdflib.term.Node, position: int) -> str:
        if isinstance(node, Literal) and node.datatype in (XSD.double, XSD.float):
            return node._literal_n3(qname_callback=lambda dt: self.get_pname(dt, False))
        return super().label(node, position)


def _turtle(g: rdflib.Graph) -> bytes:
    out = io.BytesIO()
    _TurtleSerializer(g).serialize(out, encoding="utf-8")
    return out.getvalue()


def _graph() -> rdflib.Graph:
    g = rdflib.Graph(bind_namespaces="none")
    for prefix, iri in PREFIXES.items():
        g.bind(prefix, iri)
    for prefix, ns in (("owl", OWL), ("sh", SH), ("swrl", SWRL), ("dcat", DCAT), ("dcterms", DCTERMS)):
        g.bind(prefix, ns)
    return g


def _rule_description(g: rdflib.Graph, rule_set: RuleSet, published: PublishedRule) -> None:
    """The rule's class, confidences, support, lift, rank and run, as the run graph states them."""
    r, rule = URIRef(published.iri), published.rule
    g.add((r, RDF.type, _K.AssociationRule))
    g.add((r, RDFS.label, Literal(published.label)))
    for s, p, o in _head_facts(rule_set, published):
        g.add((s, p, o))
    g.add((r, _K.support, Literal(rule.support, datatype=XSD.integer)))
    g.add((r, _K.lift, Literal(rule.lift, datatype=XSD.double)))
    g.add((r, _K.rank, Literal(published.rank, datatype=XSD.integer)))


def _head_facts(rule_set: RuleSet, published: PublishedRule) -> Iterable[tuple[URIRef, URIRef, Literal | URIRef]]:
    """What a consumer needs to resolve conflicts: the rule's class and confidences, its run's measure."""
    r, run = URIRef(published.iri), URIRef(rule_set.run)
    yield r, _K.consequent, published.consequent_term
    for measure in MEASURES:
        yield r, _K[f"conf{measure}"], Literal(published.rule.confidence[measure], datatype=XSD.double)
    yield r, PROV.wasGeneratedBy, run
    yield run, _K.measure, Literal(rule_set.measure)


# ---------------------------------------------------------------------------------------------------
# SWRL


def swrl_graph(rule_set: RuleSet, literal_forms: Mapping[tuple[str, str], list[Literal]] | None = None) -> rdflib.Graph:
    """One ``swrl:Imp`` per rule (see the module docstring) with the OWL declarations it needs.

    A literal item is matched by kgexplain on its lexical form alone; SWRL compares literals as values,
    so the atom takes the literal the knowledge graph has for that property and form when there is one,
    else a plain string (logged)."""
    forms = literal_forms or {}
    g = _graph()
    x = URIRef(SWRL_VARIABLE)
    g.add((x, RDF.type, SWRL.Variable))
    object_properties = {_K.predictedClass, _K.coversEntity, _K.consequent, PROV.wasGeneratedBy}
    data_properties = {_K.support, _K.lift, _K.rank, _K.measure} | {_K[f"conf{m}"] for m in MEASURES}
    individuals = {_K.Pos, _K.Neg, URIRef(rule_set.run)} | {r.consequent_term for r in rule_set.rules}
    approximated = 0
    for published in rule_set.rules:
        rule_iri = URIRef(published.iri)
        individuals.add(rule_iri)
        body = []
        for item in published.rule.antecedent:
            prop = URIRef(item.property)
            if item.literal:
                data_properties.add(prop)
                found = forms.get((item.property, item.value), [])
                if len(found) != 1:
                    approximated += 1
                value: URIRef | Literal = found[0] if len(found) == 1 else Literal(item.value)
                body.append(_atom(g, SWRL.DatavaluedPropertyAtom, prop, x, value))
            else:
                object_properties.add(prop)
                value = URIRef(item.value)
                individuals.add(value)
                first, second = (x, value) if item.direction == "out" else (value, x)
                body.append(_atom(g, SWRL.IndividualPropertyAtom, prop, first, second))
        head = [
            _atom(g, SWRL.IndividualPropertyAtom, _K.predictedClass, x, published.consequent_term),
            _atom(g, SWRL.IndividualPropertyAtom, _K.coversEntity, rule_iri, x),
        ]
        imp = BNode()
        g.add((imp, RDF.type, SWRL.Imp))
        g.add((imp, RDFS.comment, Literal(published.label)))
        g.add((imp, PROV.wasDerivedFrom, rule_iri))
        g.add((imp, SWRL.body, _atom_list(g, body)))
        g.add((imp, SWRL.head, _atom_list(g, head)))
        _rule_description(g, rule_set, published)
    if approximated:
        log.warning(
            "%d literal items of %s have no single form in the knowledge graph; their SWRL atoms "
            "compare a plain string",
            approximated,
            rule_set.graph,
        )
    for prop in object_properties:
        g.add((prop, RDF.type, OWL.ObjectProperty))
    for prop in data_properties:
        g.add((prop, RDF.type, OWL.DatatypeProperty))
    for individual in individuals:
        g.add((individual, RDF.type, OWL.NamedIndividual))
    g.add((_K.AssociationRule, RDF.type, OWL.Class))
    g.add((PROV.wasDerivedFrom, RDF.type, OWL.AnnotationProperty))
    return g


def _atom(g: rdflib.Graph, kind: URIRef, prop: URIRef, first: rdflib.term.Node, second: rdflib.term.Node) -> BNode:
    atom = BNode()
    g.add((atom, RDF.type, kind))
    g.add((atom, SWRL.propertyPredicate, prop))
    g.add((atom, SWRL.argument1, first))
    g.add((atom, SWRL.argument2, second))
    return atom


def _atom_list(g: rdflib.Graph, atoms: list[BNode]) -> rdflib.term.Node:
    head = BNode()
    Collection(g, head, [*atoms])
    node: rdflib.term.Node | None = head
    while node is not None and node != RDF.nil:
        g.add((node, RDF.type, SWRL.AtomList))
        node = g.value(node, RDF.rest)
    return head


# ---------------------------------------------------------------------------------------------------
# SHACL rules


def shacl_rules_graph(rule_set: RuleSet) -> rdflib.Graph:
    """One ``sh:NodeShape`` with one ``sh:SPARQLRule`` per rule (see the module docstring)."""
    g = _graph()
    for published in rule_set.rules:
        shape, target, rule = BNode(), BNode(), BNode()
        g.add((shape, RDF.type, SH.NodeShape))
        g.add((shape, SH.target, target))
        g.add((target, RDF.type, SH.SPARQLTarget))
        g.add((target, SH.select, Literal("SELECT $this\nWHERE {\n" + _antecedent(published) + "\n}")))
        g.add((shape, RDFS.comment, Literal(published.label)))
        g.add((shape, PROV.wasDerivedFrom, URIRef(published.iri)))
        g.add((shape, SH.rule, rule))
        g.add((rule, RDF.type, SH.SPARQLRule))
        g.add((rule, RDFS.comment, Literal(published.label)))
        g.add((rule, SH.construct, Literal(_construct(rule_set, published))))
        _rule_description(g, rule_set, published)
    return g


def _construct(rule_set: RuleSet, published: PublishedRule) -> str:
    """The rule's CONSTRUCT: its head and its class, confidences and run for ``$this``, when ``$this``
    has every item (a literal item: a literal of that property with that lexical form)."""
    facts = [
        ("$this", _K.predictedClass.n3(), published.consequent_term.n3()),
        (URIRef(published.iri).n3(), _K.coversEntity.n3(), "$this"),
    ]
    facts += [(s.n3(), p.n3(), o.n3()) for s, p, o in _head_facts(rule_set, published)]
    head = "\n".join(f"  {s} {p} {o} ." for s, p, o in facts)
    return f"CONSTRUCT {{\n{head}\n}}\nWHERE {{\n{_antecedent(published)}\n}}"


def _antecedent(published: PublishedRule) -> str:
    """Graph patterns that hold when ``$this`` has every item of the rule's antecedent."""
    where = []
    for k, item in enumerate(published.rule.antecedent, start=1):
        prop = URIRef(item.property).n3()
        if item.literal:
            where.append(
                f"  $this {prop} ?value{k} .\n"
                f"  FILTER(isLiteral(?value{k}) && STR(?value{k}) = {Literal(item.value).n3()})"
            )
        elif item.direction == "out":
            where.append(f"  $this {prop} {URIRef(item.value).n3()} .")
        else:
            where.append(f"  {URIRef(item.value).n3()} {prop} $this .")
    return "\n".join(where)


# ---------------------------------------------------------------------------------------------------
# DCAT


def dcat_graph(
    store: TripleStore, dataset_iri: str, base_iri: str = DEFAULT_BASE, endpoint_url: str = DEFAULT_ENDPOINT_URL
) -> rdflib.Graph:
    """A DCAT 3 catalog: each completed mining run of ``dataset_iri`` as a ``dcat:Dataset`` (its run
    graph) with one distribution per export format, and the SPARQL service that serves them."""
    minter = Minter(base_iri)
    runs = store.select(
        load_query("export/rule_sets"), catalog=minter.catalog_graph(), dataset=ox.NamedNode(dataset_iri)
    )
    if runs.height == 0:
        raise InputError(
            f"no completed mining run of {dataset_iri} in the {store.description}; run `kgexplain mine` first"
        )
    name = local_id(dataset_iri)
    described = store.select(
        load_query("export/dataset_description"),
        data_graph=minter.dataset_graph(name),
        dataset=ox.NamedNode(dataset_iri),
    )
    about = described.row(0, named=True) if described.height else {"name": name, "positive": None, "negative": None}
    classes = (
        f" (Pos: {about['positive']!r}, Neg: {about['negative']!r})"
        if about["positive"] is not None and about["negative"] is not None
        else ""
    )
    listed = store.select(load_query("data/class_list"), graph=minter.dataset_graph(name))
    consequent = "Pos|Neg"
    if listed.height > 2:  # issue #19: the consequent is one of the dataset's classes, one-vs-rest
        consequent, classes = "a class", f" (classes {', '.join(map(repr, listed['name'].to_list()))}, one-vs-rest)"
    g = _graph()
    catalog, service = URIRef(minter.catalog_graph().value), BNode()
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal(f"kgexplain rule sets of {about['name']}", lang="en")))
    g.add(
        (
            catalog,
            DCTERMS.description,
            Literal(
                f"Association rules Y(x) → {consequent} that say which knowledge-graph facts about the entities a text "
                "mentions push a text classifier towards a class, one rule set per mining run.",
                lang="en",
            ),
        )
    )
    g.add((catalog, DCAT.service, service))
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCTERMS.title, Literal("kgexplain SPARQL endpoint", lang="en")))
    g.add((service, DCAT.endpointURL, URIRef(endpoint_url)))
    g.add((service, DCTERMS.conformsTo, _SPARQL_PROTOCOL))
    g.add((service, DCTERMS.conformsTo, _SPARQL_QUERY))
    store_url = endpoint_url[: -len("sparql")] + "store" if endpoint_url.endswith("/sparql") else None
    for row in runs.iter_rows(named=True):
        ds = URIRef(row["graph"])
        g.add((catalog, DCAT.dataset, ds))
        g.add((service, DCAT.servesDataset, ds))
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, DCTERMS.identifier, Literal(local_id(row["run"]))))
        g.add((ds, DCTERMS.title, Literal(f"Rules of {about['name']}, mining run {local_id(row['run'])}", lang="en")))
        settings = ", ".join(
            f"{k} {row[v]}"
            for k, v in (("measure", "measure"), ("confmin", "min_confidence"), ("supmin", "min_support"))
            if row[v] is not None
        )
        g.add(
            (
                ds,
                DCTERMS.description,
                Literal(
                    f"{row['rules']} association rules Y(x) → {consequent} about the entities mentioned in the texts of "
                    f"{about['name']}{classes}, mined from token attributions ({settings}).",
                    lang="en",
                ),
            )
        )
        g.add((ds, DCTERMS.issued, Literal(str(row["ended"]), datatype=XSD.dateTime)))
        g.add((ds, DCTERMS.conformsTo, _VOCABULARY))
        g.add((ds, DCAT.keyword, Literal("association rules", lang="en")))
        g.add((ds, DCAT.keyword, Literal("explainable AI", lang="en")))
        g.add((ds, PROV.wasGeneratedBy, URIRef(row["run"])))
        if row["informed_by"]:
            g.add((URIRef(row["run"]), PROV.used, URIRef(row["informed_by"])))
        for fmt in EXPORT_FORMATS:
            if fmt == "dcat":
                continue
            g.add((ds, DCAT.distribution, _distribution(g, fmt, row["graph"], service, store_url)))
    return g


_DISTRIBUTIONS = {
    "turtle": ("Turtle", None),
    "ntriples": ("N-Triples", None),
    "json-ld": ("JSON-LD, compacted with the kgexplain context", None),
    "swrl": ("SWRL rules (OWL 2 in Turtle)", _SWRL_SPEC),
    "shacl-rules": ("SHACL SPARQL rules (Turtle)", _SHACL_AF),
}


def _distribution(g: rdflib.Graph, fmt: str, graph: str, service: BNode, store_url: str | None) -> BNode:
    title, conforms = _DISTRIBUTIONS[fmt]
    d = BNode()
    g.add((d, RDF.type, DCAT.Distribution))
    g.add((d, DCTERMS.title, Literal(title, lang="en")))
    g.add((d, DCAT.mediaType, URIRef(_IANA + EXPORT_FORMATS[fmt])))
    if conforms is not None:
        g.add((d, DCTERMS.conformsTo, conforms))
    if fmt in ("turtle", "ntriples", "json-ld") and store_url is not None:
        # the service's Graph Store Protocol route serves the run graph in the asked-for media type
        url = URIRef(store_url + "?" + urlencode({"graph": graph}))
        g.add((d, DCAT.accessService, service))
        g.add((d, DCAT.accessURL, url))
        g.add((d, DCAT.downloadURL, url))
        g.add((d, DCTERMS.conformsTo, _GRAPH_STORE_PROTOCOL))
    else:
        g.add((d, DCTERMS.description, Literal(f"Written by `kgexplain export --format {fmt}`.", lang="en")))
    return d


# ---------------------------------------------------------------------------------------------------


def export_rules(
    store: TripleStore,
    graph: str,
    output: Path,
    fmt: str = "turtle",
    *,
    base_iri: str = DEFAULT_BASE,
    endpoint_url: str = DEFAULT_ENDPOINT_URL,
) -> ExportResult:
    """Writes the mining run graph ``graph`` in ``fmt`` (one of ``EXPORT_FORMATS``) to ``output``,
    through a temporary file renamed into place."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    rules = 0
    if fmt in ("turtle", "ntriples", "json-ld"):
        data = store.dump(ox.NamedNode(graph), ox.RdfFormat.N_TRIPLES)
        if not data:
            raise StoreError(f"graph {graph} is empty or missing in the {store.description}")
        triples = data.count(b"\n")
        if fmt == "json-ld":
            body = (json.dumps(jsonld_document(data), ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        else:
            body = (
                ox.serialize(ox.parse(data, ox.RdfFormat.N_TRIPLES), format=_GRAPH_FORMATS[fmt], prefixes=PREFIXES)
                or b""
            )
    else:
        rule_set = read_rule_set(store, graph)
        if fmt == "swrl":
            out = swrl_graph(rule_set, _literal_forms(store, rule_set))
        elif fmt == "shacl-rules":
            out = shacl_rules_graph(rule_set)
        else:
            out = dcat_graph(store, rule_set.dataset, base_iri, endpoint_url)
        rules = 0 if fmt == "dcat" else len(rule_set.rules)
        triples = len(out)
        body = _turtle(out)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(output)
    return ExportResult(fmt, output, triples, rules)
