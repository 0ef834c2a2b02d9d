"""The load stage: a dataset's documents and the part of a knowledge graph they need, into the store.

A dump is cut (``_cut_dump``: the neighbourhood of the entities the texts name, or all of it) into a temporary
file first; then the knowledge graph and the dataset graph are swapped in by one update (``store.Staging``), so
a reader sees the old graphs or the new ones, and a load that fails leaves the store as it was.
``read_documents`` and ``dataset_classes`` read the dataset graph back for the later stages.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from pyoxigraph import RdfFormat

from ..config import Settings
from ..errors import InputError
from ..loaders.datasets import Dataset, dataset_triples
from ..queries import load_query
from ..runs import Progress, no_progress
from ..store import RawTriple, Staging, TripleStore
from ..text import tokenize
from ..vocab import Minter

__all__ = ["LoadResult", "load_stage", "read_documents", "dataset_classes"]


@dataclass
class LoadResult:
    dataset: str
    documents: int
    kg_triples: int
    kg_report: str
    malformed: int
    malformed_examples: list[tuple[int, str]]
    seconds: float


def _text_keys(dataset: Dataset, max_ngram: int = 4) -> set[str]:
    """Every n-gram (1..max_ngram tokens) of every text: the label keys worth keeping from a dump."""
    keys: set[str] = set()
    for doc in dataset.docs:
        toks = tokenize(doc.text)
        for n in range(1, max_ngram + 1):
            keys.update(" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return keys


def _cut_dump(
    kg: Path, out: Path, dataset: Dataset, settings: Settings, progress: Progress
) -> tuple[str, int, list[tuple[int, str]]]:
    """Streams the dump into ``out`` (N-Triples): all of it, or the neighbourhood the texts need."""
    from ..loaders.wikidata import copy_all, cut_neighbourhood
    from ..text import normalize

    task = f"reading {kg.name}"
    progress(task, 0, kg.stat().st_size)

    def on_bytes(done: int, total: int) -> None:
        progress(task, done, total)

    if settings.kg_filter == "none":
        report = copy_all(kg, out, on_progress=on_bytes)
        return report.summary(), report.malformed, report.malformed_examples
    cut = cut_neighbourhood(
        kg, out, _text_keys(dataset), normalize, on_progress=on_bytes, incoming=settings.kg_filter == "neighbourhood"
    )
    summary = (
        f"{cut.report.summary()}; {cut.candidates:,} entities named in the texts, "
        f"{cut.incoming:,} facts about them held by others, {cut.neighbours:,} neighbours"
    )
    return summary, cut.report.malformed, cut.report.malformed_examples


def load_stage(
    store: TripleStore,
    dataset: Dataset,
    kg: Path | list[RawTriple],
    settings: Settings,
    progress: Progress = no_progress,
) -> LoadResult:
    """Puts the documents and the knowledge graph the task needs into the store.

    A dump is cut (see ``_cut_dump``) into a temporary file first, so an unreadable or useless dump
    fails before the store is touched; then both graphs are loaded under staging names and swapped in by
    one update (``Staging``): a reader sees the old knowledge graph and dataset, or the new ones."""
    from ..loaders.wikidata import open_dump

    start = time.perf_counter()
    minter = Minter(settings.base_iri)
    if not dataset.docs:
        raise InputError(f"dataset {dataset.name!r} has no documents")
    kg_graph, data_graph = minter.kg_graph(dataset.name), minter.dataset_graph(dataset.name)
    examples: list[tuple[int, str]] = []
    malformed = 0
    with tempfile.TemporaryDirectory(prefix="kgx-load-") as tmp:
        source: Path | list[RawTriple] = kg
        if isinstance(kg, Path):
            open_dump(kg).close()  # fails early, with the file name, if unreadable
            source = Path(tmp) / "kg.nt"
            summary, malformed, examples = _cut_dump(kg, source, dataset, settings, progress)
            if source.stat().st_size == 0:
                raise InputError(
                    f"{kg.name}: no usable triple for this dataset ({summary}); "
                    "is it a Wikidata dump whose labels match the texts?"
                )
        # A graph the store does not hold yet is written in place (kept private until the commit); only one
        # that is there already is staged and moved over, which costs a copy of it inside the store.
        present = [g for g in (kg_graph, data_graph) if store.ask(f"ASK {{ GRAPH {g} {{ ?s ?p ?o }} }}")]
        absent = [g for g in (kg_graph, data_graph) if g not in present]
        with Staging(store, new=absent, replaced=present) as staging:
            kg_triples = store.load(
                source, staging.target(kg_graph), RdfFormat.N_TRIPLES if isinstance(source, Path) else None
            )
            store.load(dataset_triples(dataset, minter), staging.target(data_graph))
            staging.commit()
        if not isinstance(kg, Path):
            summary = f"built-in knowledge graph: {kg_triples:,} triples"
    store.optimize()  # compact once after the big loads: later queries run about twice as fast
    summary = "; ".join([*dataset.notes, summary])
    return LoadResult(
        dataset.name, len(dataset.docs), kg_triples, summary, malformed, examples, time.perf_counter() - start
    )


def read_documents(store: TripleStore, dataset: str, settings: Settings) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The dataset's documents and its class names in label order: (negative, positive), or more than two
    (issue #19)."""
    minter = Minter(settings.base_iri)
    graph = minter.dataset_graph(dataset)
    frame = store.select(load_query("data/documents"), graph=graph)
    if frame.height == 0:
        raise InputError(f"no documents of dataset {dataset!r} in the {store.description}; run `kgexplain load` first")
    return frame, dataset_classes(store, dataset, settings)


def dataset_classes(store: TripleStore, dataset: str, settings: Settings) -> tuple[str, ...]:
    """The class names of a dataset in the store, in label order (``read_documents``' second value)."""
    graph = Minter(settings.base_iri).dataset_graph(dataset)
    names = store.select(load_query("data/class_names"), graph=graph)
    if names.height:
        return (str(names["negative"][0]), str(names["positive"][0]))
    listed = store.select(load_query("data/class_list"), graph=graph)
    return tuple(str(n) for n in listed["name"].to_list()) if listed.height > 2 else ("0", "1")
