"""The HTML pages: the rule list, a rule, a document's heatmap, the neuron results and the rule graph. Each
reads what the REST routes return, so the two never disagree; errors become pages (``app.py``'s handler)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...queries import load_query
from ...store import TripleStore
from ...vocab import Minter, local_id
from ..errors import NotFound, Unprocessable
from ..neurons import KINDS, NoNeuronRun, neuron_results
from ..pages import document_page, graph_page, neurons_page, rule_list_page, rule_page
from ..rules import SORTS, RuleQuery
from ..state import ServiceState, StateDep
from .documents import document_detail
from .rules import MAX_OFFSET, MAX_PAGE, list_rules, rule_detail

__all__ = [
    "router",
    "PAGE_PREFIXES",
    "home",
    "rules_page",
    "rule_html",
    "document_html",
    "neurons_html",
    "graph_html",
    "graph_png",
]

router = APIRouter(include_in_schema=False)
#: Paths answered with HTML, errors included.
PAGE_PREFIXES = ("/rules", "/documents/", "/neurons", "/graph", "/query")


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/rules")


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, state: StateDep) -> HTMLResponse:
    params = dict(request.query_params)
    result = list_rules(
        state,
        RuleQuery(
            run=params.get("run") or None,
            dataset=params.get("dataset") or None,
            consequent=_choice(params.get("class"), state.index.classes()),
            measure=_choice(params.get("measure"), ("TC", "TS", "WTS", "H")) or "H",
            min_confidence=_number(params.get("min_confidence"), float, 0.0, 0.0, 1.0),
            min_support=_number(params.get("min_support"), int, 0, 0, None),
            property=params.get("property") or None,
            value=params.get("value") or None,
            q=params.get("q") or None,
            sort=_choice(params.get("sort"), SORTS) or "confidence",
            limit=_number(params.get("limit"), int, 50, 1, MAX_PAGE),
            offset=_number(params.get("offset"), int, 0, 0, MAX_OFFSET),
        ),
        request,
    )
    return HTMLResponse(rule_list_page(result, params, state.index.classes()))


@router.get("/rules/{run_id}/{rule_id}", response_class=HTMLResponse)
def rule_html(run_id: str, rule_id: str, state: StateDep) -> HTMLResponse:
    return HTMLResponse(rule_page(rule_detail(state, run_id, rule_id)))


@router.get("/documents/{dataset}/{doc_id}", response_class=HTMLResponse)
def document_html(dataset: str, doc_id: str, state: StateDep) -> HTMLResponse:
    from ...attribution.heatmap import render_html

    doc = document_detail(state, dataset, doc_id)
    tokens = [t["surface"] for t in doc["tokens"]]
    heatmap = render_html(
        tokens,
        [t["relevance"] for t in doc["tokens"]],
        title=doc_id,
        subtitle=f"run {doc['run']}",
        fragment=True,
        mentions=[(m["start"], m["end"], m["entity"], m["label"] or local_id(m["entity"])) for m in doc["mentions"]],
    )
    return HTMLResponse(document_page(doc, heatmap))


@router.get("/neurons", response_class=HTMLResponse)
def neurons_html(
    state: StateDep, kind: str = "rules", run: str | None = None, dataset: str | None = None
) -> HTMLResponse:
    if kind not in KINDS:
        raise NotFound(f"no neuron results of kind {kind!r}; kinds: {', '.join(KINDS)}")
    try:
        body = neuron_results(state.store, state.minter, kind, run_id=run, dataset=dataset, limit=MAX_PAGE)
    except NoNeuronRun as exc:
        return HTMLResponse(neurons_page(None, kind, str(exc)), status_code=404)
    return HTMLResponse(neurons_page(body, kind))


def _rule_graph(state: ServiceState, run: str | None) -> tuple[str | None, bytes, list[list[dict[str, Any]]]]:
    total, frame = state.index.search(RuleQuery(run=run, limit=10**9))
    if total == 0:
        raise NotFound(f"no published rules{' in run ' + run if run else ''}", title="No rules")
    runs = sorted(set(frame["run"].to_list()))
    key = "|".join(runs)
    if key not in state.graphs:
        state.graphs[key] = _draw_rule_graph(state.store, state.minter, frame)
    png, components = state.graphs[key]
    return (runs[0] if len(runs) == 1 else None), png, components


@router.get("/graph", response_class=HTMLResponse)
def graph_html(state: StateDep, run: str | None = None) -> HTMLResponse:
    shown, _png, components = _rule_graph(state, run)
    return HTMLResponse(graph_page(shown, components, "/graph.png" + (f"?{urlencode({'run': run})}" if run else "")))


@router.get("/graph.png")
def graph_png(state: StateDep, run: str | None = None) -> Response:
    _shown, png, _components = _rule_graph(state, run)
    return Response(png, media_type="image/png")


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise Unprocessable(f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _number(value: str | None, kind: type, default: Any, low: Any, high: Any) -> Any:
    if value in (None, ""):
        return default
    try:
        number = kind(value)
    except ValueError:
        raise Unprocessable(f"{value!r} is not a number") from None
    if number < low or (high is not None and number > high):
        raise Unprocessable(f"{number} is outside {low}..{high if high is not None else ''}")
    return number


def _draw_rule_graph(store: TripleStore, minter: Minter, frame: Any) -> tuple[bytes, list[list[dict[str, Any]]]]:
    """The rule graph (Figure 4) of the rules in ``frame`` as PNG bytes, and its closed sets as lists of
    ``{"id", "label"}``, largest first."""
    import numpy as np

    from ...evaluation.rule_graph import closed_sets, render_png, rule_graph
    from ...mining.rules import Rule

    entity_index: dict[str, int] = {}
    covered: dict[str, list[int]] = {}
    for run in sorted(set(frame["run"].to_list())):
        coverage = store.select(load_query("rules/rule_coverage"), graph=minter.run_graph(run))
        for rule_iri, entity in coverage.iter_rows() if coverage.height else []:
            covered.setdefault(rule_iri, []).append(entity_index.setdefault(entity, len(entity_index)))
    rules, ids = [], []
    for row in frame.iter_rows(named=True):
        confidence = {"TC": row["conf_tc"], "TS": row["conf_ts"], "WTS": row["conf_wts"], "H": row["conf_h"]}
        rule = Rule(
            (),
            row["consequent"],
            int(row["support"]),
            confidence,
            float(row["lift"]),
            np.asarray(sorted(set(covered.get(row["rule"], []))), dtype=np.int64),
            {"rule": row["label"]},
        )
        rules.append(rule)
        ids.append(row["id"])
    graph = rule_graph(rules)
    with tempfile.TemporaryDirectory(prefix="kgx-graph-") as tmp:
        png = render_png(graph, Path(tmp) / "graph.png").read_bytes()
    components = [[{"id": ids[n], "label": rules[n].labels["rule"]} for n in members] for members in closed_sets(graph)]
    return png, components
