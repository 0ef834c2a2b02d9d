"""The activations stage: the activations of a kgexplain model's layers for every document (forward hooks, one
pass), written raw, binarized and binned as one activation run graph with the tokens that drive each neuron;
``read_activations`` reads a run back as matrices.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from pyoxigraph import NamedNode

from ..config import Settings
from ..errors import InputError, StoreError
from ..models.training import TrainedModel, resolve_device
from ..publish.rdf import RunRecord, activation_triples, run_triples
from ..queries import load_query
from ..runs import Progress, latest_run, new_run_id, no_progress, now
from ..store import Staging, TripleStore
from ..vocab import Minter
from .load import read_documents

__all__ = ["ActivationsResult", "activations_stage", "read_activations"]


@dataclass
class ActivationsResult:
    run_id: str
    graph: str
    documents: int
    layers: dict[str, int]  # layer name -> neurons
    triples: int
    seconds: float


def activations_stage(
    store: TripleStore, dataset: str, model_dir: Path, settings: Settings, progress: Progress = no_progress
) -> ActivationsResult:
    """Captures the activations of the model's layers for every document of ``dataset`` (forward hooks,
    one pass) and writes them, raw, binarized and binned, as one activation run graph."""
    from ..models.activations import capture, top_tokens
    from ..publish.rdf import activation_vector_triples

    settings.check()
    start_time, start = now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    device = str(resolve_device(settings.train.device))
    trained = TrainedModel.load(model_dir, device=device)
    docs, _classes = read_documents(store, dataset, settings)
    texts = docs["text"].to_list()
    done = [0]

    def on_batch(n: int) -> None:
        done[0] += n
        progress("activations", done[0], len(texts))

    progress("activations", 0, len(texts))
    captured = capture(trained, texts, settings.activation_layers or None, device=device, on_batch=on_batch)
    run_id = new_run_id("activations")
    graph = minter.run_graph(run_id)
    record = RunRecord(
        run_id,
        "ActivationRun",
        minter.dataset(dataset),
        graph.value,
        start_time,
        settings={
            "model": trained.name,
            "bins": settings.activation_bins,
            "activationThreshold": float(settings.activation_threshold),
            "binarization": settings.activation_binarize,
            "maxTokens": trained.max_len,
        },
    )
    documents, bins, threshold = docs["doc"].to_list(), settings.activation_bins, settings.activation_threshold
    # The document vectors, most of the run's triples, go to the store on a writer thread while the tokens
    # that drive each neuron are found (torch and pyoxigraph release the GIL); then the layers and neurons.
    # The writer is done before the Staging drops the graph of a failed run; until its commit, it is private.
    with Staging(store, new=[graph]) as staging, ThreadPoolExecutor(1, "kgx-writer") as writer:
        vectors = writer.submit(
            store.load,
            activation_vector_triples(
                run_id,
                minter,
                documents,
                captured.layers,
                bins,
                threshold,
                pooled=captured.pooled,
                rule=settings.activation_binarize,
            ),
            graph,
        )
        top = None
        if settings.activation_top_tokens:
            pairs = sum(v.shape[1] for v in captured.layers.values()) * 10
            done[0] = 0

            def on_pairs(n: int) -> None:
                done[0] += n
                progress("tokens per neuron", done[0], pairs)

            top = top_tokens(
                trained, texts, captured, tokens=settings.activation_top_tokens, device=device, on_batch=on_pairs
            )
            progress("tokens per neuron", pairs, pairs)
        n = vectors.result()
        n += store.load(
            activation_triples(
                run_id,
                minter,
                documents,
                captured.layers,
                bins,
                threshold,
                top,
                pooled=captured.pooled,
                rule=settings.activation_binarize,
                vectors=False,
            ),
            graph,
        )
        record.ended = now()
        n += store.load(run_triples(record, minter), graph)
        staging.commit({minter.catalog_graph(): run_triples(record, minter)})
    return ActivationsResult(
        run_id,
        graph.value,
        len(texts),
        {k: v.shape[1] for k, v in captured.layers.items()},
        n,
        time.perf_counter() - start,
    )


def read_activations(
    store: TripleStore, dataset: str, settings: Settings, form: str = "values", run_graph: str | None = None
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The latest activation run of ``dataset`` back from the store: (document IRIs, per layer an
    (n_documents, n_neurons) matrix) — ``form`` = ``values`` (float32), ``active`` (bool) or ``binned``
    (uint8)."""
    from ..models.activations import decode_bins, decode_flags, decode_values

    decoders = {"values": decode_values, "active": decode_flags, "binned": decode_bins}
    if form not in decoders:
        raise InputError(f"unknown activation form {form!r}; use one of {', '.join(decoders)}")
    if run_graph is None:
        _run, run_graph = latest_run(store, "ActivationRun", dataset, settings)
    frame = store.select(load_query("neurons/activation_vectors"), run_graph=NamedNode(run_graph))
    if frame.height == 0:
        raise InputError(f"the activation run graph {run_graph} holds no activation vectors")
    documents = frame.filter(pl.col("layer") == frame["layer"][0])["doc"].to_list()
    out: dict[str, np.ndarray] = {}
    for (layer,), part in frame.group_by("layer", maintain_order=True):
        if part["doc"].to_list() != documents:
            raise StoreError(f"layer {layer} of {run_graph} covers other documents than the first layer")
        out[str(layer)] = np.stack([decoders[form](text) for text in part[form].to_list()])
    return documents, out
