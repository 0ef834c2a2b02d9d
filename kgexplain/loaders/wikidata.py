"""Streaming readers for Wikidata dumps, and the neighbourhood cutter that keeps what a task needs.

Three input formats are read, each plain or compressed with gzip (``.gz``) or bzip2 (``.bz2``):

* N-Triples (``.nt``), as in Wikidata's ``latest-truthy.nt``: one regular expression per line;
* Turtle (``.ttl``): blocks of lines separated by blank lines, each parsed with pyoxigraph;
* Wikibase JSON (``.json``, ``.jsonl``, ``.ndjson``): the dump array (one entity per line, lines
  ending with ``,``), JSON lines, or ``wbgetentities`` API responses (``{"entities": {...}}``).
  Each line must hold one whole JSON value; pretty-printed JSON is not read.

Every triple is a tuple of three ``str``, each a term in N-Triples syntax that can be written back
into an N-Triples file unchanged (``"<http://www.wikidata.org/entity/Q42>"``,
``'"Douglas Adams"@en'``). Terms read from N-Triples keep the text of the line, escapes included.

Malformed lines (N-Triples, JSON) or blocks (Turtle) are counted in a :class:`LoadReport` and
never stop the reading. Files that cannot be opened, or that are not what their suffix says,
raise :class:`~kgexplain.errors.InputError` before any line is read.

Memory is bounded by one read chunk (1 MiB of text, or one JSON line) plus, for
:func:`cut_neighbourhood`, the sets of candidate and neighbour IRIs: by the task and what the dump
says about it, never by the rest of the dump. Neighbours include every item holding a fact about a
candidate, so a candidate that many items point at (a country, "human") brings them all.
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import numpy as np
import polars as pl

from kgexplain.errors import InputError
from kgexplain.vocab import RDFS, SCHEMA, SKOS, WD, WDT, XSD

__all__ = [
    "FORMATS",
    "LoadReport",
    "CutResult",
    "detect_format",
    "open_dump",
    "iter_triples",
    "literal_value",
    "copy_all",
    "cut_neighbourhood",
]

Triple = tuple[str, str, str]
Progress = Callable[[int, int], None]

FORMATS = ("nt", "ttl", "json")
_FORMAT_SUFFIXES = {".nt": "nt", ".ttl": "ttl", ".json": "json", ".jsonl": "json", ".ndjson": "json"}
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2"}
_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh"}
_ACCEPTED = "'.nt', '.ttl', '.json', '.jsonl' or '.ndjson', optionally followed by '.gz' or '.bz2'"

_CHUNK = 1 << 20  # bytes of decompressed text read at a time
# the same for the column-wise N-Triples passes: each chunk pays for compiling its tests (a pattern of tens of
# thousands of IRIs) once, so chunks are larger
_COLUMN_CHUNK = 1 << 24
_PROGRESS_STEP = 1 << 20  # call on_progress at most once per this many bytes of the file
_MAX_EXAMPLES = 10
_EXAMPLE_CHARS = 200
_TTL_BATCH_BLOCKS = 2000  # Turtle blocks parsed together; a failing batch is re-parsed block by block

_LABEL = f"<{RDFS}label>"
_ALT_LABEL = f"<{SKOS}altLabel>"
_DESCRIPTION = f"<{SCHEMA}description>"
_ABOUT = f"<{SCHEMA}about>"
_DEMONYM = f"<{WDT}P1549>"
_P31 = f"<{WDT}P31>"
_P279 = f"<{WDT}P279>"
_WDT_PREFIX = f"<{WDT}"
_XSD_DECIMAL = f"<{XSD}decimal>"
_XSD_DATETIME = f"<{XSD}dateTime>"
_XSD_STRING = f"<{XSD}string>"
_LABEL_PREDICATES = frozenset({_LABEL, _ALT_LABEL, _DEMONYM})
_NEIGHBOUR_PREDICATES = frozenset({_LABEL, _ALT_LABEL, _DESCRIPTION, _P31, _P279})
_TEXT_PREDICATES = frozenset({_LABEL, _ALT_LABEL, _DESCRIPTION})

# --- N-Triples grammar -------------------------------------------------------------------------
# Written as "unrolled loops" (normal* (special normal*)*) so that the common case is one
# character-class run; this keeps one pass over ~600k lines at about a second.
_UCHAR = r"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"
_IRI = r"<[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>\"{}|^`\\]*(?:" + _UCHAR + r"[^\x00-\x20<>\"{}|^`\\]*)*>"
_PN_FIRST = "A-Za-z0-9_\u00c0-\ud7ff\uf900-\ufffd\U00010000-\U000effff"
_PN_MORE = _PN_FIRST + r"\-\u00b7"
_BNODE = "_:[" + _PN_FIRST + "](?:[" + _PN_MORE + ".]*[" + _PN_MORE + "])?"
_STRING = r'"[^"\\\n\r]*(?:(?:\\[tbnrf"\'\\]|' + _UCHAR + r')[^"\\\n\r]*)*"'
_LANGTAG = r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*"
_LITERAL = _STRING + r"(?:" + _LANGTAG + r"|\^\^" + _IRI + r")?"
_NT_LINE = re.compile(
    r"[ \t]*("
    + _IRI
    + "|"
    + _BNODE
    + r")[ \t]*("
    + _IRI
    + r")[ \t]*("
    + _IRI
    + "|"
    + _BNODE
    + "|"
    + _LITERAL
    + r")[ \t]*\.[ \t\r]*(?:#[^\n]*)?$"
)

_LITERAL_TERM = re.compile(r'"((?:[^"\\]|\\.)*)"(?:@([A-Za-z]+(?:-[A-Za-z0-9]+)*)|\^\^<([^<>]*)>)?', re.DOTALL)
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_ECHARS = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}

# Escaping for literals we write ourselves (from JSON): canonical N-Triples.
_LITERAL_ESCAPES = {i: f"\\u{i:04X}" for i in [*range(0x20), 0x7F]}
_LITERAL_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"})
# Characters IRIREF forbids are percent-encoded.
_IRI_ESCAPES = {i: f"%{i:02X}" for i in [*range(0x21), *map(ord, '<>"{}|^`\\')]}
# Wikidata encodes article titles like MediaWiki's wfUrlencode.
_TITLE_SAFE = ";:@$!*(),/~"


@dataclass
class LoadReport:
    """What one read of a dump saw. ``lines`` are physical lines (nt, json) or blocks (ttl)."""

    path: Path
    format: str  # "nt" | "ttl" | "json"
    lines: int = 0
    triples: int = 0
    kept: int = 0
    malformed: int = 0
    malformed_examples: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def for_path(cls, path: Path) -> LoadReport:
        """A fresh report for ``path``, with the format its suffix names."""
        path = Path(path)
        return cls(path=path, format=detect_format(path))

    def summary(self) -> str:
        unit = "blocks" if self.format == "ttl" else "lines"
        return (
            f"{self.path.name}: {self.triples:,} triples read, {self.kept:,} kept, {self.malformed:,} malformed {unit}"
        )

    def _malformed(self, lineno: int, text: str | bytes) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < _MAX_EXAMPLES:
            if isinstance(text, bytes):
                text = text.decode("utf-8", errors="replace")
            self.malformed_examples.append((lineno, text.rstrip("\r\n")[:_EXAMPLE_CHARS]))


@dataclass
class CutResult:
    """What :func:`cut_neighbourhood` kept.

    ``report`` is that of pass 1 (``lines``, ``triples``, ``malformed`` and its examples: each
    malformed line is counted once; passes 2 and 3 read the same file), with ``kept`` for all
    passes. ``neighbours`` is the number of distinct IRIs the kept facts connect the candidates to
    (objects of the candidates' triples, IRI subjects of incoming facts, and ``wd:Pn`` for every
    ``wdt:Pn`` used) that are not candidates themselves, whether or not the dump says anything
    about them. ``incoming`` is the number of facts kept only because their object is a candidate
    (their subject is not one).
    """

    report: LoadReport
    candidates: int
    neighbours: int
    kept: int
    passes_s: list[float]
    incoming: int = 0


# --- opening -----------------------------------------------------------------------------------
def detect_format(path: Path) -> str:
    """``"nt"``, ``"ttl"`` or ``"json"`` from the file name; a compression suffix may follow."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSIONS:
        suffixes.pop()
    fmt = _FORMAT_SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(f"{path}: unknown dump format; the file name must end in {_ACCEPTED}")
    return fmt


def _compression(path: Path) -> str | None:
    return _COMPRESSIONS.get(path.suffix.lower())


class _OwnsRawFile:
    """Closes the underlying file with the decompressor, whose position then gives the progress."""

    raw_file: BinaryIO

    def close(self) -> None:
        try:
            super().close()  # type: ignore[misc]
        finally:
            self.raw_file.close()


class _GzipDump(_OwnsRawFile, gzip.GzipFile):
    """A gzip stream that owns its file."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self.raw_file = raw


class _Bz2Dump(_OwnsRawFile, bz2.BZ2File):
    """A bzip2 stream (multi-stream files included) that owns its file."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(raw, mode="rb")
        self.raw_file = raw


def open_dump(path: Path) -> BinaryIO:
    """Opens a dump for binary reading, decompressing ``.gz`` and ``.bz2``.

    Raises InputError if the file is missing or unreadable, if a ``.gz``/``.bz2`` file does not
    start with that format's magic bytes, or if a plain file does. Nothing is streamed before.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        raw = open(path, "rb")  # noqa: SIM115 - handed to the caller
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        head = raw.read(3)
        raw.seek(0)
    except OSError as exc:
        raw.close()
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    compression = _compression(path)
    if compression is not None:
        if not head.startswith(_MAGIC[compression]):
            raw.close()
            raise InputError(
                f"{path}: named {path.suffix} but is not {compression}-compressed "
                f"(starts with {head!r}, expected {_MAGIC[compression]!r})"
            )
        # binary files, though typeshed does not derive GzipFile and BZ2File from BinaryIO
        return _GzipDump(raw) if compression == "gzip" else _Bz2Dump(raw)  # type: ignore[return-value]
    for name, magic in _MAGIC.items():
        if head.startswith(magic):
            raw.close()
            suffix = ".gz" if name == "gzip" else ".bz2"
            raise InputError(f"{path}: looks {name}-compressed; name it '{path.name}{suffix}'")
    return raw


def _file_position(stream: BinaryIO) -> int:
    return getattr(stream, "raw_file", stream).tell()


def _chunks(
    path: Path, on_progress: Progress | None, size: int = _CHUNK
) -> Iterator[tuple[int, list[str], set[int] | None]]:
    """Yields ``(number of the first line, lines, indices of lines that are not UTF-8 or None)``.

    Lines lose their ``\\n``; a last line without one is still yielded. Decompression errors in
    the middle of the file raise InputError.
    """
    total = path.stat().st_size
    with open_dump(path) as stream:
        lineno = 1
        rest = b""
        last_progress = 0
        first = True
        while True:
            try:
                block = stream.read(size)
            except (OSError, EOFError, zlib.error) as exc:
                raise InputError(
                    f"{path}: corrupt or truncated compressed data after line {lineno - 1:,} ({exc})"
                ) from exc
            if block:
                data = rest + block
                cut = data.rfind(b"\n")
                if cut < 0:
                    rest = data
                    continue
                rest = data[cut + 1 :]
                data = data[:cut]
            elif rest:
                data, rest = rest, b""
            else:
                break
            if first:
                first = False
                if data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
            try:
                lines = data.decode("utf-8").split("\n")
                bad = None
            except UnicodeDecodeError:
                lines, bad = [], set()
                for i, raw_line in enumerate(data.split(b"\n")):
                    try:
                        lines.append(raw_line.decode("utf-8"))
                    except UnicodeDecodeError:
                        lines.append(raw_line.decode("utf-8", errors="replace"))
                        bad.add(i)
            yield lineno, lines, bad
            lineno += len(lines)
            if on_progress is not None:
                position = _file_position(stream)
                if position - last_progress >= _PROGRESS_STEP:
                    last_progress = position
                    on_progress(position, total)
        if on_progress is not None and last_progress != total:
            on_progress(total, total)


# --- reading -----------------------------------------------------------------------------------
def iter_triples(path: Path, report: LoadReport, on_progress: Progress | None = None) -> Iterator[Triple]:
    """Streams the triples of a dump in ``report.format``, counting into ``report``.

    The file is checked (exists, readable, right compression) when this is called, so errors are
    raised here rather than at the first ``next()``. ``on_progress(bytes_read, file_bytes)`` is
    called at most about once per MiB of the file, and once at the end.
    """
    path = Path(path)
    if report.format not in FORMATS:
        raise InputError(f"{path}: unknown dump format {report.format!r}; expected one of {FORMATS}")
    open_dump(path).close()
    reader = {"nt": _iter_nt, "ttl": _iter_ttl, "json": _iter_json}[report.format]
    return reader(path, report, on_progress)


def _iter_nt(
    path: Path,
    report: LoadReport,
    on_progress: Progress | None,
    subjects: set[str] | None = None,
    *,
    predicates: frozenset[str] | None = None,
    objects: set[str] | None = None,
) -> Iterator[Triple]:
    """N-Triples, one regular expression per line.

    With ``subjects``, a line that starts with an IRI is skipped before the expression runs unless
    its subject is in ``subjects`` (and its predicate in ``predicates``, if given) or its object is
    an IRI in ``objects``, if given. Skipped lines are counted in ``lines`` but in neither
    ``triples`` nor ``malformed``. In a well-formed line each IRI ends at its first ``>``, so the
    terms are found with ``find`` alone, and the expression runs on the lines kept only.
    """
    match = _NT_LINE.match
    for first, lines, bad in _chunks(path, on_progress):
        report.lines += len(lines)
        triples = 0
        try:
            for i, line in enumerate(lines):
                if subjects is not None and line[:1] == "<":
                    end = line.find(">") + 1  # the subject's end
                    if line[:end] in subjects:
                        if predicates is not None:
                            predicate = line[end : line.find(">", end) + 1].lstrip(" \t")
                            if predicate not in predicates:
                                continue
                    else:
                        if objects is None:
                            continue
                        end = line.find(">", end) + 1  # the predicate's end
                        if line[end : line.find(">", end) + 1].lstrip(" \t") not in objects:
                            continue
                m = match(line)
                if m is not None and (bad is None or i not in bad):
                    triples += 1
                    yield m.groups()  # type: ignore[misc]
                    continue
                stripped = line.strip()
                if stripped and not stripped.startswith("#"):
                    report._malformed(first + i, line)
        finally:
            report.triples += triples


def _iter_subjects(
    path: Path,
    report: LoadReport,
    on_progress: Progress | None,
    subjects: set[str],
    *,
    predicates: frozenset[str] | None = None,
    objects: set[str] | None = None,
) -> Iterator[Triple]:
    """The triples whose subject is in ``subjects`` (and predicate in ``predicates``, if given) or
    whose object is in ``objects``, if given; from N-Triples, some others too (blank-node subjects,
    lines the quick test cannot read), so the caller decides on each. Fast for N-Triples; Turtle
    and JSON are parsed whole."""
    if report.format == "nt":
        open_dump(path).close()
        yield from _iter_nt(path, report, on_progress, subjects, predicates=predicates, objects=objects)
        return
    for triple in iter_triples(path, report, on_progress):
        s, p, o = triple
        if (s in subjects and (predicates is None or p in predicates)) or (objects is not None and o in objects):
            yield triple


#: The N-Triples line grammar for polars (Rust's regex reads the same syntax; anchored at the start as
#: ``re.match`` is): columnar passes test whole chunks of lines at once.
_NT_LINE_ANCHORED = "^" + _NT_LINE.pattern
_NT_COLUMNS = {"1": "s", "2": "p", "3": "o"}
_ENGLISH_LITERAL = '"(?:@[eE][nN](?:-[^"]*)?|\\^\\^' + re.escape(_XSD_STRING) + ")?$"


def _nt_frames(
    path: Path,
    report: LoadReport,
    on_progress: Progress | None,
    *,
    count: bool = False,
    prefilter: Callable[[pl.Series], pl.Series] | None = None,
) -> Iterator[pl.DataFrame]:
    """N-Triples a chunk at a time, as a frame of (s, p, o) terms (the text of each term as in the file,
    what ``_iter_nt`` yields), in file order.

    ``count``: every line is tested against the grammar (one pass of a compiled automaton over the chunk,
    no per-line Python) and ``report`` counts triples and malformed lines (with examples), as
    ``_iter_nt`` does. ``prefilter``: a cheap test on the raw lines (a superset of the lines wanted, e.g.
    "contains one of these IRIs"); only the lines it keeps are split into terms."""
    for first, lines, bad in _chunks(path, on_progress, _COLUMN_CHUNK):
        report.lines += len(lines)
        series = pl.Series("line", lines, dtype=pl.String)
        unreadable = None
        if bad:
            unreadable = np.zeros(len(lines), dtype=bool)
            unreadable[sorted(bad)] = True
        keep = None
        if count:
            valid = series.str.contains(_NT_LINE_ANCHORED).to_numpy()
            if unreadable is not None:
                valid &= ~unreadable
            report.triples += int(valid.sum())
            for i in np.flatnonzero(~valid).tolist():
                stripped = lines[i].strip()
                if stripped and not stripped.startswith("#"):
                    report._malformed(first + i, lines[i])
            keep = valid
        if prefilter is not None:
            wanted = prefilter(series).fill_null(False).to_numpy()
            keep = wanted if keep is None else keep & wanted
        if unreadable is not None:
            keep = ~unreadable if keep is None else keep & ~unreadable
        chosen = series if keep is None else series.filter(pl.Series(keep))
        if chosen.len() == 0:
            continue
        terms = chosen.str.extract_groups(_NT_LINE_ANCHORED).struct.unnest().rename(_NT_COLUMNS)
        yield terms.drop_nulls("s")


def _cut_nt(
    path: Path,
    writer: _NTriplesWriter,
    label_keys: set[str],
    normalize: Callable[[str], str],
    progress_of: Callable[[int], Progress | None],
    first: LoadReport,
    *,
    neighbour_english_only: bool,
    incoming: bool,
) -> tuple[int, int, int, list[float]]:
    """``cut_neighbourhood``'s three passes over an N-Triples dump, column-wise (same triples, same order):
    (candidates, neighbours, incoming facts kept, seconds per pass)."""
    passes_s: list[float] = []
    started = time.perf_counter()
    candidates: set[str] = set()
    labels = sorted(_LABEL_PREDICATES)
    for frame in _nt_frames(
        path, first, progress_of(0), count=True, prefilter=lambda lines: lines.str.contains_any(labels)
    ):
        named = frame.filter(pl.col("p").is_in(labels) & pl.col("o").str.contains(_ENGLISH_LITERAL))
        for s, o in named.select("s", "o").iter_rows():
            if s not in candidates:
                value = literal_value(o)
                if value is not None and normalize(value[0]) in label_keys:
                    candidates.add(s)
    passes_s.append(time.perf_counter() - started)

    started = time.perf_counter()
    neighbours: set[str] = set()
    incoming_kept = 0
    named_list = sorted(candidates)
    named_series = pl.Series(named_list, dtype=pl.String).implode()  # one list: is_in's set, as polars asks
    for frame in _nt_frames(
        path,
        LoadReport(path=path, format="nt"),
        progress_of(1),
        prefilter=lambda lines: lines.str.contains_any(named_list),
    ):
        own = frame["s"].is_in(named_series)
        held = (
            ~own & frame["o"].is_in(named_series) & frame["p"].str.starts_with(_WDT_PREFIX)
            if incoming
            else pl.Series([False] * frame.height)
        )
        kept = frame.filter(own | held)
        if kept.height == 0:
            continue
        objects = frame.filter(own)["o"]
        neighbours.update(objects.filter(objects.str.starts_with("<")).to_list())
        subjects = frame.filter(held)["s"]
        neighbours.update(subjects.filter(subjects.str.starts_with("<")).to_list())
        incoming_kept += int(held.sum())
        properties = kept["p"].filter(kept["p"].str.starts_with(_WDT_PREFIX)).unique()
        neighbours.update(f"<{WD}{p[len(_WDT_PREFIX) :]}" for p in properties.to_list())
        writer.write_frame(kept)
    neighbours -= candidates
    passes_s.append(time.perf_counter() - started)

    started = time.perf_counter()
    neighbour_list = sorted(neighbours)
    neighbour_series = pl.Series(neighbour_list, dtype=pl.String).implode()
    predicates = sorted(_NEIGHBOUR_PREDICATES)
    for frame in _nt_frames(
        path,
        LoadReport(path=path, format="nt"),
        progress_of(2),
        prefilter=lambda lines: lines.str.contains_any(predicates) & lines.str.contains_any(neighbour_list),
    ):
        kept = frame.filter(pl.col("s").is_in(neighbour_series) & pl.col("p").is_in(predicates))
        if neighbour_english_only:
            kept = kept.filter(
                ~pl.col("p").is_in(sorted(_TEXT_PREDICATES)) | pl.col("o").str.contains(_ENGLISH_LITERAL)
            )
        if incoming:  # a P31/P279 fact about a candidate: written in pass 2 already
            kept = kept.filter(~pl.col("o").is_in(named_series))
        writer.write_frame(kept)
    passes_s.append(time.perf_counter() - started)
    return len(candidates), len(neighbours), incoming_kept, passes_s


def _iter_ttl(path: Path, report: LoadReport, on_progress: Progress | None) -> Iterator[Triple]:
    header: list[str] = []  # @prefix / @base / PREFIX / BASE lines, put before every block
    batch: list[tuple[int, str, bool]] = []  # (line number of the block's start, text, has non-UTF-8)
    block: list[str] = []
    block_start = 0
    block_bad = False

    def close_block() -> None:
        nonlocal block, block_bad
        if any(ln.strip() and not ln.lstrip().startswith("#") for ln in block):
            batch.append((block_start, "\n".join(block), block_bad))
        block, block_bad = [], False

    for first, lines, bad in _chunks(path, on_progress):
        for i, line in enumerate(lines):
            stripped = line.strip()
            if not block:
                if not stripped:
                    continue
                if _is_directive(stripped):
                    header.append(line)
                    continue
                block_start = first + i
            block.append(line)
            if bad is not None and i in bad:
                block_bad = True
            if not stripped:
                close_block()
            elif stripped.endswith(".") and not stripped.startswith("#"):
                # A statement ends here unless a long string (""" or ''') is still open.
                text = "\n".join(block)
                if text.count('"""') % 2 == 0 and text.count("'''") % 2 == 0:
                    close_block()
            if len(batch) >= _TTL_BATCH_BLOCKS:
                yield from _parse_ttl_batch(batch, header, report)
                batch = []
    if block:
        close_block()
    if batch:
        yield from _parse_ttl_batch(batch, header, report)


def _is_directive(stripped: str) -> bool:
    head = stripped[:7].lower()
    return stripped.startswith(("@prefix", "@base")) or head.startswith(("prefix ", "base ", "prefix\t", "base\t"))


def _parse_ttl(text: str) -> list[Triple]:
    from pyoxigraph import RdfFormat, parse

    quads = parse(text, format=RdfFormat.TURTLE)
    return [(str(q.subject), str(q.predicate), str(q.object)) for q in quads]


def _parse_ttl_batch(batch: list[tuple[int, str, bool]], header: list[str], report: LoadReport) -> Iterator[Triple]:
    """Parses the blocks together; if that fails, one by one, counting those that fail."""
    prefix = "\n".join(header) + "\n" if header else ""
    report.lines += len(batch)
    triples: list[Triple] = []
    if not any(bad for _, _, bad in batch):
        try:
            triples = _parse_ttl(prefix + "\n".join(text for _, text, _ in batch))
        except (SyntaxError, ValueError):
            pass
        else:
            batch = []
    for start, text, bad in batch:
        try:
            if bad:
                raise ValueError("not UTF-8")
            triples.extend(_parse_ttl(prefix + text))
        except (SyntaxError, ValueError):
            report._malformed(start, text)
    report.triples += len(triples)
    yield from triples


def _iter_json(path: Path, report: LoadReport, on_progress: Progress | None) -> Iterator[Triple]:
    for first, lines, bad in _chunks(path, on_progress):
        report.lines += len(lines)
        for i, line in enumerate(lines):
            text = line.strip()
            if text.endswith(","):
                text = text[:-1].rstrip()
            if text.startswith("[") and text != "[":
                text = text[1:].lstrip()
            if text.endswith("]") and not text.startswith("["):
                text = text[:-1].rstrip()
            if not text or text in ("[", "]"):
                continue
            if bad is not None and i in bad:
                report._malformed(first + i, line)
                continue
            try:
                triples = _json_value_triples(json.loads(text))
            except (ValueError, TypeError, KeyError, AttributeError):
                report._malformed(first + i, line)
                continue
            report.triples += len(triples)
            yield from triples


# --- Wikibase JSON -> truthy triples ---------------------------------------------------------------
def _json_value_triples(value: object) -> list[Triple]:
    """Triples of one JSON line: an entity, or a ``wbgetentities`` response holding several."""
    if not isinstance(value, dict):
        raise TypeError("not a JSON object")
    if "id" not in value and isinstance(value.get("entities"), dict):
        entities = list(value["entities"].values())
    elif "id" in value or "missing" in value:
        entities = [value]
    else:
        raise KeyError("neither an entity nor a wbgetentities response")
    triples: list[Triple] = []
    for entity in entities:
        triples.extend(_entity_triples(entity))
    return triples


def _entity_triples(entity: dict) -> list[Triple]:
    if "missing" in entity:
        return []
    entity_id = entity["id"]
    if not isinstance(entity_id, str) or not re.fullmatch(r"[A-Z]\d+(?:-[A-Z]\d+)?", entity_id):
        raise ValueError(f"bad entity id {entity_id!r}")
    subject = f"<{WD}{entity_id}>"
    out: list[Triple] = []
    label = (entity.get("labels") or {}).get("en")
    if label:
        out.append((subject, _LABEL, _en_literal(label["value"])))
    for alias in (entity.get("aliases") or {}).get("en") or []:
        out.append((subject, _ALT_LABEL, _en_literal(alias["value"])))
    description = (entity.get("descriptions") or {}).get("en")
    if description:
        out.append((subject, _DESCRIPTION, _en_literal(description["value"])))
    for prop, statements in (entity.get("claims") or {}).items():
        predicate = f"<{WDT}{prop}>"
        ranked = [s for s in statements if s.get("rank", "normal") != "deprecated"]
        if any(s.get("rank") == "preferred" for s in ranked):
            ranked = [s for s in ranked if s.get("rank") == "preferred"]
        for statement in ranked:
            obj = _snak_object(statement["mainsnak"])
            if obj is not None:
                out.append((subject, predicate, obj))
    enwiki = (entity.get("sitelinks") or {}).get("enwiki")
    if enwiki:
        title = quote(enwiki["title"].replace(" ", "_"), safe=_TITLE_SAFE)
        out.append((f"<https://en.wikipedia.org/wiki/{title}>", _ABOUT, subject))
    return out


def _snak_object(snak: dict) -> str | None:
    """The N-Triples object of a truthy ``wdt:`` triple, or None for what is not mapped."""
    if snak.get("snaktype") != "value":
        return None  # somevalue / novalue
    datavalue = snak["datavalue"]
    kind = datavalue["type"]
    value = datavalue["value"]
    datatype = snak.get("datatype")
    if kind == "wikibase-entityid":
        entity_id = value.get("id") or _numeric_entity_id(value)
        return f"<{WD}{entity_id}>" if entity_id else None
    if kind == "string":
        if datatype == "url":
            return _iri(value)
        if datatype == "commonsMedia":
            return _iri(_COMMONS_FILE + quote(value, safe=_TITLE_SAFE))
        if datatype in (None, "string", "external-id"):
            return _plain_literal(value)
        return None  # math, musical-notation, geo-shape, tabular-data, ...
    if kind == "monolingualtext":
        return _lang_literal(value["text"], value["language"])
    if kind == "quantity":
        return _typed_literal(value["amount"].lstrip("+"), _XSD_DECIMAL)
    if kind == "time":
        return _typed_literal(_wikibase_time(value["time"]), _XSD_DATETIME)
    return None


_COMMONS_FILE = "http://commons.wikimedia.org/wiki/Special:FilePath/"
_ENTITY_LETTERS = {"item": "Q", "property": "P", "lexeme": "L"}


def _numeric_entity_id(value: dict) -> str | None:
    letter = _ENTITY_LETTERS.get(value.get("entity-type", ""))
    number = value.get("numeric-id")
    return f"{letter}{number}" if letter and isinstance(number, int) else None


_TIME = re.compile(r"([+-]?)(\d+)-(\d\d)-(\d\d)(T.*)")


def _wikibase_time(text: str) -> str:
    """``+1952-03-11T00:00:00Z`` -> ``1952-03-11T00:00:00Z``; month/day ``00`` become ``01``."""
    m = _TIME.fullmatch(text)
    if m is None:
        return text.lstrip("+")
    sign, year, month, day, rest = m.groups()
    year = year.lstrip("0").rjust(4, "0")
    month = "01" if month == "00" else month
    day = "01" if day == "00" else day
    return f"{'-' if sign == '-' else ''}{year}-{month}-{day}{rest}"


def _escape_literal(text: str) -> str:
    escaped = text.translate(_LITERAL_ESCAPES)
    if not escaped.isascii():
        escaped.encode("utf-8")  # lone surrogates (JSON allows them) raise UnicodeEncodeError
    return escaped


def _plain_literal(text: str) -> str:
    return f'"{_escape_literal(text)}"'


def _en_literal(text: str) -> str:
    return f'"{_escape_literal(text)}"@en'


def _lang_literal(text: str, lang: str) -> str | None:
    if not _LANG.fullmatch(lang):
        return None
    return f'"{_escape_literal(text)}"@{lang}'


_LANG = re.compile(r"[A-Za-z]+(?:-[A-Za-z0-9]+)*")


def _typed_literal(text: str, datatype: str) -> str:
    return f'"{_escape_literal(text)}"^^{datatype}'


def _iri(text: str) -> str | None:
    if not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", text):
        return None
    iri = text.translate(_IRI_ESCAPES)
    if not iri.isascii():
        iri.encode("utf-8")  # lone surrogates raise UnicodeEncodeError
    return f"<{iri}>"


# --- literals ----------------------------------------------------------------------------------
def literal_value(term: str) -> tuple[str, str | None] | None:
    """``('Douglas Adams', 'en')`` for ``'"Douglas Adams"@en'``; None if ``term`` is no literal.

    Escapes (``\\uXXXX``, ``\\UXXXXXXXX``, ``\\"``, ``\\\\``, ``\\n``, ...) are decoded. The
    language is None for plain and typed literals.
    """
    m = _LITERAL_TERM.fullmatch(term)
    if m is None:
        return None
    body, lang = m.group(1), m.group(2)
    if "\\" in body:
        try:
            body = _ESCAPE.sub(_unescape, body)
        except ValueError:
            return None
        if any("\ud800" <= c <= "\udfff" for c in body):
            try:  # a surrogate pair written as two \u escapes
                body = body.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                return None
    return body, lang


def _unescape(m: re.Match[str]) -> str:
    code = m.group(1) or m.group(2)
    if code is not None:
        return chr(int(code, 16))
    char = _ECHARS.get(m.group(3))
    if char is None:
        raise ValueError(f"bad escape \\{m.group(3)}")
    return char


def _is_english(term: str) -> bool:
    """A literal tagged ``en`` or ``en-…``, or untagged (plain or ``xsd:string``)."""
    if term.endswith('"'):
        return True
    tail = term[term.rfind('"') + 1 :]
    if tail.startswith("@"):
        lang = tail[1:].lower()
        return lang == "en" or lang.startswith("en-")
    return tail == "^^" + _XSD_STRING


# --- writing -----------------------------------------------------------------------------------
class _NTriplesWriter:
    """Writes ``s p o .`` lines to ``out`` (gzip if it ends in ``.gz``) through a temporary file."""

    def __init__(self, out: Path, source: Path) -> None:
        self.out = Path(out)
        if self.out.exists() and self.out.resolve() == Path(source).resolve():
            raise InputError(f"{self.out}: the output would overwrite the input")
        if _compression(self.out) == "bzip2":
            raise InputError(f"{self.out}: write plain N-Triples or '.nt.gz', not bzip2")
        self.tmp = self.out.with_name(self.out.name + ".part")
        self.buffer: list[str] = []
        self.count = 0
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            if _compression(self.out) == "gzip":
                self.file = gzip.open(self.tmp, "wt", encoding="utf-8", newline="\n", compresslevel=6)  # noqa: SIM115 - closed in commit() or abort()
            else:
                self.file = open(  # noqa: SIM115 - closed in commit() or abort()
                    self.tmp, "w", encoding="utf-8", newline="\n", buffering=1 << 20
                )
        except OSError as exc:
            raise InputError(f"{self.out}: cannot be written ({exc.strerror or exc})") from exc

    def write(self, triple: Triple) -> None:
        self.buffer.append(f"{triple[0]} {triple[1]} {triple[2]} .\n")
        self.count += 1
        if len(self.buffer) >= 8192:
            self.file.write("".join(self.buffer))
            self.buffer.clear()

    def write_all(self, triples: Iterable[Triple]) -> None:
        for triple in triples:
            self.write(triple)

    def write_frame(self, frame: pl.DataFrame) -> None:
        """Writes the rows of an (s, p, o) frame, in order."""
        if frame.height:
            self.file.write("".join(self.buffer))
            self.buffer.clear()
            lines = frame.select(pl.concat_str(["s", "p", "o"], separator=" ") + " .\n").to_series()
            self.file.write("".join(lines.to_list()))
            self.count += frame.height

    def commit(self) -> None:
        self.file.write("".join(self.buffer))
        self.buffer.clear()
        self.file.close()
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


def copy_all(path: Path, out: Path, on_progress: Progress | None = None) -> LoadReport:
    """Writes every well-formed triple of the dump ``path`` to the N-Triples file ``out``."""
    path = Path(path)
    report = LoadReport.for_path(path)
    triples = iter_triples(path, report, on_progress)
    writer = _NTriplesWriter(out, path)
    try:
        writer.write_all(triples)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    report.kept = writer.count
    return report


def cut_neighbourhood(
    path: Path,
    out: Path,
    label_keys: set[str],
    normalize: Callable[[str], str],
    on_progress: Progress | None = None,
    *,
    neighbour_english_only: bool = True,
    incoming: bool = True,
    column_wise: bool = True,
) -> CutResult:
    """Keeps the entities a task names, the facts about them, and just enough about what those
    facts connect them to, in three passes.

    1. *Candidates* are subjects with an English (``en``, ``en-…`` or untagged) ``rdfs:label``,
       ``skos:altLabel`` or ``wdt:P1549`` (demonym) whose ``normalize(value)`` is in ``label_keys``.
    2. Every triple of a candidate is kept, and (unless ``incoming`` is False) every *incoming*
       fact: a ``wdt:`` triple whose object is a candidate, whoever its subject. Without these, an
       entity's items ``(s, p)`` would exist only where the texts also name ``s``. Other
       predicates (``schema:about`` of sitelinks) make no incoming facts; from JSON only truthy
       statements make triples at all (best rank, never deprecated). The IRI objects of the
       candidates' triples, the IRI subjects of incoming facts, and ``wd:Pn`` for each ``wdt:Pn``
       kept become *neighbours* unless they are candidates.
    3. Of neighbours, only ``rdfs:label``, ``skos:altLabel``, ``schema:description`` (English only
       unless ``neighbour_english_only`` is False), ``wdt:P31`` and ``wdt:P279`` are kept.

    ``on_progress`` sees the three passes as one sweep: ``(done, 3 * file_bytes)``.

    N-Triples are read column-wise (``_cut_nt``: whole chunks of lines tested at once); ``column_wise=False``
    reads them line by line, as Turtle and JSON are: the reference the column-wise passes are tested against.
    """
    path = Path(path)
    fmt = detect_format(path)

    def progress_of(pass_index: int) -> Progress | None:
        if on_progress is None:
            return None
        return lambda done, size: on_progress(pass_index * size + done, 3 * size)

    passes_s: list[float] = []
    first = LoadReport(path=path, format=fmt)
    triples = iter_triples(path, first, progress_of(0))  # checks the input before out is created
    writer = _NTriplesWriter(out, path)
    if fmt == "nt" and column_wise:
        try:
            candidates_n, neighbours_n, incoming_n, passes_s = _cut_nt(
                path,
                writer,
                label_keys,
                normalize,
                progress_of,
                first,
                neighbour_english_only=neighbour_english_only,
                incoming=incoming,
            )
        except BaseException:
            writer.abort()
            raise
        writer.commit()
        first.kept = writer.count
        return CutResult(
            report=first,
            candidates=candidates_n,
            neighbours=neighbours_n,
            kept=writer.count,
            passes_s=passes_s,
            incoming=incoming_n,
        )
    try:
        started = time.perf_counter()
        candidates: set[str] = set()
        for s, p, o in triples:
            if p in _LABEL_PREDICATES and s not in candidates and _is_english(o):
                value = literal_value(o)
                if value is not None and normalize(value[0]) in label_keys:
                    candidates.add(s)
        passes_s.append(time.perf_counter() - started)

        started = time.perf_counter()
        neighbours: set[str] = set()
        incoming_kept = 0
        second = LoadReport(path=path, format=fmt)
        objects = candidates if incoming else None
        for triple in _iter_subjects(path, second, progress_of(1), candidates, objects=objects):
            s, p, o = triple
            if s in candidates:
                if o.startswith("<"):
                    neighbours.add(o)
            elif incoming and o in candidates and p.startswith(_WDT_PREFIX):
                incoming_kept += 1
                if s.startswith("<"):
                    neighbours.add(s)
            else:
                continue
            writer.write(triple)
            if p.startswith(_WDT_PREFIX):
                neighbours.add(f"<{WD}{p[len(_WDT_PREFIX) :]}")
        neighbours -= candidates
        passes_s.append(time.perf_counter() - started)

        started = time.perf_counter()
        third = LoadReport(path=path, format=fmt)
        third_pass = _iter_subjects(path, third, progress_of(2), neighbours, predicates=_NEIGHBOUR_PREDICATES)
        for triple in third_pass:
            s, p, o = triple
            if s in neighbours and p in _NEIGHBOUR_PREDICATES:
                if neighbour_english_only and p in _TEXT_PREDICATES and not _is_english(o):
                    continue
                if incoming and o in candidates:
                    continue  # a P31/P279 fact about a candidate: written in pass 2 already
                writer.write(triple)
        passes_s.append(time.perf_counter() - started)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    first.kept = writer.count
    return CutResult(
        report=first,
        candidates=len(candidates),
        neighbours=len(neighbours),
        kept=writer.count,
        passes_s=passes_s,
        incoming=incoming_kept,
    )
