"""The ``kgexplain`` command: thin Typer commands over the stages (``kgexplain.stages``), with their
``config.Settings`` built from the options (``Settings.from_options``); the options and helpers the command
modules share are in ``options``, the ``neurons`` group and ``link`` in their own modules.

Errors kgexplain raises on purpose print one line to stderr and exit 2 (bad input or store) or 1
(published rules fail SHACL). Everything is checked before the store is opened for writing, so a bad
input leaves an existing store as it was.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from ..config import Settings
from ..errors import InputError
from ..loaders.datasets import Dataset, read_dataset
from ..mining.rules import Rule
from ..models.external import ExternalModel, is_model_spec, load_model
from ..publish.export import DEFAULT_ENDPOINT_URL, export_rules
from ..runs import latest_run
from ..stages import (
    LoadResult,
    MineResult,
    activations_skipped,
    activations_stage,
    best_rules,
    explain_stage,
    load_stage,
    mine_stage,
    run_all,
    train_stage,
)
from ..stages.explain import target_index
from ..threads import apply_threads, choose_threads
from .link import link_command
from .neurons import neurons_app
from .options import (
    AggregationOpt,
    BackgroundOpt,
    ConfOpt,
    DatasetOpt,
    DeviceOpt,
    DisambiguationOpt,
    EndpointOpt,
    EntityTokensOpt,
    EpochsOpt,
    FallbackOpt,
    GroundCaseOpt,
    LabelsOpt,
    LenOpt,
    MaxEvalsOpt,
    MaxTokensOpt,
    MeasureOpt,
    MethodOpt,
    ModelOpt,
    OccurrencesOpt,
    OutOpt,
    PresetOpt,
    StepsOpt,
    StoreOpt,
    SupOpt,
    TargetOpt,
    ThetaOpt,
    ThreadsOpt,
    TopOpt,
    VerboseOpt,
    console,
    err,
    handle_errors,
    open_db,
    progress_bar,
)

__all__ = [
    "app",
    "main",
    "format_rule",
    "demo",
    "run",
    "load",
    "train",
    "explain",
    "activations",
    "mine",
    "evaluate",
    "export",
    "heatmap",
    "serve",
    "agree",
]

app: typer.Typer = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Find what a text classifier keys on: attributions grounded in Wikidata, mined into RDF rules.",
)


def main() -> None:  # pragma: no cover - console entry point
    app()


def _user_model(settings: Settings, classes: tuple[str, ...]) -> ExternalModel | None:
    """The user's own model that ``settings.model_spec`` names, loaded and asked about two texts, its labels
    checked against the data's ``classes``: every error here comes before the store is opened."""
    if not settings.model_spec:
        return None
    model = load_model(
        settings.model_spec,
        device=settings.train.device,
        labels=settings.labels or None,
        max_tokens=settings.train.max_len,
    )
    model.class_indices(classes)
    return model


def _threads(requested: int | None) -> None:
    apply_threads(choose_threads(requested))


def format_rule(rule: object, measure: str) -> str:
    r = rule  # a mining.rules.Rule
    return (
        f"{r.labels.get('rule', r.key())}  conf_{measure}={r.confidence[measure]:.2f} "  # type: ignore[attr-defined]
        f"support={r.support}"  # type: ignore[attr-defined]
    )


def _top_rules(result: MineResult, top: int) -> list[Rule]:
    """The rules to show: the ``top`` best; with more than two classes (issue #19), the best of each class."""
    if result.classes:
        return best_rules(result, per_class=max(1, top // len(result.classes)))
    return best_rules(result)[:top]


def _print_rules(result: MineResult, settings: Settings, top: int) -> None:
    per_class = f"; {len(result.classes)} classes, one-vs-rest" if result.classes else ""
    console.print(
        f"\n[bold]Top rules[/] ({len(result.rules)} after pruning, {result.rules_before_pruning} before; "
        f"{result.transactions} entities; measure {settings.measure}, θ={settings.theta}, "
        f"confmin={settings.min_confidence}, supmin={settings.min_support}{per_class})"
    )
    for rule in _top_rules(result, top):
        console.print("  " + format_rule(rule, settings.measure), highlight=False, soft_wrap=True)
    if not result.rules:
        console.print("  (no rule reached the thresholds; try a lower --min-confidence or --min-support)")


def _report_load(loaded: LoadResult) -> None:
    err.print(
        f"loaded {loaded.documents:,} documents of {loaded.dataset!r}; {loaded.kg_report}",
        highlight=False,
        soft_wrap=True,
    )
    for line_no, text in loaded.malformed_examples[:3]:
        err.print(f"  malformed line {line_no}: {text[:120]}", highlight=False, soft_wrap=True)
    if loaded.malformed > 3:
        err.print(f"  … and {loaded.malformed - 3:,} more malformed lines (skipped)", highlight=False)


def _run_all(
    dataset: Dataset,
    kg: Path | list,
    out: Path,
    store: Path | None,
    endpoint: str | None,
    settings: Settings,
    top: int,
    user_model: ExternalModel | None = None,
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    model_dir = out / "model"

    def on_stage(name: str, result: Any) -> None:
        if name == "load":
            _report_load(result)
        elif name == "train" and result is not None:
            err.print(
                f"trained {result.model}: test accuracy {result.test_accuracy:.3f} "
                f"(validation {result.validation_accuracy:.3f}, {result.epochs_run} epochs)",
                highlight=False,
            )
        elif name == "train":  # issue #19: the user's model is explained as it is
            err.print(
                f"your model {user_model.spec} ({user_model.name}; outputs "  # type: ignore[union-attr]
                f"{', '.join(user_model.labels)}; {user_model.digest[:19]}…): not trained",  # type: ignore[union-attr]
                highlight=False,
                soft_wrap=True,
            )
        elif name == "explain":
            err.print(
                f"explained {result.documents:,} documents: {result.mentions:,} mentions of "
                f"{result.distinct_entities:,} entities; {result.method} additivity error ≤ "
                f"{result.additivity_error:.1e}",
                highlight=False,
            )
            _report_truncation(result, user_model)
        elif name == "activations" and result is not None:
            err.print(
                f"captured activations of {', '.join(f'{k} ({v})' for k, v in result.layers.items())} "
                f"for {result.documents:,} documents: {result.triples:,} triples",
                highlight=False,
            )
        elif name == "activations":
            err.print(f"activations: skipped ({activations_skipped(dataset, user_model)})", highlight=False)

    with open_db(out, store, endpoint) as db, progress_bar() as progress:
        outcome = run_all(
            db, dataset, kg, settings, model_dir, out=out, model=user_model, progress=progress, on_stage=on_stage
        )
        where = endpoint or str(store or out / "store")
    loaded, trained, explained, captured, mined = (
        outcome.loaded,
        outcome.trained,
        outcome.explained,
        outcome.activations,
        outcome.mined,
    )
    exports = outcome.exports
    _print_rules(mined, settings, top)
    summary = {
        "dataset": dataset.name,
        "documents": len(dataset.docs),
        "kg_triples": loaded.kg_triples,
        "malformed_kg_lines": loaded.malformed,
        "model": trained.model if trained else str(user_model.spec),  # type: ignore[union-attr]
        "test_accuracy": trained.test_accuracy if trained else explained.test_accuracy,
        "validation_accuracy": trained.validation_accuracy if trained else None,
        "mentions": explained.mentions,
        "entities": explained.distinct_entities,
        "method": explained.method,
        "additivity_error": explained.additivity_error,
        "transactions": mined.transactions,
        "rules": len(mined.rules),
        "rules_before_pruning": mined.rules_before_pruning,
        "explain_run": explained.run_id,
        "mining_run": mined.run_id,
        "activation_run": captured.run_id if captured else None,
        "activation_layers": captured.layers if captured else {},
        "rules_graph": mined.graph,
        "store": where,
        "exports": exports,
        "settings": {
            "theta": settings.theta,
            "min_confidence": settings.min_confidence,
            "min_support": settings.min_support,
            "max_length": settings.max_antecedent,
            "measure": settings.measure,
        },
        "top_rules": [
            {
                "rule": r.labels.get("rule"),
                "consequent": r.consequent,
                "support": r.support,
                **{f"conf_{m}": round(v, 4) for m, v in r.confidence.items()},
            }
            for r in _top_rules(mined, top)
        ],
        "seconds": outcome.seconds,
    }
    if user_model is not None:  # issue #19: which model, exactly
        summary["user_model"] = {
            "spec": str(user_model.spec),
            "source": user_model.source,
            "class": user_model.name,
            "sha256": user_model.digest,
            "files": user_model.files,
            "tokenizer": user_model.tokenizer,
            "labels": user_model.labels,
            "max_tokens": user_model.max_tokens,
            "truncated_documents": {d: list(c) for d, c in explained.truncated.items()},
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    console.print(
        f"\nstore: {where}\nrules: {exports['turtle']} and {exports['json-ld']}\n"
        f"summary: {out / 'summary.json'}\nmodel: {user_model.source if user_model else model_dir}"
    )
    if not endpoint:
        console.print(f"open it from Python: kgexplain.store.open_store({where!r}).select(SPARQL)")
    return summary


def _report_truncation(explained: object, user_model: ExternalModel | None) -> None:
    truncated = explained.truncated  # type: ignore[attr-defined]
    if truncated:
        first = ", ".join(f"{d} ({k} of {n} words)" for d, (k, n) in list(truncated.items())[:3])
        err.print(
            f"note: {len(truncated):,} documents are longer than the model reads "
            f"({user_model.max_tokens if user_model else '?'} pieces); their words after the cut have no "
            f"relevance: {first}{' …' if len(truncated) > 3 else ''}",
            highlight=False,
            soft_wrap=True,
        )


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
def demo(
    out: OutOpt = Path("kgexplain-demo"),
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    model: ModelOpt = "cnn",
    method: MethodOpt = None,
    fallback: FallbackOpt = None,
    preset: PresetOpt = "default",
    device: DeviceOpt = "cpu",
    top: TopOpt = 10,
    verbose: VerboseOpt = False,
    threads: ThreadsOpt = None,
    labels: LabelsOpt = None,
    max_evals: MaxEvalsOpt = 500,
    background: BackgroundOpt = None,
    entity_tokens: EntityTokensOpt = None,
) -> None:
    """Run the whole pipeline on the built-in planted-bias dataset (embedded store unless --endpoint)."""
    from ..loaders.synthetic import PLANTED_COUNTRY, make_synthetic

    _logging(verbose)
    with handle_errors():
        _threads(threads)
        settings = Settings.from_options(
            preset=preset,
            model=model,
            device=device,
            method=method,
            fallback=fallback,
            labels=labels,
            max_evals=max_evals,
            background=background,
            entity_tokens=entity_tokens,
        )
        synthetic = make_synthetic()
        user_model = _user_model(settings, synthetic.dataset.classes)
        console.print(
            f"[bold]kgexplain demo[/]: {len(synthetic.dataset)} synthetic texts; the label depends on "
            f"whether the birth city lies in Varnia ({PLANTED_COUNTRY}), with 10% label noise."
        )
        summary = _run_all(synthetic.dataset, synthetic.kg, out, store, endpoint, settings, top, user_model)
        pos = [r for r in summary["top_rules"] if r["consequent"] == "Pos"]
        rank = next((i for i, r in enumerate(pos, 1) if "country(x, Varnia)" in str(r["rule"])), None)
        console.print(
            "planted rule country(x, Varnia) → Pos: "
            + (f"rank {rank} among Pos rules" if rank else "[red]not among the top rules[/]")
        )


@app.command()
def run(
    data: Annotated[
        Path, typer.Option("--data", help="CSV/TSV/JSONL file, or a directory with train.csv and test.csv.")
    ],
    kg: Annotated[Path, typer.Option("--kg", help="Wikidata dump: .nt, .ttl or .json(.gz/.bz2).")],
    out: OutOpt,
    test_data: Annotated[
        Path | None, typer.Option("--test-data", help="Separate test file (else --data is split).")
    ] = None,
    text_column: Annotated[str, typer.Option("--text-column")] = "text",
    label_column: Annotated[str, typer.Option("--label-column")] = "label",
    id_column: Annotated[str | None, typer.Option("--id-column")] = None,
    split_column: Annotated[str | None, typer.Option("--split-column", help="Column holding train/test.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Dataset name in the store.")] = None,
    model: ModelOpt = "cnn",
    method: MethodOpt = None,
    fallback: FallbackOpt = None,
    max_tokens: MaxTokensOpt = None,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    preset: PresetOpt = "default",
    theta: ThetaOpt = None,
    min_confidence: ConfOpt = None,
    min_support: SupOpt = None,
    max_length: LenOpt = None,
    measure: MeasureOpt = None,
    kg_filter: Annotated[
        str,
        typer.Option(
            "--kg-filter",
            help="neighbourhood (the named entities' facts, the facts pointing at them, their neighbours' labels and classes), outgoing (the same without the facts pointing at them) or none (the whole dump).",
        ),
    ] = "neighbourhood",
    ground_case: GroundCaseOpt = "auto",
    epochs: EpochsOpt = None,
    device: DeviceOpt = "cpu",
    top: TopOpt = 10,
    verbose: VerboseOpt = False,
    threads: ThreadsOpt = None,
    labels: LabelsOpt = None,
    max_evals: MaxEvalsOpt = 500,
    steps: StepsOpt = None,
    aggregation: AggregationOpt = "sum",
    occurrences: OccurrencesOpt = "all",
    disambiguation: DisambiguationOpt = "context",
    background: BackgroundOpt = None,
    entity_tokens: EntityTokensOpt = None,
    target: TargetOpt = None,
) -> None:
    """Run the whole pipeline on a text dataset and a Wikidata dump (with --model hf:/sklearn:/python:, on your
    own model, without training)."""
    from ..loaders.wikidata import detect_format, open_dump

    _logging(verbose)
    with handle_errors():
        _threads(threads)
        settings = Settings.from_options(
            preset=preset,
            theta=theta,
            min_confidence=min_confidence,
            min_support=min_support,
            max_length=max_length,
            measure=measure,
            model=model,
            device=device,
            epochs=epochs,
            method=method,
            fallback=fallback,
            max_tokens=max_tokens,
            labels=labels,
            max_evals=max_evals,
            steps=steps,
            background=background,
            entity_tokens=entity_tokens,
            kg_filter=kg_filter,
            ground_case=ground_case,
            aggregation=aggregation,
            occurrences=occurrences,
            disambiguation=disambiguation,
            target=target,
        )
        detect_format(kg)
        open_dump(kg).close()
        dataset = read_dataset(
            data,
            test_data=test_data,
            name=name,
            text_column=text_column,
            label_column=label_column,
            id_column=id_column,
            split_column=split_column,
        )
        target_index(settings.target, dataset.classes)  # a bad --target fails before the store is opened
        user_model = _user_model(settings, dataset.classes)
        _run_all(dataset, kg, out, store, endpoint, settings, top, user_model)


@app.command()
def load(
    data: Annotated[Path, typer.Option("--data")],
    kg: Annotated[Path, typer.Option("--kg")],
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    test_data: Annotated[Path | None, typer.Option("--test-data")] = None,
    text_column: Annotated[str, typer.Option("--text-column")] = "text",
    label_column: Annotated[str, typer.Option("--label-column")] = "label",
    name: Annotated[str | None, typer.Option("--name")] = None,
    kg_filter: Annotated[str, typer.Option("--kg-filter")] = "neighbourhood",
) -> None:
    """Load a dataset and the part of a Wikidata dump it needs into the store."""
    from ..loaders.wikidata import open_dump

    with handle_errors():
        settings = Settings.from_options(kg_filter=kg_filter)
        open_dump(kg).close()
        dataset = read_dataset(data, test_data=test_data, name=name, text_column=text_column, label_column=label_column)
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = load_stage(db, dataset, kg, settings, progress)
        _report_load(result)


@app.command()
def train(
    model_dir: Annotated[Path, typer.Option("--model-dir", help="Where to save the model.")],
    dataset: DatasetOpt,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    model: ModelOpt = "cnn",
    epochs: EpochsOpt = None,
    max_tokens: MaxTokensOpt = None,
    device: DeviceOpt = "cpu",
    threads: ThreadsOpt = None,
    entity_tokens: Annotated[
        bool,
        typer.Option(
            "--entity-tokens/--no-entity-tokens",
            help="Train with each grounded span as one token, the entity's IRI, as the paper did (the knowledge graph must be loaded: the texts are grounded first); explain follows the model.",
        ),
    ] = False,
) -> None:
    """Train a classifier on a dataset already in the store."""
    with handle_errors():
        _threads(threads)
        settings = Settings.from_options(
            model=model, device=device, epochs=epochs, method="ig", max_tokens=max_tokens, entity_tokens=entity_tokens
        )
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = train_stage(db, dataset, model_dir, settings, progress)
        console.print(
            f"{result.model}: test accuracy {result.test_accuracy:.3f}, validation "
            f"{result.validation_accuracy:.3f} after {result.epochs_run} epochs; saved to {model_dir}"
        )


@app.command()
def explain(
    dataset: DatasetOpt,
    model_dir: Annotated[
        Path | None, typer.Option("--model-dir", help="A model trained by kgexplain (train, run).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Or your own: hf:DIR (save_pretrained), sklearn:FILE (joblib/skops), python:MODULE:FUNCTION.",
        ),
    ] = None,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    device: DeviceOpt = "cpu",
    method: MethodOpt = None,
    fallback: FallbackOpt = None,
    background: Annotated[
        str,
        typer.Option(
            "--background",
            help="SHAP reference: mean (one reference, the mean of the first 500 training texts), full (those 500 as references, averaged over: the paper's), N (the first N as references; cost grows with N), or zero. A model trained with entity tokens is explained with them.",
        ),
    ] = "mean",
    aggregation: AggregationOpt = "sum",
    labels: LabelsOpt = None,
    max_evals: MaxEvalsOpt = 500,
    steps: StepsOpt = None,
    max_tokens: MaxTokensOpt = None,
    ground_case: GroundCaseOpt = "auto",
    threads: ThreadsOpt = None,
    occurrences: OccurrencesOpt = "all",
    disambiguation: DisambiguationOpt = "context",
    target: TargetOpt = None,
) -> None:
    """Attribute every document token by token and ground the tokens in the knowledge graph."""
    with handle_errors():
        _threads(threads)
        if (model_dir is None) == (model is None):
            raise InputError(
                "give either --model-dir DIR (a model kgexplain trained) or --model SPEC (your own: "
                "hf:DIR, sklearn:FILE, python:MODULE:FUNCTION)"
            )
        if model is not None and not is_model_spec(model):
            raise InputError(
                f"--model {model!r}: explain takes your own model as hf:DIR, sklearn:FILE or "
                "python:MODULE:FUNCTION; a model kgexplain trained is read with --model-dir"
            )
        # a user's own model's options; a model kgexplain trained has its own (length, outputs)
        own: dict[str, Any] = (
            {"max_tokens": max_tokens, "labels": labels, "max_evals": max_evals, "steps": steps}
            if model is not None
            else {}
        )
        settings = Settings.from_options(
            model=model,
            device=device,
            method=method,
            fallback=fallback,
            background=background,
            aggregation=aggregation,
            ground_case=ground_case,
            occurrences=occurrences,
            disambiguation=disambiguation,
            target=target,
            **own,
        )
        user_model = None
        if model is not None:  # loaded (and asked about two texts) before the store is opened
            user_model = load_model(
                settings.model_spec,  # type: ignore[arg-type]
                device=device,
                labels=settings.labels or None,
                max_tokens=max_tokens,
            )
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = explain_stage(db, dataset, model_dir, settings, progress, model=user_model)
        _report_truncation(result, user_model)
        console.print(
            f"attribution run {result.run_id}: {result.documents:,} documents, {result.tokens:,} tokens, "
            f"{result.mentions:,} mentions of {result.distinct_entities:,} entities; graph {result.graph}"
        )


@app.command()
def activations(
    model_dir: Annotated[Path, typer.Option("--model-dir")],
    dataset: DatasetOpt,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    device: DeviceOpt = "cpu",
    layer: Annotated[
        list[str] | None,
        typer.Option("--layer", help="A named module to capture (repeat; default: the model's own list)."),
    ] = None,
    bins: Annotated[int, typer.Option("--bins", help="Equal-width bins per neuron (redescriptions).")] = 4,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Active iff the value is above this (ExplaiNN: 0).")
    ] = 0.0,
    top_tokens: Annotated[
        int, typer.Option("--top-tokens", min=0, help="Tokens that drive each neuron, published with it (0: none).")
    ] = 5,
    binarize: Annotated[
        str,
        typer.Option(
            "--binarize",
            help="auto: layers max-pooled over time are active above each neuron's median; threshold: every layer above --threshold.",
        ),
    ] = "auto",
    threads: ThreadsOpt = None,
) -> None:
    """Capture neuron activations of every document (forward hooks) and store them raw, binarized and
    binned, one activation run graph, with the tokens that drive each neuron."""
    with handle_errors():
        _threads(threads)
        settings = Settings.from_options(
            activation_layers=tuple(layer or ()),
            activation_bins=bins,
            activation_threshold=threshold,
            activation_top_tokens=top_tokens,
            activation_binarize=binarize,
            device=device,
        )
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = activations_stage(db, dataset, model_dir, settings, progress)
        layers = ", ".join(f"{k} ({v} neurons)" for k, v in result.layers.items())
        console.print(
            f"activation run {result.run_id}: {result.documents:,} documents × {layers}; "
            f"{result.triples:,} triples in {result.graph}"
        )


@app.command()
def mine(
    dataset: DatasetOpt,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    preset: PresetOpt = "default",
    theta: ThetaOpt = None,
    min_confidence: ConfOpt = None,
    min_support: SupOpt = None,
    max_length: LenOpt = None,
    measure: MeasureOpt = None,
    top: TopOpt = 10,
    miner: Annotated[
        str,
        typer.Option(
            "--miner",
            help="apriori (in process) or spark (Spark ML FPGrowth; "
            "pip install 'kgexplain[spark]', Java 17+). Same itemsets.",
        ),
    ] = "apriori",
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="Spark master URL for --miner spark.")
    ] = "local[*]",
) -> None:
    """Label entity influence and mine rules from the latest attribution run of a dataset."""
    with handle_errors():
        settings = Settings.from_options(
            preset=preset,
            theta=theta,
            min_confidence=min_confidence,
            min_support=min_support,
            max_length=max_length,
            measure=measure,
            miner=miner,
            spark_master=spark_master,
        )
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = mine_stage(db, dataset, settings, progress)
        _print_rules(result, settings, top)
        console.print(f"mining run {result.run_id}; graph {result.graph}")


@app.command()
def evaluate(
    dataset: DatasetOpt,
    output: Annotated[
        Path, typer.Option("--output", help="Directory for evaluation.md, .html, .json and rule-graph.png.")
    ],
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    preset: PresetOpt = "paper",
    theta: ThetaOpt = None,
    min_confidence: ConfOpt = None,
    min_support: SupOpt = None,
    max_length: LenOpt = None,
    measures: Annotated[
        str, typer.Option("--measures", help="Comma-separated confidence measures to evaluate.")
    ] = "TC,TS,WTS,H",
    model_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--model-dir",
            help="A trained model (e.g. OUT/model; repeat per architecture): adds the out-of-context check (Table 3).",
        ),
    ] = None,
    device: DeviceOpt = "cpu",
    coverage_base: Annotated[
        str,
        typer.Option(
            "--coverage-base",
            help="The coverage set beside the paper's: test (covered / test-mentioned entities) or train (covered / training transactions). Both are reported.",
        ),
    ] = "test",
    conflicts: Annotated[
        str,
        typer.Option(
            "--conflicts",
            help="An entity matched by rules of both classes: confident (the more confident rule decides, ties dropped), drop, or union (counted for both, the formula read literally).",
        ),
    ] = "confident",
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity",
            help="Also the measures over supmin {1,2,3,5} x longest antecedent {2,3} (and this run's), in the report and sensitivity.csv.",
        ),
    ] = False,
) -> None:
    """The main paper's evaluation (Tables 1-3): for the latest attribution run of each model, rules
    mined on the training texts under each measure, scored on the test texts (Acc_imp, Acc_overall,
    coverage; all and unseen entities), model overlap, and with --model-dir the models' scores on outside
    texts about the covered entities, next to the paper's numbers. Writes a Markdown and HTML report;
    with --sensitivity, the measures over a grid of supmin and antecedent lengths too."""
    from ..evaluation.stage import evaluate_stage, report_markdown

    with handle_errors():
        settings = Settings.from_options(
            preset=preset,
            theta=theta,
            min_confidence=min_confidence,
            min_support=min_support,
            max_length=max_length,
            device=device,
        )
        chosen = [m.strip() for m in measures.split(",") if m.strip()]
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = evaluate_stage(
                db,
                dataset,
                settings,
                output,
                chosen,
                progress,
                model_dir or [],
                coverage_base=coverage_base,
                conflicts=conflicts,
                sensitivity_grid=sensitivity,
            )
        console.print(report_markdown(result), highlight=False, soft_wrap=True, markup=False)
        console.print(
            f"wrote {output / 'evaluation.md'}, {output / 'evaluation.html'}, "
            f"{output / 'evaluation.json'}"
            + (f", {output / 'sensitivity.csv'}" if result.sensitivity else "")
            + f" and {output / 'rule-graph.png'}"
        )


@app.command()
def export(
    dataset: DatasetOpt,
    output: Annotated[Path, typer.Option("--output")],
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="turtle, ntriples, json-ld (compacted, kgexplain context embedded), swrl, shacl-rules or dcat.",
        ),
    ] = "turtle",
    endpoint_url: Annotated[
        str, typer.Option("--endpoint-url", help="dcat: the SPARQL endpoint the catalog names as its data service.")
    ] = DEFAULT_ENDPOINT_URL,
) -> None:
    """Write the rules of the latest mining run of a dataset to a file: the run graph (Turtle, N-Triples,
    JSON-LD), its rules as SWRL or SHACL rules, or a DCAT catalog of the dataset's rule sets."""
    with handle_errors():
        settings = Settings()
        with open_db(None, store, endpoint) as db:
            _run, graph = latest_run(db, "MiningRun", dataset, settings)
            result = export_rules(db, graph, output, fmt, base_iri=settings.base_iri, endpoint_url=endpoint_url)
        what = (
            f"{result.rules:,} rules ({result.triples:,} triples)"
            if fmt in ("swrl", "shacl-rules")
            else f"{result.triples:,} triples"
        )
        console.print(f"wrote {what} of {graph} to {output}")


@app.command()
def heatmap(
    dataset: DatasetOpt,
    doc: Annotated[list[str], typer.Option("--doc", help="Document identifier (repeat for several).")],
    output: Annotated[Path, typer.Option("--output", help="A .png (one document) or .html file.")],
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
) -> None:
    """Draw the token heatmap of documents from the latest attribution run: red pushes towards the
    positive class, blue away; grounded mentions are underlined with their entity."""
    from ..attribution.heatmap import html_page, render_html, render_png
    from ..stages.explain import document_heatmap_data

    with handle_errors():
        if output.suffix.lower() not in (".png", ".html"):
            raise InputError(f"--output must end in .png or .html, got {output.name}")
        if output.suffix.lower() == ".png" and len(doc) != 1:
            raise InputError("a PNG holds one document; use an .html output for several")
        with open_db(None, store, endpoint) as db:
            data = [document_heatmap_data(db, dataset, d, Settings()) for d in doc]
        if output.suffix.lower() == ".png":
            item = data[0]
            render_png(item["tokens"], item["scores"], output, title=item["title"], mentions=item["mentions"])
        else:
            sections = [
                render_html(
                    d["tokens"],
                    d["scores"],
                    title=d["title"],
                    subtitle=d["subtitle"],
                    mentions=d["mentions"],
                    fragment=True,
                )
                for d in data
            ]
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(html_page(sections, f"kgexplain: {dataset}"), encoding="utf-8")
        console.print(f"wrote {output}")


@app.command()
def agree(
    dataset: DatasetOpt,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Also write per-document values (.csv) or the table (.md).")
    ] = None,
) -> None:
    """How far explainers agree: Spearman rank correlation of token relevance per document, between the
    latest attribution run of each model/method on a dataset."""
    from ..attribution.heatmap import agreement_markdown, agreement_summary
    from ..stages.explain import explainer_agreement

    with handle_errors():
        with open_db(None, store, endpoint) as db:
            report = explainer_agreement(db, dataset, Settings())
        table = agreement_markdown(agreement_summary(report))
        console.print(table, highlight=False, soft_wrap=True)
        if output is not None:
            if output.suffix.lower() == ".csv":
                report.write_csv(output)
            else:
                output.write_text(table + "\n", encoding="utf-8")
            console.print(f"wrote {output}")


@app.command()
def serve(
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    update_token: Annotated[
        str | None,
        typer.Option(
            "--update-token",
            envvar="KGX_UPDATE_TOKEN",
            help="Allow SPARQL updates with `Authorization: Bearer TOKEN` (default: read-only).",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout-s", "--timeout", help="Seconds a SPARQL query may run (then its worker is ended: 503)."
        ),
    ] = 30.0,
    max_result_mb: Annotated[
        int, typer.Option("--max-result-mib", "--max-result-mb", help="Largest SPARQL answer, in MiB (413 past it).")
    ] = 64,
    allow_service: Annotated[
        list[str] | None,
        typer.Option("--allow-service", help="An endpoint IRI that SERVICE may call (repeatable; default none)."),
    ] = None,
    allow_load_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-load-host", help="A host that an update's LOAD may fetch from (repeatable; default none)."
        ),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            "--work-dir",
            help="Where runs started with POST /api/runs keep their models (default: a temporary directory).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="The only directory POST /api/runs reads datasets and dumps from, by relative paths (default: none; only the demo runs).",
        ),
    ] = None,
) -> None:
    """Serve the store: SPARQL 1.1 Protocol at /sparql, REST under /api (docs at /docs)."""
    import uvicorn

    from ..service import ServiceConfig, create_app

    with handle_errors():
        if store is None and endpoint is None:
            raise InputError("give --store DIR or --endpoint URL")
        if timeout <= 0 or max_result_mb <= 0:
            raise InputError("--timeout-s and --max-result-mib must be positive")
        if data_dir is not None and not data_dir.is_dir():
            raise InputError(f"--data-dir {data_dir}: no such directory")
        db = open_db(None, store, endpoint)
        config = ServiceConfig(
            update_token=update_token,
            query_timeout_s=timeout,
            max_result_bytes=max_result_mb * 1024 * 1024,
            allowed_services=tuple(allow_service or ()),
            allowed_load_hosts=tuple(allow_load_host or ()),
            work_dir=work_dir,
            data_dir=data_dir,
        )
        err.print(
            f"serving the {db.description} on http://{host}:{port} (SPARQL /sparql, REST /api, docs /docs; "
            f"{'updates with the token' if update_token else 'read-only'})",
            highlight=False,
        )
        try:
            # SIGTERM/Ctrl-C: requests get 5 s to finish, then the query workers are ended (shutdown)
            uvicorn.run(create_app(db, config), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
        finally:
            db.close()
        _exit_despite_running_jobs()


def _exit_despite_running_jobs() -> None:
    """A run started over REST may still be training in its thread, which Python would wait for at exit. Its
    writes are crash-safe (the store drops them when next opened), so the server stops now instead."""
    busy = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if busy:
        err.print(f"stopping with work in progress ({', '.join(busy)}); the store keeps its state from before it")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


app.add_typer(neurons_app, name="neurons")
app.command("link")(link_command)

if __name__ == "__main__":  # pragma: no cover
    main()
