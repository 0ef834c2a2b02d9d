"""Reading the W3C SPARQL 1.1 test suites (manifests, data, expected results) and comparing answers.

Answers are compared as the suites mean them: solutions as a multiset (a list when the query orders them)
and graphs as graphs, both up to the renaming of blank nodes. Either is turned into an RDF dataset, canonicalised
(RDFC-1.0, via pyoxigraph) and compared: each solution is a blank node with one edge per bound variable.
Numeric and boolean literals are compared by value within their datatype (``"1.0"^^xsd:decimal`` is
``"1"^^xsd:decimal``, ``"0"^^xsd:boolean`` is ``"false"^^xsd:boolean``), as Oxigraph's own harness compares
them: Oxigraph keeps such literals by value and writes them in canonical form. A changed datatype still counts.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyoxigraph as ox

from kgexplain.store import EmbeddedStore

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "w3c-suite-token"


def suite_dir() -> Path:
    """``w3c-sparql11`` in the shared data (``KGX_SHARED_DATA``, else ``../shared/data``: the lookup of
    ``tests/conftest.py``)."""
    override = os.environ.get("KGX_SHARED_DATA")
    return (Path(override) if override else ROOT.parent / "shared" / "data") / "w3c-sparql11"


@dataclass(frozen=True)
class Live:
    """The service on loopback: its base URL, its SPARQL endpoint and the store it serves."""

    url: str
    store: EmbeddedStore

    @property
    def endpoint(self) -> str:
        return f"{self.url}/sparql"


MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
QT = "http://www.w3.org/2001/sw/DataAccess/tests/test-query#"
UT = "http://www.w3.org/2009/sparql/tests/test-update#"
HT = "http://www.w3.org/2011/http#"
CNT = "http://www.w3.org/2011/content#"
RS = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS = {
    XSD + t
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
}

Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple
Solution = dict[str, Term]

_RDF_FORMATS = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES, ".rdf": ox.RdfFormat.RDF_XML}
_RESULT_FORMATS = {
    ".srx": ox.QueryResultsFormat.XML,
    ".srj": ox.QueryResultsFormat.JSON,
    ".tsv": ox.QueryResultsFormat.TSV,
}


class Manifest:
    """One manifest's triples, by subject; IRIs in it resolve against its file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.as_uri()
        self._by_subject: dict[Term, list[tuple[str, Term]]] = defaultdict(list)
        for t in ox.parse(path=path, format=ox.RdfFormat.TURTLE, base_iri=self.base):
            self._by_subject[t.subject].append((t.predicate.value, t.object))

    def objects(self, subject: Term, predicate: str) -> list[Term]:
        return [o for p, o in self._by_subject.get(subject, ()) if p == predicate]

    def value(self, subject: Term, predicate: str) -> Term | None:
        found = self.objects(subject, predicate)
        return found[0] if found else None

    def items(self, head: Term | None) -> list[Term]:
        """The members of an RDF list."""
        out = []
        while head is not None and head != ox.NamedNode(RDF + "nil"):
            out.append(self.value(head, RDF + "first"))
            head = self.value(head, RDF + "rest")
        return out  # type: ignore[return-value]

    def entries(self) -> list[Term]:
        return self.items(self.value(ox.NamedNode(self.base), MF + "entries"))

    def local_name(self, entry: Term) -> str:
        return entry.value.rsplit("#", 1)[-1]  # type: ignore[union-attr]

    def types(self, entry: Term) -> set[str]:
        return {t.value for t in self.objects(entry, RDF + "type")}  # type: ignore[union-attr]


def file_of(iri: Term) -> Path:
    """The local file of a ``file:`` IRI read from a manifest."""
    return Path(unquote(urlsplit(iri.value).path))  # type: ignore[union-attr]


def parse_rdf(path: Path, base: str) -> list[ox.Triple]:
    """The triples of an RDF file, its blank nodes fresh (two files never share one)."""
    return [
        q.triple for q in ox.parse(path=path, format=_RDF_FORMATS[path.suffix], base_iri=base, rename_blank_nodes=True)
    ]


# ------------------------------------------------------------------------------------------ answers


@dataclass(frozen=True)
class Answer:
    """What a query gave: a boolean, solutions (with their variables), or triples; or an error."""

    boolean: bool | None = None
    variables: tuple[str, ...] = ()
    solutions: tuple[Solution, ...] | None = None
    triples: tuple[ox.Triple, ...] | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.error is not None:
            return f"error: {self.error}"
        if self.boolean is not None:
            return f"boolean {self.boolean}"
        if self.triples is not None:
            return f"{len(self.triples)} triples:\n" + "\n".join(sorted(map(str, self.triples))[:30])
        rows = ["  " + ", ".join(f"{k}={v}" for k, v in sorted(s.items())) for s in self.solutions or ()]
        return f"{len(rows)} solutions of {list(self.variables)}:\n" + "\n".join(rows[:30])


def difference(got: Answer, wanted: Answer) -> str:
    """What is in one answer and not in the other (blank nodes shown as ``_``), for a failure's message."""

    def rows(answer: Answer) -> list[str]:
        if answer.solutions is not None:
            return sorted(
                "  "
                + ", ".join(f"{k}={'_' if isinstance(v, ox.BlankNode) else normal(v)}" for k, v in sorted(s.items()))
                for s in answer.solutions
            )
        return sorted(f"  {t}" for t in answer.triples or ())

    if got.solutions is None and got.triples is None or wanted.solutions is None and wanted.triples is None:
        return f"got {got.describe()}\nwanted {wanted.describe()}"
    mine, theirs = rows(got), rows(wanted)
    extra = [r for r in mine if r not in theirs]
    missing = [r for r in theirs if r not in mine]
    return "\n".join(
        [f"got {len(mine)}, wanted {len(theirs)}", "only got:", *extra[:20], "only wanted:", *missing[:20]]
    )


def answer_of(result: object) -> Answer:
    """An ``Answer`` from a pyoxigraph result (``Store.query`` or ``parse_query_results``)."""
    if isinstance(result, ox.QueryBoolean):
        return Answer(boolean=bool(result))
    if isinstance(result, ox.QueryTriples):
        return Answer(triples=tuple(result))
    assert isinstance(result, ox.QuerySolutions), type(result)
    variables = tuple(v.value for v in result.variables)
    return Answer(
        variables=variables, solutions=tuple({v: s[v] for v in variables if s[v] is not None} for s in result)
    )


def expected_answer(path: Path, base: str, graph_result: bool) -> Answer:
    """The expected answer in ``path`` (``.srx``, ``.srj``, ``.tsv``, ``.csv``, or RDF: a graph for a
    CONSTRUCT, else an ``rs:ResultSet``), its relative IRIs resolved against ``base``."""
    if path.suffix in _RESULT_FORMATS:
        return answer_of(ox.parse_query_results(path=path, format=_RESULT_FORMATS[path.suffix]))
    if path.suffix == ".csv":
        return csv_answer(path.read_bytes())
    triples = parse_rdf(path, base)
    if graph_result:
        return Answer(triples=tuple(triples))
    return _result_set(triples)


def _result_set(triples: Sequence[ox.Triple]) -> Answer:
    """An answer written in the ``rs:`` vocabulary."""
    by: dict[Term, list[tuple[str, Term]]] = defaultdict(list)
    for t in triples:
        by[t.subject].append((t.predicate.value, t.object))

    def objs(s: Term, p: str) -> list[Term]:
        return [o for q, o in by.get(s, ()) if q == p]

    (root,) = [t.subject for t in triples if t.predicate.value == RDF + "type" and t.object.value == RS + "ResultSet"]
    boolean = objs(root, RS + "boolean")
    if boolean:
        return Answer(boolean=boolean[0].value == "true")
    variables = tuple(v.value for v in objs(root, RS + "resultVariable"))
    rows = []
    for solution in objs(root, RS + "solution"):
        index = objs(solution, RS + "index")
        row = {objs(b, RS + "variable")[0].value: objs(b, RS + "value")[0] for b in objs(solution, RS + "binding")}
        rows.append((int(index[0].value) if index else 0, row))
    rows.sort(key=lambda r: r[0])
    return Answer(variables=variables, solutions=tuple(r for _, r in rows))


def csv_answer(data: bytes) -> Answer:
    """A CSV answer: each cell a plain string (the format keeps no types), ``_:`` cells blank nodes."""
    table = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    variables = tuple(table[0]) if table else ()
    rows = []
    for line in table[1:]:
        row: Solution = {}
        for name, cell in zip(variables, line, strict=True):
            if cell:
                row[name] = ox.BlankNode(cell[2:]) if cell.startswith("_:") else ox.Literal(cell)
        rows.append(row)
    return Answer(variables=variables, solutions=tuple(rows))


def served_answer(body: bytes, media: str) -> Answer:
    """An answer as the service wrote it in ``media``."""
    results = {
        "application/sparql-results+json": ox.QueryResultsFormat.JSON,
        "application/sparql-results+xml": ox.QueryResultsFormat.XML,
        "text/tab-separated-values": ox.QueryResultsFormat.TSV,
    }
    if media in results:
        return answer_of(ox.parse_query_results(body, format=results[media]))
    if media == "text/csv":
        return csv_answer(body)
    return Answer(triples=tuple(q.triple for q in ox.parse(body, format=ox.RdfFormat.from_media_type(media))))


def same(a: Answer, b: Answer, *, ordered: bool = False) -> bool:
    """Whether two answers are the same up to blank node renaming (solutions as a multiset, or as a list
    when ``ordered``)."""
    if (a.error is None) != (b.error is None):
        return False
    if a.error is not None:
        return True  # both refused the query
    if a.boolean is not None or b.boolean is not None:
        return a.boolean == b.boolean
    if (a.triples is None) != (b.triples is None):
        return False
    if a.triples is not None:
        return len(set(a.triples)) == len(set(b.triples or ())) and _canonical(a.triples) == _canonical(b.triples or ())
    assert a.solutions is not None and b.solutions is not None
    return (
        set(a.variables) == set(b.variables)
        and len(a.solutions) == len(b.solutions)
        and _canonical(_solution_triples(a.solutions, ordered)) == _canonical(_solution_triples(b.solutions, ordered))
    )


def _solution_triples(solutions: Iterable[Solution], ordered: bool) -> list[ox.Triple]:
    triples = []
    for i, solution in enumerate(solutions):
        node = ox.BlankNode()
        triples.append(ox.Triple(node, ox.NamedNode(RDF + "type"), ox.NamedNode(RS + "solution")))
        if ordered:
            triples.append(ox.Triple(node, ox.NamedNode(RS + "index"), ox.Literal(str(i))))
        for name, value in solution.items():
            triples.append(ox.Triple(node, ox.NamedNode(RS + "binding-" + name), value))  # type: ignore[arg-type]
    return triples


def normal(term: Term) -> Term:
    """``term`` with a numeric or boolean literal's lexical form made canonical (its value kept, and its
    datatype)."""
    if not isinstance(term, ox.Literal):
        return term
    datatype, text = term.datatype.value, term.value.strip()
    try:
        if datatype in _INTEGERS:
            return ox.Literal(str(int(text)), datatype=term.datatype)
        if datatype == XSD + "decimal":
            value = Decimal(text)
            return ox.Literal(f"{value.normalize():f}" if value else "0", datatype=term.datatype)
        if datatype == XSD + "boolean" and text in ("0", "1", "false", "true"):
            return ox.Literal("true" if text in ("1", "true") else "false", datatype=term.datatype)
        if datatype in (XSD + "double", XSD + "float"):
            number = float({"INF": "inf", "-INF": "-inf", "+INF": "inf"}.get(text, text))
            return ox.Literal("NaN" if math.isnan(number) else repr(number), datatype=term.datatype)
    except (ValueError, InvalidOperation):
        pass
    return term


def _canonical(triples: Iterable[ox.Triple]) -> list[str]:
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, normal(t.object)) for t in triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(str(q) for q in dataset)
