"""The TSV results reader against the JSON one, on the same Oxigraph results."""

from __future__ import annotations

import polars as pl
import pyoxigraph as ox
from hypothesis import given, settings
from hypothesis import strategies as st

from kgexplain.results import parse_results_json, parse_results_tsv

XSD = "http://www.w3.org/2001/XMLSchema#"
EX = "http://example.org/"


def both(store: ox.Store, query: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    tsv = parse_results_tsv(store.query(query).serialize(format=ox.QueryResultsFormat.TSV))
    js = parse_results_json(store.query(query).serialize(format=ox.QueryResultsFormat.JSON).decode())
    return tsv, js


def test_typed_columns_agree_with_json() -> None:
    store = ox.Store()
    rows = [
        (
            ox.NamedNode(f"{EX}a"),
            ox.Literal("7", datatype=ox.NamedNode(f"{XSD}integer")),
            ox.Literal("1.5", datatype=ox.NamedNode(f"{XSD}decimal")),
            ox.Literal("true", datatype=ox.NamedNode(f"{XSD}boolean")),
            ox.Literal('x\ty\n\\z"q', language="en"),
        ),
        (
            ox.NamedNode(f"{EX}b"),
            ox.Literal("-3", datatype=ox.NamedNode(f"{XSD}int")),
            ox.Literal("2", datatype=ox.NamedNode(f"{XSD}integer")),
            ox.Literal("false", datatype=ox.NamedNode(f"{XSD}boolean")),
            ox.Literal("é ü \u0001 \U0001f600 'single'"),
        ),
        (
            ox.BlankNode("b1"),
            None,
            ox.Literal("1e3", datatype=ox.NamedNode(f"{XSD}double")),
            None,
            ox.Literal("2020-01-01", datatype=ox.NamedNode(f"{XSD}date")),
        ),
    ]
    props = ["int", "num", "flag", "text"]
    for subject, *values in rows:
        for prop, value in zip(props, values, strict=True):
            if value is not None:
                store.add(ox.Quad(subject, ox.NamedNode(EX + prop), value))
    query = f"""SELECT ?s ?int ?num ?flag ?text WHERE {{ ?s <{EX}text> ?text .
        OPTIONAL {{ ?s <{EX}int> ?int }} OPTIONAL {{ ?s <{EX}num> ?num }} OPTIONAL {{ ?s <{EX}flag> ?flag }} }}
        ORDER BY ?text"""
    tsv, js = both(store, query)
    assert (
        tsv.schema
        == js.schema
        == pl.Schema({"s": pl.String, "int": pl.Int64, "num": pl.Float64, "flag": pl.Boolean, "text": pl.String})
    )
    assert tsv.equals(js)
    assert set(tsv["text"]) == {'x\ty\n\\z"q', "é ü \u0001 \U0001f600 'single'", "2020-01-01"}
    assert set(tsv["s"]) == {f"{EX}a", f"{EX}b", "_:b1"}


def test_computed_values_bare_numbers_and_empty_results() -> None:
    store = ox.Store()
    tsv, js = both(store, 'SELECT ?a ?b ?c ?d WHERE { VALUES (?a ?b ?c ?d) { (1 1.5 true "x") (-2 3 false UNDEF) } }')
    assert tsv.equals(js)
    assert tsv["a"].to_list() == [1, -2] and tsv["b"].to_list() == [1.5, 3.0]
    assert tsv["c"].to_list() == [True, False] and tsv["d"].to_list() == ["x", None]
    tsv, js = both(store, "SELECT ?x WHERE { VALUES ?x { 1 } FILTER(?x > 5) }")
    assert tsv.height == js.height == 0 and tsv.columns == ["x"]
    tsv, _ = both(store, "SELECT ?x ?y WHERE { VALUES (?x ?y) { (UNDEF 1) (UNDEF 2) } }")
    assert tsv["x"].to_list() == [None, None] and tsv["y"].to_list() == [1, 2]
    tsv, _ = both(store, "SELECT ?x WHERE { VALUES ?x { UNDEF 'a' UNDEF } }")
    assert tsv["x"].to_list() == [None, "a", None]


def test_mixed_column_keeps_lexical_forms() -> None:
    store = ox.Store()
    tsv, js = both(
        store, 'SELECT ?v WHERE { VALUES ?v { "1000"^^<http://www.w3.org/2001/XMLSchema#double> "a" <http://x/y> } }'
    )
    assert tsv["v"].to_list() == ["1000", "a", "http://x/y"]
    assert js["v"].to_list() == ["1000.0", "a", "http://x/y"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30), min_size=1, max_size=8),
    st.sampled_from([None, "en", "de-ch"]),
)
def test_any_string_round_trips(texts: list[str], language: str | None) -> None:
    store = ox.Store()
    for i, text in enumerate(texts):
        store.add(ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(f"{EX}p"), ox.Literal(text, language=language)))
    tsv, js = both(store, f"SELECT ?s ?o WHERE {{ ?s <{EX}p> ?o }} ORDER BY ?s")
    assert tsv.equals(js)
    assert sorted(tsv["o"].to_list()) == sorted(texts)
