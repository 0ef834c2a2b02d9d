"""The pipeline's stages as plain functions over a ``TripleStore``.

load → train → explain → mine → export. Each stage reads what it needs from the store (and the model
directory) and writes one named graph, so any stage can be re-run alone. Every write goes through
``store.Staging``: a run's graph stays private (out of ``public_graphs``) until one update makes it public
together with its catalog entry, and ``load`` swaps the knowledge graph and the dataset graph in by one
update too. So readers never see a half-written run, and a stage that fails, is interrupted or is killed
(``kill -9``) leaves the store with its earlier results, as they were.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import polars as pl
from pyoxigraph import NamedNode, RdfFormat

from .attribution.base import Attribution
from .attribution.explainers import check_applicable, explain
from .attribution.external import explain_external
from .attribution.grounding import (
    PLACE_OVER_NAME_BELOW,
    Lexicon,
    Mention,
    disambiguate,
    first_occurrences,
    given_names,
    ground,
    person_names,
)
from .errors import InputError, StoreError, ValidationFailed
from .loaders.datasets import Dataset, dataset_triples
from .mining.apriori import FrequentItemsets, apriori
from .mining.influence import influence
from .mining.pruning import prune
from .mining.rules import MEASURES, InfluenceArrays, Item, Rule, rules_from_itemsets, score_itemsets
from .models.external import ExternalModel, load_model
from .models.training import (
    DEFAULT_EPOCHS,
    EntityInputs,
    TrainedModel,
    TrainResult,
    TrainSettings,
    resolve_device,
    train_model,
)
from .publish.export import DEFAULT_ENDPOINT_URL, EXPORT_FORMATS, export_rules
from .publish.rdf import (
    ModelRecord,
    RunRecord,
    activation_triples,
    influence_triples,
    mention_ntriples,
    rule_triples,
    run_triples,
    token_ntriples,
)
from .publish.shacl import validate
from .queries import load_query
from .results import split_terms
from .store import RawTriple, Staging, TripleStore, to_ntriples
from .text import is_cased_corpus, normalize, tokenize, tokenize_cased
from .vocab import DEFAULT_BASE, KGX, WD, WDT, Minter

__all__ = [
    "Settings", "PRESETS", "Progress", "LoadResult", "ExplainResult", "MineResult",
    "load_stage", "train_stage", "explain_stage", "activations_stage", "ActivationsResult", "read_activations", "mine_stage", "export_stage", "read_documents",
    "latest_run", "best_rules", "MiningInput", "mining_input", "dataset_classes", "class_influence", "target_index", "document_heatmap_data", "explainer_agreement", "transactions", "training_mentions", "occurrences", "AGGREGATIONS", "STOP_CLASSES", "CALENDAR_CLASSES", "CALENDAR_ENTITIES", "NAME_CLASSES", "PERSON_CLASSES", "OCCURRENCES", "DISAMBIGUATIONS", "EXPORT_FORMATS", "KG_FILTERS",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]   # (task description, completed so far, total)


def _no_progress(_task: str, _advance: int, _total: int | None) -> None:
    return None


#: Classes whose instances (and their subclasses' instances: wdt:P31/wdt:P279*) are never grounded: names
#: match ordinary words, and a disambiguation page is no entity.
STOP_CLASSES: tuple[str, ...] = tuple(WD + q for q in (
    "Q202444",     # given name
    "Q12308941",   # male given name
    "Q11879590",   # female given name
    "Q3409032",    # unisex given name
    "Q101352",     # family name
    "Q4167410",    # Wikimedia disambiguation page
))

#: Calendar words: the labels of these classes' instances (months, weekdays) ground nothing at all, neither
#: the month nor another item labelled the same ("September", a singer; "June", a film).
CALENDAR_CLASSES: tuple[str, ...] = tuple(WD + q for q in (
    "Q5151",       # month (calendar month Q47018901, month of the Gregorian calendar Q18602249 are subclasses)
    "Q47018901",   # calendar month (listed as well, for dumps without its P279)
    "Q41825",      # day of the week
))
#: The months and weekdays by item, for KGs that leave them without P31 (the shared Wikidata subset: 11 of
#: the 12 months), so that no calendar class reaches them.
CALENDAR_ENTITIES: tuple[str, ...] = tuple(WD + q for q in (
    "Q108", "Q109", "Q110", "Q118", "Q119", "Q120", "Q121", "Q122", "Q123", "Q124", "Q125", "Q126",   # months
    "Q105", "Q127", "Q128", "Q129", "Q130", "Q131", "Q132",                                            # weekdays
))

#: Classes whose instances' labels are names (given names, family names), and the class of people whose
#: labels give the first names (``grounding.given_names``) that mark a person name in a text.
NAME_CLASSES: tuple[str, ...] = (WD + "Q202444", WD + "Q101352")
PERSON_CLASSES: tuple[str, ...] = (WD + "Q5",)

#: How ``explain`` reads an entity's mentions in a document, and resolves a key several entities share.
OCCURRENCES = ("all", "first-per-document")
DISAMBIGUATIONS = ("context", "degree")

@dataclass
class Settings:
    """Every knob of a pipeline run. ``PRESETS`` hold named sets of settings (mining, and the paper's
    attribution reference and model input)."""

    base_iri: str = DEFAULT_BASE
    train: TrainSettings = field(default_factory=TrainSettings)
    method: str = "shap"
    fallback: str | None = None
    #: SHAP reference (``shap_deep.parse_background``): mean, zero, full, or N (the first N training texts as N
    #: references, kept as a string: "500")
    shap_background: str = "mean"
    #: Entity tokens (issue #18): each grounded span is one token, the entity's IRI (``vocab.entity_token``), in
    #: the model's input for training and explaining, as the paper's word2vec input was; the RDF, heatmaps and
    #: mining keep the original words (``text.spread_over_words``). A model records it; explaining follows it.
    entity_tokens: bool = False
    explain_batch_size: int = 64
    aggregation: str = "sum"
    theta: float = 0.8
    measure: str = "H"
    min_confidence: float = 0.75
    min_support: int = 5
    max_antecedent: int = 3
    drop_literals: bool = False
    kg_filter: str = "neighbourhood"
    item_batch: int = 1000
    miner: str = "apriori"                # or "spark": Spark ML FPGrowth (mining.spark), same itemsets
    spark_master: str = "local[*]"
    exclude_entities: tuple[str, ...] = ()
    #: cased: a mention must start with a capital; any: case is ignored; auto: cased unless the texts are
    #: lower-cased (text.is_cased_corpus)
    ground_case: str = "auto"
    stop_classes: tuple[str, ...] = STOP_CLASSES
    calendar_classes: tuple[str, ...] = CALENDAR_CLASSES
    calendar_entities: tuple[str, ...] = CALENDAR_ENTITIES
    #: all: every mention of an entity in a document; first-per-document: only its first (a hyperlink-like
    #: reading: Wikipedia links a name once, and the paper's painters mentions are Wikipedia links)
    occurrences: str = "all"
    #: degree: an ambiguous key goes to the entity with most facts; context (grounding.disambiguate): the
    #: same, unless that one shares no fact with the document's other entities and another candidate does
    disambiguation: str = "context"
    ground_name_parts: bool = False   # True: "John" in "John Miller" may ground alone (to John Lasseter)
    activation_layers: tuple[str, ...] = ()   # () = the model's own list (models.activations.default_layers)
    activation_bins: int = 4
    activation_threshold: float = 0.0
    activation_binarize: str = "auto"          # models.activations.neuron_thresholds
    activation_top_tokens: int = 5             # tokens that drive each neuron, published with it (0: none)
    # a user's own model (issue #19; models.external): explained as it is, never trained
    model_spec: str | None = None              # hf:DIR, sklearn:FILE or python:MODULE:FUNCTION
    labels: tuple[str, ...] = ()               # names of its outputs, in order (default: the model's own)
    max_evals: int = 500                       # shap Partition: model calls per document
    steps: int | None = None                   # hf: integrated-gradients steps / GradientSHAP samples (None: 64 / 50)
    #: k > 2 classes (issue #19): the class every document is explained for (None: each one's predicted class)
    target: str | None = None

    def with_preset(self, name: str) -> Settings:
        if name not in PRESETS:
            raise InputError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
        return replace(self, **PRESETS[name])

    def check(self) -> None:
        from .attribution.shap_deep import parse_background

        parse_background(self.shap_background)
        if self.measure not in MEASURES:
            raise InputError(f"unknown measure {self.measure!r}; use one of {', '.join(MEASURES)}")
        if self.model_spec:   # a user's own model (issue #19): its kind decides which methods apply
            from .models.external import check_method, parse_spec

            check_method(parse_spec(self.model_spec).kind, self.method)
        else:
            check_applicable(self.train.model, self.method)
            if self.fallback is not None:
                check_applicable(self.train.model, self.fallback)
        if self.max_evals < 3:
            raise InputError(f"--max-evals must be at least 3, got {self.max_evals}")
        if self.steps is not None and self.steps < 1:
            raise InputError(f"--steps must be at least 1, got {self.steps}")
        if self.aggregation not in AGGREGATIONS:
            raise InputError(f"unknown aggregation {self.aggregation!r}; use one of {', '.join(AGGREGATIONS)}")
        if self.ground_case not in ("auto", "cased", "any"):
            raise InputError(f"unknown --ground-case {self.ground_case!r}; use auto, cased or any")
        if self.occurrences not in OCCURRENCES:
            raise InputError(f"unknown --occurrences {self.occurrences!r}; use one of {', '.join(OCCURRENCES)}")
        if self.disambiguation not in DISAMBIGUATIONS:
            raise InputError(f"unknown --disambiguation {self.disambiguation!r}; "
                             f"use one of {', '.join(DISAMBIGUATIONS)}")
        if self.kg_filter not in KG_FILTERS:
            raise InputError(f"unknown --kg-filter {self.kg_filter!r}; use one of {', '.join(KG_FILTERS)}")
        if self.miner not in ("apriori", "spark"):
            raise InputError(f"unknown miner {self.miner!r}; use apriori or spark")
        if self.min_support < 1:
            raise InputError(f"min_support must be ≥ 1 entity, got {self.min_support}")
        if self.max_antecedent < 1:
            raise InputError(f"max antecedent length must be ≥ 1, got {self.max_antecedent}")
        if not 0.5 < self.theta <= 1.0:
            raise InputError(f"theta must be in (0.5, 1.0], got {self.theta}")
        if not 1 <= self.activation_bins <= 36:
            raise InputError(f"activation bins must be between 1 and 36, got {self.activation_bins}")
        if self.activation_binarize not in ("auto", "threshold"):
            raise InputError(f"unknown binarization rule {self.activation_binarize!r}; use auto or threshold")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise InputError(f"min confidence must be in [0, 1], got {self.min_confidence}")


#: The paper's exact settings, and ours (see README: "Defaults"). The paper's: Table 1's θ = 1.0 and
#: confmin = 0.75; its SHAP reference, App. A.2: "As reference for the SHAP/DeepExplainer explanations for
#: both models trained on Wikipedia abstracts we used the average of the first 500 instances from the
#: respective training sets." (DeepExplainer given those 500 as background averages over them: "500"); and its
#: model input, Sec. 6: word2vec "trained using the complete Wikipedia corpus with explicit references of
#: Wikidata IRIs", each link one IRI token (``entity_tokens``). A stage reads the settings it uses and
#: ignores the rest, so ``mine --preset paper`` is the paper's mining.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {"theta": 0.8, "min_confidence": 0.75, "measure": "H"},
    "paper": {"theta": 1.0, "min_confidence": 0.75, "measure": "H", "shap_background": "500",
              "entity_tokens": True},
}

AGGREGATIONS: dict[str, Callable[[np.ndarray], float]] = {"sum": np.sum, "mean": np.mean, "max": np.max}

#: How the load stage cuts a dump: ``neighbourhood`` keeps the named entities' facts, the facts that point
#: at them (the paper's items are ``{(s,p) | (s,p,t) ∈ G} ∪ {(p,o) | (t,p,o) ∈ G}``: both directions) and
#: their neighbours' labels and classes; ``outgoing`` leaves out the facts that point at them (smaller,
#: for a full dump where many items point at the named ones); ``none`` loads the whole dump.
KG_FILTERS = ("neighbourhood", "outgoing", "none")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_run_id(kind: str) -> str:
    return f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


# ---------------------------------------------------------------------------------------------------
# load


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
            keys.update(" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1))
    return keys


def _cut_dump(kg: Path, out: Path, dataset: Dataset, settings: Settings,
              progress: Progress) -> tuple[str, int, list[tuple[int, str]]]:
    """Streams the dump into ``out`` (N-Triples): all of it, or the neighbourhood the texts need."""
    from .loaders.wikidata import copy_all, cut_neighbourhood
    from .text import normalize

    task = f"reading {kg.name}"
    progress(task, 0, kg.stat().st_size)

    def on_bytes(done: int, total: int) -> None:
        progress(task, done, total)

    if settings.kg_filter == "none":
        report = copy_all(kg, out, on_progress=on_bytes)
        return report.summary(), report.malformed, report.malformed_examples
    cut = cut_neighbourhood(kg, out, _text_keys(dataset), normalize, on_progress=on_bytes,
                            incoming=settings.kg_filter == "neighbourhood")
    summary = (f"{cut.report.summary()}; {cut.candidates:,} entities named in the texts, "
               f"{cut.incoming:,} facts about them held by others, {cut.neighbours:,} neighbours")
    return summary, cut.report.malformed, cut.report.malformed_examples


def load_stage(store: TripleStore, dataset: Dataset, kg: Path | list[RawTriple], settings: Settings,
               progress: Progress = _no_progress) -> LoadResult:
    """Puts the documents and the knowledge graph the task needs into the store.

    A dump is cut (see ``_cut_dump``) into a temporary file first, so an unreadable or useless dump
    fails before the store is touched; then both graphs are loaded under staging names and swapped in by
    one update (``Staging``): a reader sees the old knowledge graph and dataset, or the new ones."""
    from .loaders.wikidata import open_dump

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
            open_dump(kg).close()   # fails early, with the file name, if unreadable
            source = Path(tmp) / "kg.nt"
            summary, malformed, examples = _cut_dump(kg, source, dataset, settings, progress)
            if source.stat().st_size == 0:
                raise InputError(f"{kg.name}: no usable triple for this dataset ({summary}); "
                                 "is it a Wikidata dump whose labels match the texts?")
        # A graph the store does not hold yet is written in place (kept private until the commit); only one
        # that is there already is staged and moved over, which costs a copy of it inside the store.
        present = [g for g in (kg_graph, data_graph) if store.ask(f"ASK {{ GRAPH {g} {{ ?s ?p ?o }} }}")]
        absent = [g for g in (kg_graph, data_graph) if g not in present]
        with Staging(store, new=absent, replaced=present) as staging:
            kg_triples = store.load(source, staging.target(kg_graph),
                                    RdfFormat.N_TRIPLES if isinstance(source, Path) else None)
            store.load(dataset_triples(dataset, minter), staging.target(data_graph))
            staging.commit()
        if not isinstance(kg, Path):
            summary = f"built-in knowledge graph: {kg_triples:,} triples"
    store.optimize()   # compact once after the big loads: later queries run about twice as fast
    summary = "; ".join([*dataset.notes, summary])
    return LoadResult(dataset.name, len(dataset.docs), kg_triples, summary, malformed, examples,
                      time.perf_counter() - start)


def read_documents(store: TripleStore, dataset: str, settings: Settings) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The dataset's documents and its class names in label order: (negative, positive), or more than two
    (issue #19)."""
    minter = Minter(settings.base_iri)
    graph = minter.dataset_graph(dataset)
    frame = store.select(load_query("data/documents"), graph=graph)
    if frame.height == 0:
        raise InputError(f"no documents of dataset {dataset!r} in the {store.description}; run `kgexplain load` first")
    return frame, dataset_classes(store, dataset, settings)


# ---------------------------------------------------------------------------------------------------
# train


def train_stage(store: TripleStore, dataset: str, model_dir: Path, settings: Settings,
                progress: Progress = _no_progress) -> TrainResult:
    resolve_device(settings.train.device)
    docs, classes = read_documents(store, dataset, settings)
    train = docs.filter(pl.col("split") == "train")
    test = docs.filter(pl.col("split") == "test")
    epochs = settings.train.epochs or DEFAULT_EPOCHS[settings.train.model]
    inputs = None
    if settings.entity_tokens:   # issue #18: grounded as the explain stage grounds them, every split at once
        progress("grounding entity tokens", 0, 1)
        texts = docs["text"].to_list()
        kg_graph = Minter(settings.base_iri).kg_graph(dataset)
        tokens, cased = _case_tokens(texts, settings)
        mentions = _ground_documents(store, kg_graph, _lexicon(store, kg_graph, settings), texts, tokens, cased,
                                     settings)
        inputs = EntityInputs.of(texts, _entity_spans(mentions))
        spans = sum(len(m) for m in mentions)
        if not spans:
            log.warning("--entity-tokens: no entity of the knowledge graph of %r is mentioned in its %d texts; "
                        "the model reads plain words", dataset, len(texts))
        log.info("entity tokens: %d spans of %d entities in %d of %d texts", spans,
                 len({m.entity for doc in mentions for m in doc}), sum(1 for m in mentions if m), len(texts))
        progress("grounding entity tokens", 1, 1)
    progress("training", 0, epochs)
    trained, result = train_model(
        train["text"].to_list(), train["label"].to_list(), settings.train,
        test["text"].to_list(), test["label"].to_list(),
        on_epoch=lambda epoch, _row: progress("training", epoch, epochs), entity_inputs=inputs,
        n_classes=len(classes))
    trained.save(model_dir)
    (model_dir / "training.json").write_text(json.dumps(asdict(result), indent=2))
    return result


# ---------------------------------------------------------------------------------------------------
# explain


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
    frame = store.select(load_query("kg/instances_of_classes"), kg=kg_graph,
                         **{"class": [NamedNode(c) for c in classes]})
    return set(frame["entity"].to_list()) if frame.height else set()


def _lexicon(store: TripleStore, kg_graph: NamedNode, settings: Settings) -> Lexicon:
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
        frame = _batched(store, "kg/entity_degree", kg_graph, entities, settings.item_batch)
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
    named = {e: text for e, text in _labels(store, kg_graph, things, max(1, settings.item_batch)).items()
             if normalize(text) in given}
    located = _batched(store, "kg/located_entities", kg_graph, sorted(named), max(1, settings.item_batch))
    places = set(located["entity"].to_list()) if located.height else set()
    lexicon.given_names = frozenset(given - {
        normalize(text) for e, text in named.items()
        if text.islower() or e in places and bearers.get(normalize(text), 0) < PLACE_OVER_NAME_BELOW})
    return lexicon


def _ground_documents(store: TripleStore, kg_graph: NamedNode, lexicon: Lexicon, texts: list[str],
                      tokens: list[list[str]], cased: list[list[str]] | None, settings: Settings) -> list[list[Mention]]:
    """Each document's mentions: ``ground`` (with the person names of its text when case is read), then,
    by ``settings``, ambiguous keys re-linked by context and only the first mention of each entity kept."""
    mentions = []
    for i, toks in enumerate(tokens):
        names = person_names(texts[i], lexicon.given_names) if cased is not None and lexicon.given_names else ()
        mentions.append(ground(toks, lexicon, cased[i] if cased is not None else None, names=names))
    if settings.disambiguation == "context":
        contested = sorted({e for doc in mentions for m in doc if m.surface in lexicon.candidates
                            for e in lexicon.candidates[m.surface]})
        frames = [_batched(store, f"kg/entity_neighbours_{way}", kg_graph, contested, max(1, settings.item_batch))
                  for way in ("out", "in")]
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


def _case_tokens(texts: list[str], settings: Settings) -> tuple[list[list[str]], list[list[str]] | None]:
    """The texts' tokens, and their cased tokens when grounding reads case (``settings.ground_case``)."""
    cased = settings.ground_case == "cased" or settings.ground_case == "auto" and is_cased_corpus(texts)
    return [tokenize(t) for t in texts], [tokenize_cased(t) for t in texts] if cased else None


def _entity_spans(mentions: list[list[Mention]]) -> list[list[tuple[int, int, str]]]:
    """Each document's mentions as entity-token spans (``models.training.EntityInputs``)."""
    from .vocab import entity_token

    return [[(m.start, m.end, entity_token(m.entity)) for m in doc] for doc in mentions]


def _entity_inputs(texts: list[str], mentions: list[list[Mention]], before: EntityInputs | None) -> EntityInputs:
    """The entity tokens of ``mentions`` (this grounding) for a model to read; a warning counts the texts
    grounded otherwise than when it was trained (``before``: the knowledge graph or the grounding settings
    changed since)."""
    inputs = EntityInputs.of(texts, _entity_spans(mentions))
    if before is not None:
        changed = sum(1 for t in texts if before.spans(t) is not None and before.spans(t) != inputs.spans(t))
        if changed:
            log.warning("%d of %d texts are grounded otherwise than when the model was trained (the knowledge "
                        "graph or the grounding settings changed); the model reads this grounding", changed,
                        len(texts))
    return inputs


def explain_stage(store: TripleStore, dataset: str, model_dir: Path | None, settings: Settings,
                  progress: Progress = _no_progress, *, model: ExternalModel | None = None) -> ExplainResult:
    """Explains every document of ``dataset`` with the model trained into ``model_dir`` or, with
    ``settings.model_spec`` (or ``model``, already loaded), the user's own model (issue #19)."""
    start_time, start = _now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    device = str(resolve_device(settings.train.device))
    # --- issue #19: a user's own model is loaded as it is; its labels must name the dataset's classes
    if model is None and settings.model_spec:
        model = load_model(settings.model_spec, device=device, labels=settings.labels or None,
                           max_tokens=settings.train.max_len)
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
    # --- issue #18: a model trained with entity tokens is explained with them, one without on plain words
    entity_tokens = trained is not None and trained.entity_tokens
    if settings.entity_tokens and not entity_tokens:
        log.warning("entity tokens asked for, but %s was not trained with them: explaining its plain-word input",
                    f"the model in {model_dir}" if trained is not None else "a user's own model")
    settings = replace(settings, entity_tokens=entity_tokens)
    settings.check()
    docs, classes = read_documents(store, dataset, settings)
    positive = model.class_indices(classes)[1] if model is not None else 1   # before anything is written
    multi = len(classes) > 2   # issue #19: each document explained for one class, one-vs-rest
    target = target_index(settings.target, classes)
    # --- end issue #19
    texts = docs["text"].to_list()
    train_texts = docs.filter(pl.col("split") == "train")["text"].to_list()
    done = [0]

    def on_batch(n: int) -> None:
        done[0] += n
        progress(f"explaining ({settings.method})", done[0], len(texts))

    progress(f"explaining ({settings.method})", 0, len(texts))
    kg_graph = minter.kg_graph(dataset)
    run_id = _new_run_id("explain")
    graph = minter.run_graph(run_id)
    documents = docs["doc"].to_list()
    tokens = [tokenize(t)[:max_len] for t in texts]
    cased_grounding = (settings.ground_case == "cased"
                       or settings.ground_case == "auto" and is_cased_corpus(texts))
    cased = [tokenize_cased(t)[:max_len] for t in texts] if cased_grounding else None
    # issue #18: with entity tokens the texts are grounded first (the model reads the mentions), on their
    # whole text; each input position stands for words ``positions[i][p]`` = (start, end), and its relevance
    # is spread back over them (``spread_over_words``); a mention's relevance is its one position's
    from .text import spread_over_words

    lexicon: Lexicon | None = None
    positions: list[list[tuple[int, int]]] | None = None
    entity_mentions: list[list[Mention]] = []
    if entity_tokens and trained is not None:
        lexicon = _lexicon(store, kg_graph, settings)
        words, cased_words = _case_tokens(texts, settings)
        grounded = _ground_documents(store, kg_graph, lexicon, texts, words, cased_words, settings)
        inputs = _entity_inputs(texts, grounded, trained.entity_inputs)
        trained = replace(trained, entity_inputs=inputs)
        positions = [inputs.merged(t)[1][:max_len] for t in texts]
        ends = [p[-1][1] if p else 0 for p in positions]
        tokens = [toks[:end] for toks, end in zip(words, ends, strict=True)]
        entity_mentions = [[m for m in doc if m.end <= end] for doc, end in zip(grounded, ends, strict=True)]
    # The store side runs beside torch (which, like polars and pyoxigraph, releases the GIL): one thread
    # builds the grounding lexicon while the documents are explained, another writes each explained batch's
    # tokens to the run graph while the next batch is explained. Both pools are left (their work finished)
    # before the Staging drops the graph of a failed run; until its commit, the graph is private.
    with (Staging(store, new=[graph]) as staging, ThreadPoolExecutor(1, "kgx-lexicon") as reader,
          ThreadPoolExecutor(1, "kgx-writer") as writer):
        pending_lexicon = reader.submit(_lexicon, store, kg_graph, settings) if lexicon is None else None
        loads: list[Future[int]] = []
        written = [0]   # documents handed to the writer so far
        # k > 2 classes (issue #19): per document the class its relevance is for, and the predicted class
        labelled: dict[str, np.ndarray] = {}

        def write_batch(rows: list[np.ndarray], predictions: np.ndarray) -> None:
            first = written[0]
            written[0] += len(rows)
            batch = slice(first, first + len(rows))
            if positions is not None:   # entity tokens: relevance back on the words
                rows = [spread_over_words(r, positions[first + k]) for k, r in enumerate(rows)]
            per_class = {name: values[batch] for name, values in labelled.items()}
            loads.append(writer.submit(lambda: store.load(token_ntriples(
                run_id, minter, documents[batch], tokens[batch], rows, predictions.copy(), first, **per_class),
                graph)))

        if multi:   # issue #19: explained class by class, then written in document order
            attribution, labelled["explained"], labelled["predicted"] = _explain_classes(
                trained, model, texts, train_texts, classes, target, settings, device, on_batch)
            for start in range(0, len(texts), max(1, settings.explain_batch_size)):
                stop = start + max(1, settings.explain_batch_size)
                write_batch(attribution.relevance[start:stop], attribution.predictions[start:stop])
        elif trained is not None:
            attribution = explain(trained, texts, train_texts, settings.method, device=device,
                                  batch_size=settings.explain_batch_size, on_batch=on_batch, on_rows=write_batch,
                                  background=settings.shap_background, fallback=settings.fallback)
        else:   # issue #19: rows stop where the model stops reading
            attribution = explain_external(model, texts, settings.method, positive=positive,  # type: ignore[arg-type]
                                           batch_size=settings.explain_batch_size, aggregation=settings.aggregation,
                                           max_evals=settings.max_evals, steps=settings.steps, on_batch=on_batch,
                                           on_rows=write_batch)
        truncated = {documents[i].rsplit("/", 1)[-1]: cut for i, cut in sorted(attribution.truncated.items())}
        _note_truncation(truncated, model)
        relevance = attribution.relevance
        if positions is not None:   # issue #18: one input position per mention; the words share its relevance
            relevance = [spread_over_words(r, p) for r, p in zip(relevance, positions, strict=True)]
            mentions, aggregate = entity_mentions, AGGREGATIONS["sum"]
        else:
            mentions = _ground_documents(store, kg_graph, pending_lexicon.result(), texts,  # type: ignore[union-attr]
                                         [toks[: len(rel)] for toks, rel in zip(tokens, relevance, strict=True)],
                                         cased, settings)
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
        record = RunRecord(run_id, "AttributionRun", minter.dataset(dataset), graph.value, start_time,
                           settings={"model": model_name, "method": attribution.method,
                                     "reference": attribution.reference,
                                     "expectedValue": attribution.expected_value if np.isfinite(
                                         attribution.expected_value) else None,
                                     "additivityError": attribution.max_additivity_error,
                                     "testAccuracy": test_accuracy, "maxTokens": read,
                                     "truncatedDocuments": len(truncated) if model is not None else None,
                                     "target": (settings.target or "predicted") if multi else None},
                           links={"kgGraph": kg_graph.value},
                           model=_model_record(model) if model is not None else None)
        record.ended = _now()
        n += store.load(run_triples(record, minter), graph)
        staging.commit({minter.catalog_graph(): run_triples(record, minter)})
    entities = {m.entity for doc_mentions in mentions for m in doc_mentions}
    return ExplainResult(run_id, attribution.method, graph.value, len(texts),
                         sum(len(r) for r in relevance), sum(len(m) for m in mentions),
                         sum(1 for m in mentions if m), len(entities), lexicon_keys,
                         attribution.max_additivity_error, test_accuracy, n, time.perf_counter() - start,
                         truncated)


def _model_record(model: ExternalModel) -> ModelRecord:
    return ModelRecord(model.name, model.source, model.digest, tuple(model.labels), model.tokenizer)


def _note_truncation(truncated: dict[str, tuple[int, int]], model: ExternalModel | None) -> None:
    """One warning per document a model read only in part (the first ``TRUNCATION_NOTES``), then a count."""
    limit = f"{model.max_tokens} pieces" if model is not None and model.max_tokens else "its length limit"
    for doc, (kept, total) in list(truncated.items())[:TRUNCATION_NOTES]:
        log.warning("document %s is longer than the model reads (%s): relevance for its first %d of %d words",
                    doc, limit, kept, total)
    if len(truncated) > TRUNCATION_NOTES:
        log.warning("… and %d more documents cut the same way (%d in all)", len(truncated) - TRUNCATION_NOTES,
                    len(truncated))


def target_index(target: str | None, classes: tuple[str, ...]) -> int | None:
    """The label index of ``--target CLASS`` (None: each document's predicted class). Two classes are always
    explained for the positive one (the paper's P(positive)), so there it may only name that class."""
    if target is None:
        return None
    if target not in classes:
        raise InputError(f"--target {target!r} is not a class of the dataset; its classes are "
                         f"{', '.join(repr(c) for c in classes)}")
    if len(classes) == 2 and target != classes[1]:
        raise InputError(f"--target {target!r}: a two-class dataset is explained for its positive class "
                         f"{classes[1]!r} (relevance below zero points to {classes[0]!r})")
    return classes.index(target) if len(classes) > 2 else None


def _explain_classes(trained: TrainedModel | None, model: ExternalModel | None, texts: list[str],
                     train_texts: list[str], classes: tuple[str, ...], target: int | None, settings: Settings,
                     device: str, on_batch: Callable[[int], None]) -> tuple[Attribution, np.ndarray, np.ndarray]:
    """Relevance of every text for one class each, for k > 2 classes (issue #19): its predicted class, or
    ``target`` for all. The paper's classifiers are binary; kgexplain reads k classes one-vs-rest, as the paper
    does for two: a kgexplain model is explained as ``TrainedModel.for_class`` (class c's logit against the mean
    of the others', under a sigmoid), a user's model for its probability of class c; the texts of each class go
    through the explainer together. Returns the attribution in text order (``predictions``: each text's explained
    score), each text's explained class and its predicted class (label indices)."""
    from .models.training import predict

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
            part = explain(trained.for_class(int(c)), subset, train_texts, settings.method, device=device,
                           batch_size=settings.explain_batch_size, on_batch=on_batch,
                           background=settings.shap_background, fallback=settings.fallback)
        else:
            part = explain_external(model, subset, settings.method,  # type: ignore[arg-type]
                                    positive=model.class_indices(classes)[int(c)],  # type: ignore[union-attr]
                                    batch_size=settings.explain_batch_size, aggregation=settings.aggregation,
                                    max_evals=settings.max_evals, steps=settings.steps, on_batch=on_batch)
        for j, i in enumerate(rows):
            relevance[i] = part.relevance[j]
            scores[i] = part.predictions[j]
        truncated.update({int(rows[j]): cut for j, cut in part.truncated.items()})
        parts.append(part)
        log.info("explained %d texts for class %r (%s)", len(rows), classes[int(c)], part.method)
    expected = parts[0].expected_value if len(parts) == 1 else float("nan")
    attribution = Attribution(parts[0].method if parts else settings.method, relevance, scores, expected,
                              max((p.max_additivity_error for p in parts), default=0.0),
                              parts[0].reference if parts else "", truncated)
    return attribution, explained, predicted


# ---------------------------------------------------------------------------------------------------
# activations


@dataclass
class ActivationsResult:
    run_id: str
    graph: str
    documents: int
    layers: dict[str, int]          # layer name -> neurons
    triples: int
    seconds: float


def activations_stage(store: TripleStore, dataset: str, model_dir: Path, settings: Settings,
                      progress: Progress = _no_progress) -> ActivationsResult:
    """Captures the activations of the model's layers for every document of ``dataset`` (forward hooks,
    one pass) and writes them, raw, binarized and binned, as one activation run graph."""
    from .models.activations import capture, top_tokens
    from .publish.rdf import activation_vector_triples

    settings.check()
    start_time, start = _now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    device = str(resolve_device(settings.train.device))
    trained = TrainedModel.load(model_dir, device=device)
    if trained.n_classes > 2:
        raise InputError(f"the {trained.name} model in {model_dir} has {trained.n_classes} classes: capturing its "
                         "activations needs models.activations.capture to read k outputs (issue #19), not done yet")
    docs, _classes = read_documents(store, dataset, settings)
    texts = docs["text"].to_list()
    done = [0]

    def on_batch(n: int) -> None:
        done[0] += n
        progress("activations", done[0], len(texts))

    progress("activations", 0, len(texts))
    captured = capture(trained, texts, settings.activation_layers or None, device=device, on_batch=on_batch)
    run_id = _new_run_id("activations")
    graph = minter.run_graph(run_id)
    record = RunRecord(run_id, "ActivationRun", minter.dataset(dataset), graph.value, start_time,
                       settings={"model": trained.name, "bins": settings.activation_bins,
                                 "activationThreshold": float(settings.activation_threshold),
                                 "binarization": settings.activation_binarize,
                                 "maxTokens": trained.max_len})
    documents, bins, threshold = docs["doc"].to_list(), settings.activation_bins, settings.activation_threshold
    # The document vectors, most of the run's triples, go to the store on a writer thread while the tokens
    # that drive each neuron are found (torch and pyoxigraph release the GIL); then the layers and neurons.
    # The writer is done before the Staging drops the graph of a failed run; until its commit, it is private.
    with Staging(store, new=[graph]) as staging, ThreadPoolExecutor(1, "kgx-writer") as writer:
        vectors = writer.submit(store.load, activation_vector_triples(
            run_id, minter, documents, captured.layers, bins, threshold, pooled=captured.pooled,
            rule=settings.activation_binarize), graph)
        top = None
        if settings.activation_top_tokens:
            pairs = sum(v.shape[1] for v in captured.layers.values()) * 10
            done[0] = 0

            def on_pairs(n: int) -> None:
                done[0] += n
                progress("tokens per neuron", done[0], pairs)

            top = top_tokens(trained, texts, captured, tokens=settings.activation_top_tokens, device=device,
                             on_batch=on_pairs)
            progress("tokens per neuron", pairs, pairs)
        n = vectors.result()
        n += store.load(activation_triples(run_id, minter, documents, captured.layers, bins, threshold, top,
                                           pooled=captured.pooled, rule=settings.activation_binarize,
                                           vectors=False), graph)
        record.ended = _now()
        n += store.load(run_triples(record, minter), graph)
        staging.commit({minter.catalog_graph(): run_triples(record, minter)})
    return ActivationsResult(run_id, graph.value, len(texts), {k: v.shape[1] for k, v in captured.layers.items()},
                             n, time.perf_counter() - start)


def read_activations(store: TripleStore, dataset: str, settings: Settings, form: str = "values",
                     run_graph: str | None = None) -> tuple[list[str], dict[str, np.ndarray]]:
    """The latest activation run of ``dataset`` back from the store: (document IRIs, per layer an
    (n_documents, n_neurons) matrix) — ``form`` = ``values`` (float32), ``active`` (bool) or ``binned``
    (uint8)."""
    from .models.activations import decode_bins, decode_flags, decode_values

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


# ---------------------------------------------------------------------------------------------------
# mine


@dataclass
class MineResult:
    run_id: str
    graph: str
    explain_run: str
    transactions: int
    items: int
    frequent_itemsets: int
    rules_before_pruning: int
    rules: list[Rule]
    entity_labels: dict[str, str]
    influence: pl.DataFrame
    triples: int
    conforms: bool
    seconds: float
    #: k > 2 (issue #19): the dataset's classes, each mined one-vs-rest (rule consequents are these names);
    #: empty for two classes (Pos and Neg)
    classes: tuple[str, ...] = ()


def document_heatmap_data(store: TripleStore, dataset: str, doc_id: str, settings: Settings) -> dict[str, Any]:
    """Tokens, relevance and mentions of one document in the latest attribution run, for ``heatmap``."""
    minter = Minter(settings.base_iri)
    run, graph = latest_run(store, "AttributionRun", dataset, settings)
    doc = NamedNode(minter.document(dataset, doc_id))
    tokens = store.select(load_query("explain/document_tokens"), run_graph=NamedNode(graph), doc=doc)
    if tokens.height == 0:
        raise InputError(f"no document {doc_id!r} in the latest attribution run of {dataset!r} ({run})")
    mentions = store.select(load_query("explain/document_mentions"), run_graph=NamedNode(graph),
                            kg=minter.kg_graph(dataset), doc=doc)
    spans = [(int(r["start"]), int(r["end"]), r["entity"], r["label"] or r["entity"].rsplit("/", 1)[-1])
             for r in mentions.iter_rows(named=True)]
    score = float(tokens["score"][0])
    return {"tokens": tokens["surface"].to_list(), "scores": tokens["relevance"].cast(pl.Float64).to_list(),
            "mentions": spans, "title": f"{doc_id}: P(positive) = {score:.3f}", "subtitle": f"run {run}",
            "run": run, "score": score}


def explainer_agreement(store: TripleStore, dataset: str, settings: Settings) -> pl.DataFrame:
    """Spearman rank agreement of token relevance, per document, between the latest attribution run of
    each (model, method) on ``dataset``: columns method_a, method_b, document, spearman."""
    from .attribution.heatmap import agreement_report

    minter = Minter(settings.base_iri)
    runs = store.select(load_query("catalog/attribution_runs"), catalog=minter.catalog_graph(),
                        dataset=NamedNode(minter.dataset(dataset)))
    latest = runs.unique(subset=["model", "method"], keep="first", maintain_order=True) if runs.height else runs
    if latest.height < 2:
        raise InputError(f"agreement needs attribution runs of at least two explainers on {dataset!r}, "
                         f"found {latest.height}; run `kgexplain explain --method …` again with another method")
    methods: dict[str, list[list[float]]] = {}
    docs: list[str] | None = None
    for row in latest.iter_rows(named=True):
        tokens = store.select(load_query("explain/run_tokens"), run_graph=NamedNode(row["graph"]))
        grouped = (tokens.sort("doc", "position").group_by("doc", maintain_order=True)
                   .agg(pl.col("relevance").cast(pl.Float64)))
        order = grouped["doc"].to_list()
        if docs is None:
            docs = order
        elif order != docs:
            raise InputError(f"attribution runs of {dataset!r} cover different documents; cannot compare them")
        methods[f"{row['model']}/{row['method']}"] = grouped["relevance"].to_list()
    return agreement_report(methods, [d.rsplit("/", 1)[-1] for d in docs or []])


def latest_run(store: TripleStore, kind: str, dataset: str, settings: Settings) -> tuple[str, str]:
    """(run IRI, graph IRI) of the newest completed run of ``kind`` on ``dataset``."""
    minter = Minter(settings.base_iri)
    frame = store.select(load_query("catalog/latest_run"), catalog=minter.catalog_graph(),
                         kind=NamedNode(KGX + kind), dataset=NamedNode(minter.dataset(dataset)))
    if frame.height == 0:
        step = {"AttributionRun": "explain", "ActivationRun": "activations"}.get(kind, "mine")
        raise InputError(f"no completed {kind} for dataset {dataset!r} in the {store.description}; "
                         f"run `kgexplain {step}` first")
    return frame["run"][0], frame["graph"][0]


#: Batched queries run this many at a time: both stores answer them outside the GIL (Oxigraph evaluates
#: and serializes in Rust, the remote store waits on the network), so two cores halve the wall time.
QUERY_THREADS = 4

T = TypeVar("T")
R = TypeVar("R")


def _parallel(fn: Callable[[T], R], jobs: list[T]) -> list[R]:
    """``fn`` over ``jobs`` on ``QUERY_THREADS`` threads; results in job order."""
    if len(jobs) <= 1:
        return [fn(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=QUERY_THREADS) as pool:
        return list(pool.map(fn, jobs))


def _batched(store: TripleStore, query: str, kg: NamedNode, entities: list[str], size: int) -> pl.DataFrame:
    """``query`` over ``entities`` bound ``size`` at a time, rows in entity order."""
    def run(start: int) -> pl.DataFrame:
        batch = [NamedNode(e) for e in entities[start:start + size]]
        return store.select(load_query(query), kg=kg, entity=batch)

    frames = [f for f in _parallel(run, list(range(0, len(entities), size))) if f.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _labels(store: TripleStore, kg: NamedNode, iris: list[str], size: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(iris), size):
        frame = store.select(load_query("kg/labels"), kg=kg, iri=[NamedNode(e) for e in iris[i:i + size]])
        if frame.height:
            out.update(zip(frame["iri"].to_list(), frame["label"].to_list(), strict=True))
    return out


def transactions(store: TripleStore, kg: NamedNode, entities: list[str], settings: Settings) -> pl.DataFrame:
    """One row per (entity, item): items (p, o) for facts (x, p, o) and (s, p) for facts (s, p, x).

    ``item_batch`` entities are bound per query (``VALUES``), each with its position so that rows come
    back keyed by a number rather than by the entity's IRI; batches run on ``QUERY_THREADS`` threads."""
    size = max(1, settings.item_batch)
    directions = {"mining/outgoing_items": "out", "mining/incoming_items": "in"}
    jobs = [(q, start) for q in directions for start in range(0, len(entities), size)]

    def run(job: tuple[str, int]) -> pl.DataFrame:
        query, start = job
        batch = entities[start:start + size]
        frame = store.select_terms(load_query(query), kg=kg, entity=[NamedNode(e) for e in batch],
                                   tid=list(range(start, start + len(batch))))
        value = split_terms(frame["value"])
        part = pl.DataFrame({
            "tid": split_terms(frame["tid"])["lex"].cast(pl.Int64),
            "direction": pl.Series([directions[query]] * frame.height, dtype=pl.String),
            "property": split_terms(frame["property"])["lex"],
            "value": value["lex"],
            "literal": value["kind"] == "literal",
        })
        if directions[query] == "in":
            part = part.filter(value["kind"] == "iri")      # an (s, p) item needs an IRI s
        elif settings.drop_literals:
            part = part.filter(~part["literal"])
        return part

    parts = [f for f in _parallel(run, jobs) if f.height]
    if not parts:
        return pl.DataFrame(schema={"entity": pl.String, "direction": pl.String, "property": pl.String,
                                    "value": pl.String, "literal": pl.Boolean})
    frame = pl.concat(parts)
    names = pl.Series("entity", entities, dtype=pl.String)
    frame = frame.select(names.gather(frame["tid"]).alias("entity"), "direction", "property", "value", "literal")
    return frame.unique().sort("entity", "direction", "property", "value")


@dataclass
class MiningInput:
    """What mining needs from the store, once per attribution run: influence per training entity, the
    transactions (items per entity) and their frequent itemsets. Rules per measure come from ``rules``."""

    explain_run: str
    explain_graph: str
    table: pl.DataFrame                 # influence per entity (``mining.influence``), in transaction order
    entities: list[str]                 # transaction i is entities[i]
    items: pl.DataFrame                 # one row per (entity, item)
    frequent: FrequentItemsets
    vocab: list[Item]
    arrays: InfluenceArrays
    min_support: int = 1                # the threshold used: the settings' clamped to the transactions there are
    entity_documents: dict[str, list[str]] = field(default_factory=dict, repr=False)   # training documents
    scores: dict[str, np.ndarray] | None = field(default=None, repr=False)   # every measure, once
    #: k > 2 classes (issue #19): per class name, its one-vs-rest influence (``class_influence``) as a table
    #: (in transaction order) and as arrays; rules are mined per class. Empty for two classes.
    class_tables: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)
    class_arrays: dict[str, InfluenceArrays] = field(default_factory=dict, repr=False)
    class_scores: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    def rules(self, settings: Settings, measure: str | None = None) -> tuple[list[Rule], list[Rule]]:
        """(rules before pruning, after pruning) under ``measure`` (default: the settings')."""
        measure = measure or settings.measure
        if self.class_arrays:
            return self._class_rules(settings, measure)
        if self.scores is None and len(self.frequent):
            self.scores = score_itemsets(self.frequent.encoded, self.frequent.matrix, self.frequent.n_transactions,
                                         self.arrays)
        candidates = rules_from_itemsets(self.frequent, self.vocab, self.arrays, scores=self.scores,
                                         min_confidence=settings.min_confidence, measure=measure)
        return candidates, prune(candidates, measure)

    def _class_rules(self, settings: Settings, measure: str) -> tuple[list[Rule], list[Rule]]:
        """k > 2 classes (issue #19): the paper's rules per class c, one-vs-rest, as the paper does for two: c's
        influence makes the binary machinery's Pos rules, whose consequent is then c (its Neg rules say "not c",
        which names no class, and are dropped); pruning keeps to each class."""
        candidates: list[Rule] = []
        for name, arrays in self.class_arrays.items():
            if name not in self.class_scores and len(self.frequent):
                self.class_scores[name] = score_itemsets(self.frequent.encoded, self.frequent.matrix,
                                                         self.frequent.n_transactions, arrays)
            found = rules_from_itemsets(self.frequent, self.vocab, arrays, scores=self.class_scores.get(name),
                                        min_confidence=settings.min_confidence, measure=measure)
            candidates += [replace(r, consequent=name) for r in found if r.consequent == "Pos"]
        return candidates, prune(candidates, measure)


def dataset_classes(store: TripleStore, dataset: str, settings: Settings) -> tuple[str, ...]:
    """The class names of a dataset in the store, in label order (``read_documents``' second value)."""
    graph = Minter(settings.base_iri).dataset_graph(dataset)
    names = store.select(load_query("data/class_names"), graph=graph)
    if names.height:
        return (str(names["negative"][0]), str(names["positive"][0]))
    listed = store.select(load_query("data/class_list"), graph=graph)
    return tuple(str(n) for n in listed["name"].to_list()) if listed.height > 2 else ("0", "1")


def class_influence(mentions: pl.DataFrame, explained: pl.DataFrame, index: int, theta: float) -> pl.DataFrame:
    """One class's influence table for k > 2 classes (issue #19), one-vs-rest, one row per entity of
    ``mentions`` (entity, doc, relevance); ``explained``: (doc, explained), the label each document's relevance is
    for. For class c, the occurrences Φ(c, e) are the mentions of e in documents explained for c, as they are
    (relevance above zero: evidence for c, below: against it), and its mentions that push a document explained
    for another class towards that class: evidence against c (their relevance negated). A mention that pushes a
    document away from another class says nothing about c and is no occurrence for c. An entity with no
    occurrence for c has none of its labels (TC 0, r+ 0). With ``--target c`` every document is explained for c
    and this is the paper's binary reading."""
    joined = mentions.join(explained.select("doc", pl.col("explained").cast(pl.Int64)), on="doc", how="left")
    r = pl.col("relevance").cast(pl.Float64)
    own = pl.col("explained") == index
    rows = joined.filter(own | (r > 0)).select("entity", "doc", pl.when(own).then(r).otherwise(-r).alias("relevance"))
    counted = influence(occurrences(rows), theta) if rows.height else None
    absent = mentions.select("entity").unique()
    if counted is not None:
        absent = absent.join(counted.select("entity"), on="entity", how="anti")
    zero = absent.select("entity", *(pl.lit(0, pl.Int64).alias(c) for c in ("n", "n_pos", "n_neg")),
                         pl.lit(0.0).alias("sum_pos"), pl.lit(0.0).alias("sum_neg"),
                         pl.lit(0, pl.Int64).alias("documents"), pl.lit(0.0).alias("r_pos"),
                         pl.lit(0, pl.Int8).alias("tc"), pl.lit(0.0).alias("ts"))
    if counted is None:
        return zero.sort("entity")
    return pl.concat([counted, zero.select(counted.columns)], how="vertical_relaxed").sort("entity")


def _influence_arrays(table: pl.DataFrame) -> InfluenceArrays:
    return InfluenceArrays(table["tc"].to_numpy().astype(np.int8), table["ts"].to_numpy().astype(float),
                           table["n_pos"].to_numpy(), table["n_neg"].to_numpy())


def mining_input(store: TripleStore, dataset: str, settings: Settings, explain_run: str | None = None,
                 progress: Progress = _no_progress) -> MiningInput:
    minter = Minter(settings.base_iri)
    if explain_run is None:
        explain_run, explain_graph = latest_run(store, "AttributionRun", dataset, settings)
    else:
        explain_graph = minter.run_graph(explain_run.rsplit("/", 1)[-1]).value
    data_graph = minter.dataset_graph(dataset)
    kg = minter.kg_graph(dataset)
    progress("mining", 0, 5)
    mentions = training_mentions(store, NamedNode(explain_graph), data_graph)
    if mentions.height == 0:
        raise InputError(f"the attribution run {explain_run} grounded no entity in training texts: "
                         "nothing to mine (is the knowledge graph loaded for this dataset?)")
    table = influence(occurrences(mentions), settings.theta)
    class_tables: dict[str, pl.DataFrame] = {}
    explained = store.select(load_query("mining/run_explained_labels"), run_graph=NamedNode(explain_graph))
    if explained.height:   # issue #19: more than two classes, each mined one-vs-rest
        classes = dataset_classes(store, dataset, settings)
        class_tables = {name: class_influence(mentions, explained, i, settings.theta)
                        for i, name in enumerate(classes)}
    pairs = mentions.select("entity", "doc").unique().sort("entity", "doc")
    entity_documents = {str(e): docs for e, docs in pairs.group_by("entity", maintain_order=True)
                        .agg(pl.col("doc")).iter_rows()}
    entities = table["entity"].to_list()
    progress("mining", 1, 5)
    items = transactions(store, kg, entities, settings)
    progress("mining", 2, 5)
    index = {e: i for i, e in enumerate(entities)}
    keyed = items.with_columns(pl.col("entity").replace_strict(index, return_dtype=pl.Int64).alias("tid"),
                               pl.struct("direction", "property", "value", "literal").alias("item"))
    baskets = [[] for _ in entities] if keyed.height == 0 else _baskets(keyed, len(entities))
    min_support = min(settings.min_support, max(1, len(entities)))
    if settings.miner == "spark":
        from .mining.spark import spark_itemsets

        frequent = spark_itemsets(baskets, min_support, settings.max_antecedent, master=settings.spark_master)
    else:
        frequent = apriori(baskets, min_support=min_support, max_len=settings.max_antecedent)
    progress("mining", 3, 5)
    vocab = [Item(d, p, v, bool(lit)) for d, p, v, lit in cast(list[tuple[str, str, str, bool]], frequent.items)]
    arrays = InfluenceArrays(table["tc"].to_numpy().astype(np.int8), table["ts"].to_numpy().astype(float),
                             table["n_pos"].to_numpy(), table["n_neg"].to_numpy())
    for name, part in class_tables.items():   # every class table lists the same entities, in the same order
        if part["entity"].to_list() != entities:
            raise StoreError(f"the influence of class {name!r} covers other entities than the run's mentions")
    return MiningInput(explain_run, explain_graph, table, entities, items, frequent, vocab, arrays,
                       min_support=min_support, entity_documents=entity_documents, class_tables=class_tables,
                       class_arrays={name: _influence_arrays(part) for name, part in class_tables.items()})


def training_mentions(store: TripleStore, run_graph: NamedNode, data_graph: NamedNode,
                      split: str = "train") -> pl.DataFrame:
    """(entity, doc, relevance) for every mention of the run in a document of ``split``."""
    mentions = store.select(load_query("mining/run_mentions"), run_graph=run_graph)
    if mentions.height == 0:
        return pl.DataFrame(schema={"entity": pl.String, "doc": pl.String, "relevance": pl.Float64})
    documents = store.select(load_query("data/split_documents"), data_graph=data_graph, split=split)
    if documents.height == 0:
        return mentions.clear()
    return mentions.join(documents.select("doc"), on="doc", how="semi")


def occurrences(mentions: pl.DataFrame) -> pl.DataFrame:
    """Per entity: the occurrence counts |Φ|, |Φ+|, |Φ−|, the summed relevance of each sign and the number of
    distinct documents, from (entity, doc, relevance) rows; what ``mining.influence`` takes."""
    r = pl.col("relevance").cast(pl.Float64)
    return mentions.group_by("entity").agg(
        pl.len().cast(pl.Int64).alias("n"), (r > 0).sum().cast(pl.Int64).alias("n_pos"),
        (r < 0).sum().cast(pl.Int64).alias("n_neg"), pl.when(r > 0).then(r).otherwise(0.0).sum().alias("sum_pos"),
        pl.when(r < 0).then(-r).otherwise(0.0).sum().alias("sum_neg"),
        pl.col("doc").n_unique().cast(pl.Int64).alias("documents"))


def mine_stage(store: TripleStore, dataset: str, settings: Settings, progress: Progress = _no_progress,
               explain_run: str | None = None) -> MineResult:
    settings.check()
    start_time, start = _now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    kg = minter.kg_graph(dataset)
    mined = mining_input(store, dataset, settings, explain_run, progress)
    explain_run = mined.explain_run
    table, entities, frequent = mined.table, mined.entities, mined.frequent
    candidates, rules = mined.rules(settings)
    progress("mining", 4, 5)
    iris = sorted({i.value for r in rules for i in r.antecedent if not i.literal}
                  | {WD + i.property[len(WDT):] for r in rules for i in r.antecedent if i.property.startswith(WDT)}
                  | set(entities))
    labels = _labels(store, kg, iris, settings.item_batch)
    entity_docs = mined.entity_documents
    run_id = _new_run_id("mine")
    graph = minter.run_graph(run_id)
    record = RunRecord(run_id, "MiningRun", minter.dataset(dataset), graph.value, start_time,
                       settings={"theta": float(settings.theta), "minConfidence": float(settings.min_confidence),
                                 "minSupport": int(mined.min_support),   # used, not asked for (clamped)
                                 "maxAntecedentLength": int(settings.max_antecedent),
                                 "measure": settings.measure, "miner": settings.miner,
                                 "transactions": len(entities)},
                       links={"informedBy": explain_run, "kgGraph": kg.value})
    record.ended = _now()
    # issue #19: with more than two classes a consequent is the dataset's class (kgx:ClassLabel), by name
    classes = {name: minter.class_label(dataset, name) for name in mined.class_tables}
    if classes:
        table = pl.concat([part.with_columns(pl.lit(name).alias("class"))
                           for name, part in mined.class_tables.items()])
    published = list(rule_triples(rules, run_id, minter, labels, entities, entity_docs, classes or None)) + list(
        run_triples(record, minter))
    conformance = validate(b"".join(to_ntriples(published)))
    if not conformance.conforms:
        record.status = "failed"
        store.load(run_triples(record, minter), minter.catalog_graph())
        raise ValidationFailed(f"the rules of run {run_id} do not conform to ontology/shapes.ttl "
                               f"({conformance.violations} violations):\n{conformance.report[:2000]}")
    # the rules, their run's record and its catalog entry in one transaction: readers see all or nothing
    n = store.publish({graph: published + list(influence_triples(table, run_id, minter, classes or None)),
                       minter.catalog_graph(): list(run_triples(record, minter))})
    progress("mining", 5, 5)
    return MineResult(run_id, graph.value, explain_run, len(entities), len(frequent.items), len(frequent),
                      len(candidates), rules, labels, table, n, conformance.conforms,
                      time.perf_counter() - start, tuple(mined.class_tables))


def _baskets(keyed: pl.DataFrame, n: int) -> list[list[tuple]]:
    baskets: list[list[tuple]] = [[] for _ in range(n)]
    for tid, direction, prop, value, literal in keyed.select("tid", "direction", "property", "value",
                                                             "literal").iter_rows():
        baskets[tid].append((direction, prop, value, bool(literal)))
    return baskets


def best_rules(result: MineResult, per_class: int | None = None) -> list[Rule]:
    """Rules best first by the run's measure; ``per_class`` keeps that many of each class."""
    if per_class is None:
        return list(result.rules)
    kept: list[Rule] = []
    for cls in dict.fromkeys(["Pos", "Neg", *(r.consequent for r in result.rules)]):   # k > 2: in rank order
        kept += [r for r in result.rules if r.consequent == cls][:per_class]
    return kept


# ---------------------------------------------------------------------------------------------------
# export

def export_stage(store: TripleStore, graph: str, output: Path, fmt: str = "turtle", *,
                 base_iri: str = DEFAULT_BASE, endpoint_url: str = DEFAULT_ENDPOINT_URL) -> int:
    """Writes one run graph to ``output`` in ``fmt`` (see ``publish.export``: Turtle, N-Triples,
    compacted JSON-LD, SWRL, SHACL rules or DCAT) through a temporary file; returns its triple count."""
    return export_rules(store, graph, output, fmt, base_iri=base_iri, endpoint_url=endpoint_url).triples
