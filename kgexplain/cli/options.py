"""What the ``kgexplain`` command's modules share: the consoles, the option types several commands take
(``StoreOpt``, ``EndpointOpt``, ``DatasetOpt`` …), and the helpers every command uses: ``handle_errors`` (an error
kgexplain raises on purpose is one line on stderr and an exit code), ``progress_bar`` and ``open_db``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..attribution.explainers import METHODS
from ..config import PRESETS
from ..errors import InputError, KgExplainError
from ..models.training import MODELS
from ..store import TripleStore, open_store

__all__ = [
    "console",
    "err",
    "fail",
    "handle_errors",
    "progress_bar",
    "open_db",
    "StoreOpt",
    "EndpointOpt",
    "OutOpt",
    "DatasetOpt",
    "PresetOpt",
    "ThetaOpt",
    "ConfOpt",
    "SupOpt",
    "LenOpt",
    "MeasureOpt",
    "ModelOpt",
    "MethodOpt",
    "LabelsOpt",
    "TargetOpt",
    "MaxEvalsOpt",
    "StepsOpt",
    "BackgroundOpt",
    "EntityTokensOpt",
    "AggregationOpt",
    "FallbackOpt",
    "MaxTokensOpt",
    "GroundCaseOpt",
    "OccurrencesOpt",
    "DisambiguationOpt",
    "DeviceOpt",
    "EpochsOpt",
    "TopOpt",
    "VerboseOpt",
    "ThreadsOpt",
]

console = Console()
err = Console(stderr=True)

StoreOpt = Annotated[
    Path | None, typer.Option("--store", envvar="KGX_STORE", help="Embedded store directory (default: OUT/store).")
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint", envvar="KGX_ENDPOINT", help="A SPARQL 1.1 endpoint (query URL) instead of the embedded store."
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", help="Directory for the store, model, exports and summary.")]
DatasetOpt = Annotated[str, typer.Option("--dataset", help="Dataset name inside the store.")]
PresetOpt = Annotated[
    str,
    typer.Option(
        "--preset",
        help=f"Settings preset: {', '.join(PRESETS)} (paper: the paper's θ = 1.0 and confmin; in run and demo also 500 SHAP references and entity tokens; see docs/defaults.md).",
    ),
]
ThetaOpt = Annotated[float | None, typer.Option("--theta", help="TC threshold θ in (0.5, 1] (overrides the preset).")]
ConfOpt = Annotated[float | None, typer.Option("--min-confidence", help="confmin (overrides the preset).")]
SupOpt = Annotated[int | None, typer.Option("--min-support", help="supmin, in entities.")]
LenOpt = Annotated[int | None, typer.Option("--max-length", help="Longest antecedent.")]
MeasureOpt = Annotated[str | None, typer.Option("--measure", help="TC, TS, WTS or H: accepts and ranks rules.")]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help=f"Classifier to train: {', '.join(MODELS)}; or your own, explained without training: hf:DIR (save_pretrained), sklearn:FILE (joblib/skops), python:MODULE:FUNCTION.",
    ),
]
MethodOpt = Annotated[
    str | None,
    typer.Option(
        "--method",
        help=f"Attribution method: {', '.join(METHODS)} (default shap); for your own model ig, gradient-shap, deeplift (hf:) or partition (any; default for sklearn:/python:).",
    ),
]
LabelsOpt = Annotated[
    str | None,
    typer.Option(
        "--labels",
        help="Your model's outputs, in order, comma-separated (default: its id2label, classes_ or FUNCTION.labels); they must include the data's class names.",
    ),
]
TargetOpt = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="More than two classes: explain every document for this class (default: each document's predicted class); rules are mined per class, one-vs-rest.",
    ),
]
MaxEvalsOpt = Annotated[
    int,
    typer.Option(
        "--max-evals",
        help="shap Partition explainer (sklearn:, python:, --method partition): model calls per document.",
    ),
]
StepsOpt = Annotated[
    int | None,
    typer.Option(
        "--steps",
        help="hf: models: integrated-gradients steps (default 64) or GradientSHAP samples (default 50); fewer is faster and less exact.",
    ),
]
AggregationOpt = Annotated[
    str,
    typer.Option(
        "--aggregation",
        help="Parts → whole relevance: a word's sub-word pieces (hf: models) and a mention's tokens; sum, mean or max.",
    ),
]
FallbackOpt = Annotated[
    str | None, typer.Option("--fallback", help="Method to use when --method does not apply to the model.")
]
MaxTokensOpt = Annotated[
    int | None, typer.Option("--max-tokens", help="Longest input the model reads (default: the model's own).")
]
GroundCaseOpt = Annotated[
    str,
    typer.Option(
        "--ground-case",
        help="Grounding: cased (a mention starts with a capital), any, or auto (cased unless the texts are lower-cased).",
    ),
]
OccurrencesOpt = Annotated[
    str,
    typer.Option(
        "--occurrences",
        help="Grounding: all (every mention of an entity in a document) or first-per-document (only its first, as a Wikipedia link).",
    ),
]
DisambiguationOpt = Annotated[
    str,
    typer.Option(
        "--disambiguation",
        help="Grounding, a label several entities share: context (the one linked to the document's other entities when the one with most facts is not) or degree (always the one with most facts).",
    ),
]
#: ``run`` and ``demo``: None keeps the preset's (``explain`` and ``train`` declare their own, with other defaults)
BackgroundOpt = Annotated[
    str | None,
    typer.Option(
        "--background",
        help="SHAP reference: mean (one reference, the mean of the first 500 training texts), full (those 500 as references, averaged over: the paper's), N (the first N as references; cost grows with N), or zero (default: the preset's, else mean).",
    ),
]
EntityTokensOpt = Annotated[
    bool | None,
    typer.Option(
        "--entity-tokens/--no-entity-tokens",
        help="Train and explain with each grounded span as one token, the entity's IRI, as the paper did (default: the preset's; paper: on). Rules, heatmaps and RDF keep the words.",
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu or cuda.")]
EpochsOpt = Annotated[
    int | None, typer.Option("--epochs", help="Maximum training epochs (early stopping on validation loss).")
]
TopOpt = Annotated[int, typer.Option("--top", help="How many rules to print.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.")]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        help="CPU threads torch uses (default: $KGX_THREADS, else 1 on ≤ 2 cores, else the cores the load average leaves free).",
    ),
]


def fail(exc: KgExplainError) -> typer.Exit:
    """Prints ``exc`` to stderr (its first line as the error, then up to 11 more) and gives the exit to raise."""
    message = str(exc).strip().splitlines()
    err.print(f"[bold red]error:[/] {message[0]}", highlight=False, soft_wrap=True)
    for line in message[1:12]:
        err.print(f"  {line}", highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """An error kgexplain raises on purpose inside ends the command: one line on stderr, exit 2 or 1 (``fail``)."""
    try:
        yield
    except KgExplainError as exc:
        raise fail(exc) from None


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int | None], None]]:
    """A ``runs.Progress`` that draws one bar per task on stderr."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(task: str, completed: int, total: int | None) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total)
            bar.update(tasks[task], completed=completed, total=total)

        yield update


def open_db(out: Path | None, store: Path | None, endpoint: str | None) -> TripleStore:
    """The store that ``--store`` or ``--endpoint`` names (default: ``out``/store)."""
    if endpoint and store is not None:
        raise InputError("give either --store DIR or --endpoint URL (or KGX_STORE / KGX_ENDPOINT), not both")
    if endpoint:
        return open_store(endpoint=endpoint)
    if store is None:
        if out is None:
            raise InputError("give --store DIR or --endpoint URL")
        store = out / "store"
    return open_store(store)
