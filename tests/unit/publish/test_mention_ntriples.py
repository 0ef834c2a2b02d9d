"""The vectorised mention writer writes the same graph as the triple-by-triple one."""

from __future__ import annotations

import numpy as np
import pytest
import rdflib

from kgexplain.attribution.grounding import Mention
from kgexplain.publish.rdf import mention_ntriples, mention_triples
from kgexplain.store import to_ntriples
from kgexplain.vocab import Minter

WD = "http://www.wikidata.org/entity/"


@pytest.mark.parametrize("aggregate", [np.sum, np.mean, np.max])
def test_same_graph_as_mention_triples(aggregate) -> None:
    minter = Minter("https://example.org/kgx/")
    documents = [f"https://example.org/kgx/doc/d/{i}" for i in range(4)]
    rng = np.random.default_rng(7)
    relevance = [rng.normal(size=n) * 10.0 ** rng.integers(-9, 3, size=n) for n in (6, 2, 0, 5)]
    mentions = [
        [Mention(0, 2, WD + "Q1", 'the "quoted" \\ one'), Mention(3, 6, WD + "Q2", "tab\there\nand line")],
        [Mention(1, 2, WD + "Q1", "x")],
        [],
        [Mention(0, 5, WD + "Q3", "ünïcödé words")],
    ]
    fast = mention_ntriples("explain-7", minter, documents, relevance, mentions, aggregate)
    slow = b"".join(to_ntriples(mention_triples("explain-7", minter, documents, relevance, mentions, aggregate)))
    assert fast.count(b"\n") == slow.count(b"\n") == 4 * 8 + (2 + 3 + 1 + 5)
    ours, theirs = rdflib.Graph().parse(data=fast, format="nt"), rdflib.Graph().parse(data=slow, format="nt")
    assert set(ours) == set(theirs)


def test_no_mentions_no_bytes() -> None:
    assert mention_ntriples("r", Minter(), ["https://example.org/d"], [np.zeros(3)], [[]], np.sum) == b""
