"""The train stage: a classifier trained on a dataset's training documents (with ``--entity-tokens``, on their
texts grounded as the explain stage grounds them), saved to a model directory with its ``training.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import polars as pl

from ..config import Settings
from ..models.training import DEFAULT_EPOCHS, EntityInputs, TrainResult, resolve_device, train_model
from ..runs import Progress, no_progress
from ..store import TripleStore
from ..vocab import Minter
from .explain import case_tokens, entity_spans, ground_documents, kg_lexicon
from .load import read_documents

__all__ = ["train_stage"]

log = logging.getLogger(__name__)


def train_stage(
    store: TripleStore, dataset: str, model_dir: Path, settings: Settings, progress: Progress = no_progress
) -> TrainResult:
    """Trains ``settings.train.model`` on the training documents of ``dataset`` (scored on its test documents)
    and saves it to ``model_dir``, with ``training.json`` (the ``TrainResult``)."""
    resolve_device(settings.train.device)
    docs, classes = read_documents(store, dataset, settings)
    train = docs.filter(pl.col("split") == "train")
    test = docs.filter(pl.col("split") == "test")
    epochs = settings.train.epochs or DEFAULT_EPOCHS[settings.train.model]
    inputs = None
    if settings.entity_tokens:  # issue #18: grounded as the explain stage grounds them, every split at once
        progress("grounding entity tokens", 0, 1)
        texts = docs["text"].to_list()
        kg_graph = Minter(settings.base_iri).kg_graph(dataset)
        tokens, cased = case_tokens(texts, settings)
        mentions = ground_documents(
            store, kg_graph, kg_lexicon(store, kg_graph, settings), texts, tokens, cased, settings
        )
        inputs = EntityInputs.of(texts, entity_spans(mentions))
        spans = sum(len(m) for m in mentions)
        if not spans:
            log.warning(
                "--entity-tokens: no entity of the knowledge graph of %r is mentioned in its %d texts; "
                "the model reads plain words",
                dataset,
                len(texts),
            )
        log.info(
            "entity tokens: %d spans of %d entities in %d of %d texts",
            spans,
            len({m.entity for doc in mentions for m in doc}),
            sum(1 for m in mentions if m),
            len(texts),
        )
        progress("grounding entity tokens", 1, 1)
    progress("training", 0, epochs)
    trained, result = train_model(
        train["text"].to_list(),
        train["label"].to_list(),
        settings.train,
        test["text"].to_list(),
        test["label"].to_list(),
        on_epoch=lambda epoch, _row: progress("training", epoch, epochs),
        entity_inputs=inputs,
        n_classes=len(classes),
    )
    trained.save(model_dir)
    (model_dir / "training.json").write_text(json.dumps(asdict(result), indent=2))
    return result
