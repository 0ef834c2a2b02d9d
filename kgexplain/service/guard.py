"""What the SPARQL endpoint checks before it runs a query: the operation's kind, ``SERVICE`` and ``LOAD``
targets, and the time and size budget while the answer is written.

The checks read the tokens of :mod:`.sparql_lexer`, which reads the text as Oxigraph does and refuses what it
cannot read with certainty, so a keyword is a keyword only where Oxigraph sees one: never inside an IRI, a
string, a comment, a prefixed name (``ex:customer-service``) or a variable (``?service``).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit

import pyoxigraph as ox

from .sparql_lexer import SparqlLexError, Token, tokenize

__all__ = ["Budget", "BudgetExceeded", "Operation", "QueryRefused", "check_operation", "inspect_operation"]

QUERY_FORMS = frozenset(("SELECT", "CONSTRUCT", "DESCRIBE", "ASK"))
UPDATE_FORMS = frozenset(("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"))
_DATASET_WORDS = frozenset(("FROM", "USING", "WITH"))
_NOT_IN_IRI = frozenset('<>"{}|^`\\') | {chr(i) for i in range(0x21)}
_PROBE = "http://example.org/p"
#: Brackets nested deeper than this are refused: Oxigraph's recursive parser overflows the stack (and
#: takes the process down) at some thousands.
MAX_NESTING = 256


class QueryRefused(ValueError):
    """The endpoint will not run this operation (HTTP 400 or 403)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class BudgetExceeded(RuntimeError):
    """The answer outgrew its size limit or its time (raised from ``Budget.write``)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Operation:
    """What :func:`inspect_operation` found in a text it lets through."""

    kind: Literal["query", "update"]
    form: str | None  # "SELECT" / "CONSTRUCT" / "DESCRIBE" / "ASK" for a query, None for an update
    dataset_clause: bool  # names its own dataset: FROM / FROM NAMED (query), USING / USING NAMED / WITH (update)
    services: tuple[str, ...]  # resolved IRIs of SERVICE clauses (all allow-listed, else refused)
    loads: tuple[str, ...]  # resolved IRIs of LOAD sources (all allow-listed, else refused)


def inspect_operation(
    text: str,
    *,
    expected: Literal["query", "update"],
    allowed_services: Collection[str] = (),
    allowed_load_hosts: Collection[str] = (),
    base_iri: str | None = None,
    max_chars: int = 1_000_000,
) -> Operation:
    """Reads ``text`` once and refuses it (:class:`QueryRefused`) when it is longer than ``max_chars``
    (413), cannot be read with certainty (400), is not the ``expected`` kind of operation (400: the
    protocol keeps queries and updates apart, and only updates need the token), calls a ``SERVICE`` not
    in ``allowed_services`` or a variable one (403: the store would call any host), or loads (``LOAD``) from
    a host not in ``allowed_load_hosts`` or not over http(s) (403). IRIs are resolved as Oxigraph
    resolves them: against the ``BASE`` declarations over ``base_iri`` (give the base the store parses with;
    None for none), prefixed names through the ``PREFIX`` declarations in force.

    Oxigraph is the reference: where it parses differently from the SPARQL specification (no ``\\u``
    escapes outside IRIs and strings, keywords matched without a word boundary) the guard follows it, and
    what it cannot tell for sure it refuses. It does not check the whole grammar: a text it lets through
    may still fail to parse in the store.
    """
    if len(text) > max_chars:
        raise QueryRefused(
            f"the {expected} is {len(text):,} characters long; this endpoint takes at most {max_chars:,}", 413
        )
    inspector = _Inspector(text, expected, allowed_services, allowed_load_hosts, base_iri)
    try:
        return inspector.run()
    except SparqlLexError as exc:
        raise QueryRefused(f"the {expected} cannot be read safely: {exc}") from None


def check_operation(text: str, *, update: bool, allowed_services: Collection[str] = ()) -> None:
    """:func:`inspect_operation` for the endpoint's two routes (no ``LOAD`` allowed, no base IRI): raises
    :class:`QueryRefused` or returns."""
    inspect_operation(text, expected="update" if update else "query", allowed_services=allowed_services)


class _Inspector:
    """One pass over the tokens, keeping the prologue's prefixes and base, the operation's kind and what
    each ``SERVICE`` and ``LOAD`` points at."""

    def __init__(
        self,
        text: str,
        expected: Literal["query", "update"],
        allowed_services: Collection[str],
        allowed_load_hosts: Collection[str],
        base_iri: str | None,
    ) -> None:
        self.text, self.expected = text, expected
        self.allowed_services = frozenset(allowed_services)
        self.allowed_load_hosts = frozenset(h.lower() for h in allowed_load_hosts)
        self.base = self._resolve(base_iri, None, "the base IRI") if base_iri is not None else None
        self.prefixes: dict[str, str] = {}
        self.checked: set[str] = set()  # IRIs of prefixed names already validated
        self.tokens: Iterator[Token] = tokenize(text)

    def run(self) -> Operation:
        kind: Literal["query", "update"] | None = None
        form: str | None = None
        dataset = False
        services: list[str] = []
        loads: list[str] = []
        depth = 0
        op_start = True
        tokens = self.tokens
        tok: Token | None
        for tok in tokens:
            if op_start:
                tok = self._prologue(tok)
                if tok is None:
                    break
                op_start = False
                if tok.kind == "PUNCT" and tok.text == ";":  # a prologue, then a final ';' (Oxigraph takes it)
                    extra = next(tokens, None)
                    if extra is not None:
                        raise self._refuse("nothing may follow a ';' that ends an empty operation", extra)
                    break
                word = tok.text if tok.kind == "KEYWORD" else None
                if word in QUERY_FORMS:
                    if kind == "update" or form is not None:
                        raise self._refuse(f"{word} after another operation: a request holds one query", tok)
                    kind, form = "query", word
                    if self.expected == "update":
                        raise self._refuse(f"{word} … is a query: send it as `query`, not as `update`", tok)
                elif word in UPDATE_FORMS:
                    if kind == "query":
                        raise self._refuse(f"{word} after a query: a request holds one query", tok)
                    kind = "update"
                    if self.expected == "query":
                        raise self._refuse(f"{word} … is an update: send it as `update`, with the update token", tok)
                else:
                    wanted = (
                        "a query form (SELECT, CONSTRUCT, DESCRIBE, ASK)"
                        if self.expected == "query"
                        else "an update operation (INSERT, DELETE, LOAD, CLEAR, …)"
                    )
                    raise self._refuse(f"expected {wanted}, found {tok.text[:40]!r}", tok)
            kind_ = tok.kind
            if kind_ == "PNAME":
                self._pname_iri(tok)
            elif kind_ == "KEYWORD":
                word = tok.text
                if word == "SERVICE":
                    services.append(self._service(next(tokens, None), tok))
                elif word == "LOAD":
                    loads.append(self._load(next(tokens, None), tok))
                elif word in _DATASET_WORDS:
                    dataset = True
                elif word in ("PREFIX", "BASE", "VERSION"):
                    raise self._refuse(f"{word} outside the prologue", tok)
            elif kind_ == "PUNCT":
                punct = tok.text
                if punct in "{([":
                    depth += 1
                    if depth > MAX_NESTING:
                        raise self._refuse(f"brackets nested deeper than {MAX_NESTING}", tok)
                elif punct in "})]":
                    depth -= 1
                elif punct == ";" and depth == 0:
                    op_start = True
        if kind is None:
            if self.expected == "query":
                raise QueryRefused("the query is empty: expected SELECT, CONSTRUCT, DESCRIBE or ASK")
            kind = "update"  # a prologue alone is a valid (empty) update
        return Operation(kind, form, dataset, tuple(services), tuple(loads))

    # ------------------------------------------------------------------------------------------ prologue

    def _prologue(self, tok: Token) -> Token | None:
        """Reads BASE / PREFIX / VERSION declarations from ``tok`` on; returns the first token after them
        (None at the end of the text)."""
        tokens = self.tokens
        while tok.kind == "KEYWORD" and tok.text in ("PREFIX", "BASE", "VERSION"):
            arg = next(tokens, None)
            if tok.text == "PREFIX":
                if arg is None or arg.kind != "PNAME" or arg.value[1]:  # type: ignore[index]
                    raise self._refuse("PREFIX wants a prefix label 'ex:'", arg or tok)
                iri = next(tokens, None)
                if iri is None or iri.kind != "IRI":
                    raise self._refuse("PREFIX wants an IRI <…>", iri or arg)
                label = arg.value[0]  # type: ignore[index]
                self.prefixes[label] = self._resolve(iri.value, self.base, iri.text)  # type: ignore[arg-type]
            elif tok.text == "BASE":
                if arg is None or arg.kind != "IRI":
                    raise self._refuse("BASE wants an IRI <…>", arg or tok)
                self.base = self._resolve(arg.value, self.base, arg.text)  # type: ignore[arg-type]
            elif arg is None or arg.kind != "STRING" or arg.text[:3] in ("'''", '"""'):
                # Oxigraph takes a short string only, and would read a long one as '' then more
                raise self._refuse("VERSION wants a short string", arg or tok)
            nxt = next(tokens, None)
            if nxt is None:
                return None
            tok = nxt
        return tok

    # -------------------------------------------------------------------------------------- IRIs

    def _resolve(self, iri: str, base: str | None, shown: str) -> str:
        """``iri`` resolved against ``base`` by Oxigraph's own IRI code (the Turtle parser calls the same
        resolver as the SPARQL parser); refused when Oxigraph would refuse it."""
        if any(ch in _NOT_IN_IRI for ch in iri):
            raise QueryRefused(f"{shown} is not a valid IRI")
        try:
            if base is None:
                return ox.NamedNode(iri).value
            quad = next(iter(ox.parse(f"<{iri}> <{_PROBE}> <{_PROBE}> .", ox.RdfFormat.TURTLE, base_iri=base)))
            return quad.subject.value
        except (SyntaxError, ValueError) as exc:
            why = " (relative, and there is no base)" if base is None else ""
            raise QueryRefused(f"{shown} is not a valid IRI{why}: {exc}") from None

    def _pname_iri(self, tok: Token) -> str:
        """The IRI of a prefixed name. An undeclared prefix or an invalid IRI is refused: Oxigraph would
        then read ``ex:`` alone and the local part as more tokens (``ex:SERVICE:x\\#`` is, there, ``ex:``
        ``SERVICE`` ``:x\\#``)."""
        prefix, local = cast(tuple[str, str], tok.value)
        base = self.prefixes.get(prefix)
        if base is None:
            raise self._refuse(f"prefix {prefix}: is not declared", tok)
        iri = base + local
        if iri not in self.checked:
            try:
                ox.NamedNode(iri)
            except ValueError as exc:
                raise self._refuse(f"{tok.text} is not a valid IRI ({exc})", tok) from None
            self.checked.add(iri)
        return iri

    def _target(self, tok: Token | None, keyword: Token) -> tuple[str, Token]:
        """The IRI after SERVICE or LOAD (SILENT skipped)."""
        if tok is not None and tok.kind == "KEYWORD" and tok.text == "SILENT":
            tok = next(self.tokens, None)
        if tok is None:
            raise self._refuse(f"{keyword.text} without a target", keyword)
        if tok.kind == "IRI":
            return self._resolve(tok.value, self.base, tok.text), tok  # type: ignore[arg-type]
        if tok.kind == "PNAME":
            return self._pname_iri(tok), tok
        if tok.kind == "VAR":
            raise self._refuse(
                f"{keyword.text} {tok.text} refused: a variable endpoint cannot be checked against the allow-list",
                tok,
                403,
            )
        raise self._refuse(f"{keyword.text} wants an IRI, found {tok.text[:40]!r}", tok)

    def _service(self, tok: Token | None, keyword: Token) -> str:
        iri, where = self._target(tok, keyword)
        if iri not in self.allowed_services:
            allowed = f" (allowed: {', '.join(sorted(self.allowed_services))})" if self.allowed_services else ""
            raise self._refuse(
                f"SERVICE <{iri}> refused: this endpoint does not federate to other hosts{allowed}", where, 403
            )
        return iri

    def _load(self, tok: Token | None, keyword: Token) -> str:
        iri, where = self._target(tok, keyword)
        parts = urlsplit(iri)
        try:
            host = parts.hostname
        except ValueError:
            host = None
        if parts.scheme.lower() not in ("http", "https") or host is None or host not in self.allowed_load_hosts:
            allowed = (
                f" (allowed hosts: {', '.join(sorted(self.allowed_load_hosts))})" if self.allowed_load_hosts else ""
            )
            raise self._refuse(
                f"LOAD <{iri}> refused: this endpoint loads only over http(s) from allowed hosts{allowed}", where, 403
            )
        return iri

    def _refuse(self, message: str, tok: Token, status: int = 400) -> QueryRefused:
        line = self.text.count("\n", 0, tok.pos) + 1
        column = tok.pos - (self.text.rfind("\n", 0, tok.pos) + 1) + 1
        return QueryRefused(f"{message} (line {line}, column {column})", status)


class Budget:
    """A write-only buffer that stops a query once its answer passes ``max_bytes`` or ``deadline``
    (``time.monotonic()``): Oxigraph writes answers in chunks as it evaluates, so raising here ends
    the evaluation too. Work done before the first chunk (a big ORDER BY) cannot be stopped this way."""

    def __init__(self, max_bytes: int, deadline: float, timeout_s: float) -> None:
        self.max_bytes, self.deadline, self.timeout_s = max_bytes, deadline, timeout_s
        self.parts: list[bytes] = []
        self.size = 0
        self.stopped: BudgetExceeded | None = None

    def write(self, data: bytes) -> int:
        if time.monotonic() > self.deadline:
            self.stopped = BudgetExceeded(f"the query ran past the {self.timeout_s:g} s timeout", 503)
        elif self.size + len(data) > self.max_bytes:
            self.stopped = BudgetExceeded(
                f"the answer is larger than the {self.max_bytes:,} bytes this endpoint "
                "returns; add a LIMIT or page with OFFSET",
                413,
            )
        if self.stopped is not None:
            raise self.stopped
        self.size += len(data)
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing buffered below this object."""

    def getvalue(self) -> bytes:
        return b"".join(self.parts)
