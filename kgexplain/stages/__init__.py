"""The pipeline's stages as plain functions over a ``TripleStore``, one module each, and ``run_all`` (``chain``),
which chains them.

load → train → explain → activations → mine → export. Each stage reads what it needs from the store (and the
model directory) and writes one named graph, so any stage can be re-run alone. Every write goes through
``store.Staging``: a run's graph stays private (out of ``public_graphs``) until one update makes it public
together with its catalog entry, and ``load`` swaps the knowledge graph and the dataset graph in by one
update too. So readers never see a half-written run, and a stage that fails, is interrupted or is killed
(``kill -9``) leaves the store with its earlier results, as they were.

Their settings are ``config.Settings``; what they share about runs (ids, progress, the latest run of a kind,
batched queries) is in ``runs``.
"""

from __future__ import annotations

from .activations import ActivationsResult, activations_stage, read_activations
from .chain import EXPORTS, RunOutcome, activations_skipped, run_all
from .explain import ExplainResult, explain_stage
from .export import export_stage
from .load import LoadResult, load_stage, read_documents
from .mine import MineResult, best_rules, mine_stage
from .train import train_stage

__all__ = [
    "load_stage",
    "LoadResult",
    "read_documents",
    "train_stage",
    "explain_stage",
    "ExplainResult",
    "activations_stage",
    "ActivationsResult",
    "read_activations",
    "mine_stage",
    "MineResult",
    "best_rules",
    "export_stage",
    "run_all",
    "RunOutcome",
    "EXPORTS",
    "activations_skipped",
]
