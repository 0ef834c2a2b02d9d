"""The neighbourhood cut keeps incoming facts: a ``wdt:`` fact about a named entity, held by an entity the
texts do not name, in N-Triples, Turtle and Wikibase JSON dumps, truthy statements only."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from kgexplain.loaders.wikidata import LoadReport, cut_neighbourhood, iter_triples
from kgexplain.text import normalize
from kgexplain.vocab import RDFS, SCHEMA, WD, WDT

LABEL = f"<{RDFS}label>"
DESCRIPTION = f"<{SCHEMA}description>"
ABOUT = f"<{SCHEMA}about>"


def wd(local: str) -> str:
    return f"<{WD}{local}>"


def wdt(local: str) -> str:
    return f"<{WDT}{local}>"


# A small dump: the texts name only "Vermeer" (Q1). Q100 and Q800 are prizes Vermeer won (P1346, winner);
# Q200 and Q700 are prizes someone else won; Q600 once named Vermeer, in a deprecated statement.
LABELS = {
    "Q1": "Vermeer",
    "Q5": "human",
    "Q55": "Netherlands",
    "Q100": "Prize for light",
    "Q200": "Prize for shade",
    "Q600": "Forgotten prize",
    "Q700": "Disputed prize",
    "Q800": "Golden brush",
    "Q618779": "award",
    "Q1028181": "painter",
    "P17": "country",
    "P31": "instance of",
    "P106": "occupation",
    "P279": "subclass of",
    "P1346": "winner",
}
DESCRIPTIONS = {"Q100": "an award for painters"}
DUTCH_LABELS = {"Q100": "Prijs voor licht"}
# (subject, property, object, rank)
CLAIMS = [
    ("Q1", "P31", "Q5", "normal"),
    ("Q1", "P106", "Q1028181", "normal"),
    ("Q100", "P31", "Q618779", "normal"),
    ("Q100", "P1346", "Q1", "normal"),
    ("Q100", "P17", "Q55", "normal"),
    ("Q200", "P1346", "Q55", "normal"),
    ("Q600", "P1346", "Q1", "deprecated"),
    ("Q700", "P1346", "Q55", "preferred"),
    ("Q700", "P1346", "Q1", "normal"),
    ("Q800", "P1346", "Q1", "preferred"),
    ("Q800", "P1346", "Q55", "normal"),
    ("Q1028181", "P279", "Q483501", "normal"),
]
# What Wikidata's truthy dump leaves out: deprecated statements, and normal ones beside a preferred one.
NOT_TRUTHY = {("Q600", "P1346", "Q1"), ("Q700", "P1346", "Q1"), ("Q800", "P1346", "Q55")}
ENWIKI = {"Q1": "Johannes Vermeer"}

# The cut, by hand. Vermeer's own facts; the two truthy facts about him held by Q100 and Q800; of the
# neighbours (Q5, Q1028181 and wd:P31, wd:P106 from Vermeer's facts; Q100, Q800 and wd:P1346 from the
# incoming ones) their English labels, descriptions, P31 and P279. Not Q100's country (P17), not the
# label of its class (Q618779: a neighbour's neighbour), not Q200, Q600 or Q700, and no sitelink.
EXPECTED = {
    f'{wd("Q1")} {LABEL} "Vermeer"@en',
    f"{wd('Q1')} {wdt('P31')} {wd('Q5')}",
    f"{wd('Q1')} {wdt('P106')} {wd('Q1028181')}",
    f"{wd('Q100')} {wdt('P1346')} {wd('Q1')}",
    f"{wd('Q800')} {wdt('P1346')} {wd('Q1')}",
    f'{wd("Q5")} {LABEL} "human"@en',
    f'{wd("Q1028181")} {LABEL} "painter"@en',
    f"{wd('Q1028181')} {wdt('P279')} {wd('Q483501')}",
    f'{wd("Q100")} {LABEL} "Prize for light"@en',
    f'{wd("Q100")} {DESCRIPTION} "an award for painters"@en',
    f"{wd('Q100')} {wdt('P31')} {wd('Q618779')}",
    f'{wd("Q800")} {LABEL} "Golden brush"@en',
    f'{wd("P31")} {LABEL} "instance of"@en',
    f'{wd("P106")} {LABEL} "occupation"@en',
    f'{wd("P1346")} {LABEL} "winner"@en',
}
EXPECTED_NEIGHBOURS = 7  # Q5, Q1028181, Q100, Q800, wd:P31, wd:P106, wd:P1346
EXPECTED_INCOMING = 2


def truthy_lines() -> list[str]:
    """The dump as N-Triples lines (no final dot), grouped by subject as in the truthy dump."""
    lines: list[str] = []
    for entity, label in LABELS.items():
        lines.append(f'{wd(entity)} {LABEL} "{label}"@en')
        if entity in DUTCH_LABELS:
            lines.append(f'{wd(entity)} {LABEL} "{DUTCH_LABELS[entity]}"@nl')
        if entity in DESCRIPTIONS:
            lines.append(f'{wd(entity)} {DESCRIPTION} "{DESCRIPTIONS[entity]}"@en')
        for s, p, o, _ in CLAIMS:
            if s == entity and (s, p, o) not in NOT_TRUTHY:
                lines.append(f"{wd(s)} {wdt(p)} {wd(o)}")
        if entity in ENWIKI:
            article = "<https://en.wikipedia.org/wiki/" + ENWIKI[entity].replace(" ", "_") + ">"
            lines.append(f"{article} {ABOUT} {wd(entity)}")
    return lines


def write_nt(path: Path) -> None:
    path.write_text("".join(line + " .\n" for line in truthy_lines()), encoding="utf-8")


def write_ttl(path: Path) -> None:
    """Turtle as a dump writes it: prefixes, then one block per subject with ``;`` between its triples."""
    prefixes = {"wd": WD, "wdt": WDT, "rdfs": RDFS, "schema": SCHEMA}

    def short(term: str) -> str:
        for name, iri in prefixes.items():
            if term.startswith(f"<{iri}"):
                return f"{name}:{term[len(iri) + 1 : -1]}"
        return term

    blocks: dict[str, list[str]] = {}
    for line in truthy_lines():
        s, p, o = line.split(" ", 2)
        blocks.setdefault(s, []).append(f"{short(p)} {short(o)}")
    text = "".join(f"@prefix {name}: <{iri}> .\n" for name, iri in prefixes.items()) + "\n"
    for s, pairs in blocks.items():
        text += short(s) + " " + " ;\n    ".join(pairs) + " .\n\n"
    path.write_text(text, encoding="utf-8")


def entity_json(entity: str, ranks: dict[tuple[str, str, str], str] | None = None) -> dict:
    """One entity in Wikibase JSON, as in the dump; ``ranks`` overrides statements' ranks."""
    value: dict = {"id": entity, "type": "property" if entity.startswith("P") else "item"}
    value["labels"] = {"en": {"language": "en", "value": LABELS[entity]}}
    if entity in DUTCH_LABELS:
        value["labels"]["nl"] = {"language": "nl", "value": DUTCH_LABELS[entity]}
    if entity in DESCRIPTIONS:
        value["descriptions"] = {"en": {"language": "en", "value": DESCRIPTIONS[entity]}}
    claims: dict[str, list[dict]] = {}
    for s, p, o, rank in CLAIMS:
        if s != entity:
            continue
        snak = {
            "snaktype": "value",
            "property": p,
            "datatype": "wikibase-item",
            "datavalue": {
                "value": {"entity-type": "item", "numeric-id": int(o[1:]), "id": o},
                "type": "wikibase-entityid",
            },
        }
        rank = (ranks or {}).get((s, p, o), rank)
        claims.setdefault(p, []).append({"mainsnak": snak, "type": "statement", "rank": rank})
    value["claims"] = claims
    if entity in ENWIKI:
        value["sitelinks"] = {"enwiki": {"site": "enwiki", "title": ENWIKI[entity]}}
    return value


def write_json(path: Path, ranks: dict[tuple[str, str, str], str] | None = None) -> None:
    """The JSON dump's array: one entity per line, each line but the last ending with a comma."""
    lines = [json.dumps(entity_json(e, ranks)) for e in LABELS]
    path.write_bytes(gzip.compress(("[\n" + ",\n".join(lines) + "\n]\n").encode("utf-8")))


def write_json_lines(path: Path, ranks: dict[tuple[str, str, str], str]) -> None:
    """JSON lines: one entity per line, no array."""
    path.write_text("".join(json.dumps(entity_json(e, ranks)) + "\n" for e in LABELS), encoding="utf-8")


WRITERS = {"dump.nt": write_nt, "dump.ttl": write_ttl, "dump.json.gz": write_json}


def cut(path: Path, tmp_path: Path, **options: bool) -> tuple[set[str], object]:
    out = tmp_path / "cut.nt"
    result = cut_neighbourhood(path, out, {"vermeer"}, normalize, **options)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert all(line.endswith(" .") for line in lines)
    kept = {line[:-2] for line in lines}
    assert len(kept) == len(lines) == result.kept  # each triple once
    return kept, result


@pytest.mark.parametrize("name", list(WRITERS))
def test_cut_keeps_incoming_facts(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    WRITERS[name](path)
    report = LoadReport.for_path(path)
    dump = set(truthy_lines())
    if report.format == "json":  # the JSON reader keeps English text only
        dump = {line for line in dump if not line.endswith('"@nl')}
    assert {" ".join(t) for t in iter_triples(path, report)} == dump  # the same dump in each format
    assert report.malformed == 0

    kept, result = cut(path, tmp_path)

    assert kept == EXPECTED
    assert result.candidates == 1
    assert result.neighbours == EXPECTED_NEIGHBOURS
    assert result.incoming == EXPECTED_INCOMING


@pytest.mark.parametrize("name", list(WRITERS))
def test_cut_without_incoming_is_the_old_cut(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    WRITERS[name](path)
    kept, result = cut(path, tmp_path, incoming=False)
    holders = (wd("Q100"), wd("Q800"), wd("P1346"))
    assert kept == {line for line in EXPECTED if not line.startswith(holders)}
    assert (result.neighbours, result.incoming) == (4, 0)


def test_cut_json_ranks_decide_incoming_facts(tmp_path: Path) -> None:
    # The same dump with every statement at normal rank: the deprecated statement of Q600 and the
    # normal one of Q700 (beside a preferred one) now count, so the ranks are what kept them out above.
    path = tmp_path / "normal.jsonl"
    normal = {(s, p, o): "normal" for s, p, o, _ in CLAIMS}
    write_json_lines(path, normal)
    kept, result = cut(path, tmp_path)
    assert kept - EXPECTED == {
        f"{wd('Q600')} {wdt('P1346')} {wd('Q1')}",
        f"{wd('Q700')} {wdt('P1346')} {wd('Q1')}",
        f'{wd("Q600")} {LABEL} "Forgotten prize"@en',
        f'{wd("Q700")} {LABEL} "Disputed prize"@en',
    }
    assert kept >= EXPECTED
    assert result.incoming == 4

    # Only Q600's statement deprecated: it alone is dropped.
    path = tmp_path / "deprecated.jsonl"
    normal[("Q600", "P1346", "Q1")] = "deprecated"
    write_json_lines(path, normal)
    kept, result = cut(path, tmp_path)
    assert not [line for line in kept if line.startswith(wd("Q600"))]
    assert f"{wd('Q700')} {wdt('P1346')} {wd('Q1')}" in kept
    assert result.incoming == 3


def test_cut_nt_quick_test_reads_every_line_shape(tmp_path: Path) -> None:
    # N-Triples lines the quick object test must not miss (tabs, several blanks, a blank-node subject)
    # or let through (a non-wdt predicate, a literal holding the entity's IRI, a sitelink).
    path = tmp_path / "shapes.nt.gz"
    extra = [
        f"{wd('Q500')}\t{wdt('P737')}\t\t{wd('Q1')}\t.",  # influenced by, tab-separated
        f"{wd('Q501')}  {wdt('P184')}   {wd('Q1')} . # doctoral advisor, with a comment <{WD}Q2>",
        f"_:b1 {wdt('P1346')} {wd('Q1')} .",
        f"{wd('Q502')} <http://schema.org/mentions> {wd('Q1')} .",
        f'{wd("Q503")} {wdt("P973")} "{wd("Q1")}" .',
        f'{wd("Q504")} {wdt("P973")} "x"^^{wd("Q1")} .',
    ]
    names = {"Q500": "Pupil", "Q501": "Student", "Q502": "Essay", "Q503": "Page", "P737": "influenced by"}
    labels = [f'{wd(q)} {LABEL} "{name}"@en .' for q, name in names.items()]
    body = [line + " ." for line in truthy_lines()] + extra + labels
    path.write_bytes(gzip.compress(("\n".join(body) + "\n").encode("utf-8")))

    kept, result = cut(path, tmp_path)

    assert result.report.malformed == 0
    assert kept - EXPECTED == {
        f"{wd('Q500')} {wdt('P737')} {wd('Q1')}",
        f"{wd('Q501')} {wdt('P184')} {wd('Q1')}",
        f"_:b1 {wdt('P1346')} {wd('Q1')}",
        f'{wd("Q500")} {LABEL} "Pupil"@en',
        f'{wd("Q501")} {LABEL} "Student"@en',
        f'{wd("P737")} {LABEL} "influenced by"@en',
    }
    assert result.incoming == EXPECTED_INCOMING + 3
    # Q500, Q501, wd:P737, wd:P184 (no label in the dump); a blank node is no neighbour
    assert result.neighbours == EXPECTED_NEIGHBOURS + 4


def test_load_stage_makes_incoming_items(tmp_path: Path) -> None:
    from kgexplain.config import Settings
    from kgexplain.loaders.datasets import Dataset, Document
    from kgexplain.stages.load import load_stage
    from kgexplain.stages.mine import transactions
    from kgexplain.store import EmbeddedStore
    from kgexplain.vocab import Minter

    dump = tmp_path / "dump.nt"
    write_nt(dump)
    dataset = Dataset(
        "tiny",
        [
            Document("d1", "Vermeer painted light.", 1, "train"),
            Document("d2", "A still life of fruit.", 0, "test"),
        ],
    )
    settings = Settings()
    store = EmbeddedStore()
    load_stage(store, dataset, dump, settings)

    kg = Minter(settings.base_iri).kg_graph("tiny")
    items = transactions(store, kg, [f"{WD}Q1"], settings)
    incoming = items.filter(items["direction"] == "in").select("property", "value").rows()
    assert sorted(incoming) == [(f"{WDT}P1346", f"{WD}Q100"), (f"{WDT}P1346", f"{WD}Q800")]
    outgoing = items.filter(items["direction"] == "out").select("property", "value").rows()
    assert sorted(outgoing) == [(f"{WDT}P106", f"{WD}Q1028181"), (f"{WDT}P31", f"{WD}Q5")]


def test_kg_filter_outgoing_leaves_out_the_facts_pointing_at_named_entities(tmp_path: Path) -> None:
    """`--kg-filter outgoing`: the same load without the facts that point at the named entity."""
    from kgexplain.config import Settings
    from kgexplain.loaders.datasets import Dataset, Document
    from kgexplain.stages.load import load_stage
    from kgexplain.stages.mine import transactions
    from kgexplain.store import EmbeddedStore
    from kgexplain.vocab import Minter

    dump = tmp_path / "dump.nt"
    write_nt(dump)
    dataset = Dataset(
        "tiny",
        [Document("d1", "Vermeer painted light.", 1, "train"), Document("d2", "A still life of fruit.", 0, "test")],
    )
    settings = Settings(kg_filter="outgoing")
    store = EmbeddedStore()
    loaded = load_stage(store, dataset, dump, settings)
    items = transactions(store, Minter(settings.base_iri).kg_graph("tiny"), [f"{WD}Q1"], settings)
    incoming = items.filter(items["direction"] == "in").select("property", "value").rows()
    assert not incoming
    assert "0 facts about them held by others" in loaded.kg_report
