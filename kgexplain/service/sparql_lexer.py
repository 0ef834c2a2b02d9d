"""A single-pass tokenizer of SPARQL text as Oxigraph reads it, for the endpoint's guard.

It follows the terminals of SPARQL 1.1 (§19.8) and the SPARQL 1.2 additions that pyoxigraph 0.5 parses
(``<<``, ``>>``, ``{|``, ``|}``, ``~``, ``@lang--ltr``), and where Oxigraph's parser (spargebra 0.4, a
PEG grammar without a separate tokenizer) differs from the specification, it follows Oxigraph:

- ``\\uXXXX`` / ``\\UXXXXXXXX`` are *not* replaced before parsing (SPARQL §19.2 says they are; Oxigraph
  builds without that option): ``SERV\\u0049CE`` is a syntax error there, not ``SERVICE``. Escapes are read
  inside IRIs and strings only, where an invalid one (bad hex digits, a surrogate, past U+10FFFF) is
  refused, as Oxigraph refuses it.
- a local name takes at most one run of dots (``ex:a.b`` is one name, ``ex:a.b.c`` is ``ex:a.b`` ``.``
  ``c``), and names use the Basic Multilingual Plane only.
- keywords are matched as a prefix, without a word boundary: Oxigraph reads ``SERVICEex:p{…}`` as
  ``SERVICE ex:p {…}`` and ``SERVICE SILENTex:p`` as ``SERVICE SILENT ex:p``. So a word must be a whole
  keyword (``LIMIT10`` is refused), and a prefix label that contains a keyword the guard looks for
  (:data:`SENSITIVE_WORDS`) is refused.

Anything it cannot read, or cannot be sure Oxigraph reads the same way, raises :class:`SparqlLexError`:
the guard refuses the text (fail closed). Each token is read once by patterns anchored at the current
position, written with possessive quantifiers so that no failure backtracks: the time is linear in the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple, NoReturn, cast

__all__ = ["KEYWORDS", "SENSITIVE_WORDS", "SparqlLexError", "Token", "tokenize"]

#: Every keyword of Oxigraph's grammar, upper-cased (matched case-insensitively), and ``a``, ``true`` and
#: ``false``, which Oxigraph matches in lower case only.
KEYWORDS = frozenset(
    [
        "ABS",
        "ADD",
        "ADJUST",
        "ALL",
        "AS",
        "ASC",
        "ASK",
        "AVG",
        "BASE",
        "BIND",
        "BNODE",
        "BOUND",
        "BY",
        "CEIL",
        "CLEAR",
        "COALESCE",
        "CONCAT",
        "CONSTRUCT",
        "CONTAINS",
        "COPY",
        "COUNT",
        "CREATE",
        "DATA",
        "DATATYPE",
        "DAY",
        "DEFAULT",
        "DELETE",
        "DESC",
        "DESCRIBE",
        "DISTINCT",
        "DROP",
        "ENCODE_FOR_URI",
        "EXISTS",
        "FILTER",
        "FLOOR",
        "FROM",
        "GRAPH",
        "GROUP",
        "GROUP_CONCAT",
        "HASLANG",
        "HASLANGDIR",
        "HAVING",
        "HOURS",
        "IF",
        "IN",
        "INSERT",
        "INTO",
        "IRI",
        "ISBLANK",
        "ISIRI",
        "ISLITERAL",
        "ISNUMERIC",
        "ISTRIPLE",
        "ISURI",
        "LANG",
        "LANGDIR",
        "LANGMATCHES",
        "LATERAL",
        "LCASE",
        "LIMIT",
        "LOAD",
        "MAX",
        "MD5",
        "MIN",
        "MINUS",
        "MINUTES",
        "MONTH",
        "MOVE",
        "NAMED",
        "NOT",
        "NOW",
        "OBJECT",
        "OFFSET",
        "OPTIONAL",
        "ORDER",
        "PREDICATE",
        "PREFIX",
        "RAND",
        "REDUCED",
        "REGEX",
        "REPLACE",
        "ROUND",
        "SAMETERM",
        "SAMPLE",
        "SECONDS",
        "SELECT",
        "SEPARATOR",
        "SERVICE",
        "SHA1",
        "SHA256",
        "SHA384",
        "SHA512",
        "SILENT",
        "STR",
        "STRAFTER",
        "STRBEFORE",
        "STRDT",
        "STRENDS",
        "STRLANG",
        "STRLANGDIR",
        "STRLEN",
        "STRSTARTS",
        "STRUUID",
        "SUBJECT",
        "SUBSTR",
        "SUM",
        "TIMEZONE",
        "TO",
        "TRIPLE",
        "TZ",
        "UCASE",
        "UNDEF",
        "UNION",
        "URI",
        "USING",
        "UUID",
        "VALUES",
        "VERSION",
        "WHERE",
        "WITH",
        "YEAR",
    ]
)
_CASED = {"a": "a", "true": "true", "false": "false"}
_LONGEST_KEYWORD = max(map(len, KEYWORDS))

#: Keywords the guard acts on. A prefix label containing one (``SERVICEex:``, ``SILENTex:``) is refused,
#: since Oxigraph may read the keyword out of it.
SENSITIVE_WORDS = ("SERVICE", "SILENT", "LOAD", "FROM", "NAMED", "USING", "WITH")

#: Keywords that may stand inside an expression (functions, aggregates, operators and literals).
_EXPRESSION_WORDS = frozenset(
    [
        "ABS",
        "ADJUST",
        "AVG",
        "BNODE",
        "BOUND",
        "CEIL",
        "COALESCE",
        "CONCAT",
        "CONTAINS",
        "COUNT",
        "DATATYPE",
        "DAY",
        "DISTINCT",
        "ENCODE_FOR_URI",
        "EXISTS",
        "FLOOR",
        "GROUP_CONCAT",
        "HASLANG",
        "HASLANGDIR",
        "HOURS",
        "IF",
        "IN",
        "IRI",
        "ISBLANK",
        "ISIRI",
        "ISLITERAL",
        "ISNUMERIC",
        "ISTRIPLE",
        "ISURI",
        "LANG",
        "LANGDIR",
        "LANGMATCHES",
        "LCASE",
        "MAX",
        "MD5",
        "MIN",
        "MINUTES",
        "MONTH",
        "NOT",
        "NOW",
        "OBJECT",
        "PREDICATE",
        "RAND",
        "REGEX",
        "REPLACE",
        "ROUND",
        "SAMETERM",
        "SAMPLE",
        "SECONDS",
        "SEPARATOR",
        "SHA1",
        "SHA256",
        "SHA384",
        "SHA512",
        "STR",
        "STRAFTER",
        "STRBEFORE",
        "STRDT",
        "STRENDS",
        "STRLANG",
        "STRLANGDIR",
        "STRLEN",
        "STRSTARTS",
        "STRUUID",
        "SUBJECT",
        "SUBSTR",
        "SUM",
        "TIMEZONE",
        "TRIPLE",
        "TZ",
        "UCASE",
        "URI",
        "UUID",
        "YEAR",
        "true",
        "false",
    ]
)


class SparqlLexError(ValueError):
    """The text cannot be tokenized with certainty; ``pos`` is the offset where reading stopped."""

    def __init__(self, message: str, text: str, pos: int) -> None:
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        super().__init__(f"{message} (line {line}, column {column})")
        self.pos, self.line, self.column = pos, line, column


class Token(NamedTuple):
    """One terminal. ``kind`` is one of IRI, PNAME, VAR, BNODE, STRING, LANGTAG, NUMBER, KEYWORD, PUNCT.
    ``text``: the keyword upper-cased (``a``, ``true``, ``false`` as written), the punctuation, else the
    source text. ``value``: an IRI's text with its escapes decoded; a prefixed name's (prefix, local) with
    the local part's ``\\`` escapes removed (as Oxigraph builds the IRI); a variable's name."""

    kind: str
    text: str
    pos: int
    value: object = None


# Character classes of Oxigraph's grammar (spargebra 0.4 parser.rs; the spec's, within the BMP).
_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
)
_U = _BASE + "_"
_CHARS = _U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_VARCHARS = _U + r"0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PN_PREFIX = rf"[{_BASE}][{_CHARS}]*+(?:\.++[{_CHARS}]++)*+"
# Oxigraph's PN_LOCAL: one optional run of dots followed by name characters, not several.
_PN_LOCAL = rf"(?>[{_U}:0-9]|{_PLX})(?>[{_CHARS}:]|{_PLX})*+(?:\.++(?>[{_CHARS}:]|{_PLX})++)?+"
_ESCAPE = r"""\\(?:[tbnrf"'\\]|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"""

_PNAME = re.compile(rf"(?P<prefix>{_PN_PREFIX})?+:(?P<local>{_PN_LOCAL})?+")
_WORD = re.compile(_PN_PREFIX)
_VAR = re.compile(rf"[?$][0-9{_U}][{_VARCHARS}]*+")
_BNODE = re.compile(rf"_:[0-9{_U}][{_CHARS}]*+(?:\.++[{_CHARS}]++)*+")
_IRIREF = re.compile(r'<(?:[^<>"{}|^`\\\x00-\x20]++|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*+>')
_LANGTAG = re.compile(r"@[a-zA-Z]++(?:-[a-zA-Z0-9]++)*+(?:--[a-zA-Z]++)?+")
_NUMBER = re.compile(
    r"(?>[0-9]++\.[0-9]*+[eE][+-]?+[0-9]++|\.[0-9]++[eE][+-]?+[0-9]++|[0-9]++[eE][+-]?+[0-9]++"
    r"|[0-9]*+\.[0-9]++|[0-9]++)"
)
_STRINGS = {
    "'''": re.compile(rf"'''(?:(?:''|')?+(?:[^'\\]++|{_ESCAPE}))*+'''"),
    '"""': re.compile(rf'"""(?:(?:""|")?+(?:[^"\\]++|{_ESCAPE}))*+"""'),
    "'": re.compile(rf"'(?:[^'\\\n\r]++|{_ESCAPE})*+'"),
    '"': re.compile(rf'"(?:[^"\\\n\r]++|{_ESCAPE})*+"'),
}
_CODEPOINT = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|.)", re.DOTALL)
_NAME_START = re.compile(f"[{_BASE}:]")
_DIGITS = frozenset("0123456789")
# One token after any whitespace and comments: named alternatives tried in order, the name of the one that
# matched is the token's kind; none (at the end of the text, or an error: see _fail) leaves lastgroup None.
# A long string that does not close is not retried as a short one (Oxigraph would read ''' as '' then '):
# that is refused.
_TOKEN = re.compile(
    "|".join(
        (
            r"(?:[ \t\r\n]++|\#[^\r\n]*+)*+(?:(?P<VAR>" + _VAR.pattern + ")",
            "(?P<PNAME>" + _PNAME.pattern + ")",
            "(?P<WORD>" + _PN_PREFIX + ")",
            r"(?P<PUNCT>\^\^|\|\||&&|!=|>=|>>|[\^/|!*+\-?(){}\[\],;=>~]|\.(?![0-9]))",
            "(?P<IRI>" + _IRIREF.pattern + ")",
            "(?P<LT><)",
            "(?P<STRING>"
            + "|".join(
                (
                    _STRINGS["'''"].pattern,
                    _STRINGS['"""'].pattern,
                    "(?!''')" + _STRINGS["'"].pattern,
                    '(?!""")' + _STRINGS['"'].pattern,
                )
            )
            + ")",
            "(?P<NUMBER>" + _NUMBER.pattern + ")",
            "(?P<BNODE>" + _BNODE.pattern + ")",
            "(?P<LANGTAG>" + _LANGTAG.pattern + "))?+",
        )
    )
)
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(")]}")
#: Punctuation after which ``<`` may be "less than"; so may it after any term and after every keyword (to
#: err on the safe side: ``true``, ``false``, a function's name).
_OPERAND_END_PUNCT = frozenset((")", "]", ">>"))
#: Keywords after which the next ``{`` (and a ``(`` before it) holds data or a template: no expressions.
_DATA_KEYWORDS = frozenset(("DATA", "CONSTRUCT", "INSERT", "DELETE", "VALUES"))

# What the "less than" reading of an IRI's body comes to (see _operator_reading).
_DEAD, _HARMLESS, _UNSAFE = "dead", "harmless", "unsafe"


def _decode_escapes(raw: str, text: str, pos: int) -> str:
    """``raw`` with its ``\\u``/``\\U`` escapes (and, in a string, ``\\n`` and the like) decoded; a
    surrogate or a code point past U+10FFFF is refused, as Rust's ``char::from_u32`` refuses it."""
    if "\\" not in raw:
        return raw
    simple = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}

    def one(m: re.Match[str]) -> str:
        digits = m.group(1) or m.group(2)
        if digits is None:
            return simple.get(m.group(0)[1], m.group(0)[1])
        code = int(digits, 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise SparqlLexError(f"\\u escape {m.group(0)!r} is not a Unicode scalar value", text, pos)
        return chr(code)

    return _CODEPOINT.sub(one, raw)


def _keyword_at(text: str, pos: int, end: int) -> bool:
    """Whether some keyword (as Oxigraph matches it: a prefix, no word boundary) starts at ``pos``."""
    chunk = text[pos : min(end, pos + _LONGEST_KEYWORD)]
    upper = chunk.upper()
    return any(upper[:k] in KEYWORDS for k in range(1, len(upper) + 1)) or chunk.startswith(("a", "true", "false"))


def _sensitive(label: str) -> str | None:
    upper = label.upper()
    return next((w for w in SENSITIVE_WORDS if w in upper), None)


def _operator_reading(text: str, start: int, end: int) -> str:
    """How Oxigraph could read ``text[start:end]``, the body of what looks like an IRI ``<…>``, if it took
    the ``<`` for "less than": ``_DEAD`` (that reading cannot parse: Oxigraph must take the IRI),
    ``_HARMLESS`` (it parses to expression tokens only, ends at the ``>`` with its brackets balanced, so
    both readings go on from the same place in the same state), or ``_UNSAFE`` (a comment or string would
    run past the ``>``, a bracket closes outside, a non-expression keyword): refuse."""
    depth: list[str] = []
    pos = start
    while pos < end:
        c = text[pos]
        if c == "#":
            return _UNSAFE  # a comment here would hide the rest of the line from one reading only
        if c == "'":
            m = _STRINGS["'''"].match(text, pos, end) if text.startswith("'''", pos) else None
            m = m or _STRINGS["'"].match(text, pos, end)
            if m is None:
                return _UNSAFE  # a string that runs past the '>'
            pos = m.end()
        elif c in "?$":
            m = _VAR.match(text, pos, end)
            if m is None and c == "$":
                return _DEAD
            pos = m.end() if m else pos + 1
        elif c == "_":
            m = _BNODE.match(text, pos, end)
            if m is None:
                return _DEAD
            pos = m.end()
        elif _NAME_START.match(c):
            m = _PNAME.match(text, pos, end)
            if m is not None:
                if m.group("prefix") and _sensitive(m.group("prefix")):
                    return _UNSAFE
                pos = m.end()
                continue
            word = _WORD.match(text, pos, end)
            if word is None:
                return _DEAD
            upper = word.group(0).upper()
            if upper in KEYWORDS or word.group(0) in _CASED:
                if upper not in _EXPRESSION_WORDS and word.group(0) not in _EXPRESSION_WORDS:
                    return _UNSAFE
                pos = word.end()
            elif _keyword_at(text, pos, end):
                return _UNSAFE  # Oxigraph might read a keyword out of this word: cannot tell what follows
            else:
                return _DEAD
        elif c in _DIGITS or (c == "." and pos + 1 < end and text[pos + 1] in _DIGITS):
            pos = _NUMBER.match(text, pos, end).end()  # type: ignore[union-attr]
        elif c == "@":
            m = _LANGTAG.match(text, pos, end)
            if m is None:
                return _DEAD
            pos = m.end()
        elif c in "([":
            depth.append(_OPENERS[c])
            pos += 1
        elif c in ")]":
            if not depth or depth.pop() != c:
                return _UNSAFE  # would close a bracket opened before the '<'
            pos += 1
        elif text.startswith("&&", pos):
            pos += 2
        elif c in "!*+-/,;.=~":
            pos += 1
        else:
            return _DEAD  # '%', '\\', a lone '&', …: no token of Oxigraph's grammar starts here
    return _UNSAFE if depth else _HARMLESS


def _fail(text: str, pos: int) -> NoReturn:
    """Raises the error for a position where no token starts."""
    c = text[pos]
    if c in "'\"":
        message = "unterminated string, or an invalid escape in it"
    elif c == "$":
        message = "'$' without a variable name"
    elif c == "_":
        message = "'_' that does not start a blank node label '_:…'"
    elif c == "@":
        message = "'@' that does not start a language tag"
    else:
        message = f"unexpected character {c!r}"
    raise SparqlLexError(message, text, pos)


def tokenize(text: str) -> Iterator[Token]:
    """The tokens of ``text``, in order, without whitespace and comments. Raises :class:`SparqlLexError`
    where the text cannot be read, or cannot be read with certainty as Oxigraph reads it.

    The one context the lexer keeps is for ``<``, which is both the start of an IRI and "less than"
    (``FILTER(?a<?b&&?c>?d)``). Oxigraph has no tokenizer: its PEG parser tries an IRI where a term may
    stand and the operator after an operand, and backtracks. Reading ``<…>`` as an IRI where Oxigraph reads
    a comparison would desynchronise the two readings, and a SERVICE could then hide in what the lexer
    takes for an IRI, a comment or a string: ``FILTER(?a<1)SERVICE:x#>⏎{…}`` is, for Oxigraph, a filter
    then ``SERVICE :x {…}`` (``#>`` a comment), while ``<1)SERVICE:x#>`` matches the IRI terminal. So:

    - an expression only stands inside parentheses (FILTER, BIND, a select expression, a function's
      arguments, HAVING, GROUP/ORDER BY), so outside any ``(``, and inside data blocks and templates
      (INSERT DATA, DELETE DATA, INSERT/DELETE/CONSTRUCT templates, VALUES), ``<`` is always an IRI;
    - inside ``(``, after anything that can end an operand, ``<`` is ambiguous. If what follows matches
      the IRI terminal, the lexer reads the IRI only when the comparison reading of its body is dead
      (cannot parse) or harmless (expression tokens only, brackets balanced, no comment or string crossing
      the ``>``; see :func:`_operator_reading`); else it refuses. Otherwise it reads ``<`` or ``<=``;
    - ``<<`` (SPARQL 1.2) where "less than" may stand is refused.
    """
    n = len(text)
    match = cast(Callable[[str, int], re.Match[str]], _TOKEN.match)  # every group is optional: it always matches
    new = tuple.__new__
    frames: list[tuple[str, bool, bool]] = []  # (closer, may hold an expression, data or template)
    pending_data = False  # a data keyword was seen and its '{' has not come yet
    prev_end = False  # the previous token may end an operand
    pos = 0
    while True:
        m = match(text, pos)
        kind = m.lastgroup
        if kind is None:
            pos = m.end()
            if pos >= n:
                break
            _fail(text, pos)
        start, pos = m.start(kind), m.end()
        tok = text[start:pos]
        value: object = None
        if kind == "VAR":
            value = tok[1:]
            prev_end = True
        elif kind == "PUNCT":
            if tok in _OPENERS:
                parent_data = bool(frames) and frames[-1][2]
                if tok == "{":
                    frames.append(("}", False, parent_data or pending_data))
                    pending_data = False
                elif tok == "(":
                    data = parent_data or pending_data
                    frames.append((")", not data, data))
                else:  # '[' holds what its parent holds
                    frames.append(("]", bool(frames) and frames[-1][1], parent_data))
                    pending_data = False
            else:
                if tok in _CLOSERS:
                    if not frames or frames[-1][0] != tok:
                        raise SparqlLexError(f"unbalanced {tok!r}", text, start)
                    frames.pop()
                if tok != ")":
                    pending_data = False
            prev_end = tok in _OPERAND_END_PUNCT
        elif kind == "PNAME":
            prefix = m.group("prefix") or ""
            if prefix:
                word = _sensitive(prefix)
                if word is not None:
                    raise SparqlLexError(
                        f"prefix {prefix}: contains the keyword {word}, which Oxigraph may read "
                        "out of it: rename the prefix",
                        text,
                        start,
                    )
            value = (prefix, (m.group("local") or "").replace("\\", ""))
            pending_data = False
            prev_end = True
        elif kind == "WORD":
            if tok not in _CASED:
                upper = tok.upper()
                if upper not in KEYWORDS:
                    raise SparqlLexError(
                        f"unknown word {tok!r} (a keyword glued to what follows? a prefixed name without ':'?)",
                        text,
                        start,
                    )
                tok = upper
            kind = "KEYWORD"
            pending_data = tok in _DATA_KEYWORDS
            prev_end = True
        elif kind == "IRI":
            if prev_end and frames and frames[-1][1] and _operator_reading(text, start + 1, pos - 1) == _UNSAFE:
                raise SparqlLexError(
                    "cannot tell whether '<' starts an IRI or means 'less than' here: "
                    "write a space after a '<' that compares, or the IRI as a prefixed name",
                    text,
                    start,
                )
            value = _decode_escapes(tok[1:-1], text, start)
            pending_data = False
            prev_end = True
        elif kind == "LT":  # not an IRI
            if prev_end and frames and frames[-1][1]:
                if text.startswith("<<", start):
                    raise SparqlLexError("cannot tell '<<' from 'less than' here", text, start)
                tok = "<=" if text.startswith("<=", start) else "<"
            elif text.startswith("<<", start):
                tok = "<<"
            else:
                raise SparqlLexError("unterminated IRI, or a character not allowed in an IRI", text, start)
            kind, pos = "PUNCT", start + len(tok)
            pending_data = False
            prev_end = False
        else:  # STRING, NUMBER, BNODE, LANGTAG
            if kind == "STRING" and ("\\u" in tok or "\\U" in tok):
                _decode_escapes(tok, text, start)  # only to refuse an escape that is not a code point
            pending_data = False
            prev_end = True
        yield new(Token, (kind, tok, start, value))
    if frames:
        raise SparqlLexError(f"{len(frames)} bracket(s) left open, the last wants {frames[-1][0]!r}", text, n)
