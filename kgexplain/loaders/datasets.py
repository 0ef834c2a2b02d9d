"""Text datasets: any CSV or JSONL with a text and a label column, the painters set, and RDF for them."""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import InputError
from ..store import RawTriple
from ..vocab import KGX, RDF, RDFS, Minter, nt_int, nt_iri, nt_str

__all__ = ["Document", "Dataset", "read_table", "read_dataset", "dataset_triples"]

log = logging.getLogger(__name__)

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    label: int
    split: str
    source: str | None = None
    subject: str | None = None  # the entity the document is about, where the input links one


@dataclass
class Dataset:
    """Labelled texts. ``classes`` names label 0, 1, … as they appeared in the input: two classes (negative,
    positive), or more (issue #19: any number of classes, explained and mined one-vs-rest)."""

    name: str
    docs: list[Document]
    classes: tuple[str, ...] = ("0", "1")
    notes: list[str] = field(default_factory=list)

    def split(self, name: str) -> list[Document]:
        return [d for d in self.docs if d.split == name]

    def __len__(self) -> int:
        return len(self.docs)


def _read_frame(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise InputError(f"dataset file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv"):
            return pl.read_csv(path, separator="\t" if suffix == ".tsv" else ",", infer_schema=False)
        if suffix in (".jsonl", ".ndjson"):
            return pl.read_ndjson(path, infer_schema_length=None)
        if suffix == ".json":
            return pl.read_json(path)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path.name} as {suffix[1:].upper()}: {exc}") from exc
    raise InputError(f"{path.name}: unsupported dataset format {suffix or '(none)'}; use .csv, .tsv or .jsonl")


def read_table(
    path: Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    id_column: str | None = None,
    split: str | None = None,
    split_column: str | None = None,
    test_fraction: float = 0.5,
    seed: int = 13,
) -> tuple[list[Document], list[str]]:
    """Documents from one CSV/TSV/JSONL file. Rows get ``split`` if given, else the value of
    ``split_column``, else a seeded random split with ``test_fraction`` of rows in test.
    Returns the documents and the raw label values in file order."""
    frame = _read_frame(path)
    missing = [
        c for c in (text_column, label_column, id_column, split_column) if c is not None and c not in frame.columns
    ]
    if missing:
        raise InputError(
            f"{path.name} has no column(s) {', '.join(repr(c) for c in missing)}; "
            f"its columns are {', '.join(repr(c) for c in frame.columns)}"
        )
    if frame.height == 0:
        raise InputError(f"{path.name} has no rows")
    texts = frame[text_column].cast(pl.String).to_list()
    labels = frame[label_column].cast(pl.String).to_list()
    ids = frame[id_column].cast(pl.String).to_list() if id_column is not None else [None] * frame.height
    if split_column is not None:
        splits = [str(s).strip().lower() for s in frame[split_column].to_list()]
        bad = sorted({s for s in splits if s not in SPLITS})
        if bad:
            raise InputError(f"{path.name}: column {split_column!r} must hold train/test, found {bad[:5]}")
    elif split is not None:
        splits = [split] * frame.height
    else:
        rng = random.Random(seed)
        order = list(range(frame.height))
        rng.shuffle(order)
        n_test = round(frame.height * test_fraction)
        test_rows = set(order[:n_test])
        splits = ["test" if i in test_rows else "train" for i in range(frame.height)]
    docs: list[Document] = []
    skipped = 0
    for i, (text, label, ident, sp) in enumerate(zip(texts, labels, ids, splits, strict=True)):
        if text is None or not str(text).strip() or label is None:
            skipped += 1
            continue
        source = ident if ident and ident.startswith(("http://", "https://")) else None
        doc_id = ident.rsplit("/", 1)[-1] if source else (ident or f"{path.stem}-{i}")
        docs.append(Document(id=doc_id, text=str(text), label=-1, split=sp, source=source))
    if skipped:
        log.warning("%s: skipped %d rows with an empty text or label", path.name, skipped)
    raw = [
        lab
        for text, lab in zip(texts, labels, strict=True)
        if text is not None and str(text).strip() and lab is not None
    ]
    return docs, raw


def _label_values(raw: list[str], path_names: str) -> tuple[tuple[str, ...], dict[str, int]]:
    """The classes of a label column, in label order, and each value's label: two values become (negative,
    positive) as before; more keep their names, sorted, as labels 0, 1, … (issue #19)."""
    values = sorted({v.strip() for v in raw})
    if len(values) < 2:
        raise InputError(
            f"{path_names}: the label column must hold at least two values (classes), found {len(values)}: {values[:6]}"
        )
    if len(values) > 2:
        return tuple(values), {v: i for i, v in enumerate(values)}
    positive_names = {"1", "true", "pos", "positive", "yes"}
    neg, pos = values
    if neg.lower() in positive_names and pos.lower() not in positive_names:
        neg, pos = pos, neg
    return (neg, pos), {neg: 0, pos: 1}


def read_dataset(
    data: Path,
    *,
    test_data: Path | None = None,
    name: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    id_column: str | None = None,
    split_column: str | None = None,
    test_fraction: float = 0.5,
    seed: int = 13,
) -> Dataset:
    """A dataset from a file (split at random unless ``split_column`` or ``test_data`` is given), a
    directory holding ``train.csv`` and ``test.csv`` (such as the painters set), or the Wikidata-linked
    SimpleQuestions directory (``loaders.questions``; the column options do not apply)."""
    from .questions import is_questions_dir, read_questions

    if is_questions_dir(data):
        return read_questions(data, name=name)
    if data.is_dir():
        train_file, test_file = data / "train.csv", data / "test.csv"
        if not train_file.is_file() or not test_file.is_file():
            raise InputError(f"{data} is a directory without train.csv and test.csv")
        data, test_data = train_file, test_file
        if id_column is None:
            header = pl.read_csv(train_file, n_rows=0).columns
            id_column = header[0] if header and header[0] not in (text_column, label_column) else None
    read = functools.partial(read_table, text_column=text_column, label_column=label_column, id_column=id_column)
    if test_data is not None:
        train_docs, train_raw = read(data, split="train")
        test_docs, test_raw = read(test_data, split="test")
        docs, raw = train_docs + test_docs, train_raw + test_raw
    else:
        docs, raw = read(data, split_column=split_column, test_fraction=test_fraction, seed=seed)
    if not docs:
        raise InputError(f"{data.name}: no document with a text and a label")
    classes, index = _label_values(raw, data.name)
    docs = [Document(d.id, d.text, index[lab.strip()], d.split, d.source) for d, lab in zip(docs, raw, strict=True)]
    seen: dict[str, int] = {}
    unique = []
    for d in docs:  # ids must be unique: they become IRIs
        n = seen.get(d.id, 0)
        seen[d.id] = n + 1
        unique.append(d if n == 0 else Document(f"{d.id}~{n}", d.text, d.label, d.split, d.source))
    dataset = Dataset(name or (data.parent.name if data.name == "train.csv" else data.stem), unique, classes)
    for sp in SPLITS:
        if not dataset.split(sp):
            raise InputError(f"{data.name}: the {sp} split is empty; give more rows or --test-data")
    return dataset


def dataset_triples(dataset: Dataset, minter: Minter) -> Iterator[RawTriple]:
    """The documents as RDF: one ``kgx:Document`` each, with text, gold label, split and source."""
    ds = nt_iri(minter.dataset(dataset.name))
    yield ds, nt_iri(RDF + "type"), nt_iri(KGX + "Dataset")
    yield ds, nt_iri(KGX + "name"), nt_str(dataset.name)
    if len(dataset.classes) == 2:
        yield ds, nt_iri(KGX + "negativeClassName"), nt_str(dataset.classes[0])
        yield ds, nt_iri(KGX + "positiveClassName"), nt_str(dataset.classes[1])
    else:  # issue #19: each class a kgx:ClassLabel with its label index and name
        for index, name in enumerate(dataset.classes):
            c = nt_iri(minter.class_label(dataset.name, name))
            yield ds, nt_iri(KGX + "hasClass"), c
            yield c, nt_iri(RDF + "type"), nt_iri(KGX + "ClassLabel")
            yield c, nt_iri(RDFS + "label"), nt_str(name)
            yield c, nt_iri(KGX + "classIndex"), nt_int(index)
    for index, doc in enumerate(dataset.docs):
        d = nt_iri(minter.document(dataset.name, doc.id))
        yield d, nt_iri(RDF + "type"), nt_iri(KGX + "Document")
        yield d, nt_iri(KGX + "dataset"), ds
        yield d, nt_iri(KGX + "index"), nt_int(index)
        yield d, nt_iri(KGX + "identifier"), nt_str(doc.id)
        yield d, nt_iri(KGX + "text"), nt_str(doc.text)
        yield d, nt_iri(KGX + "goldLabel"), nt_int(doc.label)
        yield d, nt_iri(KGX + "split"), nt_str(doc.split)
        if doc.source:
            yield d, nt_iri(KGX + "source"), nt_iri(doc.source)
        if doc.subject:
            yield d, nt_iri(KGX + "subjectEntity"), nt_iri(doc.subject)
