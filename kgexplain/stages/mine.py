"""The mine stage: entity influence from the latest attribution run's training mentions (``occurrences``,
``class_influence`` for more than two classes), transactions of knowledge-graph items per entity
(``transactions``), frequent itemsets and the rules they give, pruned and published (checked against the
shapes) as one mining run graph. ``mining_input`` is what mining reads from the store, reused by the evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import cast

import numpy as np
import polars as pl
from pyoxigraph import NamedNode

from ..config import Settings
from ..errors import InputError, StoreError, ValidationFailed
from ..mining.apriori import FrequentItemsets, apriori
from ..mining.influence import influence
from ..mining.pruning import prune
from ..mining.rules import InfluenceArrays, Item, Rule, rules_from_itemsets, score_itemsets
from ..publish.rdf import RunRecord, influence_triples, rule_triples, run_triples
from ..publish.shacl import validate
from ..queries import load_query
from ..results import split_terms
from ..runs import Progress, latest_run, new_run_id, no_progress, now, parallel
from ..runs import labels as kg_labels
from ..store import TripleStore, to_ntriples
from ..vocab import WD, WDT, Minter
from .load import dataset_classes

__all__ = [
    "MineResult",
    "mine_stage",
    "MiningInput",
    "mining_input",
    "transactions",
    "training_mentions",
    "occurrences",
    "class_influence",
    "best_rules",
]


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


def transactions(store: TripleStore, kg: NamedNode, entities: list[str], settings: Settings) -> pl.DataFrame:
    """One row per (entity, item): items (p, o) for facts (x, p, o) and (s, p) for facts (s, p, x).

    ``item_batch`` entities are bound per query (``VALUES``), each with its position so that rows come
    back keyed by a number rather than by the entity's IRI; batches run on ``QUERY_THREADS`` threads."""
    size = max(1, settings.item_batch)
    directions = {"mining/outgoing_items": "out", "mining/incoming_items": "in"}
    jobs = [(q, start) for q in directions for start in range(0, len(entities), size)]

    def run(job: tuple[str, int]) -> pl.DataFrame:
        query, start = job
        batch = entities[start : start + size]
        frame = store.select_terms(
            load_query(query), kg=kg, entity=[NamedNode(e) for e in batch], tid=list(range(start, start + len(batch)))
        )
        value = split_terms(frame["value"])
        part = pl.DataFrame(
            {
                "tid": split_terms(frame["tid"])["lex"].cast(pl.Int64),
                "direction": pl.Series([directions[query]] * frame.height, dtype=pl.String),
                "property": split_terms(frame["property"])["lex"],
                "value": value["lex"],
                "literal": value["kind"] == "literal",
            }
        )
        if directions[query] == "in":
            part = part.filter(value["kind"] == "iri")  # an (s, p) item needs an IRI s
        elif settings.drop_literals:
            part = part.filter(~part["literal"])
        return part

    parts = [f for f in parallel(run, jobs) if f.height]
    if not parts:
        return pl.DataFrame(
            schema={
                "entity": pl.String,
                "direction": pl.String,
                "property": pl.String,
                "value": pl.String,
                "literal": pl.Boolean,
            }
        )
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
    table: pl.DataFrame  # influence per entity (``mining.influence``), in transaction order
    entities: list[str]  # transaction i is entities[i]
    items: pl.DataFrame  # one row per (entity, item)
    frequent: FrequentItemsets
    vocab: list[Item]
    arrays: InfluenceArrays
    min_support: int = 1  # the threshold used: the settings' clamped to the transactions there are
    entity_documents: dict[str, list[str]] = field(default_factory=dict, repr=False)  # training documents
    scores: dict[str, np.ndarray] | None = field(default=None, repr=False)  # every measure, once
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
            self.scores = score_itemsets(
                self.frequent.encoded, self.frequent.matrix, self.frequent.n_transactions, self.arrays
            )
        candidates = rules_from_itemsets(
            self.frequent,
            self.vocab,
            self.arrays,
            scores=self.scores,
            min_confidence=settings.min_confidence,
            measure=measure,
        )
        return candidates, prune(candidates, measure)

    def _class_rules(self, settings: Settings, measure: str) -> tuple[list[Rule], list[Rule]]:
        """k > 2 classes (issue #19): the paper's rules per class c, one-vs-rest, as the paper does for two: c's
        influence makes the binary machinery's Pos rules, whose consequent is then c (its Neg rules say "not c",
        which names no class, and are dropped); pruning keeps to each class."""
        candidates: list[Rule] = []
        for name, arrays in self.class_arrays.items():
            if name not in self.class_scores and len(self.frequent):
                self.class_scores[name] = score_itemsets(
                    self.frequent.encoded, self.frequent.matrix, self.frequent.n_transactions, arrays
                )
            found = rules_from_itemsets(
                self.frequent,
                self.vocab,
                arrays,
                scores=self.class_scores.get(name),
                min_confidence=settings.min_confidence,
                measure=measure,
            )
            candidates += [replace(r, consequent=name) for r in found if r.consequent == "Pos"]
        return candidates, prune(candidates, measure)


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
    zero = absent.select(
        "entity",
        *(pl.lit(0, pl.Int64).alias(c) for c in ("n", "n_pos", "n_neg")),
        pl.lit(0.0).alias("sum_pos"),
        pl.lit(0.0).alias("sum_neg"),
        pl.lit(0, pl.Int64).alias("documents"),
        pl.lit(0.0).alias("r_pos"),
        pl.lit(0, pl.Int8).alias("tc"),
        pl.lit(0.0).alias("ts"),
    )
    if counted is None:
        return zero.sort("entity")
    return pl.concat([counted, zero.select(counted.columns)], how="vertical_relaxed").sort("entity")


def _influence_arrays(table: pl.DataFrame) -> InfluenceArrays:
    return InfluenceArrays(
        table["tc"].to_numpy().astype(np.int8),
        table["ts"].to_numpy().astype(float),
        table["n_pos"].to_numpy(),
        table["n_neg"].to_numpy(),
    )


def mining_input(
    store: TripleStore,
    dataset: str,
    settings: Settings,
    explain_run: str | None = None,
    progress: Progress = no_progress,
) -> MiningInput:
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
        raise InputError(
            f"the attribution run {explain_run} grounded no entity in training texts: "
            "nothing to mine (is the knowledge graph loaded for this dataset?)"
        )
    table = influence(occurrences(mentions), settings.theta)
    class_tables: dict[str, pl.DataFrame] = {}
    explained = store.select(load_query("mining/run_explained_labels"), run_graph=NamedNode(explain_graph))
    if explained.height:  # issue #19: more than two classes, each mined one-vs-rest
        classes = dataset_classes(store, dataset, settings)
        class_tables = {name: class_influence(mentions, explained, i, settings.theta) for i, name in enumerate(classes)}
    pairs = mentions.select("entity", "doc").unique().sort("entity", "doc")
    entity_documents = {
        str(e): docs for e, docs in pairs.group_by("entity", maintain_order=True).agg(pl.col("doc")).iter_rows()
    }
    entities = table["entity"].to_list()
    progress("mining", 1, 5)
    items = transactions(store, kg, entities, settings)
    progress("mining", 2, 5)
    index = {e: i for i, e in enumerate(entities)}
    keyed = items.with_columns(
        pl.col("entity").replace_strict(index, return_dtype=pl.Int64).alias("tid"),
        pl.struct("direction", "property", "value", "literal").alias("item"),
    )
    baskets = [[] for _ in entities] if keyed.height == 0 else _baskets(keyed, len(entities))
    min_support = min(settings.min_support, max(1, len(entities)))
    if settings.miner == "spark":
        from ..mining.spark import spark_itemsets

        frequent = spark_itemsets(baskets, min_support, settings.max_antecedent, master=settings.spark_master)
    else:
        frequent = apriori(baskets, min_support=min_support, max_len=settings.max_antecedent)
    progress("mining", 3, 5)
    vocab = [Item(d, p, v, bool(lit)) for d, p, v, lit in cast(list[tuple[str, str, str, bool]], frequent.items)]
    arrays = InfluenceArrays(
        table["tc"].to_numpy().astype(np.int8),
        table["ts"].to_numpy().astype(float),
        table["n_pos"].to_numpy(),
        table["n_neg"].to_numpy(),
    )
    for name, part in class_tables.items():  # every class table lists the same entities, in the same order
        if part["entity"].to_list() != entities:
            raise StoreError(f"the influence of class {name!r} covers other entities than the run's mentions")
    return MiningInput(
        explain_run,
        explain_graph,
        table,
        entities,
        items,
        frequent,
        vocab,
        arrays,
        min_support=min_support,
        entity_documents=entity_documents,
        class_tables=class_tables,
        class_arrays={name: _influence_arrays(part) for name, part in class_tables.items()},
    )


def training_mentions(
    store: TripleStore, run_graph: NamedNode, data_graph: NamedNode, split: str = "train"
) -> pl.DataFrame:
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
        pl.len().cast(pl.Int64).alias("n"),
        (r > 0).sum().cast(pl.Int64).alias("n_pos"),
        (r < 0).sum().cast(pl.Int64).alias("n_neg"),
        pl.when(r > 0).then(r).otherwise(0.0).sum().alias("sum_pos"),
        pl.when(r < 0).then(-r).otherwise(0.0).sum().alias("sum_neg"),
        pl.col("doc").n_unique().cast(pl.Int64).alias("documents"),
    )


def mine_stage(
    store: TripleStore,
    dataset: str,
    settings: Settings,
    progress: Progress = no_progress,
    explain_run: str | None = None,
) -> MineResult:
    settings.check()
    start_time, start = now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    kg = minter.kg_graph(dataset)
    mined = mining_input(store, dataset, settings, explain_run, progress)
    explain_run = mined.explain_run
    table, entities, frequent = mined.table, mined.entities, mined.frequent
    candidates, rules = mined.rules(settings)
    progress("mining", 4, 5)
    iris = sorted(
        {i.value for r in rules for i in r.antecedent if not i.literal}
        | {WD + i.property[len(WDT) :] for r in rules for i in r.antecedent if i.property.startswith(WDT)}
        | set(entities)
    )
    labels = kg_labels(store, kg, iris, settings.item_batch)
    entity_docs = mined.entity_documents
    run_id = new_run_id("mine")
    graph = minter.run_graph(run_id)
    record = RunRecord(
        run_id,
        "MiningRun",
        minter.dataset(dataset),
        graph.value,
        start_time,
        settings={
            "theta": float(settings.theta),
            "minConfidence": float(settings.min_confidence),
            "minSupport": int(mined.min_support),  # used, not asked for (clamped)
            "maxAntecedentLength": int(settings.max_antecedent),
            "measure": settings.measure,
            "miner": settings.miner,
            "transactions": len(entities),
        },
        links={"informedBy": explain_run, "kgGraph": kg.value},
    )
    record.ended = now()
    # issue #19: with more than two classes a consequent is the dataset's class (kgx:ClassLabel), by name
    classes = {name: minter.class_label(dataset, name) for name in mined.class_tables}
    if classes:
        table = pl.concat([part.with_columns(pl.lit(name).alias("class")) for name, part in mined.class_tables.items()])
    published = list(rule_triples(rules, run_id, minter, labels, entities, entity_docs, classes or None)) + list(
        run_triples(record, minter)
    )
    conformance = validate(b"".join(to_ntriples(published)))
    if not conformance.conforms:
        record.status = "failed"
        store.load(run_triples(record, minter), minter.catalog_graph())
        raise ValidationFailed(
            f"the rules of run {run_id} do not conform to ontology/shapes.ttl "
            f"({conformance.violations} violations):\n{conformance.report[:2000]}"
        )
    # the rules, their run's record and its catalog entry in one transaction: readers see all or nothing
    n = store.publish(
        {
            graph: published + list(influence_triples(table, run_id, minter, classes or None)),
            minter.catalog_graph(): list(run_triples(record, minter)),
        }
    )
    progress("mining", 5, 5)
    return MineResult(
        run_id,
        graph.value,
        explain_run,
        len(entities),
        len(frequent.items),
        len(frequent),
        len(candidates),
        rules,
        labels,
        table,
        n,
        conformance.conforms,
        time.perf_counter() - start,
        tuple(mined.class_tables),
    )


def _baskets(keyed: pl.DataFrame, n: int) -> list[list[tuple]]:
    baskets: list[list[tuple]] = [[] for _ in range(n)]
    for tid, direction, prop, value, literal in keyed.select(
        "tid", "direction", "property", "value", "literal"
    ).iter_rows():
        baskets[tid].append((direction, prop, value, bool(literal)))
    return baskets


def best_rules(result: MineResult, per_class: int | None = None) -> list[Rule]:
    """Rules best first by the run's measure; ``per_class`` keeps that many of each class."""
    if per_class is None:
        return list(result.rules)
    kept: list[Rule] = []
    for cls in dict.fromkeys(["Pos", "Neg", *(r.consequent for r in result.rules)]):  # k > 2: in rank order
        kept += [r for r in result.rules if r.consequent == cls][:per_class]
    return kept
