"""kgexplain: what a neural text classifier keys on, as association rules over Wikidata, published as RDF.

The Python use in one import::

    import kgexplain

    with kgexplain.open_store("kgexplain-demo/store") as store:
        print(store.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"))

    settings = kgexplain.Settings().with_preset("paper")
    outcome = kgexplain.run_all(store, dataset, kg, settings, model_dir)   # or the stages one by one

Names are imported on first use (PEP 562), so ``import kgexplain`` stays cheap: the stages bring torch.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("kgexplain")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0"

#: Every public name of the package → the module that defines it.
_EXPORTS = {
    # the store
    "open_store": "store",
    "TripleStore": "store",
    "EmbeddedStore": "store",
    "RemoteStore": "store",
    # settings and the stages
    "Settings": "config",
    "PRESETS": "config",
    "load_stage": "stages.load",
    "train_stage": "stages.train",
    "explain_stage": "stages.explain",
    "activations_stage": "stages.activations",
    "mine_stage": "stages.mine",
    "export_stage": "stages.export",
    "read_documents": "stages.load",
    "read_activations": "stages.activations",
    "latest_run": "runs",
    "best_rules": "stages.mine",
    # one run through them all
    "run_all": "stages.chain",
    "RunOutcome": "stages.chain",
    # data
    "read_dataset": "loaders.datasets",
    "Dataset": "loaders.datasets",
    # a user's own model
    "load_model": "models.external",
    # the errors
    "KgExplainError": "errors",
    "InputError": "errors",
    "StoreError": "errors",
    "StoreUnreachable": "errors",
    "QuerySyntaxError": "errors",
    "QueryError": "errors",
    "ModelError": "errors",
    "ValidationFailed": "errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kgexplain' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
