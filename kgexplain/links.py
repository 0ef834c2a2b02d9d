"""Links from the IRIs that rules talk about to other vocabularies (``kgexplain link``, issue #8).

A rule item names a property (``wdt:P27``) and a value (``wd:Q142``); this stage publishes mapping
triples from such IRIs to external ones (``wd:Q5 skos:exactMatch dbo:Person``), read from three sources:

``kg`` and ``dump``: Wikidata's own mappings
    equivalent class (P1709) and exact match (P2888) on items, equivalent property (P1628) on property
    entities, all as ``skos:exactMatch``; and English Wikipedia sitelinks, which the loader stores as
    ``<https://en.wikipedia.org/wiki/TITLE> schema:about wd:Q…``, as ``skos:exactMatch`` to
    ``http://dbpedia.org/resource/TITLE``. A DBpedia resource is named after the page's canonical title
    (the one a sitelink holds) and describes the same thing as the page, so the match is exact, not close;
    ``skos:exactMatch`` rather than ``owl:sameAs`` because it claims no more than interchangeability for
    retrieval, and does not merge the two graphs' statements under OWL semantics. They are read from the
    dataset's knowledge graph in the store and, with ``dump``, streamed from a Wikidata dump (the readers
    of ``loaders.wikidata``; malformed lines are counted, never fatal).
``ontology``: an external ontology's own equivalences to Wikidata
    ``owl:equivalentClass`` / ``owl:equivalentProperty`` / ``owl:sameAs`` (as ``skos:exactMatch``) and the
    SKOS mapping relations (kept; ``broadMatch`` and ``narrowMatch`` swap when the Wikidata IRI is their
    object), in either direction, e.g. the DBpedia ontology's ``dbo:Person owl:equivalentClass wd:Q5``.
``sssom``: a user's mapping set in SSSOM TSV
    The predicate is kept (the SKOS mapping relations, ``owl:equivalentClass``, ``owl:equivalentProperty``,
    ``owl:sameAs``), and so are ``confidence`` and ``mapping_justification``. The optional ``#`` metadata
    block's ``curie_map`` expands CURIEs, on top of ``STANDARD_PREFIXES``. sssom-py is not used: it pulls
    in pandas, LinkML and its whole runtime (hundreds of MB, slow to import) to read what is a TSV file
    with a YAML header; the few rules needed here are below.

Wikidata properties are linked in both forms, the entity ``wd:P27`` and the direct-claim predicate
``wdt:P27`` (rule items use the latter; the service also looks links up on the former). By default only
links whose Wikidata side is an IRI of a rule item of the dataset's completed mining runs are published
(``all_links`` publishes every link found). Each link is one triple ``<wikidata> <relation> <external>``,
and an annotation node (``kgx:ExternalLink``: ``owl:annotatedSource/Property/Target``, its source, and
for SSSOM its confidence and justification). Each source is a ``kgx:LinkSource`` (kind, file name,
SHA-256, links published, lines or rows skipped) that the run ``prov:used``. All of it is one run graph of
a ``kgx:LinkRun``, published with its run record in one transaction.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast
from urllib.parse import unquote

import pyoxigraph as ox
from pyoxigraph import NamedNode

from .config import Settings
from .errors import InputError
from .publish.rdf import RunRecord
from .queries import load_query
from .runs import Progress, new_run_id, no_progress, now
from .runs import labels as kg_labels
from .store import RawTriple, TripleStore
from .vocab import KGX, PREFIXES, PROV, RDF, RDFS, SCHEMA, SKOS, WD, WDT, XSD, Minter, nt_float, nt_int, nt_iri, nt_str

__all__ = [
    "OWL",
    "DBR",
    "DBO",
    "SEMAPV",
    "STANDARD_PREFIXES",
    "RELATIONS",
    "SOURCES",
    "Link",
    "SourceReport",
    "LinkResult",
    "SssomSet",
    "wikidata_forms",
    "dbpedia_resource",
    "read_sssom",
    "ontology_links",
    "wikidata_links",
    "dump_links",
    "rule_iris",
    "link_stage",
    "curie",
]

log = logging.getLogger(__name__)

OWL = "http://www.w3.org/2002/07/owl#"
DBO = "http://dbpedia.org/ontology/"
DBR = "http://dbpedia.org/resource/"
SEMAPV = "https://w3id.org/semapv/vocab/"
SSSOM = "https://w3id.org/sssom/"

#: Prefixes every SSSOM file may use without declaring them; a file's own ``curie_map`` wins.
STANDARD_PREFIXES: dict[str, str] = {
    "skos": SKOS,
    "owl": OWL,
    "rdf": RDF,
    "rdfs": RDFS,
    "wd": WD,
    "wdt": WDT,
    "dbo": DBO,
    "dbr": DBR,
    "semapv": SEMAPV,
    "schema": SCHEMA,
    "sssom": SSSOM,
    "xsd": XSD,
}

#: The mapping relations published, and the one each stands for when its two sides swap.
RELATIONS: dict[str, str] = {
    SKOS + "exactMatch": SKOS + "exactMatch",
    SKOS + "closeMatch": SKOS + "closeMatch",
    SKOS + "relatedMatch": SKOS + "relatedMatch",
    SKOS + "broadMatch": SKOS + "narrowMatch",
    SKOS + "narrowMatch": SKOS + "broadMatch",
    OWL + "equivalentClass": OWL + "equivalentClass",
    OWL + "equivalentProperty": OWL + "equivalentProperty",
    OWL + "sameAs": OWL + "sameAs",
}
#: What an ontology's OWL equivalences are published as (see the module docstring).
_ONTOLOGY_AS = {
    OWL + "equivalentClass": SKOS + "exactMatch",
    OWL + "equivalentProperty": SKOS + "exactMatch",
    OWL + "sameAs": SKOS + "exactMatch",
}
SOURCES = ("kg", "dump", "ontology", "sssom")

_EXACT = SKOS + "exactMatch"
_P1709, _P2888, _P1628 = WDT + "P1709", WDT + "P2888", WDT + "P1628"
_WIKIDATA_MAPPINGS = frozenset({_P1709, _P2888, _P1628})
_ABOUT = SCHEMA + "about"
_ENWIKI = "https://en.wikipedia.org/wiki/"
_WIKIDATA = re.compile(r"^https?://(?:www\.)?wikidata\.org/(?:entity/|prop/direct/|wiki/(?:Property:)?)([^/#?]*)$")
_ENTITY_ID = re.compile(r"^[PQL][1-9][0-9]*$")
_MAX_PROBLEMS = 20
_RDF_FORMATS = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "n3": ox.RdfFormat.N3,
    "rdf": ox.RdfFormat.RDF_XML,
    "owl": ox.RdfFormat.RDF_XML,
    "xml": ox.RdfFormat.RDF_XML,
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
}


@dataclass(frozen=True)
class Link:
    """``subject relation target``: ``subject`` is the Wikidata (or rule item) side."""

    subject: str
    relation: str
    target: str
    source: str  # kg | dump | ontology | sssom
    confidence: float | None = None
    justification: str | None = None


@dataclass
class SourceReport:
    """What one source gave: links found (before the rule filter), those published, what was skipped and why."""

    kind: str
    name: str  # file name, or the knowledge graph's IRI
    sha256: str | None = None
    found: int = 0
    published: Counter[str] = field(default_factory=Counter)  # relation IRI → links published
    malformed: int = 0
    problems: list[str] = field(default_factory=list)  # the first few, with line or row numbers
    ignored: int = 0  # mapping statements without a side to link (neither is Wikidata)

    def problem(self, text: str) -> None:
        self.malformed += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)


@dataclass
class LinkResult:
    run_id: str
    graph: str
    dataset: str
    mining_runs: int
    rule_iris: int  # IRIs named by rule items (properties in both forms)
    all_links: bool
    links: list[Link]  # published, sorted
    sources: list[SourceReport]
    labels: dict[str, str]  # English labels of the linked rule IRIs, from the knowledge graph
    triples: int
    seconds: float

    def counts(self) -> dict[str, dict[str, int]]:
        """``{source: {relation IRI: links published}}``."""
        return {s.kind: dict(s.published) for s in self.sources}


# ---------------------------------------------------------------------------------------------------
# IRIs


def wikidata_forms(iri: str) -> tuple[str, ...] | None:
    """The Wikidata IRIs ``iri`` stands for: ``(wd:Q5,)`` for an item, ``(wd:P27, wdt:P27)`` for a property
    (given as ``wd:``, ``wdt:`` or a wikidata.org page); ``()`` for a Wikidata IRI whose id is malformed
    (``wd:Q737498Q13381863``); None for an IRI outside Wikidata."""
    match = _WIKIDATA.match(iri)
    if match is None:
        return None
    entity = match[1]
    if not _ENTITY_ID.match(entity):
        return ()
    return (WD + entity, WDT + entity) if entity[0] == "P" else (WD + entity,)


#: Characters a DBpedia resource IRI writes percent-encoded: those an IRI cannot hold, and ``?``, ``#``, ``%``.
_DBPEDIA_ESCAPE = frozenset(' <>"{}|\\^`?#%')


def dbpedia_resource(page: str) -> str | None:
    """The DBpedia resource of an English Wikipedia page IRI (``…/wiki/Jan_Both_(painter)`` →
    ``dbr:Jan_Both_(painter)``): the title percent-decoded, as DBpedia's IRIs keep non-ASCII characters,
    with only what an IRI cannot hold (and ``?``, ``#``, ``%``) encoded. None for another IRI."""
    if not page.startswith(_ENWIKI) or len(page) == len(_ENWIKI):
        return None
    title = unquote(page[len(_ENWIKI) :]).replace(" ", "_")
    out = []
    for ch in title:
        if ch in _DBPEDIA_ESCAPE or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return DBR + "".join(out)


def curie(iri: str) -> str:
    """``skos:exactMatch`` for an IRI under ``STANDARD_PREFIXES`` or kgexplain's ``PREFIXES``; else the IRI."""
    for prefix, base in {**PREFIXES, **STANDARD_PREFIXES}.items():
        if iri.startswith(base) and len(iri) > len(base):
            return f"{prefix}:{iri[len(base) :]}"
    return iri


def _iri_term(term: str) -> str | None:
    """The IRI of an N-Triples term ``<…>`` (UCHAR escapes decoded), or None for a literal or blank node."""
    if not (term.startswith("<") and term.endswith(">")):
        return None
    body = term[1:-1]
    if "\\" in body:
        body = re.sub(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})", lambda m: chr(int(m[1] or m[2], 16)), body)
    return body


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist or is not a file")
    return path


# ---------------------------------------------------------------------------------------------------
# Wikidata's own mappings: the knowledge graph in the store, or a dump


def _wikidata_link(subject: str, predicate: str, obj: str, source: str, report: SourceReport, where: str) -> list[Link]:
    """The links one Wikidata mapping statement gives (both forms of a property)."""
    if predicate == _ABOUT:
        target = dbpedia_resource(subject)
        forms = wikidata_forms(obj)
        if target is None or forms is None:
            return []
        if not forms:
            report.problem(f"{where}: malformed Wikidata IRI <{obj}> in a sitelink")
            return []
        return [Link(form, _EXACT, target, source) for form in forms]
    forms = wikidata_forms(subject)
    if not forms:
        if forms == ():
            report.problem(f"{where}: malformed Wikidata IRI <{subject}>")
        return []
    return [Link(form, _EXACT, obj, source) for form in forms]


def wikidata_links(store: TripleStore, kg: NamedNode) -> tuple[list[Link], SourceReport]:
    """Wikidata's own mappings in the knowledge graph ``kg`` of the store (``links/wikidata_mappings``)."""
    report = SourceReport("kg", kg.value)
    frame = store.select(load_query("links/wikidata_mappings"), kg=kg)
    links: list[Link] = []
    for subject, predicate, obj in frame.select("subject", "predicate", "object").iter_rows() if frame.height else []:
        links.extend(_wikidata_link(str(subject), str(predicate), str(obj), "kg", report, kg.value))
    return links, report


def dump_links(
    path: Path, wanted: set[str] | None = None, progress: Progress = no_progress
) -> tuple[list[Link], SourceReport]:
    """Wikidata's own mappings streamed from a dump (any format ``loaders.wikidata`` reads): statements whose
    subject is in ``wanted`` (every one when None), and sitelinks whose entity is. Malformed lines are
    counted in the report (with line numbers), never fatal."""
    from .loaders.wikidata import LoadReport, iter_triples

    path = _check_file(path, "the dump")
    report = SourceReport("dump", path.name, _sha256(path))
    load = LoadReport.for_path(path)
    subjects = None if wanted is None else {nt_iri(i) for i in wanted}
    about, mapping = nt_iri(_ABOUT), {nt_iri(p) for p in _WIKIDATA_MAPPINGS}
    links: list[Link] = []

    def on_progress(done: int, total: int) -> None:
        progress("dump", done, total)

    for s, p, o in iter_triples(path, load, on_progress):
        if p in mapping:
            if subjects is not None and s not in subjects:
                continue
        elif p == about:
            if not s.startswith("<" + _ENWIKI) or (subjects is not None and o not in subjects):
                continue
        else:
            continue
        subject, obj = _iri_term(s), _iri_term(o)
        if subject is None or obj is None:
            continue  # a literal value (a JSON dump's url-less string): nothing to link to
        links.extend(_wikidata_link(subject, _iri_term(p) or "", obj, "dump", report, path.name))
    report.malformed += load.malformed
    report.problems[:0] = [f"{path.name} line {n}: malformed: {text[:120]}" for n, text in load.malformed_examples]
    del report.problems[_MAX_PROBLEMS:]
    if load.malformed:
        log.warning("%s: %d malformed lines skipped", path.name, load.malformed)
    return links, report


# ---------------------------------------------------------------------------------------------------
# an external ontology's equivalences to Wikidata


def _open_rdf(path: Path) -> tuple[IO[bytes], ox.RdfFormat]:
    name = path.name.lower()
    opener: Callable[[Path, str], object] = open
    if name.endswith(".gz"):
        opener, name = gzip.open, name[:-3]
    elif name.endswith(".bz2"):
        opener, name = bz2.open, name[:-4]
    fmt = _RDF_FORMATS.get(name.rsplit(".", 1)[-1]) if "." in name else None
    if fmt is None:
        raise InputError(
            f"cannot tell the RDF format of the ontology {path.name} from its extension; "
            f"use one of .{', .'.join(_RDF_FORMATS)} (optionally .gz or .bz2)"
        )
    # GzipFile and BZ2File are binary files, though typeshed does not derive them from IO[bytes]
    return cast(IO[bytes], opener(path, "rb")), fmt


def ontology_links(path: Path) -> tuple[list[Link], SourceReport]:
    """The links an ontology file states to Wikidata (see the module docstring); a malformed Wikidata IRI
    is counted and skipped with a warning, a file that does not parse raises InputError."""
    path = _check_file(path, "the ontology")
    report = SourceReport("ontology", path.name, _sha256(path))
    links: list[Link] = []
    handle, fmt = _open_rdf(path)
    try:
        with handle:
            for quad in ox.parse(handle, fmt):
                predicate = quad.predicate.value
                if predicate not in RELATIONS:
                    continue
                s, o = quad.subject, quad.object
                if not isinstance(s, NamedNode) or not isinstance(o, NamedNode):
                    continue
                links.extend(_ontology_link(s.value, predicate, o.value, report, path.name))
    except (SyntaxError, ValueError, OSError, EOFError) as exc:
        raise InputError(f"the ontology {path.name} cannot be read as {fmt}: {exc}") from exc
    if report.malformed:
        log.warning(
            "%s: %d statements with a malformed Wikidata IRI skipped (first: %s)",
            path.name,
            report.malformed,
            report.problems[0],
        )
    return links, report


def _ontology_link(subject: str, predicate: str, obj: str, report: SourceReport, name: str) -> list[Link]:
    s_forms, o_forms = wikidata_forms(subject), wikidata_forms(obj)
    if s_forms is not None and o_forms is not None:
        return []  # both sides in Wikidata: not a link out of it
    if s_forms is None and o_forms is None:
        report.ignored += 1
        return []
    if s_forms is None:  # external → Wikidata: turn it round
        forms, target, relation = o_forms, subject, RELATIONS[predicate]
    else:
        forms, target, relation = s_forms, obj, predicate
    if not forms:
        bad = obj if s_forms is None else subject
        report.problem(f"{name}: malformed Wikidata IRI <{bad}> in <{subject}> <{predicate}> <{obj}>; skipped")
        return []
    relation = _ONTOLOGY_AS.get(relation, relation)
    return [Link(form, relation, target, "ontology") for form in forms]


# ---------------------------------------------------------------------------------------------------
# SSSOM


@dataclass
class SssomSet:
    """A parsed SSSOM TSV file: its links, the prefixes used, the metadata block and a report."""

    links: list[Link]
    prefixes: dict[str, str]
    metadata: dict[str, object]
    report: SourceReport
    rows: int = 0


_REQUIRED_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")


def _expand(value: str, prefixes: dict[str, str]) -> str:
    """A CURIE (``wd:Q5``) or IRI (``<…>``, ``http(s)://…``) as an IRI; ValueError if it is neither."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    if re.match(r"^https?://\S+$", value):
        return value
    prefix, colon, local = value.partition(":")
    if not colon or not prefix:
        raise ValueError(f"{value!r} is not a CURIE or an IRI")
    if prefix not in prefixes:
        raise ValueError(f"unknown prefix {prefix!r} in {value!r} (not in the curie_map)")
    if re.search(r"[\s<>\"{}|\\^`]", local):
        raise ValueError(f"{value!r} has characters an IRI cannot hold")
    return prefixes[prefix] + local


def _metadata(lines: list[str], path: Path) -> dict[str, object]:
    import yaml

    text = "\n".join(line[1:] for line in lines)
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise InputError(f"the metadata block of {path.name} (its '#' lines) is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"the metadata block of {path.name} is not a YAML mapping")
    curie_map = data.get("curie_map", {})
    if not isinstance(curie_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in curie_map.items()
    ):
        raise InputError(f"the curie_map in {path.name} must map prefixes to IRI strings")
    return data


def read_sssom(path: Path) -> SssomSet:
    """Parses an SSSOM TSV file. Rows that cannot be used (wrong number of cells, an unknown prefix, a
    missing justification, a confidence outside [0, 1], an unsupported predicate, a negated mapping, a
    malformed Wikidata id) are counted and reported with their line numbers; a file without the required
    columns raises InputError."""
    path = _check_file(path, "the SSSOM file")
    report = SourceReport("sssom", path.name, _sha256(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the SSSOM file {path.name} is not UTF-8: {exc}") from exc
    lines = text.splitlines()
    head = 0
    while head < len(lines) and lines[head].startswith("#"):
        head += 1
    metadata = _metadata(lines[:head], path)
    prefixes = {**STANDARD_PREFIXES, **metadata.get("curie_map", {})}  # type: ignore[dict-item]
    body = lines[head:]
    while body and not body[0].strip():
        body, head = body[1:], head + 1
    if not body:
        raise InputError(f"the SSSOM file {path.name} has no header row (subject_id, predicate_id, object_id, ...)")
    reader = csv.reader(io.StringIO("\n".join(body)), delimiter="\t")
    header = [h.strip() for h in next(reader)]
    missing = [c for c in _REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"the SSSOM file {path.name} lacks the column(s) {', '.join(missing)} "
            f"(line {head + 1} has: {', '.join(header) or 'nothing'})"
        )
    column = {name: i for i, name in enumerate(header)}
    links: list[Link] = []
    rows = 0
    for cells in reader:
        line = head + reader.line_num
        if not any(c.strip() for c in cells):
            continue
        rows += 1
        try:
            links.extend(_sssom_row(cells, header, column, prefixes))
        except ValueError as exc:
            report.problem(f"{path.name} line {line}: {exc}")
    if report.malformed:
        log.warning("%s: %d of %d rows skipped (first: %s)", path.name, report.malformed, rows, report.problems[0])
    return SssomSet(links, prefixes, metadata, report, rows)


def _sssom_row(cells: list[str], header: list[str], column: dict[str, int], prefixes: dict[str, str]) -> list[Link]:
    if len(cells) != len(header):
        raise ValueError(f"{len(cells)} cells where the header has {len(header)}")

    def cell(name: str) -> str:
        return cells[column[name]].strip() if name in column else ""

    if cell("predicate_modifier"):
        if cell("predicate_modifier") == "Not":
            raise ValueError("a negated mapping (predicate_modifier Not): nothing to publish")
        raise ValueError(f"unknown predicate_modifier {cell('predicate_modifier')!r}")
    for name in _REQUIRED_COLUMNS:
        if not cell(name):
            raise ValueError(f"empty {name}")
    subject, predicate, obj = (_expand(cell(n), prefixes) for n in ("subject_id", "predicate_id", "object_id"))
    justification = _expand(cell("mapping_justification"), prefixes)
    if predicate not in RELATIONS:
        raise ValueError(
            f"unsupported predicate {curie(predicate)} (use a SKOS mapping relation, "
            "owl:equivalentClass, owl:equivalentProperty or owl:sameAs)"
        )
    confidence = None
    if cell("confidence"):
        try:
            confidence = float(cell("confidence"))
        except ValueError:
            raise ValueError(f"confidence {cell('confidence')!r} is not a number") from None
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence {confidence} is outside [0, 1]")
    s_forms, o_forms = wikidata_forms(subject), wikidata_forms(obj)
    if s_forms is None and o_forms is not None:  # external → Wikidata: turn it round
        subject, obj, predicate, s_forms = obj, subject, RELATIONS[predicate], o_forms
    if s_forms == ():
        raise ValueError(f"malformed Wikidata IRI <{subject}>")
    forms = s_forms or (subject,)
    return [Link(form, predicate, obj, "sssom", confidence, justification) for form in forms]


# ---------------------------------------------------------------------------------------------------
# the stage


def rule_iris(store: TripleStore, dataset: str, settings: Settings) -> tuple[set[str], list[str]]:
    """The IRIs the rule items of ``dataset``'s completed mining runs name (properties also as ``wd:P…``),
    and those runs."""
    minter = Minter(settings.base_iri)
    frame = store.select(
        load_query("links/rule_item_iris"), catalog=minter.catalog_graph(), dataset=NamedNode(minter.dataset(dataset))
    )
    if frame.height == 0:
        return set(), []
    iris = {str(i) for i in frame["iri"].to_list()}
    iris |= {WD + i[len(WDT) :] for i in list(iris) if i.startswith(WDT)}
    return iris, sorted(set(frame["run"].to_list()))


def _blank(kind: str, index: int) -> str:
    """A blank node: both stores give each load's blank nodes fresh identities (Oxigraph renames them, an
    ``INSERT DATA`` request makes new ones), so runs never share these nodes."""
    return f"_:{kind}{index}"


def _body(
    run_id: str, minter: Minter, links: list[Link], reports: list[SourceReport], mining_runs: Iterable[str]
) -> Iterator[RawTriple]:
    run = nt_iri(minter.run(run_id))
    a, label = nt_iri(RDF + "type"), nt_iri(RDFS + "label")
    used = nt_iri(PROV + "used")
    for iri in sorted(mining_runs):
        yield run, used, nt_iri(iri)
    source_node: dict[str, str] = {}
    for i, report in enumerate(reports):
        node = source_node[report.kind] = _blank("source", i)
        yield run, used, node
        yield node, a, nt_iri(KGX + "LinkSource")
        yield node, a, nt_iri(PROV + "Entity")
        yield node, label, nt_str(report.name)
        yield node, nt_iri(KGX + "sourceKind"), nt_str(report.kind)
        yield node, nt_iri(KGX + "linkCount"), nt_int(sum(report.published.values()))
        yield node, nt_iri(KGX + "malformedCount"), nt_int(report.malformed)
        if report.sha256:
            yield node, nt_iri(KGX + "sha256"), nt_str(report.sha256)
        if report.kind == "kg":
            yield node, nt_iri(KGX + "sourceGraph"), nt_iri(report.name)
    asserted: set[tuple[str, str, str]] = set()
    for i, link in enumerate(links):
        s, p, o = nt_iri(link.subject), nt_iri(link.relation), nt_iri(link.target)
        if (s, p, o) not in asserted:
            asserted.add((s, p, o))
            yield s, p, o
        node = _blank("link", i)
        yield node, a, nt_iri(KGX + "ExternalLink")
        yield node, nt_iri(OWL + "annotatedSource"), s
        yield node, nt_iri(OWL + "annotatedProperty"), p
        yield node, nt_iri(OWL + "annotatedTarget"), o
        yield node, nt_iri(KGX + "linkSource"), source_node[link.source]
        yield node, nt_iri(PROV + "wasGeneratedBy"), run
        if link.confidence is not None:
            yield node, nt_iri(KGX + "confidence"), nt_float(link.confidence)
        if link.justification is not None:
            yield node, nt_iri(KGX + "mappingJustification"), nt_iri(link.justification)


def _valid_iri(iri: str) -> bool:
    try:
        NamedNode(iri)
    except ValueError:
        return False
    return True


def link_stage(
    store: TripleStore,
    dataset: str,
    settings: Settings,
    *,
    dump: Path | None = None,
    ontology: Path | None = None,
    sssom: Path | None = None,
    all_links: bool = False,
    progress: Progress = no_progress,
) -> LinkResult:
    """Links from the IRIs of ``dataset``'s rule items to other vocabularies, from the knowledge graph's
    Wikidata mappings and the given files, published as a ``kgx:LinkRun`` (see the module docstring).
    The SSSOM and ontology files are read, and the dump checked, before the store is queried (the dump is
    streamed afterwards: it is filtered by the rule items' IRIs); a dataset without a completed mining run is
    an InputError unless ``all_links``."""
    from .neurons import publish_run

    started, clock = now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    found: list[tuple[list[Link], SourceReport]] = []
    progress("sources", 0, 4)
    if dump is not None:
        from .loaders.wikidata import detect_format

        detect_format(_check_file(dump, "the dump"))
    if sssom is not None:
        parsed = read_sssom(sssom)
        found.append((parsed.links, parsed.report))
    if ontology is not None:
        found.append(ontology_links(ontology))
    progress("sources", 1, 4)
    wanted, mining_runs = rule_iris(store, dataset, settings)
    if not mining_runs and not all_links:
        raise InputError(
            f"no completed mining run of dataset {dataset!r} in the {store.description}: no rule item "
            "to link; run `kgexplain mine` first, or pass --all to publish every link of the sources"
        )
    kg = minter.kg_graph(dataset)
    found.append(wikidata_links(store, kg))
    progress("sources", 2, 4)
    if dump is not None:
        found.append(dump_links(dump, None if all_links else wanted, progress))
    progress("sources", 3, 4)
    order = {kind: i for i, kind in enumerate(SOURCES)}
    found.sort(key=lambda pair: order[pair[1].kind])
    kept: dict[tuple[str, str, str, str], Link] = {}
    for links, report in found:
        report.found = len(links)
        for link in links:
            if not (all_links or link.subject in wanted):
                continue
            if not (_valid_iri(link.subject) and _valid_iri(link.target)):
                report.problem(f"{report.name}: not a valid IRI in {link.subject} {curie(link.relation)} {link.target}")
                continue
            key = (link.subject, link.relation, link.target, link.source)
            if key not in kept:
                kept[key] = link
                report.published[link.relation] += 1
    links = sorted(kept.values(), key=lambda k: (order[k.source], k.subject, k.relation, k.target))
    reports = [report for _links, report in found]
    run_id = new_run_id("links")
    graph = minter.run_graph(run_id)
    body = list(_body(run_id, minter, links, reports, mining_runs))
    record = RunRecord(
        run_id,
        "LinkRun",
        minter.dataset(dataset),
        graph.value,
        started,
        settings={
            "allLinks": bool(all_links),
            "ruleIris": len(wanted),
            "linkCount": len(links),
            "miningRuns": len(mining_runs),
        },
        links={"kgGraph": kg.value},
    )
    n = publish_run(store, record, minter, body)
    progress("sources", 4, 4)
    subjects = sorted({link.subject for link in links if link.subject in wanted})
    labels = _property_labels(store, kg, subjects, settings.item_batch)
    return LinkResult(
        run_id,
        graph.value,
        dataset,
        len(mining_runs),
        len(wanted),
        all_links,
        links,
        reports,
        labels,
        n,
        time.perf_counter() - clock,
    )


def _property_labels(store: TripleStore, kg: NamedNode, iris: list[str], size: int) -> dict[str, str]:
    """English labels from the knowledge graph (``runs.labels``); a ``wdt:P…`` property takes its ``wd:P…``
    entity's label."""
    asked = sorted({WD + i[len(WDT) :] if i.startswith(WDT) else i for i in iris})
    out = kg_labels(store, kg, asked, max(1, size))
    return {i: out[k] for i in iris if (k := WD + i[len(WDT) :] if i.startswith(WDT) else i) in out}
