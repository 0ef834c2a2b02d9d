"""The Wikidata dump reader and neighbourhood cutter on the real data: the subset
(``../shared/data/wikidata/wikidata-subset.nt.gz``) and the ``wbgetentities`` API samples. Their counts are
facts of those files. Moved here from tests/unit/loaders/test_wikidata_loader.py, which reads the hand-written
fixtures in tests/data instead."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyoxigraph as ox
import pytest
from wikidata_oracle import (
    ALT_LABEL,
    CUT_CANDIDATES,
    CUT_WORDS,
    DESCRIPTION,
    LABEL,
    P31,
    expected_cut,
    normalize,
    ox_triples,
    wd,
    wdt,
)

from kgexplain.loaders.wikidata import CutResult, LoadReport, copy_all, cut_neighbourhood, iter_triples, literal_value
from kgexplain.vocab import WD

pytestmark = pytest.mark.shared

SUBSET = "wikidata/wikidata-subset.nt.gz"
SAMPLES = "wikidata/samples"
SUBSET_TRIPLES = 576_169


@pytest.fixture(scope="module")
def subset_lines(shared_data: Path) -> list[str]:
    """The subset's lines, read without the module under test."""
    with gzip.open(shared_data / SUBSET, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


# --- the real subset -------------------------------------------------------------------------------
def test_copy_all_real_subset_loads_in_oxigraph(shared_data: Path, subset_lines: list[str], tmp_path: Path) -> None:
    src = shared_data / SUBSET
    out = tmp_path / "copy.nt"
    calls: list[tuple[int, int]] = []
    report = copy_all(src, out, on_progress=lambda done, total: calls.append((done, total)))

    assert report.format == "nt"
    assert report.triples == SUBSET_TRIPLES
    assert report.kept == SUBSET_TRIPLES
    assert report.lines == SUBSET_TRIPLES
    assert report.malformed == 0 and report.malformed_examples == []
    assert report.summary() == ("wikidata-subset.nt.gz: 576,169 triples read, 576,169 kept, 0 malformed lines")
    assert not out.with_name(out.name + ".part").exists()

    size = src.stat().st_size
    assert calls and calls[-1] == (size, size)
    assert all(total == size for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) <= size // (1 << 20) + 2  # at most about one call per MiB

    # Terms are kept as written, \u and \U escapes included: the copy is the input, line for line.
    copied = out.read_text(encoding="utf-8").splitlines()
    assert copied == subset_lines
    assert f'{wd("Q2")} {ALT_LABEL} "\\U0001F5FA"@en .' in copied

    store = ox.Store()
    store.bulk_load(path=str(out), format=ox.RdfFormat.N_TRIPLES)
    assert len(store) == SUBSET_TRIPLES


def test_literal_value_agrees_with_oxigraph(subset_lines: list[str]) -> None:
    literal_lines = [line for line in subset_lines if line.endswith('"@en .')]
    assert len(literal_lines) > 100_000
    # every literal with an escape, and the first 20,000 others
    literal_lines = [line for line in literal_lines if "\\" in line] + [
        line for line in literal_lines[:20_000] if "\\" not in line
    ]
    parsed = ox.parse("\n".join(literal_lines), format=ox.RdfFormat.N_TRIPLES)
    escaped = 0
    for line, quad in zip(literal_lines, parsed, strict=True):
        term = line[line.index(' "') + 1 : -2]
        escaped += "\\" in term
        assert literal_value(term) == (quad.object.value, quad.object.language), line
    assert escaped > 1000


# --- Wikibase JSON ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("file", "entities", "count"),
    [
        ("wbgetentities-Douglas-Adams.json", {"Q42"}, 73),
        ("wbgetentities-Q6-Q42-P31.json", {"Q42", "P31"}, 75),
        ("wbgetentities-Q1.json", {"Q1"}, 20),
        ("wbgetentities-1234567890-missing.json", set(), 0),
    ],
)
def test_wbgetentities_responses(shared_data: Path, file: str, entities: set[str], count: int) -> None:
    path = shared_data / SAMPLES / file
    report = LoadReport.for_path(path)
    triples = list(iter_triples(path, report))
    assert report.malformed == 0
    assert report.triples == len(triples) == count
    assert {s for s, _, _ in triples if s.startswith(f"<{WD}")} == {wd(e) for e in entities}
    if "Q42" in entities:
        assert (wd("Q42"), P31, wd("Q5")) in triples
    if file == "wbgetentities-Q1.json":
        # Q1's only P361 statement is deprecated
        assert not [t for t in triples if t[1] == wdt("P361")]
        assert (wd("Q1"), LABEL, '"universe"@en') in triples


# --- neighbourhood cut -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cut(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[CutResult, list[str], list]:
    out = tmp_path_factory.mktemp("cut") / "cut.nt"
    calls: list[tuple[int, int]] = []
    result = cut_neighbourhood(
        shared_data / SUBSET,
        out,
        {normalize(w) for w in CUT_WORDS},
        normalize,
        on_progress=lambda done, total: calls.append((done, total)),
    )
    return result, out.read_text(encoding="utf-8").splitlines(), calls


def test_cut_neighbourhood_real_subset(
    cut: tuple[CutResult, list[str], list], subset_lines: list[str], shared_data: Path
) -> None:
    result, out_lines, calls = cut
    oracle = expected_cut(subset_lines, out_lines, CUT_CANDIDATES)
    by_subject, kept_by_subject = oracle.by_subject, oracle.kept_by_subject
    incoming, neighbours = oracle.incoming, oracle.neighbours

    assert result.candidates == len(CUT_CANDIDATES)
    assert kept_by_subject.keys() >= CUT_CANDIDATES
    # every candidate's triples are kept, all of them
    for candidate in CUT_CANDIDATES:
        assert kept_by_subject[candidate] == by_subject[candidate]

    # incoming facts: every wdt: triple whose object is a candidate, whoever holds it
    assert result.incoming == sum(map(len, incoming.values())) > 500
    # Longarone (not named) is in Italy and borders Belluno; van Gogh (not named) was a painter
    longarone = wd("Q40161")
    assert incoming[longarone] == [
        f"{longarone} {wdt('P17')} {wd('Q38')} .",
        f"{longarone} {wdt('P47')} {wd('Q6558')} .",
    ]
    assert f"{wd('Q5582')} {wdt('P106')} {wd('Q1028181')} ." in incoming[wd("Q5582")]

    # neighbours: IRI objects of the candidates' triples, subjects of incoming facts, and wd:Pn of
    # the wdt:Pn predicates of both
    assert result.neighbours == len(neighbours)
    assert wd("Q6256") in neighbours and wd("P17") in neighbours  # country; the property "country"
    assert longarone in neighbours and wd("P47") in neighbours  # "shares border with"
    described = 0
    for neighbour in neighbours:
        # its incoming facts (pass 2), then its text, P31 and P279 not already kept as incoming facts
        expected = oracle.expected(neighbour)
        assert kept_by_subject.get(neighbour, []) == expected, neighbour
        described += bool(expected)
    assert described > 100
    assert kept_by_subject[longarone] == [
        *incoming[longarone],
        f'{longarone} {LABEL} "Longarone"@en .',
        f'{longarone} {DESCRIPTION} "italian comune"@en .',
        f"{longarone} {P31} {wd('Q747074')} .",
    ]  # not its other borders, P131 or P421: they are not about a candidate
    assert f'{wd("P17")} {LABEL} "country"@en .' in out_lines
    assert any(line.startswith(f"{wd('Q6256')} {P31} ") for line in out_lines)

    # nothing else: Douglas Adams is in the subset but unrelated to Italy, Belluno or painters
    assert wd("Q42") in by_subject and wd("Q42") not in neighbours
    assert set(kept_by_subject) <= CUT_CANDIDATES | neighbours
    assert len(out_lines) == result.kept == result.report.kept

    assert result.report.triples == SUBSET_TRIPLES and result.report.malformed == 0
    assert result.report.lines == SUBSET_TRIPLES
    assert len(result.passes_s) == 3 and all(s > 0 for s in result.passes_s)
    size = (shared_data / SUBSET).stat().st_size
    assert calls[-1] == (3 * size, 3 * size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_cut_output_is_valid_ntriples(cut: tuple[CutResult, list[str], list]) -> None:
    result, out_lines, _ = cut
    assert len(ox_triples("\n".join(out_lines))) == result.kept
