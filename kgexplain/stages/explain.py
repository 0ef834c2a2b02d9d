"""The explain stage: every document's tokens attributed by a model (one kgexplain trained, or a user's own),
and the tokens grounded in the knowledge graph (``kg_lexicon``, ``ground_documents``) into mentions of entities
with their relevance, written as one attribution run graph. The store side runs beside the model on threads;
the graph stays private until its run is complete (``store.Staging``).

Also what reads attribution runs back: ``document_heatmap_data`` (one document's heatmap) and
``explainer_agreement`` (how far the explainers agree).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pyoxigraph import NamedNode

from ..attribution.base import Attribution
from ..attribution.explainers import explain
from ..attribution.external import explain_external
from ..attribution.grounding import (
    PLACE_OVER_NAME_BELOW,
    Lexicon,
    Mention,
    disambiguate,
    first_occurrences,
    given_names,
    ground,
    person_names,
)
from ..config import AGGREGATIONS, NAME_CLASSES, PERSON_CLASSES, Settings
from ..errors import InputError
from ..models.external import ExternalModel, load_model
from ..models.training import EntityInputs, TrainedModel, resolve_device
from ..publish.rdf import ModelRecord, RunRecord, mention_ntriples, run_triples, token_ntriples
from ..queries import load_query
from ..runs import Progress, batched, latest_run, new_run_id, no_progress, now
from ..runs import labels as kg_labels
from ..store import Staging, TripleStore
from ..text import is_cased_corpus, normalize, tokenize, tokenize_cased
from ..vocab import Minter
from .load import dataset_classes, read_documents

__all__ = [
    "ExplainResult",
    "explain_stage",
    "TRUNCATION_NOTES",
    "kg_lexicon",
    "ground_documents",
    "case_tokens",
    "entity_spans",
    "target_index",
    "document_heatmap_data",
    "explainer_agreement",
]

log = logging.getLogger(__name__)


@dataclass
class ExplainResult:
    run_id: str
    method: str
    graph: str
    documents: int
    tokens: int
    mentions: int
    grounded_documents: int
    distinct_entities: int
    lexicon_keys: int
    additivity_error: float
    test_accuracy: float
    triples: int
    seconds: float
    #: documents a user's model read only in part: document id → (words explained, words in the text)
    truncated: dict[str, tuple[int, int]] = field(default_factory=dict)


#: Documents cut by a model's length limit that the explain stage names one by one in the log.
TRUNCATION_NOTES = 10


def _instances(store: TripleStore, kg_graph: NamedNode, classes: tuple[str, ...]) -> set[str]:
    """The entities of the KG graph that are instances of ``classes`` or of their subclasses."""
    if not classes:
        return set()
    frame = store.select(
        load_query("kg/instances_of_classes"), kg=kg_graph, **{"class": [NamedNode(c) for c in classes]}
    )
    return set(frame["entity"].to_list()) if frame.height else set()


def kg_lexicon(store: TripleStore, kg_graph: NamedNode, settings: Settings) -> Lexicon:
    """The grounding lexicon of the KG graph, without stop-class instances (by class closure) and without
    the keys of calendar items (``Lexicon.build``'s ``silence``); ties broken by degree, fetched (in ``VALUES``
    batches) only for the entities that share a key.

    Its given names (``grounding.given_names``): the first words of people's labels and the labels of
    given and family names, less the words that label a common noun (a lower-case label: "king", "saint")
    or a place the lexicon grounds ("Florence", "Virginia") and that few people bear
    (``PLACE_OVER_NAME_BELOW``), which a text means as that title or place."""
    rows = store.select(load_query("kg/lexicon"), kg=kg_graph)
    labels = list(zip(rows["entity"].to_list(), rows["text"].to_list(), strict=True)) if rows.height else []
    excluded = set(settings.exclude_entities) | _instances(store, kg_graph, settings.stop_classes)

    def degree(entities: list[str]) -> dict[str, int]:
        frame = batched(store, "kg/entity_degree", kg_graph, entities, settings.item_batch)
        return dict(zip(frame["entity"].to_list(), frame["degree"].to_list(), strict=True)) if frame.height else {}

    calendar = set(settings.calendar_entities) | _instances(store, kg_graph, settings.calendar_classes)
    lexicon = Lexicon.build(labels, degree, exclude=excluded, silence=calendar)
    if settings.ground_name_parts:
        return lexicon
    people = _instances(store, kg_graph, PERSON_CLASSES)
    names = _instances(store, kg_graph, NAME_CLASSES)
    bearers = given_names(labels, people)
    given = set(bearers) | {normalize(text) for entity, text in labels if entity in names}
    things = sorted({e for word in given for e in lexicon.entities(word) if e not in people})
    named = {
        e: text
        for e, text in kg_labels(store, kg_graph, things, max(1, settings.item_batch)).items()
        if normalize(text) in given
    }
    located = batched(store, "kg/located_entities", kg_graph, sorted(named), max(1, settings.item_batch))
    places = set(located["entity"].to_list()) if located.height else set()
    lexicon.given_names = frozenset(
        given
        - {
            normalize(text)
            for e, text in named.items()
            if text.islower() or e in places and bearers.get(normalize(text), 0) < PLACE_OVER_NAME_BELOW
        }
    )
    return lexicon


def ground_documents(
    store: TripleStore,
    kg_graph: NamedNode,
    lexicon: Lexicon,
    texts: list[str],
    tokens: list[list[str]],
    cased: list[list[str]] | None,
    settings: Settings,
) -> list[list[Mention]]:
    """Each document's mentions: ``ground`` (with the person names of its text when case is read), then,
    by ``settings``, ambiguous keys re-linked by context and only the first mention of each entity kept."""
    mentions = []
    for i, toks in enumerate(tokens):
        names = person_names(texts[i], lexicon.given_names) if cased is not None and lexicon.given_names else ()
        mentions.append(ground(toks, lexicon, cased[i] if cased is not None else None, names=names))
    if settings.disambiguation == "context":
        contested = sorted(
            {
                e
                for doc in mentions
                for m in doc
                if m.surface in lexicon.candidates
                for e in lexicon.candidates[m.surface]
            }
        )
        frames = [
            batched(store, f"kg/entity_neighbours_{way}", kg_graph, contested, max(1, settings.item_batch))
            for way in ("out", "in")
        ]
        frame = pl.concat([f for f in frames if f.height]) if any(f.height for f in frames) else pl.DataFrame()
        mentioned = {m.entity for doc in mentions for m in doc}
        neighbours: dict[str, set[str]] = {}
        for entity, other in frame.select("entity", "neighbour").iter_rows() if frame.height else ():
            if other in mentioned:
                neighbours.setdefault(entity, set()).add(other)
        mentions = [disambiguate(doc, lexicon, neighbours) for doc in mentions]
    if settings.occurrences == "first-per-document":
        mentions = [first_occurrences(doc) for doc in mentions]
    return mentions


def case_tokens(texts: list[str], settings: Settings) -> tuple[list[list[str]], list[list[str]] | None]:
    """The texts' tokens, and their cased tokens when grounding reads case (``settings.ground_case``)."""
    cased = settings.ground_case == "cased" or settings.ground_case == "auto" and is_cased_corpus(texts)
    return [tokenize(t) for t in texts], [tokenize_cased(t) for t in texts] if cased else None


def entity_spans(mentions: list[list[Mention]]) -> list[list[tuple[int, int, str]]]:
    """Each document's mentions as entity-token spans (``models.training.EntityInputs``)."""
    from ..vocab import entity_token

    return [[(m.start, m.end, entity_token(m.entity)) for m in doc] for doc in mentions]


def _entity_inputs(texts: list[str], mentions: list[list[Mention]], before: EntityInputs | None) -> EntityInputs:
    """The entity tokens of ``mentions`` (this grounding) for a model to read; a warning counts the texts
    grounded otherwise than when it was trained (``before``: the knowledge graph or the grounding settings
    changed since)."""
    inputs = EntityInputs.of(texts, entity_spans(mentions))
    if before is not None:
        changed = sum(1 for t in texts if before.spans(t) is not None and before.spans(t) != inputs.spans(t))
        if changed:
            log.warning(
                "%d of %d texts are grounded otherwise than when the model was trained (the knowledge "
                "graph or the grounding settings changed); the model reads this grounding",
                changed,
                len(texts),
            )
    return inputs


def explain_stage(
    store: TripleStore,
    dataset: str,
    model_dir: Path | None,
    settings: Settings,
    progress: Progress = no_progress,
    *,
    model: ExternalModel | None = None,
) -> ExplainResult:
    """Explains every document of ``dataset`` with the model trained into ``model_dir`` or, with
    ``settings.model_spec`` (or ``model``, already loaded), the user's own model (issue #19)."""
    start_time, start = now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    device = str(resolve_device(settings.train.device))
    settings, trained, model, model_name, max_len = _explained_model(model_dir, settings, model, device)
    entity_tokens = settings.entity_tokens
    docs, classes = read_documents(store, dataset, settings)
    positive = model.class_indices(classes)[1] if model is not None else 1  # before anything is written
    multi = len(classes) > 2  # issue #19: each document explained for one class, one-vs-rest
    target = target_index(settings.target, classes)
    texts = docs["text"].to_list()
    train_texts = docs.filter(pl.col("split") == "train")["text"].to_list()
    done = [0]

    def on_batch(n: int) -> None:
        done[0] += n
        progress(f"explaining ({settings.method})", done[0], len(texts))

    progress(f"explaining ({settings.method})", 0, len(texts))
    kg_graph = minter.kg_graph(dataset)
    run_id = new_run_id("explain")
    graph = minter.run_graph(run_id)
    documents = docs["doc"].to_list()
    tokens = [tokenize(t)[:max_len] for t in texts]
    cased_grounding = settings.ground_case == "cased" or settings.ground_case == "auto" and is_cased_corpus(texts)
    cased = [tokenize_cased(t)[:max_len] for t in texts] if cased_grounding else None
    # issue #18: with entity tokens the texts are grounded first (the model reads the mentions), on their
    # whole text; each input position stands for words ``positions[i][p]`` = (start, end), and its relevance
    # is spread back over them (``spread_over_words``); a mention's relevance is its one position's
    from ..text import spread_over_words

    lexicon: Lexicon | None = None
    positions: list[list[tuple[int, int]]] | None = None
    entity_mentions: list[list[Mention]] = []
    if entity_tokens and trained is not None:
        lexicon = kg_lexicon(store, kg_graph, settings)
        trained, positions, tokens, entity_mentions = _entity_token_input(
            store, kg_graph, lexicon, texts, trained, max_len, settings
        )
    # The store side runs beside torch (which, like polars and pyoxigraph, releases the GIL): one thread
    # builds the grounding lexicon while the documents are explained, another writes each explained batch's
    # tokens to the run graph while the next batch is explained. Both pools are left (their work finished)
    # before the Staging drops the graph of a failed run; until its commit, the graph is private.
    with (
        Staging(store, new=[graph]) as staging,
        ThreadPoolExecutor(1, "kgx-lexicon") as reader,
        ThreadPoolExecutor(1, "kgx-writer") as writer,
    ):
        pending_lexicon = reader.submit(kg_lexicon, store, kg_graph, settings) if lexicon is None else None
        loads: list[Future[int]] = []
        written = [0]  # documents handed to the writer so far
        # k > 2 classes (issue #19): per document the class its relevance is for, and the predicted class
        labelled: dict[str, np.ndarray] = {}

        def write_batch(rows: list[np.ndarray], predictions: np.ndarray) -> None:
            first = written[0]
            written[0] += len(rows)
            batch = slice(first, first + len(rows))
            if positions is not None:  # entity tokens: relevance back on the words
                rows = [spread_over_words(r, positions[first + k]) for k, r in enumerate(rows)]
            per_class = {name: values[batch] for name, values in labelled.items()}
            loads.append(
                writer.submit(
                    lambda: store.load(
                        token_ntriples(
                            run_id,
                            minter,
                            documents[batch],
                            tokens[batch],
                            rows,
                            predictions.copy(),
                            first,
                            **per_class,
                        ),
                        graph,
                    )
                )
            )

        if multi:  # issue #19: explained class by class, then written in document order
            attribution, labelled["explained"], labelled["predicted"] = _explain_classes(
                trained, model, texts, train_texts, classes, target, settings, device, on_batch
            )
            for start in range(0, len(texts), max(1, settings.explain_batch_size)):
                stop = start + max(1, settings.explain_batch_size)
                write_batch(attribution.relevance[start:stop], attribution.predictions[start:stop])
        elif trained is not None:
            attribution = explain(
                trained,
                texts,
                train_texts,
                settings.method,
                device=device,
                batch_size=settings.explain_batch_size,
                on_batch=on_batch,
                on_rows=write_batch,
                background=settings.shap_background,
                fallback=settings.fallback,
            )
        else:  # issue #19: rows stop where the model stops reading
            attribution = explain_external(
                model,  # type: ignore[arg-type]
                texts,
                settings.method,
                positive=positive,
                batch_size=settings.explain_batch_size,
                aggregation=settings.aggregation,
                max_evals=settings.max_evals,
                steps=settings.steps,
                on_batch=on_batch,
                on_rows=write_batch,
            )
        truncated = {documents[i].rsplit("/", 1)[-1]: cut for i, cut in sorted(attribution.truncated.items())}
        _note_truncation(truncated, model)
        relevance = attribution.relevance
        if positions is not None:  # issue #18: one input position per mention; the words share its relevance
            relevance = [spread_over_words(r, p) for r, p in zip(relevance, positions, strict=True)]
            mentions, aggregate = entity_mentions, AGGREGATIONS["sum"]
        else:
            mentions = ground_documents(
                store,
                kg_graph,
                pending_lexicon.result(),  # type: ignore[union-attr]
                texts,
                [toks[: len(rel)] for toks, rel in zip(tokens, relevance, strict=True)],
                cased,
                settings,
            )
            aggregate = AGGREGATIONS[settings.aggregation]
        lexicon_keys = len(pending_lexicon.result() if pending_lexicon is not None else lexicon or ())
        body = mention_ntriples(run_id, minter, documents, relevance, mentions, aggregate)
        n = sum(f.result() for f in loads)
        n += store.load(body, graph) if body else 0
        labels = np.asarray(docs["label"].to_list())
        predicted = labelled["predicted"] if multi else (attribution.predictions > 0.5).astype(int)
        is_test = np.asarray([s == "test" for s in docs["split"].to_list()])
        test_accuracy = float((predicted[is_test] == labels[is_test]).mean()) if is_test.any() else float("nan")
        longest = max((len(t) for t in tokens), default=1)
        read = max_len or (model.max_tokens if model is not None else None) or max(1, longest)
        record = RunRecord(
            run_id,
            "AttributionRun",
            minter.dataset(dataset),
            graph.value,
            start_time,
            settings={
                "model": model_name,
                "method": attribution.method,
                "reference": attribution.reference,
                "expectedValue": attribution.expected_value if np.isfinite(attribution.expected_value) else None,
                "additivityError": attribution.max_additivity_error,
                "testAccuracy": test_accuracy,
                "maxTokens": read,
                "truncatedDocuments": len(truncated) if model is not None else None,
                "target": (settings.target or "predicted") if multi else None,
                # issue #18: the model read grounded spans as entity tokens (the paper's input)
                "entityTokens": bool(settings.entity_tokens) if model is None else None,
            },
            links={"kgGraph": kg_graph.value},
            model=_model_record(model) if model is not None else None,
        )
        record.ended = now()
        n += store.load(run_triples(record, minter), graph)
        staging.commit({minter.catalog_graph(): run_triples(record, minter)})
    entities = {m.entity for doc_mentions in mentions for m in doc_mentions}
    return ExplainResult(
        run_id,
        attribution.method,
        graph.value,
        len(texts),
        sum(len(r) for r in relevance),
        sum(len(m) for m in mentions),
        sum(1 for m in mentions if m),
        len(entities),
        lexicon_keys,
        attribution.max_additivity_error,
        test_accuracy,
        n,
        time.perf_counter() - start,
        truncated,
    )


def _explained_model(
    model_dir: Path | None,
    settings: Settings,
    model: ExternalModel | None,
    device: str,
) -> tuple[Settings, TrainedModel | None, ExternalModel | None, str, int | None]:
    """The model to explain and the settings it is explained under, checked: the user's own (``model``, or the
    one ``settings.model_spec`` names, loaded as it is: issue #19) or the one kgexplain trained into
    ``model_dir``, whose name and entity tokens (issue #18) the settings then follow. Also the model's name and
    the longest input it reads (None: a user's model, which cuts its input itself)."""
    if model is None and settings.model_spec:
        model = load_model(
            settings.model_spec, device=device, labels=settings.labels or None, max_tokens=settings.train.max_len
        )
    trained: TrainedModel | None = None
    if model is None:
        if model_dir is None:
            raise InputError("no model to explain: give a model directory or a model spec (hf:, sklearn:, python:)")
        trained = TrainedModel.load(model_dir, device=device)
        settings = replace(settings, train=replace(settings.train, model=trained.name))
        model_name, max_len = trained.name, trained.max_len
    else:
        settings = replace(settings, model_spec=str(model.spec))
        model_name, max_len = model.name, None
    # a model trained with entity tokens is explained with them, one without on plain words
    entity_tokens = trained is not None and trained.entity_tokens
    if settings.entity_tokens and not entity_tokens:
        log.warning(
            "entity tokens asked for, but %s was not trained with them: explaining its plain-word input",
            f"the model in {model_dir}" if trained is not None else "a user's own model",
        )
    settings = replace(settings, entity_tokens=entity_tokens)
    settings.check()
    return settings, trained, model, model_name, max_len


def _entity_token_input(
    store: TripleStore,
    kg_graph: NamedNode,
    lexicon: Lexicon,
    texts: list[str],
    trained: TrainedModel,
    max_len: int | None,
    settings: Settings,
) -> tuple[TrainedModel, list[list[tuple[int, int]]], list[list[str]], list[list[Mention]]]:
    """Issue #18: the texts grounded first, on their whole text, for a model that reads entity tokens: the model
    given this grounding's inputs, each text's input positions (the words each stands for), its words up to where
    the model stops reading, and its mentions there."""
    words, cased_words = case_tokens(texts, settings)
    grounded = ground_documents(store, kg_graph, lexicon, texts, words, cased_words, settings)
    inputs = _entity_inputs(texts, grounded, trained.entity_inputs)
    trained = replace(trained, entity_inputs=inputs)
    positions = [inputs.merged(t)[1][:max_len] for t in texts]
    ends = [p[-1][1] if p else 0 for p in positions]
    tokens = [toks[:end] for toks, end in zip(words, ends, strict=True)]
    mentions = [[m for m in doc if m.end <= end] for doc, end in zip(grounded, ends, strict=True)]
    return trained, positions, tokens, mentions


def _model_record(model: ExternalModel) -> ModelRecord:
    return ModelRecord(model.name, model.source, model.digest, tuple(model.labels), model.tokenizer)


def _note_truncation(truncated: dict[str, tuple[int, int]], model: ExternalModel | None) -> None:
    """One warning per document a model read only in part (the first ``TRUNCATION_NOTES``), then a count."""
    limit = f"{model.max_tokens} pieces" if model is not None and model.max_tokens else "its length limit"
    for doc, (kept, total) in list(truncated.items())[:TRUNCATION_NOTES]:
        log.warning(
            "document %s is longer than the model reads (%s): relevance for its first %d of %d words",
            doc,
            limit,
            kept,
            total,
        )
    if len(truncated) > TRUNCATION_NOTES:
        log.warning(
            "… and %d more documents cut the same way (%d in all)", len(truncated) - TRUNCATION_NOTES, len(truncated)
        )


def target_index(target: str | None, classes: tuple[str, ...]) -> int | None:
    """The label index of ``--target CLASS`` (None: each document's predicted class). Two classes are always
    explained for the positive one (the paper's P(positive)), so there it may only name that class."""
    if target is None:
        return None
    if target not in classes:
        raise InputError(
            f"--target {target!r} is not a class of the dataset; its classes are {', '.join(repr(c) for c in classes)}"
        )
    if len(classes) == 2 and target != classes[1]:
        raise InputError(
            f"--target {target!r}: a two-class dataset is explained for its positive class "
            f"{classes[1]!r} (relevance below zero points to {classes[0]!r})"
        )
    return classes.index(target) if len(classes) > 2 else None


def _explain_classes(
    trained: TrainedModel | None,
    model: ExternalModel | None,
    texts: list[str],
    train_texts: list[str],
    classes: tuple[str, ...],
    target: int | None,
    settings: Settings,
    device: str,
    on_batch: Callable[[int], None],
) -> tuple[Attribution, np.ndarray, np.ndarray]:
    """Relevance of every text for one class each, for k > 2 classes (issue #19): its predicted class, or
    ``target`` for all. The paper's classifiers are binary; kgexplain reads k classes one-vs-rest, as the paper
    does for two: a kgexplain model is explained as ``TrainedModel.for_class`` (class c's logit against the mean
    of the others', under a sigmoid), a user's model for its probability of class c; the texts of each class go
    through the explainer together. Returns the attribution in text order (``predictions``: each text's explained
    score), each text's explained class and its predicted class (label indices)."""
    from ..models.training import predict

    if trained is not None:
        probabilities = predict(trained.model, trained.encode(texts)).numpy()
    else:
        indices = model.class_indices(classes)  # type: ignore[union-attr]
        probabilities = model.probabilities(texts)[:, indices]  # type: ignore[union-attr]
    predicted = probabilities.argmax(axis=1).astype(np.int64)
    explained = predicted if target is None else np.full(len(texts), target, dtype=np.int64)
    relevance: list[np.ndarray] = [np.zeros(0)] * len(texts)
    scores = np.zeros(len(texts), dtype=np.float32)
    truncated: dict[int, tuple[int, int]] = {}
    parts: list[Attribution] = []
    for c in np.unique(explained):
        rows = np.flatnonzero(explained == c)
        subset = [texts[i] for i in rows]
        if trained is not None:
            part = explain(
                trained.for_class(int(c)),
                subset,
                train_texts,
                settings.method,
                device=device,
                batch_size=settings.explain_batch_size,
                on_batch=on_batch,
                background=settings.shap_background,
                fallback=settings.fallback,
            )
        else:
            part = explain_external(
                model,  # type: ignore[arg-type]
                subset,
                settings.method,
                positive=model.class_indices(classes)[int(c)],  # type: ignore[union-attr]
                batch_size=settings.explain_batch_size,
                aggregation=settings.aggregation,
                max_evals=settings.max_evals,
                steps=settings.steps,
                on_batch=on_batch,
            )
        for j, i in enumerate(rows):
            relevance[i] = part.relevance[j]
            scores[i] = part.predictions[j]
        truncated.update({int(rows[j]): cut for j, cut in part.truncated.items()})
        parts.append(part)
        log.info("explained %d texts for class %r (%s)", len(rows), classes[int(c)], part.method)
    expected = parts[0].expected_value if len(parts) == 1 else float("nan")
    attribution = Attribution(
        parts[0].method if parts else settings.method,
        relevance,
        scores,
        expected,
        max((p.max_additivity_error for p in parts), default=0.0),
        parts[0].reference if parts else "",
        truncated,
    )
    return attribution, explained, predicted


def document_heatmap_data(store: TripleStore, dataset: str, doc_id: str, settings: Settings) -> dict[str, Any]:
    """Tokens, relevance and mentions of one document in the latest attribution run, for ``heatmap``."""
    minter = Minter(settings.base_iri)
    run, graph = latest_run(store, "AttributionRun", dataset, settings)
    doc = NamedNode(minter.document(dataset, doc_id))
    tokens = store.select(load_query("explain/document_tokens"), run_graph=NamedNode(graph), doc=doc)
    if tokens.height == 0:
        raise InputError(f"no document {doc_id!r} in the latest attribution run of {dataset!r} ({run})")
    mentions = store.select(
        load_query("explain/document_mentions"), run_graph=NamedNode(graph), kg=minter.kg_graph(dataset), doc=doc
    )
    spans = [
        (int(r["start"]), int(r["end"]), r["entity"], r["label"] or r["entity"].rsplit("/", 1)[-1])
        for r in mentions.iter_rows(named=True)
    ]
    score = float(tokens["score"][0])
    labelled = store.select(load_query("explain/document_explained_label"), run_graph=NamedNode(graph), doc=doc)
    explained = labelled["explained"][0] if labelled.height else None
    # two classes: P(positive); more (issue #19): the probability of the class the document is explained for
    target = dataset_classes(store, dataset, settings)[int(explained)] if explained is not None else None
    return {
        "tokens": tokens["surface"].to_list(),
        "scores": tokens["relevance"].cast(pl.Float64).to_list(),
        "mentions": spans,
        "title": f"{doc_id}: P({target or 'positive'}) = {score:.3f}",
        "subtitle": f"run {run}",
        "run": run,
        "score": score,
        "explained": target,
    }


def explainer_agreement(store: TripleStore, dataset: str, settings: Settings) -> pl.DataFrame:
    """Spearman rank agreement of token relevance, per document, between the latest attribution run of
    each (model, method) on ``dataset``: columns method_a, method_b, document, spearman."""
    from ..attribution.heatmap import agreement_report

    minter = Minter(settings.base_iri)
    runs = store.select(
        load_query("catalog/attribution_runs"),
        catalog=minter.catalog_graph(),
        dataset=NamedNode(minter.dataset(dataset)),
    )
    latest = runs.unique(subset=["model", "method"], keep="first", maintain_order=True) if runs.height else runs
    if latest.height < 2:
        raise InputError(
            f"agreement needs attribution runs of at least two explainers on {dataset!r}, "
            f"found {latest.height}; run `kgexplain explain --method …` again with another method"
        )
    methods: dict[str, list[list[float]]] = {}
    docs: list[str] | None = None
    for row in latest.iter_rows(named=True):
        tokens = store.select(load_query("explain/run_tokens"), run_graph=NamedNode(row["graph"]))
        grouped = (
            tokens.sort("doc", "position")
            .group_by("doc", maintain_order=True)
            .agg(pl.col("relevance").cast(pl.Float64))
        )
        order = grouped["doc"].to_list()
        if docs is None:
            docs = order
        elif order != docs:
            raise InputError(f"attribution runs of {dataset!r} cover different documents; cannot compare them")
        methods[f"{row['model']}/{row['method']}"] = grouped["relevance"].to_list()
    return agreement_report(methods, [d.rsplit("/", 1)[-1] for d in docs or []])
