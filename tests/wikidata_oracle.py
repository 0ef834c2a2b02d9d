"""What the neighbourhood cut of a Wikidata dump must keep, worked out from the dump's lines without the module
under test, and the terms its tests name. Shared by the cut's test on the hand-written fixture
(tests/unit/loaders/test_wikidata_loader.py) and on the real subset (tests/e2e/test_real_data_wikidata.py);
``tests/`` is on every test module's import path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import pyoxigraph as ox

from kgexplain.vocab import RDFS, SCHEMA, SKOS, WD, WDT

__all__ = [
    "LABEL",
    "ALT_LABEL",
    "DESCRIPTION",
    "P31",
    "P279",
    "CUT_WORDS",
    "CUT_CANDIDATES",
    "wd",
    "wdt",
    "normalize",
    "ox_triples",
    "ExpectedCut",
    "expected_cut",
]

LABEL = f"<{RDFS}label>"
ALT_LABEL = f"<{SKOS}altLabel>"
DESCRIPTION = f"<{SCHEMA}description>"
P31 = f"<{WDT}P31>"
P279 = f"<{WDT}P279>"


def wd(local: str) -> str:
    return f"<{WD}{local}>"


def wdt(local: str) -> str:
    return f"<{WDT}{local}>"


def normalize(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def ox_triples(path_or_text: Path | str) -> set[tuple[str, str, str]]:
    """Triples as pyoxigraph reads an N-Triples file or text, terms in its N-Triples syntax."""
    if isinstance(path_or_text, Path):
        quads = ox.parse(path=str(path_or_text), format=ox.RdfFormat.N_TRIPLES)
    else:
        quads = ox.parse(path_or_text, format=ox.RdfFormat.N_TRIPLES)
    return {(str(q.subject), str(q.predicate), str(q.object)) for q in quads}


CUT_WORDS = ["Belluno", "Italy", "painter"]
# The English labels, aliases and demonyms with these words, in the fixture and in the real subset alike:
# Q38 "Italy" (label), Q172579 "Italy" (alias of Kingdom of Italy), Q6558 "Belluno", Q1028181 "painter".
CUT_CANDIDATES = {wd("Q38"), wd("Q172579"), wd("Q6558"), wd("Q1028181")}


def _by_subject(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in lines:
        out.setdefault(line[: line.index(" ")], []).append(line)
    return out


@dataclass
class ExpectedCut:
    by_subject: dict[str, list[str]]  # the dump's lines by subject
    kept_by_subject: dict[str, list[str]]  # the cut's lines by subject
    incoming: dict[str, list[str]]  # every wdt: triple whose object is a candidate, whoever holds it
    neighbours: set[str]  # IRI objects of the candidates' triples, subjects of incoming facts, wd:Pn of their wdt:Pn

    def expected(self, neighbour: str) -> list[str]:
        """A neighbour's kept lines: its incoming facts (pass 2), then its text, P31 and P279 not already kept."""
        wanted = (LABEL, ALT_LABEL, DESCRIPTION, P31, P279)
        incoming = self.incoming.get(neighbour, [])
        return incoming + [
            line
            for line in self.by_subject.get(neighbour, [])
            if line.split(" ", 2)[1] in wanted and line not in incoming
        ]


def expected_cut(dump_lines: list[str], out_lines: list[str], candidates: set[str]) -> ExpectedCut:
    by_subject = _by_subject(dump_lines)
    incoming: dict[str, list[str]] = {}
    for line in dump_lines:
        s, p, o = line[:-2].split(" ", 2)
        if o in candidates and p.startswith(f"<{WDT}") and s not in candidates:
            incoming.setdefault(s, []).append(line)
    neighbours: set[str] = set(incoming)
    for line in chain(*(by_subject[c] for c in candidates), *incoming.values()):
        _, p, o = line[:-2].split(" ", 2)
        if o.startswith("<"):
            neighbours.add(o)
        if p.startswith(f"<{WDT}"):
            neighbours.add(wd(p[len(WDT) + 1 : -1]))
    return ExpectedCut(by_subject, _by_subject(out_lines), incoming, neighbours - candidates)
