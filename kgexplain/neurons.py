"""Neuron-level stages over a stored activation run: ExplaiNN rules between two layers, redescriptions between
neurons and knowledge-graph concepts (or another model's neurons), and neuron ↔ concept association rules
mined from SPARQL-generated itemsets. Each reads what it needs from the store and publishes one run graph
(rules or redescriptions, their run record and its catalog entry in one transaction).

*Concepts* of a document (``concept_view``) are what the knowledge graph says about it:

- ``mentions``: the entities the attribution run grounded in its text;
- ``fact``: the outgoing facts (p, v) of those entities (``mining/outgoing_items``, as for token rules);
- ``subject``: the outgoing facts of the document's own subject entity, linked by name where the
  identifier is a name (the painters' DBpedia names: normalised label, exact, unique match);
- ``label``: the gold class.

Concepts held by fewer than ``min_documents`` documents (or by all but that many) are left out: a
redescription or rule about them could not be significant.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl
from pyoxigraph import NamedNode

from .config import Settings
from .errors import InputError, ValidationFailed
from .mining.rules import Item
from .publish.neurons import concept_rule_triples, concept_triples, neuron_rule_triples, redescription_triples
from .publish.rdf import RunRecord, item_text, run_triples
from .publish.shacl import validate
from .queries import load_query
from .runs import Progress, latest_run, new_run_id, no_progress, now
from .runs import labels as kg_labels
from .stages.activations import read_activations
from .stages.load import dataset_classes, read_documents
from .stages.mine import transactions
from .store import RawTriple, TripleStore, to_ntriples
from .text import normalize
from .vocab import KGX, Minter, local_id

if TYPE_CHECKING:  # imported where used: the miners load scipy
    from .mining.explainn import NeuronRule
    from .mining.redescribe import Query, Redescription

__all__ = [
    "Concept",
    "ConceptView",
    "NeuronRun",
    "NeuronRulesResult",
    "concept_view",
    "activation_run",
    "hidden_layers",
    "neuron_names",
    "neuron_tokens",
    "explainn_stage",
    "ConceptRule",
    "ConceptRulesResult",
    "concept_rules",
    "concept_rules_stage",
    "RedescriptionsResult",
    "redescribe_stage",
    "query_text",
    "DEFAULT_MIN_DOCUMENTS",
    "PREDICTED",
    "Published",
    "publish_run",
    "read_layers",
]

log = logging.getLogger(__name__)
DEFAULT_MIN_DOCUMENTS = 10
_SET_BLOCK = 4096  # concept sets whose document sets are held at once (concept_rules)


@dataclass(frozen=True)
class Concept:
    """One column of the concept view: ``kind`` is mentions, fact, subject or label."""

    kind: str
    item: Item | None = None  # fact / subject: the (p, v) item; mentions: property "" and the entity
    value: str = ""  # label: the class name
    text: str = ""  # readable form

    @property
    def key(self) -> tuple[str, str, str]:
        if self.item is None:
            return (self.kind, "", self.value)
        return (self.kind, self.item.property, self.item.value)


@dataclass
class ConceptView:
    documents: list[str]  # document IRIs, in the activation run's order
    concepts: list[Concept]
    matrix: np.ndarray  # (documents, concepts) bool
    linked_subjects: int = 0  # documents whose subject entity was found in the KG
    ambiguous_subjects: int = 0


@dataclass
class NeuronRun:
    """An activation run of a dataset: its IRI and graph, the model it captured, its id."""

    run: str
    graph: str
    model: str

    @property
    def run_id(self) -> str:
        return local_id(self.run)


def activation_run(
    store: TripleStore, dataset: str, settings: Settings, model: str | None = None, run_id: str | None = None
) -> NeuronRun:
    """The newest activation run of ``dataset`` (of ``model`` if given), or the run ``run_id``."""
    minter = Minter(settings.base_iri)
    frame = store.select(
        load_query("catalog/activation_runs"),
        catalog=minter.catalog_graph(),
        dataset=NamedNode(minter.dataset(dataset)),
    )
    if run_id is not None:
        frame = frame.filter(pl.col("run").str.ends_with("/" + run_id)) if frame.height else frame
    elif model is not None and frame.height:
        frame = frame.filter(pl.col("model") == model)
    if frame.height == 0:
        what = f"run {run_id}" if run_id else f"model {model}" if model else "any model"
        raise InputError(
            f"no completed activation run of dataset {dataset!r} for {what} in the {store.description}; "
            "run `kgexplain activations` first"
        )
    row = frame.row(0, named=True)
    return NeuronRun(row["run"], row["graph"], str(row["model"]))


def neuron_names(layer: str, count: int) -> list[str]:
    return [f"{layer}#{i}" for i in range(count)]


def neuron_tokens(store: TripleStore, run: NeuronRun) -> dict[str, list[tuple[str, float]]]:
    """``{"layer#i": [(word, share), ...]}``: the tokens published with each neuron, best first."""
    frame = store.select(load_query("neurons/neuron_tokens"), run_graph=NamedNode(run.graph))
    out: dict[str, list[tuple[str, float]]] = {}
    for row in frame.iter_rows(named=True):
        out.setdefault(f"{row['layer']}#{row['index']}", []).append((row["word"], float(row["share"])))
    return out


def _subject_name(identifier: str) -> str:
    """A painter-style identifier (``Louis-François_Lejeune``, ``Jan_Both_(painter)``) as a name key."""
    name = urllib.parse.unquote(identifier).replace("_", " ")
    if name.endswith(")") and " (" in name:
        name = name[: name.rindex(" (")]
    return normalize(name)


def _subjects(store: TripleStore, kg: NamedNode, identifiers: list[str]) -> tuple[dict[int, str], int]:
    """Document position → its subject entity, by the exact normalised label; (found, ambiguous count)."""
    wanted = {i: _subject_name(ident) for i, ident in enumerate(identifiers)}
    keys = {k for k in wanted.values() if k.count(" ") >= 1}  # one word is not a name
    if not keys:
        return {}, 0
    rows = store.select(load_query("kg/lexicon"), kg=kg)
    by_key: dict[str, set[str]] = {}
    for entity, text in zip(rows["entity"].to_list(), rows["text"].to_list(), strict=True) if rows.height else []:
        key = normalize(text)
        if key in keys:
            by_key.setdefault(key, set()).add(entity)
    found = {i: next(iter(by_key[k])) for i, k in wanted.items() if len(by_key.get(k, ())) == 1}
    ambiguous = sum(1 for k in wanted.values() if len(by_key.get(k, ())) > 1)
    return found, ambiguous


def concept_view(
    store: TripleStore,
    dataset: str,
    documents: list[str],
    settings: Settings,
    *,
    explain_run: str | None = None,
    min_documents: int = DEFAULT_MIN_DOCUMENTS,
    kinds: Iterable[str] = ("mentions", "fact", "subject", "label"),
    progress: Progress = no_progress,
) -> ConceptView:
    """The concepts of each of ``documents`` (IRIs) as a boolean matrix; see the module docstring."""
    kinds = set(kinds)
    unknown = kinds - {"mentions", "fact", "subject", "label"}
    if unknown:
        raise InputError(f"unknown concept kinds {', '.join(sorted(unknown))}; use mentions, fact, subject, label")
    minter = Minter(settings.base_iri)
    kg = minter.kg_graph(dataset)
    position = {d: i for i, d in enumerate(documents)}
    docs, classes = read_documents(store, dataset, settings)
    docs = docs.filter(pl.col("doc").is_in(list(position)))
    rows_of: dict[tuple[str, str, str], set[int]] = {}  # concept → its documents (sparse until pruned)
    concepts: dict[tuple[str, str, str], Concept] = {}
    progress("concepts", 0, 4)
    if "label" in kinds:
        for doc, label in zip(docs["doc"].to_list(), docs["label"].to_list(), strict=True):
            if int(label) not in (0, 1):
                continue  # unlabelled
            name = classes[int(label)]
            concept = Concept("label", value=name, text=f"label = {name}")
            concepts.setdefault(concept.key, concept)
            rows_of.setdefault(concept.key, set()).add(position[doc])
    entity_docs: dict[str, list[int]] = {}
    if kinds & {"mentions", "fact"}:
        if explain_run is None:
            explain_run, explain_graph = latest_run(store, "AttributionRun", dataset, settings)
        else:
            explain_graph = minter.run_graph(local_id(explain_run)).value
        mentioned = store.select(load_query("neurons/document_mentions"), run_graph=NamedNode(explain_graph))
        for doc, entity in mentioned.iter_rows() if mentioned.height else []:
            if doc in position:
                entity_docs.setdefault(entity, []).append(position[doc])
    progress("concepts", 1, 4)
    subject_of: dict[int, str] = {}
    ambiguous = 0
    if "subject" in kinds:
        ids = dict(zip(docs["doc"].to_list(), docs["id"].to_list(), strict=True))
        found, ambiguous = _subjects(store, kg, [ids.get(d, "") for d in documents])
        subject_of = found
    progress("concepts", 2, 4)
    entities = sorted(set(entity_docs) | set(subject_of.values()))
    facts = transactions(store, kg, entities, settings).filter(pl.col("direction") == "out") if entities else None
    by_entity: dict[str, list[Item]] = {}
    if facts is not None and facts.height:
        for entity, prop, value, literal in facts.select("entity", "property", "value", "literal").iter_rows():
            by_entity.setdefault(entity, []).append(Item("out", prop, value, bool(literal)))
    progress("concepts", 3, 4)
    if "mentions" in kinds:
        for entity, rows in entity_docs.items():
            concept = Concept("mentions", Item("out", "", entity, False))
            concepts.setdefault(concept.key, concept)
            rows_of.setdefault(concept.key, set()).update(rows)
    if "fact" in kinds:
        for entity, rows in entity_docs.items():
            for item in by_entity.get(entity, []):
                concept = Concept("fact", item)
                concepts.setdefault(concept.key, concept)
                rows_of.setdefault(concept.key, set()).update(rows)
    for row, entity in subject_of.items():
        for item in by_entity.get(entity, []):
            concept = Concept("subject", item)
            concepts.setdefault(concept.key, concept)
            rows_of.setdefault(concept.key, set()).add(row)
    # prune by support before anything dense: a painters run has ~10^5 candidate facts, most in a few documents
    # in key order, not the order the store returned them in: the same columns on every backend
    keys = sorted(k for k in concepts if min_documents <= len(rows_of.get(k, ())) <= len(documents) - min_documents)
    matrix = np.zeros((len(documents), len(keys)), dtype=bool)
    for j, key in enumerate(keys):
        matrix[list(rows_of[key]), j] = True
    kept = [concepts[k] for k in keys]
    labels = kg_labels(
        store,
        kg,
        sorted(
            {c.item.value for c in kept if c.item and not c.item.literal}
            | {c.item.property for c in kept if c.item and c.item.property}
            | {
                "http://www.wikidata.org/entity/" + local_id(c.item.property)
                for c in kept
                if c.item and c.item.property
            }
        ),
        settings.item_batch,
    )
    named = [_named(c, labels) for c in kept]
    progress("concepts", 4, 4)
    return ConceptView(documents, named, matrix, len(subject_of), ambiguous)


def _named(concept: Concept, labels: dict[str, str]) -> Concept:
    if concept.kind == "label":
        return concept
    assert concept.item is not None
    if concept.kind == "mentions":
        text = f"mentions {labels.get(concept.item.value) or local_id(concept.item.value)}"
    else:
        fact = item_text(concept.item, labels)
        text = f"mentions x: {fact}" if concept.kind == "fact" else f"subject x: {fact}"
    return Concept(concept.kind, concept.item, concept.value, text)


# ---------------------------------------------------------------------------------------------------
# shared by the neuron stages


@dataclass
class Published:
    run_id: str
    graph: str
    triples: int
    conforms: bool
    seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


def publish_run(store: TripleStore, record: RunRecord, minter: Minter, body: list[RawTriple]) -> int:
    """Validates ``body`` plus the run record against the shapes, then publishes it and the catalog entry in
    one transaction; a body that does not conform is refused (the catalog records the failure)."""
    record.ended = now()
    published = body + list(run_triples(record, minter))
    conformance = validate(b"".join(to_ntriples(published)))
    if not conformance.conforms:
        record.status = "failed"
        store.publish({minter.catalog_graph(): list(run_triples(record, minter))})
        raise ValidationFailed(
            f"run {record.run_id} does not conform to ontology/shapes.ttl "
            f"({conformance.violations} violations):\n{conformance.report[:2000]}"
        )
    return store.publish(
        {NamedNode(record.graph): published, minter.catalog_graph(): list(run_triples(record, minter))}
    )


def read_layers(
    store: TripleStore, dataset: str, settings: Settings, run: NeuronRun, form: str, layers: Iterable[str]
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The documents and the requested ``layers`` of ``run`` in ``form`` (values, active, binned)."""
    documents, all_layers = read_activations(store, dataset, settings, form, run_graph=run.graph)
    wanted = list(layers)
    missing = [name for name in wanted if name not in all_layers]
    if missing:
        raise InputError(
            f"activation run {run.run_id} ({run.model}) has no layer {', '.join(map(repr, missing))}; "
            f"its layers are: {', '.join(all_layers)}"
        )
    return documents, {name: all_layers[name] for name in wanted}


# ---------------------------------------------------------------------------------------------------
# ExplaiNN


PREDICTED = "predicted"


@dataclass
class NeuronRulesResult:
    run_id: str
    graph: str
    activation_run: str
    head_layer: str
    tail_layer: str
    documents: int
    rules: list[NeuronRule]  # best (largest gain) first
    head_names: list[str]
    tail_names: list[str]
    baseline_bits: float
    total_bits: float
    triples: int
    seconds: float


def _head_matrix(layers: dict[str, np.ndarray], head: str, classes: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """The head view: a layer's active flags, or (``predicted``) the model's predicted class one-hot, read off
    its output: the one logit of two classes (active iff P(positive) > 0.5), or with k > 2 classes (issue #19)
    the k-unit output layer's most probable unit. ``layers``: active flags, but the output layer's raw values."""
    if head != PREDICTED:
        return layers[head], neuron_names(head, layers[head].shape[1])
    width = 1 if len(classes) == 2 else len(classes)
    outputs = [name for name, values in layers.items() if values.shape[1] == width]
    if not outputs:
        raise InputError(
            f"the head 'predicted' needs the model's {width}-unit output layer among the captured "
            "layers (head.dense for kgexplain's models)"
        )
    values = layers[outputs[-1]]
    if width == 1:
        positive = values[:, 0] > 0
        return np.stack([~positive, positive], axis=1), [f"predicted = {classes[0]}", f"predicted = {classes[1]}"]
    one_hot = np.zeros(values.shape, dtype=bool)
    one_hot[np.arange(len(values)), values.argmax(axis=1)] = True
    return one_hot, [f"predicted = {c}" for c in classes]


def explainn_stage(
    store: TripleStore,
    dataset: str,
    settings: Settings,
    head: str,
    tail: str,
    *,
    model: str | None = None,
    activation_run_id: str | None = None,
    theta: float = 0.0,
    mu: int | None = None,
    robust: bool = True,
    progress: Progress = no_progress,
) -> NeuronRulesResult:
    """ExplaiNN between two layers of an activation run (heads from ``head``, which may be ``predicted``;
    tails from ``tail``), published as a ``kgx:NeuronRuleRun``."""
    from .mining.explainn import explainn

    started, clock = now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    if head == tail:
        raise InputError(f"the head and tail layers must differ (both are {head!r}): ExplaiNN relates two layers")
    run = activation_run(store, dataset, settings, model, activation_run_id)
    wanted = [tail] if head == PREDICTED else [head, tail]
    documents, layers = read_layers(store, dataset, settings, run, "active", wanted)
    _docs, classes = read_documents(store, dataset, settings)
    if head == PREDICTED:  # the output layer's raw values (its logits), which _head_matrix reads
        width = 1 if len(classes) == 2 else len(classes)
        documents, every = read_activations(store, dataset, settings, "values", run_graph=run.graph)
        layers = {**{k: v for k, v in every.items() if v.shape[1] == width}, **layers}
    head_matrix, head_names = _head_matrix(layers, head, classes)
    tail_matrix, tail_names = layers[tail], neuron_names(tail, layers[tail].shape[1])
    progress("explainn", 0, tail_matrix.shape[1])
    result = explainn(
        head_matrix.astype(bool),
        tail_matrix.astype(bool),
        theta=theta,
        mu=mu,
        robust=robust,
        head_is_label=head == PREDICTED,
        progress=lambda done, total: progress("explainn", done, total),
    )
    rules = sorted(result.rules, key=lambda r: -r.gain_bits)
    run_id = new_run_id("neurons")
    graph = minter.run_graph(run_id)
    if head == PREDICTED:
        head_iris = (
            [KGX + "Neg", KGX + "Pos"] if len(classes) == 2 else [minter.class_label(dataset, c) for c in classes]
        )
    else:
        head_iris = [minter.neuron(run.run_id, head, i) for i in range(head_matrix.shape[1])]
    tail_iris = [minter.neuron(run.run_id, tail, i) for i in range(tail_matrix.shape[1])]
    body = list(neuron_rule_triples(run_id, minter, rules, head_iris, tail_iris, head_names, tail_names))
    record = RunRecord(
        run_id,
        "NeuronRuleRun",
        minter.dataset(dataset),
        graph.value,
        started,
        settings={
            "headLayer": head,
            "tailLayer": tail,
            "theta": float(theta),
            "mu": int(mu) if mu is not None else None,
            "robust": bool(robust),
            "baselineBits": float(result.baseline_bits),
            "totalBits": float(result.total_bits),
            "transactions": len(documents),
            "model": run.model,
        },
        links={"informedBy": run.run},
    )
    n = publish_run(store, record, minter, body)
    return NeuronRulesResult(
        run_id,
        graph.value,
        run.run,
        head,
        tail,
        len(documents),
        rules,
        head_names,
        tail_names,
        float(result.baseline_bits),
        float(result.total_bits),
        n,
        time.perf_counter() - clock,
    )


# ---------------------------------------------------------------------------------------------------
# neuron ↔ concept rules


@dataclass
class ConceptRule:
    concepts: tuple[int, ...]  # columns of the concept view
    layer: str
    neuron: int
    support: int  # documents with all the concepts and the neuron active
    confidence: float  # support / documents with all the concepts
    lift: float  # confidence / share of documents with the neuron active
    label: str = ""


@dataclass
class ConceptRulesResult:
    run_id: str
    graph: str
    activation_run: str
    documents: int
    concepts: int
    itemsets: int
    rules: list[ConceptRule]
    tokens: dict[str, list[tuple[str, float]]]
    view: ConceptView
    triples: int
    seconds: float
    found: int = 0  # rules passing every test, of which ``rules`` are the first


def concept_rules(
    view: ConceptView,
    layers: dict[str, np.ndarray],
    *,
    min_support: int = 10,
    max_concepts: int = 2,
    min_confidence: float = 0.5,
    min_lift: float = 1.5,
    top: int | None = None,
) -> tuple[list[ConceptRule], int, int]:
    """Rules ``concepts → neuron active`` over documents as transactions: Apriori over the concept items
    (at most ``max_concepts`` per antecedent), then, for every frequent concept set and every neuron at once,
    the support of the set with the neuron (a matrix product of the sets' document sets with the active flags).
    A rule is kept when its confidence and lift pass and no rule with a sub-antecedent for the same neuron
    passes at least as confidently (the shorter rule says it already; a sub-rule itself dropped for that reason
    has a passing sub-rule at least as confident again, so testing every passing sub-rule is the same).

    Rules are ordered by lift, support (both descending), then layer, neuron and antecedent (shorter first);
    ``top`` keeps the first ``top`` only, in bounded memory (a painters run has ~10^7 rules). Returns
    (rules, frequent concept sets, rules found before ``top``)."""
    from .mining.apriori import apriori

    n = view.matrix.shape[0]
    rows, cols = np.nonzero(view.matrix)
    baskets: list[list[int]] = [[] for _ in range(n)]
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        baskets[r].append(c)
    frequent = apriori(baskets, min_support=max(1, min_support), max_len=max_concepts)
    # shortest first: a set's sub-sets are scored before it
    items = cast(list[int], frequent.items)  # the baskets' column numbers
    sets = sorted((tuple(sorted(items[i] for i in s)) for s in frequent.itemsets), key=lambda s: (len(s), s))
    if not sets:
        return [], 0, 0
    names = list(layers)
    columns = view.matrix.astype(np.float32)
    actives = [layers[name].astype(np.float32) for name in names]
    bases = [active.mean(axis=0) for active in actives]  # P(neuron active)
    longest = max(len(s) for s in sets)
    # confidence of every passing rule of a set that can be a sub-antecedent (−1 where none passes)
    passing: dict[tuple[int, ...], list[np.ndarray]] = {}
    kept: list[np.ndarray] = []  # columns: lift, support, layer, neuron, set, confidence
    found = 0
    for start in range(0, len(sets), _SET_BLOCK):
        block = sets[start : start + _SET_BLOCK]
        covers = np.empty((len(block), n), dtype=np.float32)
        for j, s in enumerate(block):
            covers[j] = columns[:, s[0]] if len(s) == 1 else np.prod(columns[:, list(s)], axis=1)
        set_support = covers.sum(axis=1)
        for k, (active, base) in enumerate(zip(actives, bases, strict=True)):
            joint = covers @ active  # (sets, neurons)
            confidence = joint / set_support[:, None]
            lift = np.divide(confidence, base[None, :], out=np.zeros_like(confidence), where=base[None, :] > 0)
            ok = (joint >= min_support) & (confidence >= min_confidence) & (lift >= min_lift)
            scored = np.where(ok, confidence, -1.0)
            for j, s in enumerate(block):
                if len(s) > 1 and ok[j].any():
                    shadow = np.max([passing[sub][k] for sub in _proper_subsets(s)], axis=0)
                    ok[j] &= shadow < confidence[j]
                if len(s) < longest:
                    passing.setdefault(s, [None] * len(actives))[k] = scored[j]  # type: ignore[list-item]
            j_idx, neuron = np.nonzero(ok)
            if not len(j_idx):
                continue
            found += len(j_idx)
            kept.append(
                np.column_stack(
                    [
                        lift[j_idx, neuron],
                        joint[j_idx, neuron],
                        np.full(len(j_idx), k),
                        neuron,
                        start + j_idx,
                        confidence[j_idx, neuron],
                    ]
                ).astype(np.float64)
            )
            if top is not None and sum(len(x) for x in kept) > 4 * max(top, _SET_BLOCK):
                kept = [_first(np.concatenate(kept), top)]
    if not kept:
        return [], len(sets), 0
    table = _first(np.concatenate(kept), top)
    out = [
        ConceptRule(sets[int(row[4])], names[int(row[2])], int(row[3]), int(row[1]), float(row[5]), float(row[0]))
        for row in table
    ]
    return out, len(sets), found


def _first(table: np.ndarray, top: int | None) -> np.ndarray:
    """Rows of (lift, support, layer, neuron, set, confidence) in rule order, the first ``top`` of them."""
    order = np.lexsort((table[:, 4], table[:, 3], table[:, 2], -table[:, 1], -table[:, 0]))
    return table[order if top is None else order[:top]]


def _proper_subsets(items: tuple[int, ...]) -> Iterable[tuple[int, ...]]:
    from itertools import combinations

    for size in range(1, len(items)):
        yield from combinations(items, size)


def hidden_layers(layers: dict[str, np.ndarray], classes: tuple[str, ...]) -> list[str]:
    """The captured layers but the model's output, told by its width: one unit for two classes, k units for
    k > 2 (issue #19; a hidden layer of exactly that width is taken for an output too)."""
    width = 1 if len(classes) == 2 else len(classes)
    return [name for name, values in layers.items() if values.shape[1] != width]


def concept_rules_stage(
    store: TripleStore,
    dataset: str,
    settings: Settings,
    layers: Iterable[str] = (),
    *,
    model: str | None = None,
    activation_run_id: str | None = None,
    min_documents: int = DEFAULT_MIN_DOCUMENTS,
    max_concepts: int = 2,
    min_confidence: float = 0.5,
    min_lift: float = 1.5,
    top: int = 200,
    progress: Progress = no_progress,
) -> ConceptRulesResult:
    """Neuron ↔ concept rules for ``layers`` (default: every captured layer but the one-unit output) of an
    activation run; the ``top`` rules by lift are published as a ``kgx:NeuronConceptRuleRun``."""
    started, clock = now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    run = activation_run(store, dataset, settings, model, activation_run_id)
    documents, every = read_activations(store, dataset, settings, "active", run_graph=run.graph)
    chosen = list(layers) or hidden_layers(every, dataset_classes(store, dataset, settings))
    missing = [name for name in chosen if name not in every]
    if missing:
        raise InputError(
            f"activation run {run.run_id} ({run.model}) has no layer {', '.join(map(repr, missing))}; "
            f"its layers are: {', '.join(every)}"
        )
    view = concept_view(
        store,
        dataset,
        documents,
        settings,
        min_documents=min_documents,
        kinds=("mentions", "fact", "subject"),
        progress=progress,
    )
    if not view.concepts:
        raise InputError(
            f"no concept is held by at least {min_documents} documents of {dataset!r}: is the knowledge "
            "graph loaded and an attribution run done (`kgexplain explain`)?"
        )
    rules, n_sets, n_found = concept_rules(
        view,
        {name: every[name] for name in chosen},
        min_support=min_documents,
        max_concepts=max_concepts,
        min_confidence=min_confidence,
        min_lift=min_lift,
        top=top,
    )
    for rule in rules:
        rule.label = " ∧ ".join(view.concepts[c].text for c in rule.concepts) + f" → {rule.layer}#{rule.neuron} active"
    run_id = new_run_id("concepts")
    graph = minter.run_graph(run_id)
    body: list[RawTriple] = []
    concept_iris: dict[int, str] = {}
    for c in sorted({c for rule in rules for c in rule.concepts}):
        concept = view.concepts[c]
        iri, triples = _concept_rdf(minter, concept)
        concept_iris[c] = iri
        body.extend(triples)
    body.extend(
        concept_rule_triples(
            run_id,
            minter,
            [
                (
                    [concept_iris[c] for c in rule.concepts],
                    minter.neuron(run.run_id, rule.layer, rule.neuron),
                    rule.support,
                    rule.confidence,
                    rule.lift,
                    rule.label,
                )
                for rule in rules
            ],
        )
    )
    record = RunRecord(
        run_id,
        "NeuronConceptRuleRun",
        minter.dataset(dataset),
        graph.value,
        started,
        settings={
            "minSupport": int(min_documents),
            "minConfidence": float(min_confidence),
            "minLift": float(min_lift),
            "maxAntecedentLength": int(max_concepts),
            "transactions": len(documents),
            "model": run.model,
        },
        links={"informedBy": run.run},
    )
    n = publish_run(store, record, minter, body)
    return ConceptRulesResult(
        run_id,
        graph.value,
        run.run,
        len(documents),
        len(view.concepts),
        n_sets,
        rules,
        neuron_tokens(store, run),
        view,
        n,
        time.perf_counter() - clock,
        n_found,
    )


def _concept_rdf(minter: Minter, concept: Concept) -> tuple[str, list[RawTriple]]:
    if concept.item is None:
        return concept_triples(minter, concept.kind, "", concept.value, True, concept.text)
    return concept_triples(
        minter, concept.kind, concept.item.property, concept.item.value, concept.item.literal, concept.text
    )


# ---------------------------------------------------------------------------------------------------
# redescriptions


_OPS = {"==": "=", ">=": "≥", "<=": "≤", ">": ">", "<": "<", "!=": "≠"}


def query_text(query: Query, names: Sequence[str] | None, ordinal: bool) -> str:
    """A redescription query as text: ``head.relu2#17 ≥ 3 ∧ head.relu2#4 = 0``, or concepts by name (a view's
    ``names``; its column numbers without)."""
    parts = []
    for c in query.conditions:
        name = names[c.column] if names is not None else str(c.column)
        if ordinal:
            parts.append(f"{name} {_OPS.get(c.op, c.op)} {c.value}")
        else:
            holds = (c.op in ("==", ">=") and c.value >= 1) or (c.op in ("<=", "<", "!=") and c.value < 1)
            parts.append(name if holds else f"not ({name})")
    return " ∧ ".join(parts)


@dataclass
class RedescriptionsResult:
    run_id: str
    graph: str
    activation_run: str
    model: str
    against: str
    documents: int
    found: list[Redescription]  # best first
    rows: list[dict[str, Any]]  # what the CLI and README show
    triples: int
    seconds: float


def redescribe_stage(
    store: TripleStore,
    dataset: str,
    settings: Settings,
    layer: str,
    *,
    against: str = "concepts",
    against_layer: str | None = None,
    model: str | None = None,
    activation_run_id: str | None = None,
    min_jaccard: float = 0.2,
    max_p: float = 0.01,
    max_p_randomized: float | None = 0.05,
    randomizations: int = 200,
    min_documents: int = DEFAULT_MIN_DOCUMENTS,
    top: int = 200,
    progress: Progress = no_progress,
) -> RedescriptionsResult:
    """Redescriptions between ``layer``'s binned activations and ``against``: ``concepts`` (KG facts and
    labels), ``labels``, or a model name (that model's newest activation run on the same documents)."""
    from .mining.redescribe import View, redescribe

    if randomizations and max_p_randomized is not None and 1 / (randomizations + 1) > max_p_randomized:
        raise InputError(
            f"with {randomizations} randomizations the smallest randomized p-value is "
            f"{1 / (randomizations + 1):.3g}, above --max-p-randomized {max_p_randomized:g}: use at least "
            f"{int(np.ceil(1 / max_p_randomized)) - 1} randomizations, or --randomizations 0"
        )
    started, clock = now(), time.perf_counter()
    minter = Minter(settings.base_iri)
    run = activation_run(store, dataset, settings, model, activation_run_id)
    documents, binned = read_layers(store, dataset, settings, run, "binned", [layer])
    left_names = neuron_names(layer, binned[layer].shape[1])
    left = View(binned[layer], left_names, ordinal=True)
    concepts: list[Concept] = []
    right_iris: list[str]
    if against in ("concepts", "labels"):
        kinds = ("mentions", "fact", "subject", "label") if against == "concepts" else ("label",)
        view = concept_view(
            store, dataset, documents, settings, min_documents=min_documents, kinds=kinds, progress=progress
        )
        if not view.concepts:
            raise InputError(f"no {against[:-1]} is held by at least {min_documents} documents of {dataset!r}")
        concepts = view.concepts
        right = View(view.matrix.astype(np.uint8), [c.text for c in concepts], ordinal=False)
        right_iris = [minter.concept(*c.key) for c in concepts]
        right_property, against_name = "rightConcept", against
    else:
        other = activation_run(store, dataset, settings, model=against)
        if other.run == run.run:
            raise InputError(
                f"--against {against} picks the same activation run as the left side ({run.run_id}); "
                "capture the other model's activations first (`kgexplain activations`)"
            )
        other_docs, other_layers = read_activations(store, dataset, settings, "binned", run_graph=other.graph)
        name = against_layer or hidden_layers(other_layers, dataset_classes(store, dataset, settings))[-1]
        if name not in other_layers:
            raise InputError(
                f"activation run {other.run_id} ({other.model}) has no layer {name!r}; its layers are: "
                f"{', '.join(other_layers)}"
            )
        where = {d: i for i, d in enumerate(other_docs)}
        missing = [d for d in documents if d not in where]
        if missing:
            raise InputError(
                f"{len(missing)} documents of {run.run_id} are not in {other.run_id} (first: {missing[0]}); "
                "capture both models on the same dataset"
            )
        values = other_layers[name][[where[d] for d in documents]]
        right = View(values, [f"{other.model}:{n}" for n in neuron_names(name, values.shape[1])], ordinal=True)
        right_iris = [minter.neuron(other.run_id, name, i) for i in range(values.shape[1])]
        right_property, against_name = "rightNeuron", f"{other.model} {name}"
    found = redescribe(
        left,
        right,
        min_jaccard=min_jaccard,
        max_p=max_p,
        min_support=min_documents,
        randomizations=randomizations,
        seed=settings.train.seed,
        progress=lambda done, total: progress("redescriptions", done, total),
    )
    if randomizations and max_p_randomized is not None:
        # the binomial p of a searched-for pair is small by construction; the randomized one is adjusted
        # for the whole search (mining.redescribe), so it decides what is reported
        found = [r for r in found if r.p_randomized is not None and r.p_randomized <= max_p_randomized]
    found = found[:top]
    left_text = [query_text(r.left, left.names, True) for r in found]
    right_text = [query_text(r.right, right.names, right.ordinal) for r in found]
    left_iris = [[minter.neuron(run.run_id, layer, c.column) for c in r.left.conditions] for r in found]
    rights = [[right_iris[c.column] for c in r.right.conditions] for r in found]
    covered = [[documents[i] for i in np.asarray(r.rows).tolist()] for r in found]
    body: list[RawTriple] = []
    for c in sorted({c.column for r in found for c in r.right.conditions}) if concepts else []:
        body.extend(_concept_rdf(minter, concepts[c])[1])
    run_id = new_run_id("redescribe")
    graph = minter.run_graph(run_id)
    body.extend(
        redescription_triples(run_id, minter, found, left_text, right_text, left_iris, rights, right_property, covered)
    )
    record = RunRecord(
        run_id,
        "RedescriptionRun",
        minter.dataset(dataset),
        graph.value,
        started,
        settings={
            "leftLayer": layer,
            "against": against_name,
            "minJaccard": float(min_jaccard),
            "maxPValue": float(max_p),
            "randomizations": int(randomizations),
            "maxRandomizedPValue": (
                float(max_p_randomized) if randomizations and max_p_randomized is not None else None
            ),
            "minSupport": int(min_documents),
            "transactions": len(documents),
            "model": run.model,
        },
        links={"informedBy": run.run},
    )
    n = publish_run(store, record, minter, body)
    tokens = neuron_tokens(store, run)
    rows = [
        {
            "left": lt,
            "right": rt,
            "jaccard": float(r.jaccard),
            "p_value": float(r.p_value),
            "p_randomized": None if r.p_randomized is None else float(r.p_randomized),
            "support": int(r.support),
            "tokens": "; ".join(
                ", ".join(w for w, _ in tokens.get(left_names[c.column], [])[:3]) or "—" for c in r.left.conditions
            ),
        }
        for r, lt, rt in zip(found, left_text, right_text, strict=True)
    ]
    return RedescriptionsResult(
        run_id,
        graph.value,
        run.run,
        run.model,
        against_name,
        len(documents),
        found,
        rows,
        n,
        time.perf_counter() - clock,
    )
