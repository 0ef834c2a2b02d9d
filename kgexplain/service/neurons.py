"""Neuron-level results for the REST API and the pages: ExplaiNN rules, redescriptions and neuron ↔ concept
rules of a run (the newest of its kind unless one is named), each with its neurons' names and driving tokens."""

from __future__ import annotations

from typing import Any

import polars as pl
from pyoxigraph import NamedNode

from ..queries import load_query
from ..store import TripleStore
from ..vocab import KGX, Minter, local_id

__all__ = ["KINDS", "NoNeuronRun", "neuron_results"]

#: REST name → (run class, query of its results)
KINDS: dict[str, tuple[str, str]] = {
    "rules": ("NeuronRuleRun", "neurons/neuron_rules"),
    "redescriptions": ("RedescriptionRun", "neurons/redescriptions"),
    "concepts": ("NeuronConceptRuleRun", "neurons/concept_rules"),
}
_BATCH = 200


class NoNeuronRun(LookupError):
    """No completed run of the kind (or the named run is not one)."""


def _run(store: TripleStore, minter: Minter, kind: str, run_id: str | None, dataset: str | None) -> dict[str, Any]:
    runs = store.select(load_query("catalog/runs"), catalog=minter.catalog_graph())
    if runs.height:
        runs = runs.filter((pl.col("kind") == KGX + KINDS[kind][0]) & (pl.col("status") == "completed"))
        if run_id is not None:
            runs = runs.filter(pl.col("run") == minter.run(run_id))
        if dataset is not None:
            runs = runs.filter(pl.col("dataset") == minter.dataset(dataset))
    if runs.height == 0:
        named = f"run {run_id}" if run_id else f"dataset {dataset}" if dataset else "any dataset"
        command = {"rules": "explainn", "redescriptions": "redescribe", "concepts": "concepts"}[kind]
        raise NoNeuronRun(f"no completed {KINDS[kind][0]} for {named}; run `kgexplain neurons {command}`")
    return runs.row(0, named=True)


def _neurons(store: TripleStore, iris: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(iris), _BATCH):
        frame = store.select(
            load_query("neurons/neuron_details"), neuron=[NamedNode(i) for i in iris[start : start + _BATCH]]
        )
        for row in frame.iter_rows(named=True) if frame.height else []:
            entry = out.setdefault(
                row["neuron"],
                {"iri": row["neuron"], "name": row["name"], "active_documents": int(row["active"]), "tokens": []},
            )
            if row["word"] is not None:
                entry["tokens"].append({"word": row["word"], "share": float(row["share"])})
    return out


def neuron_results(
    store: TripleStore,
    minter: Minter,
    kind: str,
    *,
    run_id: str | None = None,
    dataset: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """One page of a run's results with the neurons (tokens included) and concepts each refers to."""
    run = _run(store, minter, kind, run_id, dataset)
    graph = NamedNode(run["graph"])
    rows = store.select(load_query(KINDS[kind][1]), run_graph=graph)
    total = rows.height
    page = rows.slice(offset, limit) if total else rows
    wanted = set(page["rule"].to_list()) if total else set()
    parts = store.select(load_query("neurons/result_parts"), run_graph=graph)
    by_rule: dict[str, dict[str, list[tuple[str, str | None]]]] = {}
    for rule, role, part, label in parts.iter_rows() if parts.height else []:
        if rule in wanted:
            by_rule.setdefault(rule, {}).setdefault(role, []).append((part, label))
    # every part is looked up as a neuron; concepts (and predicted classes) are not, and keep their labels
    neurons = _neurons(store, sorted({p for roles in by_rule.values() for items in roles.values() for p, _ in items}))
    results = []
    for row in page.iter_rows(named=True) if total else []:
        entry: dict[str, Any] = {"id": local_id(row["rule"]), **{k: v for k, v in row.items() if v is not None}}
        entry["parts"] = {
            role: [neurons.get(iri) or {"iri": iri, "name": label or local_id(iri)} for iri, label in sorted(items)]
            for role, items in sorted(by_rule.get(row["rule"], {}).items())
        }
        results.append(entry)
    return {
        "kind": kind,
        "run": run["run"],
        "run_id": local_id(run["run"]),
        "dataset": local_id(run["dataset"]),
        "total": total,
        "limit": limit,
        "offset": offset,
        "results": results,
    }
