"""SPARQL SELECT results as polars frames, from the JSON and the TSV results formats.

Both parsers type a column the same way: ``Boolean`` when every bound value is an ``xsd:boolean``,
``Int64`` when every one is an integer type, ``Float64`` when every one is numeric, ``String``
otherwise; unbound values are nulls. In a ``String`` column an IRI is its string, a blank node
``_:id``, a literal its lexical form (a JSON-parsed mixed column writes numbers as Python does:
``1000.0`` where TSV keeps ``"1000"^^xsd:double``'s lexical ``1000``).

The TSV reader exists for speed: the embedded store serializes results to TSV inside Oxigraph (with the
GIL released) and polars splits and types the columns, so no Python object is made per value.
"""

from __future__ import annotations

import json
import re

import polars as pl

__all__ = ["parse_results_json", "parse_results_tsv", "terms_from_json", "split_terms"]

_XSD = "http://www.w3.org/2001/XMLSchema#"
INTEGER_TYPES = frozenset(
    f"{_XSD}{t}"
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "negativeInteger",
        "nonPositiveInteger",
        "unsignedInt",
        "unsignedLong",
        "unsignedShort",
        "unsignedByte",
    )
)
FLOAT_TYPES = frozenset(f"{_XSD}{t}" for t in ("decimal", "double", "float"))
BOOLEAN = f"{_XSD}boolean"

# A literal cell: "lexical" with an optional @lang or ^^<datatype>; group 1 the escaped lexical form,
# group 2 the datatype. Quotes inside the lexical form are escaped, so the last quote closes it.
_LITERAL = r'^"(.*)"(?:@[A-Za-z0-9-]+|\^\^<([^>]*)>)?$'
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_TURTLE_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _py_value(value: str, kind: str, datatype: str | None) -> object:
    """One result value as Python: numbers and booleans typed, everything else its string."""
    if kind == "literal" and datatype is not None:
        try:
            if datatype in INTEGER_TYPES:
                return int(value)
            if datatype in FLOAT_TYPES:
                return float(value)
            if datatype == BOOLEAN:
                return value in ("true", "1")
        except ValueError:
            return value
    if kind == "bnode":
        return f"_:{value}"
    return value


def _frame(variables: list[str], rows: list[list[object]]) -> pl.DataFrame:
    """Rows of Python values (``_py_value``) as a frame typed by the module's column rule."""
    columns: dict[str, pl.Series] = {}
    for j, var in enumerate(variables):
        values = [r[j] for r in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present):
            dtype: pl.DataType = pl.Boolean()
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            dtype = pl.Int64()
        elif present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
            dtype = pl.Float64()
        else:
            dtype = pl.String()
            values = [None if v is None else str(v) for v in values]
        columns[var] = pl.Series(var, values, dtype=dtype)
    return pl.DataFrame(columns) if columns else pl.DataFrame()


def parse_results_json(text: str) -> pl.DataFrame:
    """A SPARQL JSON results document as a frame (the remote store, tests and the service)."""
    payload = json.loads(text)
    variables = payload["head"]["vars"]
    rows = [
        [
            _py_value(b[v]["value"], b[v]["type"].replace("typed-literal", "literal"), b[v].get("datatype"))
            if v in b
            else None
            for v in variables
        ]
        for b in payload["results"]["bindings"]
    ]
    return _frame(variables, rows)


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) > 1:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, code)

    return _ESCAPE.sub(one, text)


def split_terms(cells: pl.Series) -> pl.DataFrame:
    """Terms in Turtle syntax (as TSV results and ``select_terms`` give them) split into ``kind`` (iri,
    bnode, literal, or null when unbound), ``lex`` (the IRI, ``_:id``, or the literal's unescaped lexical
    form) and ``datatype`` (a literal's; null for language-tagged and simple ones)."""
    c = pl.col("c")
    bare_type = (
        pl.when(c.str.contains(r"^[+-]?\d+$"))
        .then(pl.lit(f"{_XSD}integer"))
        .when(c.str.contains(r"^[+-]?(\d+\.\d*|\.\d+)$"))
        .then(pl.lit(f"{_XSD}decimal"))
        .when(c.is_in(["true", "false"]))
        .then(pl.lit(BOOLEAN))
        .otherwise(pl.lit(f"{_XSD}double"))
    )
    kind = (
        pl.when(c.is_null() | (c == ""))
        .then(None)
        .when(c.str.starts_with("<"))
        .then(pl.lit("iri"))
        .when(c.str.starts_with("_:"))
        .then(pl.lit("bnode"))
        .when(c.str.starts_with('"'))
        .then(pl.lit("literal"))
        .otherwise(pl.lit("bare"))
    )
    k = pl.col("kind")
    parts = (
        pl.DataFrame({"c": cells}, schema={"c": pl.String})
        .select(kind.alias("kind"), c)
        .select(
            pl.when(k == "bare").then(pl.lit("literal")).otherwise(k).alias("kind"),
            pl.when(k.is_null())
            .then(None)
            .when(k == "iri")
            .then(c.str.slice(1, c.str.len_chars() - 2))
            .when(k == "literal")
            .then(c.str.extract(_LITERAL, 1))
            .otherwise(c)
            .alias("lex"),
            pl.when(k == "literal")
            .then(c.str.extract(_LITERAL, 2))
            .when(k == "bare")
            .then(bare_type)
            .alias("datatype"),
        )
    )
    escaped = (parts["kind"] == "literal") & parts["lex"].str.contains("\\", literal=True)
    if escaped.any():
        parts = parts.with_columns(
            pl.when(escaped)
            .then(pl.col("lex").map_elements(_unescape, return_dtype=pl.String))
            .otherwise(pl.col("lex"))
        )
    return parts


def _typed_column(name: str, cells: pl.Series) -> pl.Series:
    """One TSV column (RDF terms in Turtle syntax, '' when unbound) as a typed series."""
    parts = split_terms(cells)
    kind, lex, datatype = parts["kind"], parts["lex"], parts["datatype"]
    present = kind.is_not_null()
    n_present = int(present.sum())
    if n_present:
        typed = datatype.filter(present).fill_null("")
        if bool((typed == BOOLEAN).all()):
            return pl.select(pl.when(present).then(lex.is_in(["true", "1"])).alias(name)).to_series()
        values = lex.filter(present)
        if bool(typed.is_in(list(INTEGER_TYPES)).all()):
            ints = values.cast(pl.Int64, strict=False)
            if ints.null_count() == 0:
                return lex.cast(pl.Int64, strict=False).alias(name)
        if bool(typed.is_in(list(INTEGER_TYPES | FLOAT_TYPES)).all()):
            floats = values.cast(pl.Float64, strict=False)
            if floats.null_count() == 0:
                return lex.cast(pl.Float64, strict=False).alias(name)
    return lex.alias(name)


def parse_results_tsv(data: bytes, typed: bool = True) -> pl.DataFrame:
    """A SPARQL TSV results document (header ``?a<TAB>?b``, one row per line) as a frame: typed values,
    or with ``typed=False`` the terms as written (Turtle syntax, null when unbound; see ``split_terms``)."""
    text = data.decode("utf-8")
    header, _, body = text.partition("\n")
    variables = [v[1:] if v[:1] in "?$" else v for v in header.split("\t")] if header else []
    if not variables:
        return pl.DataFrame()
    lines = body[:-1] if body.endswith("\n") else body
    if not lines and not body:
        return pl.DataFrame({v: pl.Series(v, [], dtype=pl.String) for v in variables})
    rows = pl.Series("row", [lines]).str.split("\n").explode()
    if len(variables) == 1:
        cells = {variables[0]: rows}
    else:
        split = rows.str.split_exact("\t", len(variables) - 1).struct.unnest()
        cells = {v: split[f"field_{j}"] for j, v in enumerate(variables)}
    if not typed:
        return pl.DataFrame(
            [pl.select(pl.when(s == "").then(None).otherwise(s).alias(v)).to_series() for v, s in cells.items()]
        )
    return pl.DataFrame([_typed_column(v, s) for v, s in cells.items()])


def _turtle(binding: dict[str, str]) -> str:
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return f"<{value}>"
    if kind == "bnode":
        return f"_:{value}"
    body = '"' + value.translate(_TURTLE_ESCAPES) + '"'
    if "xml:lang" in binding:
        return f"{body}@{binding['xml:lang']}"
    if binding.get("datatype"):
        return f"{body}^^<{binding['datatype']}>"
    return body


def terms_from_json(text: str) -> pl.DataFrame:
    """A SPARQL JSON results document with each value as a term in Turtle syntax, as
    ``parse_results_tsv(..., typed=False)`` gives them (the remote store's ``select_terms``)."""
    payload = json.loads(text)
    variables = payload["head"]["vars"]
    bindings = payload["results"]["bindings"]
    return pl.DataFrame(
        {v: pl.Series(v, [_turtle(b[v]) if v in b else None for b in bindings], dtype=pl.String) for v in variables}
    )
