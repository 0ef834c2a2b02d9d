"""The column-wise N-Triples cut keeps exactly what the line-by-line reader keeps, and reports the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgexplain.loaders.wikidata import cut_neighbourhood
from kgexplain.text import normalize

WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
ALT = "<http://www.w3.org/2004/02/skos/core#altLabel>"
DESCRIPTION = "<http://schema.org/description>"
STRING = "<http://www.w3.org/2001/XMLSchema#string>"


def wd(q: str) -> str:
    return f"<{WD}{q}>"


def wdt(p: str) -> str:
    return f"<{WDT}{p}>"


LINES = [
    "# a comment line",
    "",
    f'{wd("Q1")} {LABEL} "Ada Lovelace"@en .',
    f'{wd("Q1")} {LABEL} "Ada Lovelace"@fr .',
    f'{wd("Q2")} {ALT} "Analytical\\u0020Engine"@en-GB .',  # an escape inside a label
    f'{wd("Q3")}\t{LABEL}\t"Charles Babbage" .',  # tabs, an untagged literal
    f'  {wd("Q4")} {LABEL} "London"^^{STRING} . # trailing comment',  # leading blanks, xsd:string
    f'{wd("Q5")} {LABEL} "Paris"@de .',  # not English: no candidate
    f"{wd('Q1')} {wdt('P19')} {wd('Q4')} .",
    f'{wd("Q1")} {wdt("P1082")} "36"^^<http://www.w3.org/2001/XMLSchema#decimal> .',
    f"{wd('Q9')} {wdt('P800')} {wd('Q2')} .",  # incoming: Q9 is not named
    f"_:b1 {wdt('P50')} {wd('Q3')} .",  # incoming from a blank node
    f"{wd('Q9')} <http://schema.org/about> {wd('Q1')} .",  # not wdt: no incoming fact
    f'{wd("Q9")} {LABEL} "Some Award"@en .',  # a neighbour's label
    f'{wd("Q9")} {LABEL} "Un prix"@fr .',  # ... not English
    f'{wd("Q9")} {DESCRIPTION} "an award"@en .',
    f"{wd('Q9')} {wdt('P31')} {wd('Q618779')} .",
    f"{wd('Q9')} {wdt('P17')} {wd('Q145')} .",  # a neighbour's other facts: dropped
    f"{wd('Q4')} {wdt('P31')} {wd('Q515')} .",
    f'{wd("Q515")} {LABEL} "city"@en .',
    "this is not a triple",
    f"{wd('Q1')} {wdt('P19')} .",  # malformed: two terms
    f"{wd('Q3')} {wdt('P27')} {wd('Q145')}",  # malformed: no dot
    f'<{WD}Q7 broken> {LABEL} "x"@en .',  # malformed: space in an IRI
]
BAD_UTF8 = f'{wd("Q8")} {LABEL} "Ada Lovelace\xff"@en .'.encode("latin-1")


def _dump(tmp_path: Path) -> Path:
    path = tmp_path / "dump.nt"
    body = "\n".join(LINES).encode("utf-8")
    path.write_bytes(body + b"\n" + BAD_UTF8 + b"\n" + f'{wd("Q6")} {LABEL} "Charles Babbage"@en'.encode())
    return path


@pytest.mark.parametrize("incoming", [True, False])
@pytest.mark.parametrize("english_only", [True, False])
def test_column_wise_cut_equals_line_by_line(tmp_path: Path, incoming: bool, english_only: bool) -> None:
    dump = _dump(tmp_path)
    keys = {"ada lovelace", "analytical engine", "charles babbage", "london", "paris"}
    results = {}
    for column_wise in (True, False):
        out = tmp_path / f"cut-{column_wise}.nt"
        result = cut_neighbourhood(
            dump, out, keys, normalize, incoming=incoming, neighbour_english_only=english_only, column_wise=column_wise
        )
        results[column_wise] = (result, out.read_text(encoding="utf-8"))
    (fast, fast_text), (slow, slow_text) = results[True], results[False]
    assert fast_text == slow_text
    assert (fast.candidates, fast.neighbours, fast.kept, fast.incoming) == (
        slow.candidates,
        slow.neighbours,
        slow.kept,
        slow.incoming,
    )
    assert (fast.report.lines, fast.report.triples, fast.report.malformed, fast.report.malformed_examples) == (
        slow.report.lines,
        slow.report.triples,
        slow.report.malformed,
        slow.report.malformed_examples,
    )
    # and what that is: Q1-Q4 named (Q5 only in German, Q8's line is not UTF-8, Q6's has no final dot),
    # four malformed lines and the bad one
    assert fast.candidates == 4
    assert fast.report.malformed == 6
    assert (f"{wd('Q9')} {wdt('P800')} {wd('Q2')} ." in fast_text) is incoming
    assert (f"_:b1 {wdt('P50')} {wd('Q3')} ." in fast_text) is incoming
    assert f"{wd('Q9')} {wdt('P17')}" not in fast_text
    assert ('"Un prix"@fr' in fast_text) is (incoming and not english_only)
