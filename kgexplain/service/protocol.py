"""The SPARQL 1.1 Protocol's request rules (https://www.w3.org/TR/sparql11-protocol/ §2.1, §2.2), read from
what came over HTTP: which operation, its text, its dataset and the media types the client accepts.

Pure functions: ``parse_request`` turns a method, a query string, a ``Content-Type`` and a body into a
``SparqlRequest`` or raises a ``ServiceError``; ``with_using`` applies ``using-graph-uri`` /
``using-named-graph-uri`` to an update's text; ``prefers_html`` tells a browser from a SPARQL client.

- A query comes by GET (``?query=``), by POST of a form (``query=`` in the body) or by POST of the text
  (``application/sparql-query``); an update by POST only, as a form (``update=``) or as the text
  (``application/sparql-update``). One operation per request: a second ``query`` or ``update``, anywhere, is
  refused (400), and so is ``query`` or ``update`` in the URL of a POST.
- The dataset parameters may come in the URL (every form of request) and in a form body; a query takes
  ``default-graph-uri`` / ``named-graph-uri``, an update ``using-graph-uri`` / ``using-named-graph-uri``
  (the other kind's are refused). Each is an absolute IRI.
- ``application/sparql-query`` and ``application/sparql-update`` are UTF-8 by definition (their media type
  registrations; the W3C tests ``bad_query_non_utf8``, ``bad_update_non_utf8``): another ``charset`` is
  refused (415). A form's values are percent-decoded, then decoded in the form's ``charset`` (UTF-8 unless
  given). An unknown charset, or bytes that are not text in it, are refused (415); a URL that is not UTF-8
  is refused (400).
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

import pyoxigraph as ox

from .errors import BadRequest, ServiceError, UnsupportedMediaType
from .guard import Operation
from .sparql_lexer import Token, tokenize

__all__ = [
    "FORM",
    "QUERY_TYPE",
    "UPDATE_TYPE",
    "MissingOperation",
    "SparqlRequest",
    "accepted",
    "parse_request",
    "prefers_html",
    "with_using",
]

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
_DATASET_PARAMS = {
    "query": ("default-graph-uri", "named-graph-uri"),
    "update": ("using-graph-uri", "using-named-graph-uri"),
}
_UTF8 = frozenset(("utf-8", "utf8", "us-ascii", "ascii"))  # ASCII is UTF-8


class MissingOperation(BadRequest):
    """The request names no query and no update."""

    title = "Missing query"


@dataclass(frozen=True)
class SparqlRequest:
    """One protocol operation, as the client sent it."""

    kind: Literal["query", "update"]
    text: str
    default_graphs: tuple[str, ...] = ()  # default-graph-uri (query)
    named_graphs: tuple[str, ...] = ()  # named-graph-uri (query)
    using_graphs: tuple[str, ...] = ()  # using-graph-uri (update)
    using_named_graphs: tuple[str, ...] = ()  # using-named-graph-uri (update)
    accept: tuple[str, ...] = ()  # media types and ranges, most preferred first

    def dataset(self) -> dict[str, Any]:
        """The store's dataset options for a query (``TripleStore.answer``): both lists when the request
        names a dataset (exactly that dataset, whatever the query's ``FROM`` says), else none."""
        if self.default_graphs or self.named_graphs:
            return {"default_graphs": self.default_graphs, "named_graphs": self.named_graphs}
        return {}


def parse_request(
    method: str, query_string: bytes, content_type: str | None, body: bytes, accept: str | None = None
) -> SparqlRequest:
    """The operation a request to the endpoint carries. Raises ``MissingOperation`` (400) when it names
    none, ``BadRequest`` (400) for a request the protocol does not allow, ``UnsupportedMediaType`` (415)
    for a body it cannot read."""
    url = _pairs(query_string, "utf-8", "the URL", BadRequest)
    if method == "GET":
        if "update" in _names(url):
            raise BadRequest(
                "an update is sent by POST (a form with `update=`, or an application/sparql-update body), never by GET",
                title="Update by GET",
            )
        return _request(url, url, "the URL", accept)
    if method != "POST":
        raise BadRequest(f"the SPARQL endpoint answers GET and POST, not {method}")
    for name in ("query", "update"):
        if name in _names(url):
            raise BadRequest(
                f"`{name}` in the URL of a POST: send it in the form body (or the whole body as "
                f"application/sparql-{name}), with only dataset parameters in the URL"
            )
    media, params = _media_type(content_type)
    if media == FORM:
        form = _pairs(body, _charset(params, media), "the form", UnsupportedMediaType)
        return _request(url + form, form, "the form", accept)
    if media in (QUERY_TYPE, UPDATE_TYPE):
        charset = params.get("charset", "utf-8").lower()
        if charset not in _UTF8:
            raise UnsupportedMediaType(f"{media} is UTF-8 by definition; the request says charset={charset}")
        kind: Literal["query", "update"] = "query" if media == QUERY_TYPE else "update"
        text = _decode(body, charset, f"the {media} body")
        return _dataset(kind, text, url, accept)
    if not media:
        raise UnsupportedMediaType(
            f"a POST needs a Content-Type: {FORM} (a form with `query=` or `update=`), {QUERY_TYPE} or {UPDATE_TYPE}"
        )
    raise UnsupportedMediaType(
        f"POST a {FORM} form (`query=` or `update=`), or an {QUERY_TYPE} or {UPDATE_TYPE} body; not {media}"
    )


def accepted(header: str | None) -> tuple[str, ...]:
    """Media types and ranges of an ``Accept`` header, most preferred first (q-values; order kept on ties);
    those with q=0 left out."""
    return tuple(media for media, q in _ranges(header) if q > 0)


def prefers_html(header: str | None, offered: Sequence[str]) -> bool:
    """Whether a client accepts ``text/html`` better than every one of ``offered``: a browser, which
    gets a page rather than an error."""
    ranges = _ranges(header)
    return _quality(ranges, "text/html") > max((_quality(ranges, m) for m in offered), default=0.0)


def with_using(text: str, op: Operation, graphs: Sequence[str], named: Sequence[str]) -> str:
    """``text`` (an update, read by the guard as ``op``) as if each of its ``DELETE`` / ``INSERT`` … ``WHERE``
    operations had ``USING <g>`` for each of ``graphs`` and ``USING NAMED <g>`` for each of ``named`` (SPARQL
    1.1 Protocol §2.2.3). ``DELETE WHERE { P }`` becomes ``DELETE { P } USING … WHERE { P }``, its meaning
    (SPARQL 1.1 Update §3.1.3.3). An update that names its own dataset (``USING``, ``WITH``) is refused: the
    protocol forbids both at once."""
    if not graphs and not named:
        return text
    if op.dataset_clause:
        raise BadRequest(
            "the update names its dataset (USING / USING NAMED / WITH) and the request gives "
            "using-graph-uri / using-named-graph-uri: give one or the other",
            title="Dataset given twice",
        )
    clauses = " ".join([f"USING <{g}>" for g in graphs] + [f"USING NAMED <{g}>" for g in named])
    tokens = list(tokenize(text))
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the text, in order
    depth, i = 0, 0
    while i < len(tokens):
        i = _skip_prologue(tokens, i)
        if i >= len(tokens):
            break
        first = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        modify = (
            first.kind == "KEYWORD"
            and first.text in ("DELETE", "INSERT")
            and not (after is not None and after.kind == "KEYWORD" and after.text == "DATA")
        )
        delete_where = modify and first.text == "DELETE" and after is not None and after.text == "WHERE"
        j = i + 2 if delete_where else i
        pattern_start = tokens[j].pos if delete_where else 0
        pending = modify and not delete_where
        while j < len(tokens):  # to the end of this operation: a ';' outside brackets
            tok = tokens[j]
            if tok.kind == "PUNCT" and tok.text in "{([":
                depth += 1
            elif tok.kind == "PUNCT" and tok.text in "})]":
                depth -= 1
                if delete_where and depth == 0 and tok.text == "}":
                    where = tokens[i + 1]
                    edits.append(
                        (where.pos, where.pos + len("WHERE"), f"{text[pattern_start : tok.pos + 1]} {clauses} WHERE")
                    )
                    delete_where = False
            elif pending and depth == 0 and tok.kind == "KEYWORD" and tok.text == "WHERE":
                edits.append((tok.pos, tok.pos, f"{clauses} "))
                pending = False
            elif depth == 0 and tok.kind == "PUNCT" and tok.text == ";":
                break
            j += 1
        i = j + 1
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text


# ---------------------------------------------------------------------------------------------- helpers


def _skip_prologue(tokens: list[Token], i: int) -> int:
    """The index of the first token after the ``BASE`` / ``PREFIX`` / ``VERSION`` declarations at ``i``."""
    while i < len(tokens) and tokens[i].kind == "KEYWORD" and tokens[i].text in ("BASE", "PREFIX", "VERSION"):
        i += 3 if tokens[i].text == "PREFIX" else 2
    return i


def _media_type(header: str | None) -> tuple[str, dict[str, str]]:
    """A ``Content-Type``'s media type (lower-cased) and parameters (names lower-cased, quotes removed)."""
    media, *rest = (header or "").split(";")
    params = {}
    for part in rest:
        name, _, value = part.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), params


def _charset(params: dict[str, str], media: str) -> str:
    charset = params.get("charset", "utf-8")
    try:
        codecs.lookup(charset)
    except LookupError:
        raise UnsupportedMediaType(f"{media} in charset={charset}: not an encoding this endpoint knows") from None
    return charset


def _decode(data: bytes, charset: str, what: str, error: type[ServiceError] = UnsupportedMediaType) -> str:
    """``data`` as text in ``charset``; ``error`` when it is not (or ``charset`` is no text encoding)."""
    try:
        return data.decode(charset)
    except LookupError:  # base64, zlib…: codecs, but not text encodings
        raise UnsupportedMediaType(f"charset={charset} is not a text encoding") from None
    except UnicodeDecodeError as exc:
        around = data[max(exc.start - 20, 0) : exc.end + 20]
        raise error(f"{what} is not {charset} text: {exc.reason} in {around!r}") from None
    except (UnicodeError, ValueError) as exc:  # a codec that fails otherwise (idna)
        raise error(f"{what} is not {charset} text: {exc}") from None


def _pairs(data: bytes, charset: str, where: str, error: type[ServiceError]) -> list[tuple[str, str]]:
    """The ``name=value`` pairs of a URL query string or a form: ``+`` is a space, ``%XX`` a byte, and the
    bytes of each are text in ``charset`` (else ``error``)."""
    pairs = []
    for item in data.split(b"&"):
        if not item:
            continue
        name, _, value = item.partition(b"=")
        decoded = [
            _decode(unquote_to_bytes(part.replace(b"+", b" ")), charset, f"{where}, percent-decoded,", error)
            for part in (name, value)
        ]
        pairs.append((decoded[0], decoded[1]))
    return pairs


def _names(pairs: list[tuple[str, str]]) -> set[str]:
    return {name for name, _ in pairs}


def _request(
    pairs: list[tuple[str, str]], carrier: list[tuple[str, str]], where: str, accept: str | None
) -> SparqlRequest:
    """The operation in ``carrier`` (the GET's URL, the POST's form), its dataset from ``pairs`` (all of them)."""
    texts = [(name, value) for name, value in carrier if name in ("query", "update")]
    if not texts:
        raise MissingOperation(f"{where} has neither `query` nor `update`")
    if len(texts) > 1:
        names = ", ".join(f"`{name}`" for name, _ in texts)
        raise BadRequest(
            f"{where} has {len(texts)} operations ({names}): a request carries one query or one update",
            title="Several operations",
        )
    kind, text = texts[0]
    return _dataset(kind, text, pairs, accept)  # type: ignore[arg-type]


def _dataset(
    kind: Literal["query", "update"], text: str, pairs: list[tuple[str, str]], accept: str | None
) -> SparqlRequest:
    other = "update" if kind == "query" else "query"
    wrong = sorted({name for name, _ in pairs if name in _DATASET_PARAMS[other]})
    if wrong:
        raise BadRequest(
            f"{', '.join(wrong)} belong to an {other}; this request is a {kind}, whose dataset "
            f"parameters are {' and '.join(_DATASET_PARAMS[kind])}"
        )
    first, second = (
        tuple(_iri(name, value) for name, value in pairs if name == param) for param in _DATASET_PARAMS[kind]
    )
    if kind == "query":
        return SparqlRequest(kind, text, default_graphs=first, named_graphs=second, accept=accepted(accept))
    return SparqlRequest(kind, text, using_graphs=first, using_named_graphs=second, accept=accepted(accept))


def _iri(name: str, value: str) -> str:
    try:
        return ox.NamedNode(value).value
    except ValueError as exc:
        raise BadRequest(f"{name}={value[:200]!r} is not an absolute IRI: {exc}") from None


def _ranges(header: str | None) -> list[tuple[str, float]]:
    """An ``Accept`` header's media ranges with their q-values, most preferred first (order kept on ties)."""
    ranked = []
    for i, part in enumerate((header or "").split(",")):
        media, params = _media_type(part)
        try:
            q = min(max(float(params.get("q", "1")), 0.0), 1.0)
        except ValueError:
            q = 0.0
        if media:
            ranked.append((-q, i, media, q))
    return [(media, q) for _, _, media, q in sorted(ranked)]


def _quality(ranges: list[tuple[str, float]], media: str) -> float:
    """The q-value ``ranges`` give ``media``: that of the most specific range that matches it (RFC 9110
    §12.5.1); 1 when the client sent no ``Accept``."""
    if not ranges:
        return 1.0
    kind = media.split("/")[0] + "/*"
    for candidate in (media, kind, "*/*"):
        found = [q for m, q in ranges if m == candidate]
        if found:
            return max(found)
    return 0.0
