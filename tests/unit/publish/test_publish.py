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
    record = RunRecord(
        "r1",
        "MiningRun",
        MINTER.dataset("d"),
        MINTER.run_graph("r1").value,
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:01:00Z",
        settings={
            "theta": 0.8,
            "minConfidence": 0.75,
            "minSupport": 2,
            "maxAntecedentLength": 3,
            "measure": "H",
            "transactions": 3,
        },
        links={"informedBy": MINTER.run("e1"), "kgGraph": MINTER.kg_graph("d").value},
    )
    labels = {WD + "P17": "country", WD + "Q38": "Italy"}
    entities = [WD + "Q1", WD + "Q2", WD + "Q3"]
    body = list(rule_triples(rules, "r1", MINTER, labels, entities, {WD + "Q1": [MINTER.document("d", "x")]}))
    return b"".join(to_ntriples(body + list(run_triples(record, MINTER))))


def a_rule(conf: float = 0.9) -> Rule:
    return Rule(
        (Item("out", WDT + "P17", WD + "Q38"),),
        "Pos",
        2,
        dict.fromkeys(("TC", "TS", "WTS", "H"), conf),
        1.5,
        np.array([0, 1]),
    )


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


def test_token_ntriples_write_every_token_and_prediction_exactly() -> None:
    """The vectorised token writer: every (document, position) gets its surface (escaped), position and
    relevance (the same double after a round trip), predictions their score and label; the graph passes
    SHACL and mention triples point at the same token IRIs."""
    import pyoxigraph as ox

    from kgexplain.attribution.grounding import Mention
    from kgexplain.publish.rdf import mention_triples, token_ntriples
    from kgexplain.vocab import KGX

    minter = Minter()
    docs = [minter.document("t", f"d{i}") for i in range(3)]
    tokens = [["Paris", 'say"s', "back\\slash"], [], ["Zürich", "x"]]
    rng = np.random.default_rng(0)
    relevance = [rng.normal(0, 1e-3, len(t)).astype(np.float32) for t in tokens]
    relevance[2][1] = np.float32(1e-30)
    predictions = np.array([0.9, 0.2, 0.5000001], dtype=np.float32)
    data = token_ntriples("r 1", minter, docs, tokens, relevance, predictions)
    mentions = [[Mention(0, 1, WD + "Q90", "paris")], [], []]
    data += b"".join(to_ntriples(mention_triples("r 1", minter, docs, relevance, mentions, np.sum)))
    graph = list(ox.parse(data, ox.RdfFormat.N_TRIPLES))
    props: dict[str, dict[str, object]] = {}
    for t in graph:
        props.setdefault(t.subject.value, {})[t.predicate.value.removeprefix(KGX)] = t.object
    for i, (toks, rel) in enumerate(zip(tokens, relevance, strict=True)):
        for pos, (surface, value) in enumerate(zip(toks, rel, strict=True)):
            node = props.pop(minter.token("r 1", i, pos))
            assert node["surface"].value == surface
            assert int(node["position"].value) == pos
            assert float(node["relevance"].value) == float(value)
            assert node["document"].value == docs[i]
        pred = props.pop(minter.prediction("r 1", i))
        assert float(pred["score"].value) == float(predictions[i])
        assert int(pred["predictedLabel"].value) == int(predictions[i] > 0.5)
    mention = props.pop(minter.mention("r 1", 0, 0))
    assert mention["entity"].value == WD + "Q90"
    assert not props  # nothing else was written
    assert sum(1 for t in graph if t.predicate.value == KGX + "mentions") == 1
    record = RunRecord(
        "r 1",
        "AttributionRun",
        minter.dataset("t"),
        minter.run_graph("r 1").value,
        "2026-01-01T00:00:00Z",
        settings={"model": "cnn", "method": "shap", "maxTokens": 500},
        links={"kgGraph": minter.kg_graph("t").value},
    )
    report = validate(data + b"".join(to_ntriples(run_triples(record, minter))))
    assert report.conforms, report.report[:2000]
