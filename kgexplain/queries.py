"""Loads the SPARQL files under ``queries/`` by name and binds their parameters.

A query declares its parameters with one ``VALUES (?a ?b) { (UNDEF UNDEF) }`` row, so the file stays
valid SPARQL. Binding replaces that row with real values, serialised as N-Triples terms; a parameter
bound to a list produces one row per element (``VALUES`` batching). Values are never formatted into
the query anywhere else. Several parameters bound to lists of one length fill the rows together
(row i takes element i of each), e.g. an entity and its row number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeGuard

from pyoxigraph import BlankNode, Literal, NamedNode, QueryBoolean

from .errors import QueryError

__all__ = ["Query", "load_query", "query_names", "bind", "term", "Term", "QUERY_DIR"]

QUERY_DIR = Path(__file__).resolve().parent / "queries"

Term = NamedNode | Literal | BlankNode

_VALUES = re.compile(
    r"VALUES\s*\(\s*(?P<vars>(?:\?\w+\s*)+)\)\s*\{\s*\(\s*(?P<undefs>(?:UNDEF\s*)+)\)\s*\}",
    re.IGNORECASE,
)
_VAR = re.compile(r"\?(\w+)")


@dataclass(frozen=True)
class Query:
    """One SPARQL query with the parameters its ``VALUES … (UNDEF …)`` row declares."""

    name: str
    text: str
    params: tuple[str, ...] = ()

    @classmethod
    def from_text(cls, text: str, name: str = "<inline>") -> Query:
        match = _VALUES.search(text)
        if match is None:
            return cls(name, text, ())
        names = tuple(_VAR.findall(match["vars"]))
        if len(match["undefs"].split()) != len(names):
            raise QueryError(
                f"query {name}: VALUES row declares {len(names)} variables but has {len(match['undefs'].split())} UNDEF"
            )
        body = text[: match.start()] + text[match.end() :]
        unused = [p for p in names if not re.search(rf"\?{p}\b", body)]
        if unused:
            raise QueryError(f"query {name}: declared parameters never used: {', '.join(unused)}")
        return cls(name, text, names)


def query_names() -> list[str]:
    """Every query shipped with kgexplain, by name (path below ``queries/`` without ``.rq``)."""
    return sorted(p.relative_to(QUERY_DIR).with_suffix("").as_posix() for p in QUERY_DIR.rglob("*.rq"))


@cache
def load_query(name: str) -> Query:
    """The query ``queries/<name>.rq``; its syntax is checked once, with the file name in any error."""
    path = QUERY_DIR / f"{name}.rq"
    if not path.is_file():
        raise QueryError(f"no query named {name!r} (looked for {path.name} under queries/)")
    query = Query.from_text(path.read_text(encoding="utf-8"), name)
    _check_syntax(query)
    return query


def _check_syntax(query: Query) -> None:
    from pyoxigraph import Store

    text = query.text
    is_update = re.search(
        r"^\s*(INSERT|DELETE|CLEAR|DROP|LOAD|CREATE|WITH)\b", _strip_prologue(text), re.IGNORECASE | re.MULTILINE
    )
    try:
        if is_update:
            Store().update(text)
        else:
            result = Store().query(text)
            if not isinstance(result, QueryBoolean):
                for _ in result:  # empty store: nothing to iterate, but forces evaluation
                    break
    except SyntaxError as exc:
        raise QueryError(f"query {query.name} ({query.name}.rq) is not valid SPARQL: {exc}") from exc


def _strip_prologue(text: str) -> str:
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(("#", "PREFIX", "prefix", "BASE"))]
    return "\n".join(lines)


def term(value: object) -> Term:
    """A Python value as an RDF term: IRIs must already be ``NamedNode``; numbers and strings become literals."""
    if isinstance(value, NamedNode | Literal | BlankNode):
        return value
    if isinstance(value, bool):
        return Literal(str(value).lower(), datatype=NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))
    if isinstance(value, int | float | str):
        return Literal(value)
    raise QueryError(f"cannot bind {type(value).__name__} value {value!r}; pass a NamedNode for IRIs")


def bind(query: Query, bindings: Mapping[str, object]) -> str:
    """The query text with its ``VALUES`` row filled; list parameters (all of one length) give one row each."""
    unknown = set(bindings) - set(query.params)
    if unknown:
        raise QueryError(
            f"query {query.name} has no parameter(s) {', '.join(sorted(unknown))}; "
            f"it declares {', '.join(query.params) or 'none'}"
        )
    if not query.params:
        return query.text
    lists = {k: list(v) for k, v in bindings.items() if _is_list(v)}
    lengths = {len(v) for v in lists.values()}
    if len(lengths) > 1:
        raise QueryError(
            f"query {query.name}: list parameters must have one length, got "
            + ", ".join(f"{k} ({len(v)})" for k, v in lists.items())
        )
    n_rows = len(next(iter(lists.values()))) if lists else 1
    rows = []
    for i in range(n_rows):
        cells = []
        for name in query.params:
            if name not in bindings or bindings[name] is None:
                cells.append("UNDEF")
                continue
            value = bindings[name]
            cells.append(str(term(lists[name][i] if name in lists else value)))
        rows.append("(" + " ".join(cells) + ")")
    header = " ".join(f"?{p}" for p in query.params)
    return _VALUES.sub(lambda _m: f"VALUES ({header}) {{ {' '.join(rows)} }}", query.text, count=1)


def _is_list(value: object) -> TypeGuard[list[object] | tuple[object, ...] | set[object] | frozenset[object]]:
    return isinstance(value, list | tuple | set | frozenset)
