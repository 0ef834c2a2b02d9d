"""``kgexplain link``: links from the IRIs of a dataset's rule items to other vocabularies (DBpedia and the
like), from Wikidata's own mappings, an ontology's equivalences and SSSOM mapping sets. ``kgexplain.cli``
registers the command on its app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..config import Settings
from ..errors import InputError
from ..links import curie, link_stage
from .options import DatasetOpt, EndpointOpt, StoreOpt, console, err, handle_errors, open_db, progress_bar

__all__ = ["link_command"]


def link_command(
    dataset: DatasetOpt,
    store: StoreOpt = None,
    endpoint: EndpointOpt = None,
    dump: Annotated[
        Path | None,
        typer.Option(
            "--dump",
            help="A Wikidata dump (.nt, .ttl, .json, optionally "
            ".gz/.bz2) to read equivalent class (P1709), exact match (P2888), "
            "equivalent property (P1628) and enwiki sitelinks from.",
        ),
    ] = None,
    ontology: Annotated[
        Path | None,
        typer.Option(
            "--ontology",
            help="An ontology (Turtle, RDF/XML, N-Triples…) "
            "whose owl:equivalentClass/Property and SKOS mappings point "
            "to Wikidata, e.g. the DBpedia ontology.",
        ),
    ] = None,
    sssom: Annotated[
        Path | None,
        typer.Option(
            "--sssom",
            help="A mapping set in SSSOM TSV (with an optional '#' YAML metadata block holding its curie_map).",
        ),
    ] = None,
    all_links: Annotated[
        bool,
        typer.Option("--all", help="Publish every link of the sources, not only those of IRIs that rule items name."),
    ] = False,
    top: Annotated[int, typer.Option("--top", help="How many example links to print.")] = 10,
) -> None:
    """Link the properties and values of rule items to other vocabularies (skos:exactMatch …), as one run graph."""
    with handle_errors():
        for path, what in ((dump, "--dump"), (ontology, "--ontology"), (sssom, "--sssom")):
            if path is not None and not path.is_file():
                raise InputError(f"{what} {path} does not exist or is not a file")
        with open_db(None, store, endpoint) as db, progress_bar() as progress:
            result = link_stage(
                db,
                dataset,
                Settings(),
                dump=dump,
                ontology=ontology,
                sssom=sssom,
                all_links=all_links,
                progress=progress,
            )
        scope = (
            "every link of the sources"
            if all_links
            else (
                f"links of the {result.rule_iris:,} IRIs named by rule items of {result.mining_runs} mining run"
                f"{'s' if result.mining_runs != 1 else ''}"
            )
        )
        console.print(f"{len(result.links):,} links published ({scope}) in {result.seconds:.1f} s")
        for report in result.sources:
            relations = ", ".join(f"{curie(r)} {n:,}" for r, n in sorted(report.published.items())) or "none"
            line = (
                f"  {report.kind:<8} {report.name}: {report.found:,} found, "
                f"{sum(report.published.values()):,} published ({relations})"
            )
            if report.malformed:
                line += f"; {report.malformed:,} malformed, skipped"
            console.print(line, highlight=False, soft_wrap=True)
            for problem in report.problems[:3]:
                err.print(f"    {problem}", highlight=False, soft_wrap=True)
            if report.malformed > 3:
                err.print(f"    … and {report.malformed - 3:,} more", highlight=False)
        if result.links:
            table = Table("rule IRI", "label", "relation", "source")
            table.add_column("target", overflow="fold")
            for item in result.links[:top]:
                table.add_row(
                    curie(item.subject),
                    result.labels.get(item.subject, ""),
                    curie(item.relation),
                    item.source,
                    item.target,
                )
            console.print(table)
        elif not all_links:
            console.print("no source links an IRI of a rule item; try --ontology, --dump or --sssom, or --all")
        console.print(f"link run {result.run_id}; graph {result.graph}")
