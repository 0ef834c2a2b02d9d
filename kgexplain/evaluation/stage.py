"""``kgexplain evaluate``: the main paper's Tables 1 and 2 for a dataset in the store, as a report.

For the latest attribution run of each model on the dataset, rules are mined from the training texts
under every confidence measure (TC, TS, WTS, H; same θ, confmin, supmin for all, as in the paper) and
evaluated on the test texts (``metrics``). With two or more models, the entity sets their H rules cover
are compared (Table 2). Given the trained models (``model_dirs``), each model is also applied to outside
texts about the entities its rules cover (Table 3, out-of-context validity): the paper used those entities'
Wikipedia abstracts; we use what the knowledge graph itself holds, "label, description" from Wikidata's
English label and ``schema:description``. Nothing is written to the store; the report goes to files.

Readings the paper leaves open are arguments, defaulting to what earlier versions computed:
``coverage_base`` (which coverage the report sets beside the paper's; both are always computed),
``conflicts`` (an entity matched by rules of both classes; ``metrics``), and ``sensitivity_grid`` (the
measures over a grid of supmin × longest antecedent; module ``sensitivity``).

More than two classes (issue #19): every measure per class, one-vs-rest as the rules were mined, and their
macro average (``metrics``, module docstring); Table 2 compares the entities each class's rules cover, Table 3
reads each class's probability on the outside texts.
"""

from __future__ import annotations

import csv
import html
import io
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
from pyoxigraph import NamedNode

from ..config import Settings
from ..errors import InputError
from ..mining.rules import MEASURES, Item, Rule
from ..models.training import TrainedModel, predict, resolve_device
from ..publish.rdf import label_rules
from ..queries import load_query
from ..runs import Progress, no_progress
from ..runs import labels as kg_labels
from ..stages.load import dataset_classes
from ..stages.mine import mining_input, transactions
from ..store import TripleStore
from ..vocab import WD, WDT, Minter
from .metrics import (
    COVERAGE_BASES,
    PAPER_ACCURACY,
    PAPER_TABLE1,
    PAPER_TABLE3,
    ContextMetrics,
    SetMetrics,
    assign_classes,
    assign_supporters,
    check_conflicts,
    context_metrics,
    overlap,
    score_sets,
)
from .sensitivity import SensitivityRow, grid, sensitivity

__all__ = [
    "graph_rules",
    "ModelEvaluation",
    "Evaluation",
    "OutsideTexts",
    "evaluate_stage",
    "report_markdown",
    "report_html",
    "sensitivity_csv",
]


@dataclass
class ModelEvaluation:
    model: str
    method: str
    run: str
    test_accuracy: float
    rules: dict[str, int]  # measure -> rules after pruning
    results: dict[str, dict[str, SetMetrics]]  # measure -> "all"/"unseen" -> metrics (k > 2: macro)
    ties: dict[str, int]
    covered: dict[str, dict[str, list[str]]] = field(repr=False)  # measure -> class -> training entities
    #: Table 3 under ``context_measure``: "Pos"/"Neg" -> metrics, and "all" (every described entity,
    #: the base rate); None when the trained model was not given.
    context: dict[str, ContextMetrics] | None = None
    context_measure: str | None = None
    #: measure -> test-mentioned entities matched by rules of both classes (however ``conflicts`` scores them)
    conflicts: dict[str, int] = field(default_factory=dict)
    #: more than two classes: measure -> "all"/"unseen" -> class -> metrics (``results`` holds their macro average)
    per_class: dict[str, dict[str, dict[str, SetMetrics]]] = field(default_factory=dict)


@dataclass
class Evaluation:
    dataset: str
    settings: dict[str, object]
    models: list[ModelEvaluation]
    overlaps: list[dict[str, Any]]
    seconds: float
    rule_graph: str | None = None
    classes: tuple[str, ...] = ("Pos", "Neg")  # the rules' consequents: Pos/Neg, or k class names
    #: ``--sensitivity``: one row per model, (supmin, longest antecedent) point and measure
    sensitivity: list[SensitivityRow] = field(default_factory=list)


def _entity_items(frame: pl.DataFrame) -> dict[str, set[Item]]:
    out: dict[str, set[Item]] = {}
    for entity, direction, prop, value, literal in frame.select(
        "entity", "direction", "property", "value", "literal"
    ).iter_rows():
        out.setdefault(entity, set()).add(Item(direction, prop, value, bool(literal)))
    return out


@dataclass
class OutsideTexts:
    """The outside texts of Table 3: one per knowledge-graph entity with an English description."""

    texts: dict[str, str]  # entity IRI -> "label, description"
    items: dict[str, set[Item]]  # entity IRI -> its (p, o) items

    @classmethod
    def read(cls, store: TripleStore, kg: NamedNode, settings: Settings) -> OutsideTexts:
        frame = store.select(load_query("evaluation/entity_descriptions"), kg=kg)
        texts = {
            e: f"{label}, {desc}" if label else desc
            for e, label, desc in frame.select("entity", "label", "description").iter_rows()
        }
        items = _entity_items(transactions(store, kg, sorted(texts), settings)) if texts else {}
        return cls(texts, items)


def _load_models(model_dirs: Sequence[Path], device: str) -> dict[str, TrainedModel]:
    models: dict[str, TrainedModel] = {}
    for directory in model_dirs:
        trained = TrainedModel.load(Path(directory), device=device)
        if trained.name in models:
            raise InputError(f"two --model-dir hold a {trained.name} model; give one per architecture")
        models[trained.name] = trained
    return models


def evaluate_stage(
    store: TripleStore,
    dataset: str,
    settings: Settings,
    output: Path,
    measures: Sequence[str] = MEASURES,
    progress: Progress = no_progress,
    model_dirs: Sequence[Path] = (),
    *,
    coverage_base: str = "test",
    conflicts: str = "confident",
    sensitivity_grid: bool = False,
) -> Evaluation:
    settings.check()
    check_conflicts(conflicts)
    if coverage_base not in COVERAGE_BASES:
        raise InputError(f"unknown --coverage-base {coverage_base!r}; use {' or '.join(COVERAGE_BASES)}")
    for m in measures:
        if m not in MEASURES:
            raise InputError(f"unknown measure {m!r}; use any of {', '.join(MEASURES)}")
    names = dataset_classes(store, dataset, settings)
    classes = names if len(names) > 2 else ()  # k > 2 (issue #19): per class, one-vs-rest, and macro
    consequents = classes or ("Pos", "Neg")
    device = str(resolve_device(settings.train.device))
    trained_models = _load_models(model_dirs, device)
    start = time.perf_counter()
    minter = Minter(settings.base_iri)
    runs = store.select(
        load_query("catalog/attribution_runs"),
        catalog=minter.catalog_graph(),
        dataset=NamedNode(minter.dataset(dataset)),
    )
    if runs.height == 0:
        raise InputError(
            f"no completed attribution run of {dataset!r} in the {store.description}; run `kgexplain explain` first"
        )
    latest = runs.unique(subset=["model"], keep="first", maintain_order=True)
    unmatched = set(trained_models) - set(latest["model"].to_list())
    if unmatched:
        raise InputError(
            f"--model-dir gave a {', '.join(sorted(unmatched))} model, but the store has no attribution "
            f"run of {dataset!r} with it (runs: {', '.join(latest['model'].to_list())})"
        )
    kg, data_graph = minter.kg_graph(dataset), minter.dataset_graph(dataset)
    # Table 2, Table 3 and the rule graph use one measure: H (the paper's), else the last one asked for
    headline = "H" if "H" in measures else measures[-1]
    outside: OutsideTexts | None = None
    evaluations: list[ModelEvaluation] = []
    best_rules: dict[str, list[Rule]] = {}
    points = grid(settings) if sensitivity_grid else []
    sensitivity_rows: list[SensitivityRow] = []
    for row in latest.iter_rows(named=True):
        progress(f"evaluating {row['model']}", 0, len(measures) + 2)
        mined = mining_input(store, dataset, settings, explain_run=row["run"])
        test = store.select(
            load_query("evaluation/split_class_mentions" if classes else "evaluation/split_mentions"),
            run_graph=NamedNode(row["graph"]),
            data_graph=data_graph,
            split="test",
        )
        test_entities = set(test["entity"].to_list()) if test.height else set()
        seen = set(mined.entities)
        unseen = test_entities - seen
        progress(f"evaluating {row['model']}", 1, len(measures) + 2)
        items = _entity_items(transactions(store, kg, sorted(test_entities), settings)) if test_entities else {}
        progress(f"evaluating {row['model']}", 2, len(measures) + 2)
        results, per_class, counts, ties, covered, both = {}, {}, {}, {}, {}, {}
        for k, measure in enumerate(measures):
            candidates, rules = mined.rules(settings, measure)
            if measure == headline:
                best_rules[row["model"]] = candidates  # the rule graph shows the closed sets before pruning
                headline_rules = rules
            assignment = assign_classes(rules, items, measure, conflicts)
            supporters = assign_supporters(rules, mined.entities, measure, conflicts)
            results[measure], split = score_sets(test, assignment, supporters, test_entities, unseen, seen, classes)
            if split:
                per_class[measure] = split
            counts[measure], ties[measure], both[measure] = len(rules), assignment.ties, assignment.conflicts
            covered[measure] = {
                cls: sorted({mined.entities[int(t)] for r in rules if r.consequent == cls for t in r.entities})
                for cls in consequents
            }
            progress(f"evaluating {row['model']}", k + 3, len(measures) + 2)
        if points:
            task = f"sensitivity ({row['model']}: supmin × longest antecedent)"
            progress(task, 0, len(points))

            def step(done: int, task: str = task) -> None:
                progress(task, done, len(points))

            loosest = mining_input(
                store,
                dataset,
                replace(settings, min_support=min(s for s, _ in points), max_antecedent=max(n for _, n in points)),
                explain_run=row["run"],
            )
            sensitivity_rows += sensitivity(
                row["model"],
                loosest,
                settings,
                measures,
                test,
                items,
                test_entities,
                unseen,
                conflicts,
                points,
                step,
                classes=classes,
            )
        context = None
        if row["model"] in trained_models:
            progress(f"out-of-context texts ({row['model']})", 0, None)
            if outside is None:
                outside = OutsideTexts.read(store, kg, settings)
            context = _context(trained_models[row["model"]], headline_rules, outside, classes)
        evaluations.append(
            ModelEvaluation(
                row["model"],
                row["method"],
                row["run"],
                float(row["accuracy"]) if row.get("accuracy") is not None else float("nan"),
                counts,
                results,
                ties,
                covered,
                context,
                headline if context is not None else None,
                conflicts=both,
                per_class=per_class,
            )
        )
    overlaps = []
    measure = headline
    for i, a in enumerate(evaluations):
        for b in evaluations[i + 1 :]:
            for cls in consequents:
                coef, jac = overlap(set(a.covered[measure][cls]), set(b.covered[measure][cls]))
                overlaps.append(
                    {
                        "model_a": a.model,
                        "model_b": b.model,
                        "class": cls,
                        "measure": measure,
                        "entities_a": len(a.covered[measure][cls]),
                        "entities_b": len(b.covered[measure][cls]),
                        "overlap": coef,
                        "jaccard": jac,
                    }
                )
    result = Evaluation(
        dataset,
        {
            "theta": settings.theta,
            "min_confidence": settings.min_confidence,
            "min_support": settings.min_support,
            "max_length": settings.max_antecedent,
            "coverage_base": coverage_base,
            "conflicts": conflicts,
        },
        evaluations,
        overlaps,
        time.perf_counter() - start,
        sensitivity=sensitivity_rows,
        classes=consequents,
    )
    output.mkdir(parents=True, exist_ok=True)
    if evaluations:
        from .rule_graph import render_png, rule_graph

        first = evaluations[0].model
        # the rule graph shows the most confident candidates: at a low supmin there are millions, whose
        # pairwise overlaps do not fit in memory (nor a picture)
        candidates = best_rules[first]
        shown = graph_rules(candidates, measure)
        cut = f"the {len(shown):,} most confident of {len(candidates):,} " if len(shown) < len(candidates) else ""
        iris = sorted(
            {i.value for r in shown for i in r.antecedent if not i.literal}
            | {WD + i.property[len(WDT) :] for r in shown for i in r.antecedent if i.property.startswith(WDT)}
        )
        label_rules(shown, kg_labels(store, kg, iris, settings.item_batch))
        path = output / "rule-graph.png"
        render_png(
            rule_graph(shown, measure),
            path,
            title=f"{dataset}: {cut}{first} rules before pruning, by conf_{measure} (edges: shared entities)",
        )
        result.rule_graph = str(path)
    _write(result, output)
    return result


#: The most rules the rule graph draws (the most confident candidates before pruning).
RULE_GRAPH_RULES = 2000


def graph_rules(candidates: Sequence[Rule], measure: str, limit: int = RULE_GRAPH_RULES) -> list[Rule]:
    """The rules the rule graph draws: the ``limit`` most confident under ``measure`` (then by support)."""
    return sorted(candidates, key=lambda r: (-r.confidence[measure], -r.support))[:limit]


def _context(
    trained: TrainedModel, rules: list[Rule], outside: OutsideTexts, classes: Sequence[str] = ()
) -> dict[str, ContextMetrics]:
    """Table 3 for one model: its P(positive) on every outside text, summarised per class of its rules,
    and over all outside texts (the base rate the per-class numbers are read against). More than two classes:
    per class c, P(c) on the texts of c's rules, and as base rate ("all " + c) on every text; r_Pos counts the
    texts whose most probable class is c."""
    entities = list(outside.texts)
    if not entities:
        raise InputError("the knowledge graph holds no English descriptions to use as outside texts")
    probabilities = predict(trained.model, trained.encode([outside.texts[e] for e in entities]))
    if not classes:
        values = probabilities.tolist()
        out = context_metrics(rules, outside.items, dict(zip(entities, values, strict=True)))
        out["all"] = ContextMetrics(
            0, len(values), sum(values) / len(values), float("nan"), sum(p > 0.5 for p in values) / len(values)
        )
        return out
    top = probabilities.argmax(dim=1).tolist()
    out = {}
    for i, cls in enumerate(classes):
        values = probabilities[:, i].tolist()
        scores, hits = dict(zip(entities, values, strict=True)), {e: t == i for e, t in zip(entities, top, strict=True)}
        out[cls] = context_metrics([r for r in rules if r.consequent == cls], outside.items, scores, hits)[cls]
        out["all " + cls] = ContextMetrics(
            0, len(values), sum(values) / len(values), float("nan"), sum(t == i for t in top) / len(top)
        )
    return out


def _fmt(value: float | None) -> str:
    return "—" if value is None or value != value else f"{value:.2f}"


def _is_painters(result: Evaluation) -> bool:
    """The paper's numbers are for its painters task: shown only beside a dataset named painters."""
    return result.dataset.lower().startswith("painters")


def _paper_accuracy(result: Evaluation, model: str) -> float | None:
    return PAPER_ACCURACY.get(model) if _is_painters(result) else None


def _bases(result: Evaluation) -> tuple[str, str]:
    """(the coverage base set beside the paper's number, the other one)."""
    chosen = str(result.settings.get("coverage_base", "test"))
    return chosen, next(b for b in COVERAGE_BASES if b != chosen)


def _header(result: Evaluation) -> list[str]:
    chosen, other = _bases(result)
    return [
        "model",
        "entities",
        "measure",
        "rules",
        "covered",
        "Acc_imp",
        "paper",
        "Acc_overall",
        "paper",
        f"coverage ({chosen})",
        "paper",
        f"coverage ({other})",
    ]


def _rows(result: Evaluation) -> list[list[str]]:
    chosen, other = _bases(result)
    rows = []
    for ev in result.models:
        for subset in ("all", "unseen"):
            for measure, per_set in ev.results.items():
                # more than two classes: each class's row, then their macro average (issue #19)
                shown = [
                    (f"{measure} · {cls}", "—", m) for cls, m in ev.per_class.get(measure, {}).get(subset, {}).items()
                ]
                label = f"{measure} · macro" if shown else measure
                shown.append((label, str(ev.rules[measure]), per_set[subset]))
                paper = (
                    PAPER_TABLE1.get((ev.model, subset), {}).get(measure)
                    if _is_painters(result) and len(shown) == 1
                    else None
                )
                for name, rules, m in shown:
                    rows.append(
                        [
                            ev.model,
                            subset,
                            name,
                            rules,
                            f"{m.covered}/{m.entities}",
                            _fmt(m.acc_imp),
                            _fmt(paper[0] if paper else None),
                            _fmt(m.acc_overall),
                            _fmt(paper[1] if paper else None),
                            _fmt(m.coverage_of(chosen)),
                            _fmt(paper[2] if paper else None),
                            _fmt(m.coverage_of(other)),
                        ]
                    )
    return rows


SENSITIVITY_HEADER = [
    "model",
    "measure",
    "supmin",
    "longest",
    "rules",
    "covered",
    "Acc_imp",
    "Acc_overall",
    "coverage (test)",
    "coverage (train)",
    "unseen Acc_imp",
    "unseen Acc_overall",
    "this run",
]


def _sensitivity_rows(result: Evaluation) -> list[list[str]]:
    order = {m: i for i, m in enumerate(MEASURES)}
    ordered = sorted(
        result.sensitivity, key=lambda r: (r.model, order.get(r.measure, len(order)), r.max_length, r.min_support)
    )
    return [
        [
            r.model,
            r.measure,
            str(r.min_support),
            str(r.max_length),
            str(r.rules),
            f"{r.all.covered}/{r.all.entities}",
            _fmt(r.all.acc_imp),
            _fmt(r.all.acc_overall),
            _fmt(r.all.coverage),
            _fmt(r.all.coverage_train),
            _fmt(r.unseen.acc_imp),
            _fmt(r.unseen.acc_overall),
            "✓" if r.current else "",
        ]
        for r in ordered
    ]


SENSITIVITY_NOTE = (
    "Sensitivity to the settings the paper does not state (supmin, longest antecedent), same θ, "
    'confmin and --conflicts; "this run" marks the settings of the table above.'
)
CONFLICT_NOTES = {
    "confident": "scored by the more confident rule; equally confident ones dropped",
    "drop": "dropped",
    "union": "counted for both classes (the formula's ⋃M⁺ ∪ ⋃M⁻ read literally)",
}


def _conflict_note(result: Evaluation) -> str | None:
    mode = str(result.settings.get("conflicts", "confident"))
    found = {ev.model: ev.conflicts for ev in result.models if any(ev.conflicts.values())}
    if not found:
        return None
    note = f"Test entities matched by rules of both classes, {CONFLICT_NOTES[mode]} (--conflicts {mode}): {found}"
    ties = {ev.model: ev.ties for ev in result.models if any(ev.ties.values())}
    return note + (f"; of them with equally confident rules: {ties}" if ties and mode == "confident" else "")


CONTEXT_HEADER = [
    "model",
    "measure",
    "rules of",
    "rules",
    "texts",
    "avg. score",
    "paper",
    "avg. per-rule score",
    "paper",
    "r_Pos",
    "paper",
]


def _context_rows(result: Evaluation) -> list[list[str]]:
    rows = []
    for ev in result.models:
        if not ev.context:
            continue
        for cls, m in ev.context.items():
            base = cls == "all" or cls.startswith("all ")
            paper = PAPER_TABLE3.get(cls) if _is_painters(result) and len(result.classes) == 2 else None
            name = "(every text" + (", " + cls[4:] if cls != "all" else "") + ")" if base else cls
            rows.append(
                [
                    ev.model,
                    str(ev.context_measure),
                    name,
                    str(m.rules) if not base else "—",
                    str(m.texts),
                    _fmt(m.avg_score),
                    _fmt(paper[0] if paper else None),
                    _fmt(m.avg_rule_score),
                    _fmt(paper[1] if paper else None),
                    _fmt(m.r_pos),
                    _fmt(paper[2] if paper else None),
                ]
            )
    return rows


CONTEXT_NOTE = (
    "Out-of-context validity (Table 3): the model's P(positive) on outside texts about the entities "
    'each class\'s rules cover — "label, description" from the knowledge graph (the paper used the '
    "entities' Wikipedia abstracts) — and, as the base rate, on every entity's text. Pos rules are "
    "valid out of context when their texts score above the base rate, Neg rules when below."
)


def report_markdown(result: Evaluation) -> str:
    lines = [
        f"# kgexplain evaluation: {result.dataset}",
        "",
        "Rules mined on the training texts, evaluated on the test texts (main paper, Sec. 6.1). "
        f"Settings: θ = {result.settings['theta']}, confmin = {result.settings['min_confidence']}, "
        f"supmin = {result.settings['min_support']}, longest antecedent {result.settings['max_length']}, "
        f"--conflicts {result.settings.get('conflicts', 'confident')}, "
        f"--coverage-base {result.settings.get('coverage_base', 'test')}. "
        "*unseen* = entities never mentioned in a training text. Coverage (test) = covered / "
        "test-mentioned entities; coverage (train) = covered / training transactions. The paper's "
        "numbers (Table 1) are beside ours for the painters task.",
        "",
    ]
    lines += ["| model | method | test accuracy | paper |", "|---|---|---:|---:|"]
    for ev in result.models:
        lines.append(
            f"| {ev.model} | {ev.method} | {_fmt(ev.test_accuracy)} | {_fmt(_paper_accuracy(result, ev.model))} |"
        )
    header = _header(result)
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * 3 + "---:|" * (len(header) - 3)]
    lines += ["| " + " | ".join(r) + " |" for r in _rows(result)]
    if result.overlaps:
        lines += [
            "",
            "Entities covered by each model's rules (Table 2; overlap coefficient |A∩B|/min, and Jaccard):",
            "",
            "| models | class | entities | overlap | Jaccard |",
            "|---|---|---|---:|---:|",
        ]
        for o in result.overlaps:
            lines.append(
                f"| {o['model_a']} vs {o['model_b']} | {o['class']} | {o['entities_a']} / "
                f"{o['entities_b']} | {_fmt(o['overlap'])} | {_fmt(o['jaccard'])} |"
            )
    context = _context_rows(result)
    if context:
        lines += [
            "",
            CONTEXT_NOTE,
            "",
            "| " + " | ".join(CONTEXT_HEADER) + " |",
            "|" + "---|" * 3 + "---:|" * (len(CONTEXT_HEADER) - 3),
        ]
        lines += ["| " + " | ".join(r) + " |" for r in context]
    note = _conflict_note(result)
    if note:
        lines += ["", note]
    if result.sensitivity:
        lines += [
            "",
            SENSITIVITY_NOTE,
            "",
            "| " + " | ".join(SENSITIVITY_HEADER) + " |",
            "|" + "---|" * 2 + "---:|" * (len(SENSITIVITY_HEADER) - 3) + "---|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in _sensitivity_rows(result)]
    if result.rule_graph:
        lines += ["", f"![rule graph]({Path(result.rule_graph).name})"]
    return "\n".join(lines) + "\n"


def report_html(result: Evaluation) -> str:
    def table(header: list[str], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    accuracy = [
        [ev.model, ev.method, _fmt(ev.test_accuracy), _fmt(_paper_accuracy(result, ev.model))] for ev in result.models
    ]
    parts = [
        f"<h1>kgexplain evaluation: {html.escape(result.dataset)}</h1>",
        f"<p>θ = {result.settings['theta']}, confmin = {result.settings['min_confidence']}, supmin = "
        f"{result.settings['min_support']}. <em>unseen</em> = entities never mentioned in a training text; "
        "<em>paper</em> = the main paper's Table 1 (painters).</p>",
        table(["model", "method", "test accuracy", "paper"], accuracy),
        table(_header(result), _rows(result)),
    ]
    if result.overlaps:
        parts.append(
            table(
                ["model A", "model B", "class", "entities A", "entities B", "overlap", "Jaccard"],
                [
                    [
                        str(o["model_a"]),
                        str(o["model_b"]),
                        str(o["class"]),
                        str(o["entities_a"]),
                        str(o["entities_b"]),
                        _fmt(o["overlap"]),
                        _fmt(o["jaccard"]),
                    ]
                    for o in result.overlaps
                ],
            )
        )
    context = _context_rows(result)
    if context:
        parts.append(f"<p>{html.escape(CONTEXT_NOTE)}</p>")
        parts.append(table(CONTEXT_HEADER, context))
    note = _conflict_note(result)
    if note:
        parts.append(f"<p>{html.escape(note)}</p>")
    if result.sensitivity:
        parts.append(f"<p>{html.escape(SENSITIVITY_NOTE)}</p>")
        parts.append(table(SENSITIVITY_HEADER, _sensitivity_rows(result)))
    if result.rule_graph:
        parts.append(f'<img alt="rule graph" src="{html.escape(Path(result.rule_graph).name)}">')
    style = (
        "body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;"
        "margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
    )
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>kgexplain evaluation</title>"
        f"<style>{style}</style><body>{''.join(parts)}</body></html>\n"
    )


def sensitivity_csv(result: Evaluation) -> str:
    """The sensitivity grid, one row per model, point and measure, numbers unrounded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "model",
            "measure",
            "min_support",
            "max_length",
            "rules",
            "entities",
            "covered",
            "occurrences",
            "acc_imp",
            "acc_overall",
            "coverage_test",
            "train_entities",
            "train_covered",
            "coverage_train",
            "unseen_entities",
            "unseen_covered",
            "unseen_acc_imp",
            "unseen_acc_overall",
            "ties",
            "conflicts",
            "this_run",
        ]
    )
    for r in result.sensitivity:
        a, u = r.all, r.unseen
        writer.writerow(
            [
                r.model,
                r.measure,
                r.min_support,
                r.max_length,
                r.rules,
                a.entities,
                a.covered,
                a.occurrences,
                a.acc_imp,
                a.acc_overall,
                a.coverage,
                a.train_entities,
                a.train_covered,
                a.coverage_train,
                u.entities,
                u.covered,
                u.acc_imp,
                u.acc_overall,
                r.ties,
                r.conflicts,
                r.current,
            ]
        )
    return buffer.getvalue()


def _write(result: Evaluation, output: Path) -> None:
    data = asdict(result)
    for ev in data["models"]:
        ev.pop("covered", None)
    files = [
        ("evaluation.md", report_markdown(result)),
        ("evaluation.html", report_html(result)),
        ("evaluation.json", json.dumps(data, indent=2, default=str)),
    ]
    if result.sensitivity:
        files.append(("sensitivity.csv", sensitivity_csv(result)))
    for name, text in files:
        tmp = output / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output / name)
