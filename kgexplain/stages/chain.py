"""One way through the pipeline: ``run_all`` chains the stages for ``kgexplain run``, ``kgexplain demo`` and
``POST /api/runs`` alike (issue #20: two orchestrations had drifted, and REST runs skipped the activations and
the exports that a CLI run makes).

load → train (unless a user's own model is given) → explain → activations (kgexplain's own binary models)
→ mine → export (Turtle and JSON-LD, when an output directory is given). Each finished stage is handed to
``on_stage(name, result)``, so a caller can report it as it comes; the outcome holds every stage's result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..loaders.datasets import Dataset
from ..models.external import ExternalModel
from ..models.training import TrainResult
from ..runs import Progress, no_progress
from ..store import RawTriple, TripleStore
from .activations import ActivationsResult, activations_stage
from .explain import ExplainResult, explain_stage
from .export import export_stage
from .load import LoadResult, load_stage
from .mine import MineResult, mine_stage
from .train import train_stage

__all__ = ["EXPORTS", "RunOutcome", "activations_skipped", "run_all"]

#: The rule files a run writes into its output directory: format → file name.
EXPORTS = {"turtle": "rules.ttl", "json-ld": "rules.jsonld"}


@dataclass
class RunOutcome:
    """Every stage's result of one ``run_all``; ``trained`` is None for a user's own model, ``activations``
    when the stage does not apply (a user's model: ``skipped`` says why)."""

    loaded: LoadResult
    trained: TrainResult | None
    explained: ExplainResult
    activations: ActivationsResult | None
    mined: MineResult
    exports: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def activations_skipped(dataset: Dataset, model: ExternalModel | None) -> str | None:
    """Why the activations stage does not run, or None when it does."""
    if model is not None:
        return "capturing a user's model's neurons is not supported"
    return None


def run_all(
    store: TripleStore,
    dataset: Dataset,
    kg: Path | list[RawTriple],
    settings: Settings,
    model_dir: Path,
    *,
    out: Path | None = None,
    model: ExternalModel | None = None,
    progress: Progress = no_progress,
    on_stage: Callable[[str, object], None] | None = None,
) -> RunOutcome:
    """Runs every stage on ``dataset`` and the knowledge graph ``kg`` into ``store``; the model is trained into
    ``model_dir`` (or ``model``, a user's own, is explained as it is). With ``out``, the rules are exported there
    (``EXPORTS``)."""
    from ..models.training import import_optimiser_support
    from ..publish.shacl import preload as preload_validator

    def report(name: str, result: object) -> None:
        if on_stage is not None:
            on_stage(name, result)

    if model is None:
        import_optimiser_support()  # overlaps the load stage (see its docstring)
    if isinstance(kg, Path):
        # the same for the validation of the mine stage, while a dump is cut (seconds, mostly outside the GIL);
        # beside the built-in graph's short load it would only delay the training (demo: +0.9 s train, -0.35 s mine)
        preload_validator()
    seconds: dict[str, float] = {}
    loaded = load_stage(store, dataset, kg, settings, progress)
    seconds["load"] = loaded.seconds
    report("load", loaded)
    start = time.perf_counter()
    trained = train_stage(store, dataset.name, model_dir, settings, progress) if model is None else None
    seconds["train"] = time.perf_counter() - start
    report("train", trained)
    explained = explain_stage(store, dataset.name, model_dir, settings, progress, model=model)
    seconds["explain"] = explained.seconds
    report("explain", explained)
    skipped: dict[str, str] = {}
    why = activations_skipped(dataset, model)
    captured = None
    if why is None:
        captured = activations_stage(store, dataset.name, model_dir, settings, progress)
        seconds["activations"] = captured.seconds
    else:
        skipped["activations"] = why
        seconds["activations"] = 0.0
    report("activations", captured)
    mined = mine_stage(store, dataset.name, settings, progress)
    seconds["mine"] = mined.seconds
    report("mine", mined)
    exports: dict[str, str] = {}
    start = time.perf_counter()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for fmt, name in EXPORTS.items():
            export_stage(store, mined.graph, out / name, fmt)
            exports[fmt] = str(out / name)
    seconds["export"] = time.perf_counter() - start
    report("export", exports)
    return RunOutcome(loaded, trained, explained, captured, mined, exports, seconds, skipped)
