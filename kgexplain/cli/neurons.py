"""``kgexplain neurons …``: rules between neurons (ExplaiNN), redescriptions between neurons and concepts or
another model's neurons, and neuron ↔ concept rules, over a stored activation run."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..config import Settings
from ..neurons import (
    DEFAULT_MIN_DOCUMENTS,
    PREDICTED,
    activation_run,
    concept_rules_stage,
    explainn_stage,
    neuron_tokens,
    redescribe_stage,
)
from ..publish.neurons import neuron_rule_label
from .options import DatasetOpt, EndpointOpt, StoreOpt, TopOpt, console, handle_errors, open_db, progress_bar

__all__ = ["neurons_app", "explainn_command", "redescribe_command", "concepts_command"]

neurons_app = typer.Typer(
    no_args_is_help=True,
    help="Inside the network: neuron rules (ExplaiNN), redescriptions, "
    "neuron ↔ concept rules, over a stored activation run.",
)

ModelPick = Annotated[
    str | None,
    typer.Option(
        "--model", help="The activation run of this model (cnn, bilstm, …; default: the newest activation run)."
    ),
]
RunPick = Annotated[str | None, typer.Option("--activation-run", help="An activation run id (default: the newest).")]
MinDocs = Annotated[
    int, typer.Option("--min-documents", min=1, help="Least documents a concept, rule or redescription must hold.")
]


def _tokens(tokens: dict[str, list[tuple[str, float]]], name: str, n: int = 4) -> str:
    return ", ".join(word for word, _ in tokens.get(name, [])[:n]) or "—"


@neurons_app.command("explainn")
def explainn_command(
    dataset: DatasetOpt,
    layers: Annotated[
        tuple[str, str],
        typer.Option(
            "--layers",
            help=f"HEAD TAIL: the layer whose neurons form rule "
            f"heads ({PREDICTED!r}: the predicted class) and the layer of the tails.",
        ),
    ],
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    model: ModelPick = None,
    activation_run_id: RunPick = None,
    theta: Annotated[float, typer.Option("--theta", help="Head candidates need σ(x, A) > θ.")] = 0.0,
    mu: Annotated[
        int | None,
        typer.Option("--mu", help="Rules merge only if their heads differ in ≤ μ neurons (default: no limit)."),
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="The baseline without relaxation: conjunctive heads, exact tails.")
    ] = False,
    top: TopOpt = 10,
) -> None:
    """ExplaiNN: the rule set of minimum description length between two layers' binarized activations."""
    with handle_errors():
        settings = Settings()
        head, tail = layers
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = explainn_stage(
                db,
                dataset,
                settings,
                head,
                tail,
                model=model,
                activation_run_id=activation_run_id,
                theta=theta,
                mu=mu,
                robust=not exact,
                progress=progress,
            )
            run = activation_run(db, dataset, settings, run_id=result.activation_run.rsplit("/", 1)[-1])
            tokens = neuron_tokens(db, run)
        saved = result.baseline_bits - result.total_bits
        console.print(
            f"{len(result.rules)} rules between {head} and {tail} over {result.documents:,} documents: "
            f"{result.total_bits:,.0f} bits against {result.baseline_bits:,.0f} without rules "
            f"({saved / result.baseline_bits:.1%} saved)"
        )
        table = Table("rule", "applies", "holds", "gain (bits)", "tokens behind the tail")
        for rule in result.rules[:top]:
            tail_tokens = "; ".join(_tokens(tokens, result.tail_names[j], 3) for j in rule.tail[:3])
            table.add_row(
                neuron_rule_label(rule, result.head_names, result.tail_names),
                str(rule.applies),
                str(rule.holds),
                f"{rule.gain_bits:,.1f}",
                tail_tokens,
            )
        console.print(table)
        console.print(f"neuron rule run {result.run_id}; graph {result.graph}")


@neurons_app.command("redescribe")
def redescribe_command(
    dataset: DatasetOpt,
    layer: Annotated[str, typer.Option("--layer", help="The layer whose binned activations form the left queries.")],
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    model: ModelPick = None,
    activation_run_id: RunPick = None,
    against: Annotated[
        str,
        typer.Option(
            "--against",
            help="concepts (KG facts of the mentioned and subject "
            "entities, and labels), labels, or a model name (cnn, bilstm, …): that "
            "model's newest activation run, on the same documents.",
        ),
    ] = "concepts",
    against_layer: Annotated[
        str | None,
        typer.Option(
            "--against-layer", help="The other model's layer (default: its last layer with more than one neuron)."
        ),
    ] = None,
    min_jaccard: Annotated[float, typer.Option("--min-jaccard", min=0.0, max=1.0)] = 0.2,
    max_p: Annotated[float, typer.Option("--max-p", min=0.0, max=1.0, help="Largest binomial p-value kept.")] = 0.01,
    max_p_randomized: Annotated[
        float,
        typer.Option(
            "--max-p-randomized",
            min=0.0,
            max=1.0,
            help="Largest randomized p-value kept (adjusted for the whole search; 1: keep all).",
        ),
    ] = 0.05,
    randomizations: Annotated[
        int,
        typer.Option(
            "--randomizations", min=0, help="Permutations per redescription for the randomized p-value (0: none)."
        ),
    ] = 200,
    min_documents: MinDocs = DEFAULT_MIN_DOCUMENTS,
    top: TopOpt = 10,
) -> None:
    """Redescriptions: queries over one layer's binned activations paired with queries over concepts, labels or
    another model's neurons that describe nearly the same documents."""
    with handle_errors():
        settings = Settings()
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = redescribe_stage(
                db,
                dataset,
                settings,
                layer,
                against=against,
                against_layer=against_layer,
                model=model,
                activation_run_id=activation_run_id,
                min_jaccard=min_jaccard,
                max_p=max_p,
                max_p_randomized=max_p_randomized,
                randomizations=randomizations,
                min_documents=min_documents,
                progress=progress,
            )
        console.print(
            f"{len(result.found)} redescriptions of {layer} ({result.model}) against {result.against} over "
            f"{result.documents:,} documents"
        )
        table = Table("neurons", "⇔", "J", "p", "p (randomized)", "support", "tokens behind the neurons")
        for row in result.rows[:top]:
            table.add_row(
                row["left"],
                row["right"],
                f"{row['jaccard']:.2f}",
                f"{row['p_value']:.1e}",
                "—" if row["p_randomized"] is None else f"{row['p_randomized']:.3f}",
                str(row["support"]),
                row["tokens"],
            )
        console.print(table)
        console.print(f"redescription run {result.run_id}; graph {result.graph}")


@neurons_app.command("concepts")
def concepts_command(
    dataset: DatasetOpt,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    model: ModelPick = None,
    activation_run_id: RunPick = None,
    layer: Annotated[
        list[str] | None,
        typer.Option(
            "--layer", help="A layer whose neurons are rule consequents (repeat; default: every layer but the output)."
        ),
    ] = None,
    min_documents: MinDocs = DEFAULT_MIN_DOCUMENTS,
    max_concepts: Annotated[int, typer.Option("--max-length", min=1, max=4, help="Most concepts per rule.")] = 2,
    min_confidence: Annotated[float, typer.Option("--min-confidence", min=0.0, max=1.0)] = 0.5,
    min_lift: Annotated[float, typer.Option("--min-lift", min=0.0)] = 1.5,
    top: TopOpt = 10,
) -> None:
    """Neuron ↔ concept rules: which knowledge-graph concepts of a document switch a neuron on, mined from
    SPARQL-generated itemsets (documents as transactions, concepts and active neurons as items)."""
    with handle_errors():
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = concept_rules_stage(
                db,
                dataset,
                Settings(),
                layer or (),
                model=model,
                activation_run_id=activation_run_id,
                min_documents=min_documents,
                max_concepts=max_concepts,
                min_confidence=min_confidence,
                min_lift=min_lift,
                progress=progress,
            )
        console.print(
            f"{result.found:,} rules ({len(result.rules)} best published) from {result.concepts:,} concepts and {result.itemsets:,} frequent concept "
            f"sets over {result.documents:,} documents (subject entity linked for "
            f"{result.view.linked_subjects})"
        )
        table = Table("concepts → neuron active", "support", "confidence", "lift", "tokens behind the neuron")
        for rule in result.rules[:top]:
            table.add_row(
                rule.label,
                str(rule.support),
                f"{rule.confidence:.2f}",
                f"{rule.lift:.2f}",
                _tokens(result.tokens, f"{rule.layer}#{rule.neuron}"),
            )
        console.print(table)
        console.print(f"neuron-concept rule run {result.run_id}; graph {result.graph}")
