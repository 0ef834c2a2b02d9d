"""Both store backends: round trips, bindings, batching, and every shipped query on each."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest

from kgexplain.errors import QueryError, StoreError
from kgexplain.queries import Query, bind, load_query, query_names
from kgexplain.results import split_terms
from kgexplain.store import EmbeddedStore, RemoteStore, TripleStore, open_store, private_graphs

EX = "http://example.org/"
G = ox.NamedNode(EX + "graph")
XSD = "http://www.w3.org/2001/XMLSchema#"
TRIPLES = [
    (f"<{EX}a>", f"<{EX}p>", f'"1"^^<{XSD}integer>'),
    (f"<{EX}a>", f"<{EX}q>", '"Ünïcode \\"quoted\\""@en'),
    (f"<{EX}b>", f"<{EX}p>", f'"2.5"^^<{XSD}double>'),
    (f"<{EX}b>", f"<{EX}r>", f"<{EX}a>"),
]


@pytest.fixture(params=["memory", "disk", "remote"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TripleStore:
    if request.param == "memory":
        db: TripleStore = EmbeddedStore(None)
    elif request.param == "disk":
        db = EmbeddedStore(tmp_path / "store")
    else:
        db = RemoteStore(request.getfixturevalue("oxigraph_server"))
        for g in db.graphs():
            db.drop_graph(ox.NamedNode(g))
    yield db
    db.close()


def test_round_trip(store: TripleStore) -> None:
    assert store.load(TRIPLES, G) == 4
    assert store.count(G) == 4
    assert G.value in store.graphs()
    frame = store.select(f"SELECT ?s ?o WHERE {{ GRAPH <{G.value}> {{ ?s <{EX}p> ?o }} }} ORDER BY ?s")
    assert frame["s"].to_list() == [EX + "a", EX + "b"]
    assert frame["o"].to_list() == [1.0, 2.5]  # an int and a double share a float column
    text = store.select(f"SELECT ?o WHERE {{ GRAPH ?g {{ ?s <{EX}q> ?o }} }}")["o"][0]
    assert text == 'Ünïcode "quoted"'
    dumped = {
        (str(t.subject), str(t.predicate), str(t.object)) for t in ox.parse(store.dump(G), ox.RdfFormat.N_TRIPLES)
    }
    assert dumped == set(TRIPLES)
    assert store.ask(f"ASK {{ GRAPH ?g {{ <{EX}b> <{EX}r> <{EX}a> }} }}")
    built = list(store.construct("CONSTRUCT { ?o ?p ?s } WHERE { GRAPH ?g { ?s ?p ?o FILTER(isIRI(?o)) } }"))
    assert [(t.subject.value, t.object.value) for t in built] == [(EX + "a", EX + "b")]
    store.update(f"INSERT DATA {{ GRAPH <{G.value}> {{ <{EX}c> <{EX}p> 3 }} }}")
    assert store.count(G) == 5
    store.drop_graph(G)
    assert store.count(G) == 0


def test_bound_parameters_and_values_batching(store: TripleStore) -> None:
    store.load(TRIPLES, G)
    query = Query.from_text("SELECT ?s ?o WHERE { VALUES (?g ?s) { (UNDEF UNDEF) } GRAPH ?g { ?s ?p ?o } }", "t")
    one = store.select(query, g=G, s=ox.NamedNode(EX + "b"))
    assert sorted(one["o"].to_list()) == sorted(["2.5", EX + "a"])
    many = store.select(query, g=G, s=[ox.NamedNode(EX + "a"), ox.NamedNode(EX + "b")])
    assert many.height == 4
    assert store.select(query, g=G, s=[]).height == 0


def test_terms_keep_the_term_syntax(store: TripleStore) -> None:
    """``select_terms`` gives the same terms on every backend, and ``split_terms`` reads them back."""
    store.load(TRIPLES, G)
    query = Query.from_text(
        "SELECT ?i ?s ?o WHERE { VALUES (?g ?s ?i) { (UNDEF UNDEF UNDEF) } GRAPH ?g { ?s ?p ?o } } ORDER BY ?i ?o", "t"
    )
    frame = store.select_terms(query, g=G, s=[ox.NamedNode(EX + "a"), ox.NamedNode(EX + "b")], i=[10, 20])
    parts = split_terms(frame["o"])
    assert split_terms(frame["i"])["lex"].cast(int).to_list() == [10, 10, 20, 20]
    assert parts["kind"].to_list() == ["literal", "literal", "iri", "literal"]
    assert sorted(parts["lex"].to_list()) == sorted(["1", 'Ünïcode "quoted"', EX + "a", "2.5"])
    assert split_terms(frame["s"])["lex"].to_list() == [EX + "a"] * 2 + [EX + "b"] * 2
    with pytest.raises(QueryError, match="one length"):
        store.select_terms(query, g=G, s=[ox.NamedNode(EX + "a")], i=[1, 2])


def test_load_file(store: TripleStore, tmp_path: Path) -> None:
    path = tmp_path / "data.nt"
    path.write_text("".join(f"{s} {p} {o} .\n" for s, p, o in TRIPLES), encoding="utf-8")
    assert store.load(path, G) == 4


def test_every_shipped_query_runs_on_the_backend(store: TripleStore) -> None:
    """The contract: each .rq parses and executes (with unbound parameters) on both backends."""
    names = query_names()
    assert len(names) >= 10
    for name in names:
        query = load_query(name)
        store.select(query) if "SELECT" in query.text else store.ask(query)


def test_query_loader_reports_problems() -> None:
    with pytest.raises(QueryError, match="no query named"):
        load_query("does/not/exist")
    with pytest.raises(QueryError, match="never used"):
        Query.from_text("SELECT * WHERE { VALUES (?a ?b) { (UNDEF UNDEF) } ?a ?p ?o }")
    query = Query.from_text("SELECT * WHERE { VALUES (?a) { (UNDEF) } ?a ?p ?o }")
    with pytest.raises(QueryError, match="no parameter"):
        bind(query, {"zzz": 1})
    text = bind(query, {"a": ox.NamedNode(EX + "x")})
    assert f"VALUES (?a) {{ (<{EX}x>) }}" in text


def test_bad_remote_endpoint_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="http"):
        open_store(endpoint="ftp://nowhere")
    db = RemoteStore("http://127.0.0.1:9/query", timeout_s=1)
    with pytest.raises(StoreError, match="cannot reach"):
        db.select("SELECT * WHERE { ?s ?p ?o }")


def _observe_while(store: TripleStore, write: Callable[[], object]) -> set[tuple[int, bool]]:
    """Runs ``write`` while another thread keeps reading (triples in G, whether the catalog entry exists)."""
    seen: set[tuple[int, bool]] = set()
    done = threading.Event()
    query = (
        f"SELECT (COUNT(*) AS ?n) (SAMPLE(?c) AS ?entry) WHERE {{ {{ GRAPH <{G.value}> {{ ?s ?p ?o }} }} "
        f"UNION {{ GRAPH <{CATALOG.value}> {{ ?c ?cp ?co }} }} }}"
    )

    def read() -> None:
        while not done.is_set():
            row = store.select(query).row(0, named=True)
            entry = row["entry"] is not None
            seen.add((int(row["n"]) - entry, entry))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        write()
    finally:
        done.set()
        reader.join()
    seen.add((int(store.select(query)["n"][0]) - 1, True))
    return seen


CATALOG = ox.NamedNode(EX + "catalog")


def test_publish_is_all_or_nothing_for_a_reader(store: TripleStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader polling during ``publish`` sees nothing or everything (the rules and their catalog entry);
    the same triples written by ``load`` in chunks show the reader states in between — so the reader would
    notice a half publish."""
    n = 30_000
    rules = [(f"<{EX}r{i}>", f"<{EX}p>", f'"{i}"') for i in range(n)]
    entry = [(f"<{EX}run>", f"<{EX}graph>", f"<{G.value}>")]
    seen = _observe_while(store, lambda: store.publish({G: rules, CATALOG: entry}))
    assert seen <= {(0, False), (n, True)} and (n, True) in seen, sorted(seen)[:5]
    store.drop_graph(G)
    store.drop_graph(CATALOG)
    monkeypatch.setattr("kgexplain.store._CHUNK_TRIPLES", 2_000)
    seen = _observe_while(store, lambda: (store.load(rules, G), store.load(entry, CATALOG)))
    assert any(0 < count < n for count, _ in seen), "the control never caught a chunked load half done"


def test_a_publish_too_big_for_one_request_is_still_all_or_nothing(
    store: TripleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote publish over ``_REQUEST_BYTES`` goes through staging graphs and one request of ADD and DROP:
    a reader still sees nothing or everything, and no staging graph stays behind. A publish that fails
    half-way (a malformed triple in the last graph) leaves the graphs as they were."""
    monkeypatch.setattr("kgexplain.store._REQUEST_BYTES", 100_000)  # 30,000 triples: about 15 requests
    n = 30_000
    rules = [(f"<{EX}r{i}>", f"<{EX}p>", f'"{i}"') for i in range(n)]
    entry = [(f"<{EX}run>", f"<{EX}graph>", f"<{G.value}>")]
    seen = _observe_while(store, lambda: store.publish({G: rules, CATALOG: entry}))
    assert seen <= {(0, False), (n, True)} and (n, True) in seen, sorted(seen)[:5]
    assert (store.count(G), store.count(CATALOG)) == (n, 1)
    assert not private_graphs(store.graphs())  # no staging graph left
    more = [(f"<{EX}s{i}>", f"<{EX}p>", f'"{i}"') for i in range(n)]
    with pytest.raises(StoreError, match="publish|load"):
        store.publish({G: more, CATALOG: [*entry, (f"<{EX}run2>", f"<{EX}p>", '"unterminated')]})
    assert (store.count(G), store.count(CATALOG)) == (n, 1)
    assert not private_graphs(store.graphs())  # no staging graph left


def test_an_interrupted_remote_publish_leaves_no_staging_graph(
    oxigraph_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while a big publish is being staged (the fourth request is interrupted): the staging graphs
    already written are dropped on the real server, the target graph is untouched, the interrupt goes on."""
    monkeypatch.setattr("kgexplain.store._REQUEST_BYTES", 100_000)
    with RemoteStore(oxigraph_server) as db:
        for g in db.graphs():
            db.drop_graph(ox.NamedNode(g))
        post, calls = RemoteStore._post, []

        def interrupted(self: RemoteStore, url: str, data: dict[str, str], accept: str, what: str) -> object:
            calls.append(what)
            if len(calls) == 4:
                raise KeyboardInterrupt
            return post(self, url, data, accept, what)

        monkeypatch.setattr(RemoteStore, "_post", interrupted)
        with pytest.raises(KeyboardInterrupt):
            db.publish({G: [(f"<{EX}r{i}>", f"<{EX}p>", f'"{i}"') for i in range(30_000)]})
        monkeypatch.setattr(RemoteStore, "_post", post)
        assert len([c for c in calls if c.startswith("staging")]) == 4
        assert db.graphs() == [] and db.count(G) == 0
