"""The one interface to a triple store, with two backends.

``EmbeddedStore`` wraps pyoxigraph (on disk or in memory) and is the default. ``RemoteStore`` talks the
SPARQL 1.1 Protocol over HTTP to any endpoint (Oxigraph server, QLever, Virtuoso, Fuseki). Both take
the same ``Query`` objects from ``queries/`` and bind parameters the same way (see ``queries.bind``);
SELECT results come back as polars frames. Only this module knows which backend is in use.

Writes are crash-safe (``Staging``): a graph being written is private (``vocab.private_graph``) until one
update makes it public with its catalog entry, so ``public_graphs`` never lists a half-written graph, even
after ``kill -9``. An embedded store opened for writing sweeps such orphans away (it holds the store's
lock, so no other writer can be mid-run); a remote store leaves that to ``RemoteStore.sweep_staging``.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol, Self, TypeVar, cast, runtime_checkable

import httpx
import polars as pl
import pyoxigraph as ox

from .errors import QuerySyntaxError, StoreError, StoreUnreachable
from .queries import Query, bind
from .results import parse_results_json, parse_results_tsv, terms_from_json
from .vocab import RDFS, pending_marker, private_graph, staging_graph, staging_token

__all__ = [
    "RESULTS_FORMATS",
    "GRAPH_FORMATS",
    "NotAcceptable",
    "TripleStore",
    "EmbeddedStore",
    "RemoteStore",
    "open_store",
    "RawTriple",
    "to_ntriples",
    "parse_results_json",
    "Staging",
    "private_graphs",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: A triple as three terms in N-Triples syntax, e.g. ``("<http://…/Q1>", "<…/P31>", '"x"@en')``.
RawTriple = tuple[str, str, str]

_CHUNK_TRIPLES = 200_000
#: Triples per ``GRAPH`` block of an ``INSERT DATA``: Virtuoso 7.2's SPARQL parser runs out of stack
#: ("SP030 … memory exhausted") at about 5,000 triples in one block, so a request carries several blocks.
_BLOCK_TRIPLES = 1_000
#: Bytes of N-Triples per update request to a remote endpoint: Virtuoso 7.2 refuses a query text over
#: 10 MB ("SR0??: The requested string session is longer than 10Mb"); the GRAPH blocks add a little.
_REQUEST_BYTES = 8_000_000


class _Output(Protocol):
    """Where ``answer`` writes: a binary file, or the service's size and time budget."""

    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


@runtime_checkable
class TripleStore(Protocol):
    """All the pipeline needs from a store (embedded or remote)."""

    description: str

    def select(self, query: Query | str, **bind: object) -> pl.DataFrame: ...
    def select_terms(self, query: Query | str, **bind: object) -> pl.DataFrame: ...
    def ask(self, query: Query | str, **bind: object) -> bool: ...
    def construct(self, query: Query | str, **bind: object) -> Iterator[ox.Triple]: ...
    def update(self, query: Query | str, *, base_iri: str | None = None, **bind: object) -> None: ...
    def load(
        self, source: Path | bytes | Iterable[RawTriple], graph: ox.NamedNode, format: ox.RdfFormat | None = None
    ) -> int: ...
    def publish(self, graphs: Mapping[ox.NamedNode, Iterable[RawTriple]]) -> int: ...
    def drop_graph(self, graph: ox.NamedNode) -> None: ...
    def graphs(self) -> list[str]: ...
    def public_graphs(self) -> list[str]: ...
    def count(self, graph: ox.NamedNode | None = None) -> int: ...
    def dump(self, graph: ox.NamedNode, format: ox.RdfFormat = ox.RdfFormat.N_TRIPLES) -> bytes: ...
    def optimize(self) -> None: ...
    def answer(
        self,
        text: str,
        accept: Sequence[str],
        output: _Output,
        *,
        base_iri: str | None = None,
        default_graphs: tuple[str, ...] | None = None,
        named_graphs: tuple[str, ...] | None = None,
        own_dataset: bool = False,
    ) -> str: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...


#: What a user's query can be answered in, by media type; the first of each is the default.
RESULTS_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


class NotAcceptable(StoreError):
    """None of the media types a client accepts fits the query's form."""


def _pick(accept: Sequence[str], offered: Sequence[str], form: str) -> str:
    """The first of ``accept`` (media types or ranges, most preferred first) that one of ``offered`` fits: a
    range (``text/*``, ``*/*``) takes the first offered type within it (``text/*`` a SELECT's ``text/csv``)."""
    for media in accept:
        if media in offered:
            return media
        if media.endswith("/*"):
            fitting = next((m for m in offered if media == "*/*" or m.startswith(media[:-1])), None)
            if fitting is not None:
                return fitting
    if not accept:
        return offered[0]
    raise NotAcceptable(
        f"a {form} query can be answered as {', '.join(offered)}; the request accepts only {', '.join(accept)}"
    )


def open_store(
    store: Path | str | None = None, *, endpoint: str | None = None, read_only: bool = False, timeout_s: float = 60.0
) -> TripleStore:
    """An embedded store at ``store`` (in memory when None), or a remote one at ``endpoint``."""
    if endpoint is not None and store is not None:
        raise StoreError("give either a store directory or an endpoint URL, not both")
    if endpoint is not None:
        return RemoteStore(endpoint, timeout_s=timeout_s)
    return EmbeddedStore(Path(store) if store is not None else None, read_only=read_only)


def _text(query: Query | str, bindings: dict[str, object]) -> str:
    if isinstance(query, str):
        query = Query.from_text(query)
    return bind(query, bindings)


def _name(query: Query | str) -> str:
    return query.name if isinstance(query, Query) else "<inline query>"


def to_ntriples(triples: Iterable[RawTriple], max_bytes: int | None = None) -> Iterator[bytes]:
    """N-Triples bytes in chunks of at most ``_CHUNK_TRIPLES`` lines and, if given, at most ``max_bytes``
    bytes (a single longer line is a chunk of its own)."""
    if max_bytes is None:
        buf: list[str] = []
        for s, p, o in triples:
            buf.append(f"{s} {p} {o} .\n")
            if len(buf) >= _CHUNK_TRIPLES:
                yield "".join(buf).encode("utf-8")
                buf = []
        if buf:
            yield "".join(buf).encode("utf-8")
        return
    lines: list[bytes] = []
    size = 0
    for s, p, o in triples:
        line = f"{s} {p} {o} .\n".encode()
        if lines and (size + len(line) > max_bytes or len(lines) >= _CHUNK_TRIPLES):
            yield b"".join(lines)
            lines, size = [], 0
        lines.append(line)
        size += len(line)
    if lines:
        yield b"".join(lines)


def _insert_data(graphs: Iterable[tuple[ox.NamedNode, bytes]]) -> tuple[str, int]:
    """One ``INSERT DATA`` for N-Triples chunks, each into its graph, in ``GRAPH`` blocks of at most
    ``_BLOCK_TRIPLES`` triples (a graph may take several blocks); with the number of triples."""
    blocks: list[str] = []
    total = 0
    for graph, chunk in graphs:
        lines = chunk.decode("utf-8").split("\n")[:-1]  # N-Triples escapes line breaks inside literals
        total += len(lines)
        for start in range(0, len(lines), _BLOCK_TRIPLES):
            body = "\n".join(lines[start : start + _BLOCK_TRIPLES])
            blocks.append(f"GRAPH {graph} {{\n{body}\n}}")
    return "INSERT DATA {\n" + "\n".join(blocks) + "\n}", total


def _nquads(graphs: Mapping[ox.NamedNode, Iterable[RawTriple]]) -> Iterator[bytes]:
    for graph, triples in graphs.items():
        yield "".join(f"{s} {p} {o} {graph} .\n" for s, p, o in triples).encode("utf-8")


def _open_rdf_file(path: Path) -> tuple[IO[bytes], ox.RdfFormat]:
    name = path.name
    opener: Callable[[Path, str], object] = open
    if name.endswith(".gz"):
        opener, name = gzip.open, name[:-3]
    elif name.endswith(".bz2"):
        opener, name = bz2.open, name[:-4]
    fmt = ox.RdfFormat.from_extension(name.rsplit(".", 1)[-1]) if "." in name else None
    if fmt is None:
        raise StoreError(f"cannot tell the RDF format of {path.name} from its extension")
    try:
        # GzipFile and BZ2File are binary files, though typeshed does not derive them from IO[bytes]
        return cast(IO[bytes], opener(path, "rb")), fmt
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc


def _writes(method: Callable[..., T]) -> Callable[..., T]:
    """Counts the store's writes in ``generation`` (a write that failed half-way may have written too), so
    that a read-only view of the store elsewhere knows when it is out of date (the service's query workers)."""

    @functools.wraps(method)
    def counted(self: EmbeddedStore, *args: object, **kwargs: object) -> T:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.generation += 1

    return counted


class EmbeddedStore:
    """pyoxigraph, on disk (``path``) or in memory (``path=None``). Opened for writing on disk, it drops the
    graphs that a killed writer left private (``sweep_staging``): it holds the store's lock, so they are orphans."""

    def __init__(self, path: Path | None = None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.generation = 0
        try:
            if path is None:
                self._store = ox.Store()
            elif read_only:
                self._store = ox.Store.read_only(str(path))
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(path))
        except OSError as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        self.description = f"embedded store at {path}" if path else "in-memory store"
        if path is not None and not read_only:
            self.sweep_staging()

    def _query(self, query: Query | str, bindings: dict[str, object]) -> object:
        try:
            return self._store.query(_text(query, bindings), use_default_graph_as_union=True)
        except SyntaxError as exc:
            raise QuerySyntaxError(f"{_name(query)} does not parse: {exc}") from exc
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"{_name(query)} failed on the {self.description}: {exc}") from exc

    def _tsv(self, query: Query | str, bindings: dict[str, object]) -> bytes:
        result = self._query(query, bindings)
        if not isinstance(result, ox.QuerySolutions):
            raise StoreError(f"{_name(query)} is not a SELECT query")
        try:  # evaluated and written in Rust with the GIL released: batches can run in threads
            return cast(bytes, result.serialize(format=ox.QueryResultsFormat.TSV))  # bytes when given no output
        except (OSError, RuntimeError, ValueError) as exc:
            raise StoreError(f"{_name(query)} failed on the {self.description}: {exc}") from exc
        finally:
            result = None  # pyoxigraph results must die in their thread, not with a traceback elsewhere

    def answer(
        self,
        text: str,
        accept: Sequence[str],
        output: _Output,
        *,
        base_iri: str | None = None,
        default_graphs: tuple[str, ...] | None = None,
        named_graphs: tuple[str, ...] | None = None,
        own_dataset: bool = False,
    ) -> str:
        """Runs a user's query and writes its results to ``output`` in the first media type of ``accept``
        (in order of preference) that fits the query's form; returns that media type. ``output``'s
        ``write`` may raise to stop the query (a size or time budget): Oxigraph evaluates lazily.

        Relative IRIs resolve against ``base_iri``. The dataset (SPARQL 1.1 Protocol §2.1.4): when
        ``default_graphs`` or ``named_graphs`` is given (``default-graph-uri`` / ``named-graph-uri``), exactly
        those graphs, whatever the query's ``FROM`` says (one not given is empty); else, when ``own_dataset``
        (the caller read ``FROM`` / ``FROM NAMED`` in the text), the query's own; else the union of the
        default graph and every public named graph (``public_graphs``), each of which ``GRAPH`` reaches too.
        A triple in several graphs of a default graph counts once per graph (Oxigraph's union, not an RDF
        merge)."""
        # the query's own dataset unless one of these is set
        default_graph: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] | None = None
        named: list[ox.NamedNode | ox.BlankNode] | None = None
        union = False
        if default_graphs is not None or named_graphs is not None:
            try:
                default_graph = [ox.NamedNode(g) for g in default_graphs or ()]
                named = [ox.NamedNode(g) for g in named_graphs or ()]
            except ValueError as exc:
                raise QuerySyntaxError(f"a graph of the dataset is not an IRI: {exc}") from exc
        elif not own_dataset:
            names = self.graphs()
            hidden = private_graphs(names)
            if hidden:
                named = [ox.NamedNode(g) for g in names if g not in hidden]
                default_graph = [ox.DefaultGraph(), *named]
            else:
                union = True
        try:
            result = self._store.query(
                text,
                base_iri=base_iri,
                use_default_graph_as_union=union,
                default_graph=default_graph,
                named_graphs=named,
            )
        except SyntaxError as exc:
            raise QuerySyntaxError(f"the query does not parse: {exc}") from exc
        except ValueError as exc:  # a base IRI Oxigraph refuses
            raise QuerySyntaxError(f"the query cannot run: {exc}") from exc
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"the query failed on the {self.description}: {exc}") from exc
        try:
            if isinstance(result, ox.QueryTriples):
                media = _pick(accept, list(GRAPH_FORMATS), "CONSTRUCT or DESCRIBE")
                result.serialize(cast(IO[bytes], output), GRAPH_FORMATS[media])  # Oxigraph only writes to it
            else:
                media = _pick(accept, list(RESULTS_FORMATS), "SELECT or ASK")
                result.serialize(cast(IO[bytes], output), RESULTS_FORMATS[media])
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"the query failed on the {self.description}: {exc}") from exc
        finally:
            del result  # pyoxigraph results must die in their thread, not with a traceback elsewhere
        return media

    def select(self, query: Query | str, **bind: object) -> pl.DataFrame:
        """SELECT results as a frame typed by ``results``' column rule."""
        return parse_results_tsv(self._tsv(query, bind))

    def select_terms(self, query: Query | str, **bind: object) -> pl.DataFrame:
        """SELECT results as terms in Turtle syntax (``<iri>``, ``"lex"@en``, ``1``…; see
        ``results.split_terms``): for callers that need to tell IRIs from literals."""
        return parse_results_tsv(self._tsv(query, bind), typed=False)

    def ask(self, query: Query | str, **bind: object) -> bool:
        result = self._query(query, bind)
        if not isinstance(result, ox.QueryBoolean):
            raise StoreError(f"{_name(query)} is not an ASK query")
        return bool(result)

    def construct(self, query: Query | str, **bind: object) -> Iterator[ox.Triple]:
        result = self._query(query, bind)
        if not isinstance(result, ox.QueryTriples):
            raise StoreError(f"{_name(query)} is not a CONSTRUCT or DESCRIBE query")
        return iter(result)

    @_writes
    def update(self, query: Query | str, *, base_iri: str | None = None, **bind: object) -> None:
        """Runs an update; relative IRIs resolve against ``base_iri``. A text without ``bind`` is run as given
        (a user's update: its ``VALUES`` rows are not parameters)."""
        try:
            text = query if isinstance(query, str) and not bind else _text(query, bind)
            self._store.update(text, base_iri=base_iri)
        except SyntaxError as exc:
            raise QuerySyntaxError(f"{_name(query)} does not parse: {exc}") from exc
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"{_name(query)} failed on the {self.description}: {exc}") from exc

    @_writes
    def load(
        self, source: Path | bytes | Iterable[RawTriple], graph: ox.NamedNode, format: ox.RdfFormat | None = None
    ) -> int:
        """Bulk-loads a file, N-Triples bytes, or raw triples into ``graph``; returns triples given."""
        try:
            if isinstance(source, Path):
                handle, fmt = _open_rdf_file(source)
                with handle:
                    before = self.count(graph)
                    self._store.bulk_load(handle, format or fmt, to_graph=graph)
                    return self.count(graph) - before
            if isinstance(source, bytes):
                fmt = format or ox.RdfFormat.N_TRIPLES
                self._store.bulk_load(source, fmt, to_graph=graph)
                return source.count(b"\n") if fmt == ox.RdfFormat.N_TRIPLES else -1
            total = 0
            for chunk in to_ntriples(source):
                self._store.bulk_load(chunk, ox.RdfFormat.N_TRIPLES, to_graph=graph)
                total += chunk.count(b"\n")
            return total
        except (SyntaxError, OSError, RuntimeError, ValueError) as exc:
            raise StoreError(f"bulk load into {graph.value} failed on the {self.description}: {exc}") from exc

    @_writes
    def publish(self, graphs: Mapping[ox.NamedNode, Iterable[RawTriple]]) -> int:
        """Adds the triples of each graph in one transaction: a reader sees none of them or all (``load``
        writes in chunks, which readers can see one by one). Returns the triples given."""
        data = b"".join(_nquads(graphs))
        try:
            self._store.load(data, ox.RdfFormat.N_QUADS)
        except (SyntaxError, OSError, RuntimeError, ValueError) as exc:
            names = ", ".join(g.value for g in graphs)
            raise StoreError(f"publishing into {names} failed on the {self.description}: {exc}") from exc
        return data.count(b"\n")

    def optimize(self) -> None:
        """Compacts the on-disk store after a big bulk load: until RocksDB has compacted the new files,
        queries run at about half speed (benchmarks/itemsets.py). A no-op in memory or read-only."""
        if self.path is not None and not self.read_only:
            try:
                self._store.optimize()
            except (OSError, RuntimeError) as exc:
                raise StoreError(f"compacting the {self.description} failed: {exc}") from exc

    @_writes
    def drop_graph(self, graph: ox.NamedNode) -> None:
        if self._store.contains_named_graph(graph):
            self._store.remove_graph(graph)

    def graphs(self) -> list[str]:
        """Every named graph, private ones (being written, or orphans) included."""
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def public_graphs(self) -> list[str]:
        """The named graphs a reader may see: all but those being written (``private_graphs``). One read of
        the store's list of graph names (one snapshot, so a graph and its marker are seen together)."""
        names = self.graphs()
        return sorted(set(names) - private_graphs(names))

    def sweep_staging(self, *, older_than_s: float | None = None) -> int:
        """Drops the private graphs that interrupted writes left behind (all of them, or those whose token is
        older than ``older_than_s``); returns how many. Runs when the store is opened for writing; calling it
        while a ``Staging`` of this same store is open would destroy that write."""
        if self.read_only:
            raise StoreError(f"the {self.description} is open read-only: cannot sweep its staging graphs")
        return _sweep(self, self.graphs(), older_than_s)

    def count(self, graph: ox.NamedNode | None = None) -> int:
        if graph is None:
            q = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
            return int(next(iter(cast(ox.QuerySolutions, self._store.query(q))))["n"].value)
        q = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}"
        return int(next(iter(cast(ox.QuerySolutions, self._store.query(q))))["n"].value)

    def dump(self, graph: ox.NamedNode, format: ox.RdfFormat = ox.RdfFormat.N_TRIPLES) -> bytes:
        out = io.BytesIO()
        self._store.dump(out, format, from_graph=graph)
        return out.getvalue()

    def flush(self) -> None:
        if self.path is not None and not self.read_only:  # a read-only store has nothing to flush
            self._store.flush()

    def close(self) -> None:
        self.flush()
        del self._store

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def private_graphs(names: Iterable[str]) -> set[str]:
    """Which of ``names`` a reader must not see: staging and pending-marker graphs, and each graph whose
    pending marker is among ``names`` (it is being written in place)."""
    private: set[str] = set()
    for name in names:
        found = private_graph(name)
        if found is not None:
            private.add(name)
            if found.role == "pending":
                private.add(found.final)
    return private


def _sweep(store: TripleStore, names: Sequence[str], older_than_s: float | None) -> int:
    """Drops the private graphs among ``names`` (older than ``older_than_s`` by their token, when given): a
    staging graph alone; a pending marker after the half-written graph it keeps private, so that an interrupted
    sweep leaves the marker and the next sweep finishes the job."""
    now = datetime.now(UTC)
    found = [
        p
        for p in map(private_graph, names)
        if p is not None
        and (older_than_s is None or p.started is None or (now - p.started).total_seconds() > older_than_s)
    ]
    for orphan in sorted(found, key=lambda p: p.role == "pending"):
        if orphan.role == "pending":
            store.drop_graph(ox.NamedNode(orphan.final))
        store.drop_graph(ox.NamedNode(orphan.iri))
    if found:
        log.warning(
            "dropped %d graphs left private by interrupted writes on the %s: %s",
            len(found),
            store.description,
            ", ".join(p.final if p.role == "pending" else p.iri for p in found[:5]) + (", …" if len(found) > 5 else ""),
        )
    return len(found)


class Staging:
    """One crash-safe write of several graphs: readers (``public_graphs``, the catalog) see all of them, each
    complete, or none of them, whether the writer fails, is interrupted, or is killed (``kill -9``).

    - ``new`` graphs (a run's graph, which does not exist yet) are written in place, under their final name,
      while a one-triple pending marker graph (``vocab.pending_marker``) keeps them private. Nothing is copied
      at the end: Oxigraph copies and drops only some 20-40k triples/s, in one transaction held in memory, so
      moving a big attribution run graph would cost more than writing it.
    - ``replaced`` graphs (a knowledge graph and its dataset) are written under a staging name
      (``vocab.staging_graph``, see ``target``) and moved over their graph at the end; ``appended`` graphs
      likewise, but added to what the graph holds.

    ``commit`` does all of that, and adds ``extra`` triples (a run's catalog entry: keep it small), in ONE
    update request, one transaction on Oxigraph. Leaving the ``with`` block without committing (an exception,
    Ctrl-C) drops what was written; after ``kill -9`` the private graphs stay, out of readers' sight, until
    ``sweep_staging`` (at the next writable open of an embedded store)."""

    def __init__(
        self,
        store: TripleStore,
        *,
        new: Iterable[ox.NamedNode] = (),
        replaced: Iterable[ox.NamedNode] = (),
        appended: Iterable[ox.NamedNode] = (),
    ) -> None:
        self.store = store
        self.token = staging_token()
        self.new = {g: pending_marker(g, self.token) for g in new}
        self.replaced = list(replaced)
        self.staged = {g: staging_graph(g, self.token) for g in (*self.replaced, *appended)}
        self.committed = False

    def target(self, graph: ox.NamedNode) -> ox.NamedNode:
        """The graph to write ``graph``'s triples into until the commit."""
        if graph in self.staged:
            return self.staged[graph]
        if graph in self.new:
            return graph
        raise StoreError(f"{graph.value} is not part of this staged write")

    def __enter__(self) -> Staging:
        if self.new:  # the markers exist before the first triple of their graph is written
            comment = f"<{RDFS}comment>"
            note = f'"kgexplain (process {os.getpid()}) is writing this graph; it is complete once this graph is gone"'
            chunks = [(marker, f"{graph} {comment} {note} .\n".encode()) for graph, marker in self.new.items()]
            self.store.update(_insert_data(chunks)[0])
        return self

    def commit(self, extra: Mapping[ox.NamedNode, Iterable[RawTriple]] | None = None) -> None:
        """Makes every graph public, and adds ``extra``, in one update."""
        operations = []
        for graph, staging in self.staged.items():
            if graph in self.replaced:
                operations.append(f"DROP SILENT GRAPH {graph}")
            operations += [f"ADD SILENT GRAPH {staging} TO {graph}", f"DROP SILENT GRAPH {staging}"]
        operations += [f"DROP SILENT GRAPH {marker}" for marker in self.new.values()]
        chunks = [(graph, chunk) for graph, triples in (extra or {}).items() for chunk in to_ntriples(triples)]
        if chunks:
            operations.append(_insert_data(chunks)[0])
        if operations:
            self.store.update(" ;\n".join(operations))
        self.committed = True

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            self._abort()

    def _abort(self) -> None:
        """Drops what was written. A new graph only while its marker is there: a commit that failed on the
        client's side (a remote store's answer lost) may have gone through, and made it public."""
        try:
            for staging in self.staged.values():
                self.store.drop_graph(staging)
            for graph, marker in self.new.items():
                if self.store.ask(f"ASK {{ GRAPH {marker} {{ ?s ?p ?o }} }}"):
                    self.store.drop_graph(graph)
                    self.store.drop_graph(marker)
        except StoreError:
            log.exception(
                "could not drop the graphs of an unfinished write on the %s (sweep_staging drops them later)",
                self.store.description,
            )


def _refuse_partial(response: httpx.Response, where: str) -> None:
    """Virtuoso answers 200 with part of the results when they reach its row limit or its time limit, and
    says so only in a header: that is an error here, never a short result."""
    if "x-sparql-maxrows" in response.headers:
        raise StoreError(
            f"{where} cut the results at its limit of {response.headers['x-sparql-maxrows']} "
            "rows (Virtuoso: raise [SPARQL] ResultSetMaxRows)"
        )
    if response.headers.get("x-sql-state") == "S1TAT":
        raise StoreError(
            f"{where} ran out of time and gave a partial answer (Virtuoso: raise "
            "[SPARQL] MaxQueryExecutionTime, or set it to 0)"
        )


class RemoteStore:
    """Any SPARQL 1.1 endpoint. ``endpoint`` is the query URL; the update URL defaults to the same
    URL, or to ``…/update`` when the query URL ends with ``/query`` (Oxigraph, Fuseki)."""

    def __init__(
        self,
        endpoint: str,
        *,
        update_endpoint: str | None = None,
        timeout_s: float = 60.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise StoreError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        self.endpoint = endpoint
        if update_endpoint is None and endpoint.rstrip("/").endswith("/query"):
            update_endpoint = endpoint.rstrip("/")[: -len("query")] + "update"
        self.update_endpoint = update_endpoint or endpoint
        self.description = f"endpoint {endpoint}"
        self._client = httpx.Client(timeout=timeout_s, headers=headers or {})

    def _post(self, url: str, data: dict[str, str], accept: str, what: str) -> httpx.Response:
        try:
            response = self._client.post(url, data=data, headers={"Accept": accept})
        except httpx.HTTPError as exc:
            raise StoreUnreachable(f"{what}: cannot reach {url}: {exc}") from exc
        if response.status_code >= 400:
            raise StoreError(f"{what}: {url} answered {response.status_code}: {response.text[:300]}")
        _refuse_partial(response, f"{what}: {url}")
        return response

    def _select_json(self, query: Query | str, bind: dict[str, object]) -> str:
        response = self._post(
            self.endpoint, {"query": _text(query, bind)}, "application/sparql-results+json", _name(query)
        )
        if "results" not in response.json():
            raise StoreError(f"{_name(query)} is not a SELECT query")
        return response.text

    def select(self, query: Query | str, **bind: object) -> pl.DataFrame:
        return parse_results_json(self._select_json(query, bind))

    def select_terms(self, query: Query | str, **bind: object) -> pl.DataFrame:
        return terms_from_json(self._select_json(query, bind))

    def ask(self, query: Query | str, **bind: object) -> bool:
        response = self._post(
            self.endpoint, {"query": _text(query, bind)}, "application/sparql-results+json", _name(query)
        )
        payload = response.json()
        if "boolean" not in payload:
            raise StoreError(f"{_name(query)} is not an ASK query")
        return bool(payload["boolean"])

    def construct(self, query: Query | str, **bind: object) -> Iterator[ox.Triple]:
        response = self._post(self.endpoint, {"query": _text(query, bind)}, "application/n-triples", _name(query))
        return iter(ox.parse(response.content, ox.RdfFormat.N_TRIPLES))

    def update(self, query: Query | str, *, base_iri: str | None = None, **bind: object) -> None:
        """Runs an update; relative IRIs resolve against ``base_iri`` (sent as a ``BASE`` before the text)."""
        text = query if isinstance(query, str) and not bind else _text(query, bind)
        if base_iri is not None:
            text = f"BASE <{base_iri}> {text}"  # on the text's first line: the endpoint's line numbers hold
        self._post(self.update_endpoint, {"update": text}, "*/*", _name(query))

    def optimize(self) -> None:
        """Nothing to do from here: the remote server manages its own storage."""

    def answer(
        self,
        text: str,
        accept: Sequence[str],
        output: _Output,
        *,
        base_iri: str | None = None,
        default_graphs: tuple[str, ...] | None = None,
        named_graphs: tuple[str, ...] | None = None,
        own_dataset: bool = False,
    ) -> str:
        """Forwards a user's query with the client's preferences and streams the answer to ``output``.
        ``base_iri`` goes as a ``BASE`` before the text, ``default_graphs`` / ``named_graphs`` as the protocol's
        ``default-graph-uri`` / ``named-graph-uri``; without them the endpoint's own default dataset applies
        (``own_dataset`` changes nothing here: the endpoint reads the query's ``FROM`` itself)."""
        headers = {"Accept": ", ".join(accept) or "*/*"}
        form: dict[str, str | list[str]] = {"query": text if base_iri is None else f"BASE <{base_iri}> {text}"}
        if default_graphs:
            form["default-graph-uri"] = list(default_graphs)
        if named_graphs:
            form["named-graph-uri"] = list(named_graphs)
        try:
            with self._client.stream("POST", self.endpoint, data=form, headers=headers) as response:
                if response.status_code == 406:
                    raise NotAcceptable(f"{self.endpoint} cannot answer in {headers['Accept']}")
                if response.status_code >= 400:
                    response.read()
                    error = QuerySyntaxError if response.status_code == 400 else StoreError
                    raise error(f"{self.endpoint} answered {response.status_code}: {response.text[:300]}")
                _refuse_partial(response, self.endpoint)  # before a byte reaches the client
                for chunk in response.iter_bytes():
                    output.write(chunk)
                return str(response.headers.get("content-type", "application/octet-stream")).split(";")[0]
        except httpx.HTTPError as exc:
            raise StoreUnreachable(f"cannot reach {self.endpoint}: {exc}") from exc

    def load(
        self, source: Path | bytes | Iterable[RawTriple], graph: ox.NamedNode, format: ox.RdfFormat | None = None
    ) -> int:
        """Sends the triples as ``INSERT DATA`` in chunks: works on every SPARQL 1.1 endpoint."""
        if isinstance(source, Path):
            handle, fmt = _open_rdf_file(source)
            with handle:
                triples: Iterable[RawTriple] = (
                    (str(t.subject), str(t.predicate), str(t.object)) for t in ox.parse(handle, format or fmt)
                )
                return self.load(triples, graph)
        if isinstance(source, bytes):
            fmt = format or ox.RdfFormat.N_TRIPLES
            triples = ((str(t.subject), str(t.predicate), str(t.object)) for t in ox.parse(source, fmt))
            return self.load(triples, graph)
        return sum(
            self._insert(graph, chunk, f"bulk load into {graph.value}") for chunk in to_ntriples(source, _REQUEST_BYTES)
        )

    def _insert(self, graph: ox.NamedNode, chunk: bytes, what: str) -> int:
        """One ``INSERT DATA`` request of an N-Triples chunk into ``graph``; returns its triples."""
        update, count = _insert_data([(graph, chunk)])
        self._post(self.update_endpoint, {"update": update}, "*/*", what)
        return count

    def publish(self, graphs: Mapping[ox.NamedNode, Iterable[RawTriple]]) -> int:
        """Adds the triples of each graph in one update request, which an endpoint runs as one transaction.
        What fits one request (``_REQUEST_BYTES``, ``_CHUNK_TRIPLES``) goes as one ``INSERT DATA``; more is
        loaded into staging graphs first (``Staging``) and then added to its graphs by one request of ``ADD`` and
        ``DROP`` operations. A failure drops the staging graphs and leaves the graphs as they were."""
        chunks = [(graph, chunk) for graph, triples in graphs.items() for chunk in to_ntriples(triples, _REQUEST_BYTES)]
        names = ", ".join(g.value for g in graphs)
        if len(chunks) <= 1 or (
            sum(len(c) for _, c in chunks) <= _REQUEST_BYTES
            and sum(c.count(b"\n") for _, c in chunks) <= _CHUNK_TRIPLES
        ):
            update, count = _insert_data(chunks)
            self._post(self.update_endpoint, {"update": update}, "*/*", f"publishing into {names}")
            return count
        with Staging(self, appended=dict.fromkeys(graph for graph, _ in chunks)) as staging:
            count = sum(
                self._insert(staging.target(graph), chunk, f"staging {graph.value} to publish it")
                for graph, chunk in chunks
            )
            staging.commit()
        return count

    def drop_graph(self, graph: ox.NamedNode) -> None:
        self.update(f"DROP SILENT GRAPH {graph}")

    def graphs(self) -> list[str]:
        """Every named graph with a triple, the server's own included (a fresh Virtuoso has a few)."""
        frame = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(frame["g"].to_list()) if frame.height else []

    def public_graphs(self) -> list[str]:
        """The named graphs a reader may see: all but those being written (``private_graphs``), read in one
        query (``graphs``: a scan of the endpoint's quads, so cache it on a big store)."""
        names = self.graphs()
        return sorted(set(names) - private_graphs(names))

    def sweep_staging(self, *, older_than_s: float) -> int:
        """Drops the private graphs whose token is older than ``older_than_s`` seconds (a staging graph; a
        half-written graph with its pending marker): what writers killed mid-run (``kill -9``, a lost machine)
        left behind. Another process may be writing right now, so nothing sweeps a remote store by itself: an
        operator runs, once no run can have been going for a day, say,
        ``python -c "from kgexplain.store import RemoteStore; print(RemoteStore(URL).sweep_staging(older_than_s=86400))"``.
        Returns how many graphs it dropped."""
        if older_than_s < 0:
            raise StoreError(f"older_than_s must be ≥ 0, got {older_than_s}")
        return _sweep(self, self.graphs(), older_than_s)

    def count(self, graph: ox.NamedNode | None = None) -> int:
        if graph is None:
            frame = self.select("SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }")
        else:
            frame = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}")
        return int(frame["n"][0])

    def dump(self, graph: ox.NamedNode, format: ox.RdfFormat = ox.RdfFormat.N_TRIPLES) -> bytes:
        triples = self.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}")
        return ox.serialize(triples, format=format) or b""

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
