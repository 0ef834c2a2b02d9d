"""The one interface to a triple store, with two backends.

``EmbeddedStore`` wraps pyoxigraph (on disk or in memory) and is the default. ``RemoteStore`` talks the
SPARQL 1.1 Protocol over HTTP to any endpoint (Oxigraph server, QLever, Virtuoso, Fuseki). Both take
the same ``Query`` objects from ``queries/`` and bind parameters the same way (see ``queries.bind``);
SELECT results come back as polars frames. Only this module knows which backend is in use.
"""

from __future__ import annotations

import bz2
import gzip
import io
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

import httpx
import polars as pl
import pyoxigraph as ox

from .errors import QuerySyntaxError, StoreError, StoreUnreachable
from .queries import Query, bind
from .results import parse_results_json, parse_results_tsv, terms_from_json

__all__ = [
    "RESULTS_FORMATS", "GRAPH_FORMATS", "NotAcceptable",
    "TripleStore", "EmbeddedStore", "RemoteStore", "open_store", "RawTriple", "to_ntriples", "dropped_on_failure",
    "parse_results_json",
]

log = logging.getLogger(__name__)

#: A triple as three terms in N-Triples syntax, e.g. ``("<http://…/Q1>", "<…/P31>", '"x"@en')``.
RawTriple = tuple[str, str, str]

_CHUNK_TRIPLES = 200_000
#: Triples per ``GRAPH`` block of an ``INSERT DATA``: Virtuoso 7.2's SPARQL parser runs out of stack
#: ("SP030 … memory exhausted") at about 5,000 triples in one block, so a request carries several blocks.
_BLOCK_TRIPLES = 1_000
#: Bytes of N-Triples per update request to a remote endpoint: Virtuoso 7.2 refuses a query text over
#: 10 MB ("SR0??: The requested string session is longer than 10Mb"); the GRAPH blocks add a little.
_REQUEST_BYTES = 8_000_000


@runtime_checkable
class TripleStore(Protocol):
    """All the pipeline needs from a store (embedded or remote)."""

    description: str

    def select(self, query: Query | str, **bind: object) -> pl.DataFrame: ...
    def select_terms(self, query: Query | str, **bind: object) -> pl.DataFrame: ...
    def ask(self, query: Query | str, **bind: object) -> bool: ...
    def construct(self, query: Query | str, **bind: object) -> Iterator[ox.Triple]: ...
    def update(self, query: Query | str, **bind: object) -> None: ...
    def load(self, source: Path | bytes | Iterable[RawTriple], graph: ox.NamedNode,
             format: ox.RdfFormat | None = None) -> int: ...
    def publish(self, graphs: Mapping[ox.NamedNode, Iterable[RawTriple]]) -> int: ...
    def drop_graph(self, graph: ox.NamedNode) -> None: ...
    def graphs(self) -> list[str]: ...
    def count(self, graph: ox.NamedNode | None = None) -> int: ...
    def dump(self, graph: ox.NamedNode, format: ox.RdfFormat = ox.RdfFormat.N_TRIPLES) -> bytes: ...
    def optimize(self) -> None: ...
    def answer(self, text: str, accept: Sequence[str], output: IO[bytes]) -> str: ...
    def close(self) -> None: ...


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
    for media in accept:
        if media in offered:
            return media
        if media in ("*/*", "application/*", "text/*") and (media == "*/*" or offered[0].startswith(media[:-1])):
            return offered[0]
    if not accept:
        return offered[0]
    raise NotAcceptable(f"a {form} query can be answered as {', '.join(offered)}; the request accepts "
                        f"only {', '.join(accept)}")


def open_store(store: Path | str | None = None, *, endpoint: str | None = None,
               read_only: bool = False, timeout_s: float = 60.0) -> TripleStore:
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
        lines = chunk.decode("utf-8").split("\n")[:-1]   # N-Triples escapes line breaks inside literals
        total += len(lines)
        for start in range(0, len(lines), _BLOCK_TRIPLES):
            body = "\n".join(lines[start:start + _BLOCK_TRIPLES])
            blocks.append(f"GRAPH {graph} {{\n{body}\n}}")
    return "INSERT DATA {\n" + "\n".join(blocks) + "\n}", total


def _nquads(graphs: Mapping[ox.NamedNode, Iterable[RawTriple]]) -> Iterator[bytes]:
    for graph, triples in graphs.items():
        yield "".join(f"{s} {p} {o} {graph} .\n" for s, p, o in triples).encode("utf-8")


def _open_rdf_file(path: Path) -> tuple[IO[bytes], ox.RdfFormat]:
    name = path.name
    opener = open
    if name.endswith(".gz"):
        opener, name = gzip.open, name[:-3]  # type: ignore[assignment]
    elif name.endswith(".bz2"):
        opener, name = bz2.open, name[:-4]  # type: ignore[assignment]
    fmt = ox.RdfFormat.from_extension(name.rsplit(".", 1)[-1]) if "." in name else None
    if fmt is None:
        raise StoreError(f"cannot tell the RDF format of {path.name} from its extension")
    try:
        return opener(path, "rb"), fmt  # type: ignore[operator]
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc


class EmbeddedStore:
    """pyoxigraph, on disk (``path``) or in memory (``path=None``)."""

    def __init__(self, path: Path | None = None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
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
        try:   # evaluated and written in Rust with the GIL released: batches can run in threads
            return result.serialize(format=ox.QueryResultsFormat.TSV)
        except (OSError, RuntimeError, ValueError) as exc:
            raise StoreError(f"{_name(query)} failed on the {self.description}: {exc}") from exc
        finally:
            result = None   # pyoxigraph results must die in their thread, not with a traceback elsewhere

    def answer(self, text: str, accept: Sequence[str], output: IO[bytes]) -> str:
        """Runs a user's query and writes its results to ``output`` in the first media type of ``accept``
        (in order of preference) that fits the query's form; returns that media type. ``output``'s
        ``write`` may raise to stop the query (a size or time budget): Oxigraph evaluates lazily."""
        result = self._query(text, {})
        try:
            if isinstance(result, ox.QueryTriples):
                media = _pick(accept, list(GRAPH_FORMATS), "CONSTRUCT or DESCRIBE")
                result.serialize(output, GRAPH_FORMATS[media])
            else:
                media = _pick(accept, list(RESULTS_FORMATS), "SELECT or ASK")
                result.serialize(output, RESULTS_FORMATS[media])  # type: ignore[union-attr]
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"the query failed on the {self.description}: {exc}") from exc
        finally:
            result = None   # pyoxigraph results must die in their thread, not with a traceback elsewhere
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

    def update(self, query: Query | str, **bind: object) -> None:
        try:
            self._store.update(_text(query, bind))
        except SyntaxError as exc:
            raise QuerySyntaxError(f"{_name(query)} does not parse: {exc}") from exc
        except (OSError, RuntimeError) as exc:
            raise StoreError(f"{_name(query)} failed on the {self.description}: {exc}") from exc

    def load(self, source: Path | bytes | Iterable[RawTriple], graph: ox.NamedNode,
             format: ox.RdfFormat | None = None) -> int:
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

    def drop_graph(self, graph: ox.NamedNode) -> None:
        if self._store.contains_named_graph(graph):
            self._store.remove_graph(graph)

    def graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def count(self, graph: ox.NamedNode | None = None) -> int:
        if graph is None:
            q = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
            return int(next(iter(self._store.query(q)))["n"].value)
        q = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}"
        return int(next(iter(self._store.query(q)))["n"].value)

    def dump(self, graph: ox.NamedNode, format: ox.RdfFormat = ox.RdfFormat.N_TRIPLES) -> bytes:
        out = io.BytesIO()
        self._store.dump(out, format, from_graph=graph)
        return out.getvalue()

    def flush(self) -> None:
        if self.path is not None and not self.read_only:        # a read-only store has nothing to flush
            self._store.flush()

    def close(self) -> None:
        self.flush()
        del self._store

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def dropped_on_failure(store: TripleStore, *graphs: ox.NamedNode) -> Iterator[None]:
    """Drops ``graphs`` if the block fails or is interrupted (Ctrl-C), so no half-written graph stays behind."""
    try:
        yield
    except BaseException:
        for graph in graphs:
            try:
                store.drop_graph(graph)
            except StoreError:
                log.exception("could not drop the half-written graph %s", graph.value)
        raise


def _refuse_partial(response: httpx.Response, where: str) -> None:
    """Virtuoso answers 200 with part of the results when they reach its row limit or its time limit, and
    says so only in a header: that is an error here, never a short result."""
    if "x-sparql-maxrows" in response.headers:
        raise StoreError(f"{where} cut the results at its limit of {response.headers['x-sparql-maxrows']} "
                         "rows (Virtuoso: raise [SPARQL] ResultSetMaxRows)")
    if response.headers.get("x-sql-state") == "S1TAT":
        raise StoreError(f"{where} ran out of time and gave a partial answer (Virtuoso: raise "
                         "[SPARQL] MaxQueryExecutionTime, or set it to 0)")


class RemoteStore:
    """Any SPARQL 1.1 endpoint. ``endpoint`` is the query URL; the update URL defaults to the same
    URL, or to ``…/update`` when the query URL ends with ``/query`` (Oxigraph, Fuseki)."""

    def __init__(self, endpoint: str, *, update_endpoint: str | None = None, timeout_s: float = 60.0,
                 headers: dict[str, str] | None = None) -> None:
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
        response = self._post(self.endpoint, {"query": _text(query, bind)},
                              "application/sparql-results+json", _name(query))
        if "results" not in response.json():
            raise StoreError(f"{_name(query)} is not a SELECT query")
        return response.text

    def select(self, query: Query | str, **bind: object) -> pl.DataFrame:
        return parse_results_json(self._select_json(query, bind))

    def select_terms(self, query: Query | str, **bind: object) -> pl.DataFrame:
        return terms_from_json(self._select_json(query, bind))

    def ask(self, query: Query | str, **bind: object) -> bool:
        response = self._post(self.endpoint, {"query": _text(query, bind)},
                              "application/sparql-results+json", _name(query))
        payload = response.json()
        if "boolean" not in payload:
            raise StoreError(f"{_name(query)} is not an ASK query")
        return bool(payload["boolean"])

    def construct(self, query: Query | str, **bind: object) -> Iterator[ox.Triple]:
        response = self._post(self.endpoint, {"query": _text(query, bind)}, "application/n-triples",
                              _name(query))
        return iter(ox.parse(response.content, ox.RdfFormat.N_TRIPLES))

    def update(self, query: Query | str, **bind: object) -> None:
        self._post(self.update_endpoint, {"update": _text(query, bind)}, "*/*", _name(query))

    def optimize(self) -> None:
        """Nothing to do from here: the remote server manages its own storage."""

    def answer(self, text: str, accept: Sequence[str], output: IO[bytes]) -> str:
        """Forwards a user's query with the client's preferences and streams the answer to ``output``."""
        headers = {"Accept": ", ".join(accept) or "*/*"}
        try:
            with self._client.stream("POST", self.endpoint, data={"query": text}, headers=headers) as response:
                if response.status_code == 406:
                    raise NotAcceptable(f"{self.endpoint} cannot answer in {headers['Accept']}")
                if response.status_code >= 400:
                    response.read()
                    error = QuerySyntaxError if response.status_code == 400 else StoreError
                    raise error(f"{self.endpoint} answered {response.status_code}: {response.text[:300]}")
                _refuse_partial(response, self.endpoint)   # before a byte reaches the client
                for chunk in response.iter_bytes():
                    output.write(chunk)
                return response.headers.get("content-type", "application/octet-stream").split(";")[0]
        except httpx.HTTPError as exc:
            raise StoreUnreachable(f"cannot reach {self.endpoint}: {exc}") from exc

    def load(self, source: Path | bytes | Iterable[RawTriple], graph: ox.NamedNode,
             format: ox.RdfFormat | None = None) -> int:
        """Sends the triples as ``INSERT DATA`` in chunks: works on every SPARQL 1.1 endpoint."""
        if isinstance(source, Path):
            handle, fmt = _open_rdf_file(source)
            with handle:
                triples: Iterable[RawTriple] = ((str(t.subject), str(t.predicate), str(t.object))
                                                for t in ox.parse(handle, format or fmt))
                return self.load(triples, graph)
        if isinstance(source, bytes):
            fmt = format or ox.RdfFormat.N_TRIPLES
            triples = ((str(t.subject), str(t.predicate), str(t.object)) for t in ox.parse(source, fmt))
            return self.load(triples, graph)
        return sum(self._insert(graph, chunk, f"bulk load into {graph.value}")
                   for chunk in to_ntriples(source, _REQUEST_BYTES))

    def _insert(self, graph: ox.NamedNode, chunk: bytes, what: str) -> int:
        """One ``INSERT DATA`` request of an N-Triples chunk into ``graph``; returns its triples."""
        update, count = _insert_data([(graph, chunk)])
        self._post(self.update_endpoint, {"update": update}, "*/*", what)
        return count

    def publish(self, graphs: Mapping[ox.NamedNode, Iterable[RawTriple]]) -> int:
        """Adds the triples of each graph in one update request, which an endpoint runs as one transaction.
        What fits one request (``_REQUEST_BYTES``, ``_CHUNK_TRIPLES``) goes as one ``INSERT DATA``; more is
        loaded into staging graphs first and then added to its graphs by one request of ``ADD`` and ``DROP``
        operations. A failure drops the staging graphs and leaves the graphs as they were."""
        chunks = [(graph, chunk) for graph, triples in graphs.items()
                  for chunk in to_ntriples(triples, _REQUEST_BYTES)]
        names = ", ".join(g.value for g in graphs)
        if len(chunks) <= 1 or (sum(len(c) for _, c in chunks) <= _REQUEST_BYTES
                                and sum(c.count(b"\n") for _, c in chunks) <= _CHUNK_TRIPLES):
            update, count = _insert_data(chunks)
            self._post(self.update_endpoint, {"update": update}, "*/*", f"publishing into {names}")
            return count
        tag = uuid.uuid4().hex[:12]
        staging = {graph: ox.NamedNode(f"{graph.value}--publish-{tag}") for graph, _ in chunks}
        with dropped_on_failure(self, *staging.values()):
            count = sum(self._insert(staging[graph], chunk, f"staging {graph.value} to publish it")
                        for graph, chunk in chunks)
            moves = " ;\n".join(f"ADD GRAPH {s} TO {g} ;\nDROP SILENT GRAPH {s}" for g, s in staging.items())
            self._post(self.update_endpoint, {"update": moves}, "*/*", f"publishing into {names}")
        return count

    def drop_graph(self, graph: ox.NamedNode) -> None:
        self.update(f"DROP SILENT GRAPH {graph}")

    def graphs(self) -> list[str]:
        """Every named graph with a triple, the server's own included (a fresh Virtuoso has a few)."""
        frame = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(frame["g"].to_list()) if frame.height else []

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
