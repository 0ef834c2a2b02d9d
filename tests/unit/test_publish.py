"""Published rule graphs and their SHACL shapes."""

from __future__ import annotations

import numpy as np
import pytest

from kgexplain.mining.rules import Item, Rule
from kgexplain.publish.rdf import RunRecord, rule_triples, run_triples
from kgexplain.publish.shacl import validate
from kgexplain.store import to_ntriples
from kgexplain.vocab import WD, WDT, Minter

MINTER = Minter()


def graph(rules: list[Rule]) -> bytes:
    record = RunRecord("r1", "MiningRun", MINTER.dataset("d"), MINTER.run_graph("r1").value,
                       "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z",
                       settings={"theta": 0.8, "minConfidence": 0.75, "minSupport": 2, "maxAntecedentLength": 3,
                                 "measure": "H", "transactions": 3},
                       links={"informedBy": MINTER.run("e1"), "kgGraph": MINTER.kg_graph("d").value})
    labels = {WD + "P17": "country", WD + "Q38": "Italy"}
    entities = [WD + "Q1", WD + "Q2", WD + "Q3"]
    body = list(rule_triples(rules, "r1", MINTER, labels, entities, {WD + "Q1": [MINTER.document("d", "x")]}))
    return b"".join(to_ntriples(body + list(run_triples(record, MINTER))))


def a_rule(conf: float = 0.9) -> Rule:
    return Rule((Item("out", WDT + "P17", WD + "Q38"),), "Pos", 2, dict.fromkeys(("TC", "TS", "WTS", "H"), conf),
                1.5, np.array([0, 1]))


def test_published_rules_conform_and_carry_labels() -> None:
    rules = [a_rule()]
    result = validate(graph(rules))
    assert result.conforms, result.report
    assert rules[0].labels["rule"] == "country(x, Italy) → Pos"


@pytest.mark.parametrize("breakage", ["no antecedent", "confidence above one", "no provenance"])
def test_broken_rule_graphs_fail(breakage: str) -> None:
    data = graph([a_rule()])
    lines = data.decode().splitlines(keepends=True)
    if breakage == "no antecedent":
        lines = [ln for ln in lines if "#antecedent>" not in ln]
    elif breakage == "confidence above one":
        lines = [ln.replace('"0.9"^^', '"1.5"^^') if "#confTC>" in ln else ln for ln in lines]
    else:
        lines = [ln for ln in lines if "wasGeneratedBy" not in ln]
    result = validate("".join(lines).encode())
    assert not result.conforms
    assert result.violations >= 1
