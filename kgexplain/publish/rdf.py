"""Rules, influence and run records as RDF triples (N-Triples terms, bulk-loaded by the caller)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..attribution.grounding import Mention
from ..mining.rules import Item, Rule
from ..store import RawTriple
from ..vocab import (
    KGX,
    MLS,
    PROV,
    RDF,
    RDFS,
    WD,
    WDT,
    XSD,
    Minter,
    local_id,
    nt_bool,
    nt_datetime,
    nt_float,
    nt_int,
    nt_iri,
    nt_str,
)

__all__ = [
    "RunRecord",
    "ModelRecord",
    "run_triples",
    "rule_triples",
    "influence_triples",
    "token_ntriples",
    "mention_triples",
    "mention_ntriples",
    "activation_triples",
    "activation_vector_triples",
    "item_text",
    "label_rules",
    "item_label",
    "rule_label",
    "IMPLEMENTATIONS",
    "OUTCOMES",
]

TYPE = nt_iri(RDF + "type")
LABEL = nt_iri(RDFS + "label")


def _k(name: str) -> str:
    return nt_iri(KGX + name)


@dataclass(frozen=True)
class ModelRecord:
    """A user's own model that a run explained (``models.external``): which one, exactly."""

    label: str  # what ran, e.g. hf:BertForSequenceClassification
    source: str  # the spec with an absolute path, or module:function and its file
    digest: str  # sha256:… of its weights, config and tokenizer files (or file, or source)
    labels: tuple[str, ...]  # its outputs, in order
    tokenizer: str | None = None


@dataclass
class RunRecord:
    """What a run record says about a run: its kind, where its triples went, and its settings."""

    run_id: str
    kind: str  # "AttributionRun" | "MiningRun"
    dataset: str  # dataset IRI
    graph: str  # run graph IRI
    started: str  # xsd:dateTime lexical form
    ended: str | None = None
    status: str = "completed"
    settings: Mapping[str, object] | None = None
    links: Mapping[str, str] | None = None  # kgx property name -> IRI (e.g. informedBy, kgGraph)
    model: ModelRecord | None = None  # a user's own model (issue #19), not one trained here


# Settings that name what a run executed (an ``mls:Implementation``) and settings that are measured
# outcomes of the run, not chosen: neither is written as an ``mls:HyperParameterSetting``.
IMPLEMENTATIONS = ("model", "method", "miner")
OUTCOMES = frozenset(
    {
        "expectedValue",
        "additivityError",
        "testAccuracy",
        "validationAccuracy",
        "baselineBits",
        "totalBits",
        "transactions",
        "ruleIris",
        "linkCount",
        "miningRuns",
        "truncatedDocuments",
    }
)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return nt_bool(value)
    if isinstance(value, int | np.integer):
        return nt_int(int(value))
    if isinstance(value, float | np.floating):
        return nt_float(float(value))
    return nt_str(str(value))


def run_triples(record: RunRecord, minter: Minter) -> Iterator[RawTriple]:
    run = nt_iri(minter.run(record.run_id))
    yield run, TYPE, _k(record.kind)
    yield run, TYPE, nt_iri(MLS + "Run")
    yield run, TYPE, nt_iri(PROV + "Activity")
    yield run, LABEL, nt_str(f"{record.kind} {record.run_id}")
    yield run, _k("status"), nt_str(record.status)
    yield run, _k("onDataset"), nt_iri(record.dataset)
    yield run, _k("runGraph"), nt_iri(record.graph)
    yield run, nt_iri(PROV + "used"), nt_iri(record.dataset)
    yield run, nt_iri(PROV + "startedAtTime"), nt_datetime(record.started)
    if record.ended:
        yield run, nt_iri(PROV + "endedAtTime"), nt_datetime(record.ended)
    for name, iri in (record.links or {}).items():
        yield run, _k(name), nt_iri(iri)
        if name in ("informedBy", "kgGraph"):
            yield run, nt_iri(PROV + "used"), nt_iri(iri)
    for name, value in (record.settings or {}).items():
        if value is not None:
            yield run, _k(name), _literal(value)
    yield from _ml_schema_triples(record, minter, run)
    if record.model is not None:
        yield from _model_triples(record.model, minter, run)


def _model_triples(model: ModelRecord, minter: Minter, run: str) -> Iterator[RawTriple]:
    """The user's model a run explained, as an ``mls:Model`` (a ``prov:Entity``) that the run ``prov:used`` and
    ``mls:hasInput``: its source, content hash, outputs (a JSON list, in order) and tokenizer."""
    node = nt_iri(minter.model(model.source, model.digest))
    yield run, _k("usedModel"), node
    yield run, nt_iri(PROV + "used"), node
    yield run, nt_iri(MLS + "hasInput"), node
    yield node, TYPE, _k("ExternalModel")
    yield node, TYPE, nt_iri(MLS + "Model")
    yield node, TYPE, nt_iri(PROV + "Entity")
    yield node, LABEL, nt_str(model.label)
    yield node, _k("modelSource"), nt_str(model.source)
    yield node, _k("modelHash"), nt_str(model.digest)
    yield node, _k("modelLabels"), nt_str(json.dumps(list(model.labels), ensure_ascii=False))
    if model.tokenizer:
        yield node, _k("tokenizer"), nt_str(model.tokenizer)


def _ml_schema_triples(record: RunRecord, minter: Minter, run: str) -> Iterator[RawTriple]:
    """The run's settings once more in ML Schema terms, next to the plain ``kgx:`` properties that queries use:
    ``prov:wasInformedBy`` the run it used, ``mls:executes`` an ``mls:Implementation`` per model, method or
    miner name (shared across runs), and ``mls:hasInput`` one ``mls:HyperParameterSetting`` per other chosen
    setting, ``mls:specifiedBy`` the ``kgx:`` property (an ``mls:HyperParameter`` in the vocabulary) and
    ``mls:hasValue`` its value."""
    informed_by = (record.links or {}).get("informedBy")
    if informed_by:
        yield run, nt_iri(PROV + "wasInformedBy"), nt_iri(informed_by)
    for name, value in (record.settings or {}).items():
        if value is None or name in OUTCOMES:
            continue
        if name in IMPLEMENTATIONS:
            impl = nt_iri(minter.implementation(name, str(value)))
            yield run, nt_iri(MLS + "executes"), impl
            yield impl, TYPE, nt_iri(MLS + "Implementation")
            yield impl, LABEL, nt_str(f"{value} ({name})")
            continue
        setting = nt_iri(minter.setting(record.run_id, name))
        yield run, nt_iri(MLS + "hasInput"), setting
        yield setting, TYPE, nt_iri(MLS + "HyperParameterSetting")
        yield setting, nt_iri(MLS + "specifiedBy"), _k(name)
        yield setting, nt_iri(MLS + "hasValue"), _literal(value)


def item_label(direction: str, prop_label: str, value_label: str) -> str:
    return f"{prop_label}(x, {value_label})" if direction == "out" else f"{prop_label}({value_label}, x)"


def rule_label(item_labels: Iterable[str], consequent: str) -> str:
    return " ∧ ".join(sorted(item_labels)) + f" → {consequent}"


def item_text(item: Item, labels: Mapping[str, str]) -> str:
    """An item as ``property(x, value)`` with English labels where ``labels`` has them, else local ids."""
    prop_label = labels.get(WD + item.property[len(WDT) :], "") if item.property.startswith(WDT) else ""
    prop_label = prop_label or labels.get(item.property) or local_id(item.property)
    value_label = f'"{item.value}"' if item.literal else labels.get(item.value) or local_id(item.value)
    return item_label(item.direction, prop_label, value_label)


def label_rules(rules: Iterable[Rule], labels: Mapping[str, str]) -> None:
    """Sets ``rule.labels["rule"]`` (as ``rule_triples`` would) on rules that are not published."""
    for rule in rules:
        rule.labels["rule"] = rule_label((item_text(i, labels) for i in rule.antecedent), rule.consequent)


def rule_triples(
    rules: list[Rule],
    run_id: str,
    minter: Minter,
    labels: Mapping[str, str],
    entity_iris: list[str],
    entity_documents: Mapping[str, list[str]],
    classes: Mapping[str, str] | None = None,
) -> Iterator[RawTriple]:
    """``labels`` maps IRIs (items' values, and properties as ``wd:P…``) to English labels;
    ``entity_iris[i]`` is the entity of transaction i; ``entity_documents`` its training documents.
    ``classes`` (more than two classes, issue #19) maps each class name to its ``kgx:ClassLabel`` IRI: a rule's
    consequent is then that class (each class typed and labelled in the graph too), else ``kgx:Pos`` or
    ``kgx:Neg``."""
    run = nt_iri(minter.run(run_id))
    seen_items: set[str] = set()
    for name, iri in (classes or {}).items():
        yield nt_iri(iri), TYPE, _k("ClassLabel")
        yield nt_iri(iri), LABEL, nt_str(name)
    for rank, rule in enumerate(rules, start=1):
        r = nt_iri(minter.rule(run_id, rule.key()))
        item_labels = []
        for item in rule.antecedent:
            iri = minter.item(item.direction, item.property, item.value)
            text = item_text(item, labels)
            item_labels.append(text)
            rule.labels[iri] = text
            yield r, _k("antecedent"), nt_iri(iri)
            if iri not in seen_items:
                seen_items.add(iri)
                i = nt_iri(iri)
                yield i, TYPE, _k("Item")
                yield i, LABEL, nt_str(text)
                yield i, _k("property"), nt_iri(item.property)
                yield i, _k("value"), nt_str(item.value) if item.literal else nt_iri(item.value)
                yield i, _k("direction"), _k("Outgoing" if item.direction == "out" else "Incoming")
        label = rule_label(item_labels, rule.consequent)
        rule.labels["rule"] = label
        yield r, TYPE, _k("AssociationRule")
        yield r, LABEL, nt_str(label)
        yield r, _k("consequent"), nt_iri(classes[rule.consequent]) if classes else _k(rule.consequent)
        yield r, _k("antecedentLength"), nt_int(len(rule.antecedent))
        yield r, _k("support"), nt_int(rule.support)
        for measure in ("TC", "TS", "WTS", "H"):
            yield r, _k(f"conf{measure}"), nt_float(min(1.0, max(0.0, rule.confidence[measure])))
        yield r, _k("lift"), nt_float(rule.lift if np.isfinite(rule.lift) else 0.0)
        yield r, _k("rank"), nt_int(rank)
        yield r, nt_iri(PROV + "wasGeneratedBy"), run
        documents: set[str] = set()
        for t in rule.entities:
            entity = entity_iris[int(t)]
            yield r, _k("coversEntity"), nt_iri(entity)
            documents.update(entity_documents.get(entity, ()))
        for doc in sorted(documents):
            yield r, _k("coversDocument"), nt_iri(doc)


def influence_triples(
    frame: pl.DataFrame, run_id: str, minter: Minter, classes: Mapping[str, str] | None = None
) -> Iterator[RawTriple]:
    """An ``kgx:EntityInfluence`` per row of ``frame``; with more than two classes (issue #19) a row per entity
    and class (column ``class``), each ``kgx:forClass`` its class's IRI in ``classes``, less the rows of
    entities with no occurrence for that class."""
    run = nt_iri(minter.run(run_id))
    for row in frame.iter_rows(named=True):
        name = row.get("class") if classes else None
        if name is not None and not row["n"]:
            continue
        node = nt_iri(minter.influence(run_id, row["entity"], name))
        if name is not None:
            yield node, _k("forClass"), nt_iri(classes[name])  # type: ignore[index]
        yield node, TYPE, _k("EntityInfluence")
        yield node, _k("entity"), nt_iri(row["entity"])
        yield node, _k("run"), run
        yield node, _k("occurrences"), nt_int(row["n"])
        yield node, _k("positiveOccurrences"), nt_int(row["n_pos"])
        yield node, _k("negativeOccurrences"), nt_int(row["n_neg"])
        yield node, _k("positiveRelevance"), nt_float(row["sum_pos"])
        yield node, _k("negativeRelevance"), nt_float(row["sum_neg"])
        yield node, _k("documentCount"), nt_int(row["documents"])
        yield node, _k("labelTC"), nt_int(row["tc"])
        yield node, _k("scoreTS"), nt_float(row["ts"])


def token_ntriples(
    run_id: str,
    minter: Minter,
    documents: list[str],
    tokens: list[list[str]],
    relevance: list[np.ndarray],
    predictions: np.ndarray,
    first: int = 0,
    *,
    explained: np.ndarray | None = None,
    predicted: np.ndarray | None = None,
) -> bytes:
    """A ``kgx:Prediction`` per document and a ``kgx:Token`` per scored token, as N-Triples bytes;
    ``documents[k]`` has index ``first + k`` in the run (so a run can be written batch by batch).
    ``predictions`` are the explained scores (P(positive) for two classes). With more than two classes
    (issue #19), ``explained[k]`` is the label of the class document k's relevance is for
    (``kgx:explainedLabel``) and ``predicted[k]`` its predicted label; without them the predicted label is
    score > 0.5.

    Tokens are most of what an attribution run writes (5 triples each), so their lines are formatted by
    polars in one vectorised pass (Rust, outside the GIL) rather than triple by triple in Python; the
    explain stage's 92k token triples of the benchmark take 0.07 s instead of 0.17 s. Doubles are written
    in the shortest form that reads back to the same value."""
    run = nt_iri(minter.run(run_id))
    lengths = np.asarray([len(r) for r in relevance], dtype=np.int64)
    doc_index = np.repeat(np.arange(len(documents), dtype=np.int64), lengths)  # into ``documents``
    position = np.concatenate([np.arange(n, dtype=np.int64) for n in lengths]) if len(lengths) else doc_index
    surfaces = [tok for toks, n in zip(tokens, lengths, strict=True) for tok in toks[:n]]
    values = np.concatenate([np.asarray(r, dtype=np.float64) for r in relevance]) if relevance else np.zeros(0)
    frame = pl.DataFrame(
        {
            "doc": pl.Series(documents, dtype=pl.String).gather(doc_index),
            "i": doc_index + first,
            "pos": position,
            "surface": surfaces,
            "value": values,
        }
    )
    iri = pl.concat_str(
        pl.lit(f"<{minter.token_prefix(run_id)}"),
        pl.col("i").cast(pl.String),
        pl.lit("/"),
        pl.col("pos").cast(pl.String),
        pl.lit(">"),
    )
    surface = pl.col("surface").str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
    lines = pl.concat_str(
        iri,
        pl.lit(f" {TYPE} {_k('Token')} .\n"),
        iri,
        pl.lit(f" {_k('document')} <"),
        pl.col("doc"),
        pl.lit("> .\n"),
        iri,
        pl.lit(f' {_k("position")} "'),
        pl.col("pos").cast(pl.String),
        pl.lit(f'"^^<{XSD}integer> .\n'),
        iri,
        pl.lit(f' {_k("surface")} "'),
        surface,
        pl.lit('" .\n'),
        iri,
        pl.lit(f' {_k("relevance")} "'),
        _double(pl.col("value")),
        pl.lit(f'"^^<{XSD}double> .\n'),
    )
    body = frame.select(lines.alias("nt"))["nt"].str.join("").item() if frame.height else ""
    head = []
    for k, doc_iri in enumerate(documents):
        p = nt_iri(minter.prediction(run_id, first + k))
        score = float(predictions[k])
        label = int(predicted[k]) if predicted is not None else int(score > 0.5)
        head += [
            f"{p} {TYPE} {_k('Prediction')} .\n",
            f"{p} {_k('document')} {nt_iri(doc_iri)} .\n",
            f"{p} {_k('run')} {run} .\n",
            f"{p} {_k('score')} {nt_float(score)} .\n",
            f"{p} {_k('predictedLabel')} {nt_int(label)} .\n",
        ]
        if explained is not None:
            head.append(f"{p} {_k('explainedLabel')} {nt_int(int(explained[k]))} .\n")
    return ("".join(head) + body).encode("utf-8")


def _double(column: pl.Expr) -> pl.Expr:
    text = column.cast(pl.String)
    return pl.when(text == "inf").then(pl.lit("INF")).when(text == "-inf").then(pl.lit("-INF")).otherwise(text)


def mention_ntriples(
    run_id: str,
    minter: Minter,
    documents: list[str],
    relevance: list[np.ndarray],
    mentions: list[list[Mention]],
    aggregate: Callable[[np.ndarray], float],
) -> bytes:
    """``mention_triples`` as N-Triples bytes, formatted by polars in one vectorised pass like
    ``token_ntriples`` (painters: 35 thousand mentions, 390 thousand triples; Python's triple-by-triple
    formatting was most of the explain stage's own time)."""
    rows = [
        (index, m.start, m.end, m.entity, m.surface, float(aggregate(rel[m.start : m.end])))
        for index, (rel, doc) in enumerate(zip(relevance, mentions, strict=True))
        for m in doc
    ]
    if not rows:
        return b""
    index, start, end, entity, surfaces, value = (list(column) for column in zip(*rows, strict=True))
    frame = pl.DataFrame(
        {"i": index, "start": start, "end": end, "entity": entity, "surface": surfaces, "value": value},
        schema={
            "i": pl.Int64,
            "start": pl.Int64,
            "end": pl.Int64,
            "entity": pl.String,
            "surface": pl.String,
            "value": pl.Float64,
        },
    )
    frame = frame.with_columns(pl.Series("doc", documents, dtype=pl.String).gather(frame["i"]))
    m = pl.concat_str(
        pl.lit(f"<{minter.mention_prefix(run_id)}"),
        pl.col("i").cast(pl.String),
        pl.lit("/"),
        pl.col("start").cast(pl.String),
        pl.lit(">"),
    )
    e = pl.concat_str(pl.lit("<"), pl.col("entity"), pl.lit(">"))
    surface = pl.col("surface")
    for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        surface = surface.str.replace_all(char, escaped, literal=True)
    integer = f'"^^<{XSD}integer> .\n'
    lines = pl.concat_str(
        m,
        pl.lit(f" {TYPE} {_k('Mention')} .\n"),
        m,
        pl.lit(f" {_k('document')} <"),
        pl.col("doc"),
        pl.lit("> .\n"),
        m,
        pl.lit(f" {_k('run')} {nt_iri(minter.run(run_id))} .\n"),
        m,
        pl.lit(f' {_k("start")} "'),
        pl.col("start").cast(pl.String),
        pl.lit(integer),
        m,
        pl.lit(f' {_k("end")} "'),
        pl.col("end").cast(pl.String),
        pl.lit(integer),
        m,
        pl.lit(f' {_k("surface")} "'),
        surface,
        pl.lit('" .\n'),
        m,
        pl.lit(f" {_k('entity')} "),
        e,
        pl.lit(" .\n"),
        m,
        pl.lit(f' {_k("relevance")} "'),
        _double(pl.col("value")),
        pl.lit(f'"^^<{XSD}double> .\n'),
    )
    # kgx:mentions from each token of a mention to its entity
    lengths = (frame["end"] - frame["start"]).to_numpy()
    at = np.repeat(np.arange(frame.height), lengths)
    offset = np.arange(len(at)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    tokens = pl.DataFrame(
        {"i": frame["i"].gather(at), "pos": frame["start"].gather(at) + offset, "entity": frame["entity"].gather(at)}
    )
    token_lines = pl.concat_str(
        pl.lit(f"<{minter.token_prefix(run_id)}"),
        pl.col("i").cast(pl.String),
        pl.lit("/"),
        pl.col("pos").cast(pl.String),
        pl.lit(f"> {_k('mentions')} <"),
        pl.col("entity"),
        pl.lit("> .\n"),
    )
    body = frame.select(lines.alias("nt"))["nt"].str.join("").item()
    body += tokens.select(token_lines.alias("nt"))["nt"].str.join("").item() if tokens.height else ""
    return body.encode("utf-8")


def mention_triples(
    run_id: str,
    minter: Minter,
    documents: list[str],
    relevance: list[np.ndarray],
    mentions: list[list[Mention]],
    aggregate: Callable[[np.ndarray], float],
) -> Iterator[RawTriple]:
    """A ``kgx:Mention`` per grounded span, whose relevance aggregates its tokens' (``aggregate``), and
    ``kgx:mentions`` from each of its tokens to the entity."""
    run = nt_iri(minter.run(run_id))
    for index, (doc_iri, rel, doc_mentions) in enumerate(zip(documents, relevance, mentions, strict=True)):
        d = nt_iri(doc_iri)
        for mention in doc_mentions:
            m = nt_iri(minter.mention(run_id, index, mention.start))
            e = nt_iri(mention.entity)
            yield m, TYPE, _k("Mention")
            yield m, _k("document"), d
            yield m, _k("run"), run
            yield m, _k("start"), nt_int(mention.start)
            yield m, _k("end"), nt_int(mention.end)
            yield m, _k("surface"), nt_str(mention.surface)
            yield m, _k("entity"), e
            yield m, _k("relevance"), nt_float(float(aggregate(rel[mention.start : mention.end])))
            for pos in range(mention.start, mention.end):
                yield nt_iri(minter.token(run_id, index, pos)), _k("mentions"), e


def _activation_forms(
    values: np.ndarray, bins: int, threshold: float, pooled: bool, rule: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A layer's bin codes, per-neuron minima, maxima and activity thresholds, and active flags."""
    from ..models.activations import neuron_thresholds, uniform_bins

    codes, low, high = uniform_bins(values, bins)
    cut = neuron_thresholds(values, threshold, pooled=pooled, rule=rule)
    return codes, low, high, cut, values > cut[None, :]


def activation_triples(
    run_id: str,
    minter: Minter,
    documents: list[str],
    layers: Mapping[str, np.ndarray],
    bins: int,
    threshold: float,
    top: Mapping[str, list[list[tuple[str, float]]]] | None = None,
    *,
    pooled: Iterable[str] = (),
    rule: str = "auto",
    vectors: bool = True,
) -> Iterator[RawTriple]:
    """An activation run's body: per layer a ``kgx:Layer`` with its ``kgx:Neuron``s (index, min, max, and
    the tokens that drive it most when ``top`` gives them: ``kgx:drivenBy`` a ``kgx:NeuronToken`` with
    token, share and rank), and per document × layer one ``kgx:ActivationVector`` holding the raw values
    (base64 float32), the binarized flags and the bins as compact literals (see ``models.activations``).
    ``vectors=False`` leaves out the vectors, which ``activation_vector_triples`` gives on their own (the
    stage writes them while it looks for the top tokens)."""
    over_time = set(pooled)
    run = nt_iri(minter.run(run_id))
    for name, values in layers.items():
        layer = nt_iri(minter.layer(run_id, name))
        codes, low, high, cut, active = _activation_forms(values, bins, threshold, name in over_time, rule)
        yield layer, TYPE, _k("Layer")
        yield layer, LABEL, nt_str(name)
        yield layer, _k("run"), run
        yield layer, _k("neuronCount"), nt_int(values.shape[1])
        yield layer, _k("bins"), nt_int(bins)
        yield layer, _k("activationThreshold"), nt_float(threshold)
        for i in range(values.shape[1]):
            n = nt_iri(minter.neuron(run_id, name, i))
            yield n, TYPE, _k("Neuron")
            yield n, LABEL, nt_str(f"{name}#{i}")
            yield n, _k("layer"), layer
            yield n, _k("index"), nt_int(i)
            yield n, _k("minimum"), nt_float(float(low[i]))
            yield n, _k("maximum"), nt_float(float(high[i]))
            yield n, _k("activeDocuments"), nt_int(int(active[:, i].sum()))
            yield n, _k("activationThreshold"), nt_float(float(cut[i]))
            for rank, (token, share) in enumerate((top or {}).get(name, [[]] * values.shape[1])[i], start=1):
                t = nt_iri(minter.neuron_token(run_id, name, i, rank))
                yield n, _k("drivenBy"), t
                yield t, TYPE, _k("NeuronToken")
                yield t, _k("word"), nt_str(token)
                yield t, _k("share"), nt_float(share)
                yield t, _k("rank"), nt_int(rank)
        if vectors:
            yield from _vector_triples(run_id, minter, documents, name, values, active, codes)


def activation_vector_triples(
    run_id: str,
    minter: Minter,
    documents: list[str],
    layers: Mapping[str, np.ndarray],
    bins: int,
    threshold: float,
    *,
    pooled: Iterable[str] = (),
    rule: str = "auto",
) -> Iterator[RawTriple]:
    """The ``kgx:ActivationVector``s of ``activation_triples`` (same arguments) on their own."""
    over_time = set(pooled)
    for name, values in layers.items():
        codes, _low, _high, _cut, active = _activation_forms(values, bins, threshold, name in over_time, rule)
        yield from _vector_triples(run_id, minter, documents, name, values, active, codes)


def _vector_triples(
    run_id: str,
    minter: Minter,
    documents: list[str],
    name: str,
    values: np.ndarray,
    active: np.ndarray,
    codes: np.ndarray,
) -> Iterator[RawTriple]:
    """One layer's vectors: the literals of all documents at once (vectorised), then the triples."""
    from ..models.activations import encode_bin_rows, encode_flag_rows, encode_value_rows

    layer = nt_iri(minter.layer(run_id, name))
    vector, document, in_layer = _k("ActivationVector"), _k("document"), _k("layer")
    raw, flags, binned, base64_type = _k("values"), _k("active"), _k("binned"), _k("float32Base64")
    rows = zip(documents, encode_value_rows(values), encode_flag_rows(active), encode_bin_rows(codes), strict=True)
    for index, (doc, value_text, flag_text, bin_text) in enumerate(rows):
        a = nt_iri(minter.activation(run_id, index, name))
        yield a, TYPE, vector
        yield a, document, nt_iri(doc)
        yield a, in_layer, layer
        yield a, raw, f'"{value_text}"^^{base64_type}'
        yield a, flags, nt_str(flag_text)
        yield a, binned, nt_str(bin_text)
