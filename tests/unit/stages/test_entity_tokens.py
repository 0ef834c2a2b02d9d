"""Entity tokens (issue #18, point 2): a grounded span is one token, its entity's IRI, in the model's input for
training and explaining; its relevance goes back onto the span's original words and offsets."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from kgexplain.attribution.explainers import explain
from kgexplain.attribution.grounding import Lexicon, ground
from kgexplain.config import Settings
from kgexplain.loaders.synthetic import make_synthetic
from kgexplain.models.training import EntityInputs, TrainedModel, TrainSettings, train_model
from kgexplain.stages import explain_stage, load_stage, train_stage
from kgexplain.stages.explain import document_heatmap_data
from kgexplain.store import open_store
from kgexplain.text import merge_spans, spread_over_words, tokenize, word_spans
from kgexplain.vocab import RDFS, SYN, WD, Minter, entity_token, is_entity_token

SYNTHETIC = make_synthetic(300, seed=5)
FRESCO_PAINTER = SYN + "Q504"  # the demo KG's occupation labelled "fresco painter"


def _lexicon() -> Lexicon:
    """The demo KG's labels as a grounding lexicon."""
    labels = [(s[1:-1], o.rsplit("@", 1)[0][1:-1]) for s, p, o in SYNTHETIC.kg if p == f"<{RDFS}label>"]
    return Lexicon.build(labels)


def _inputs(texts: list[str], lexicon: Lexicon) -> EntityInputs:
    spans = [[(m.start, m.end, entity_token(m.entity)) for m in ground(tokenize(t), lexicon)] for t in texts]
    return EntityInputs.of(texts, spans)


def test_entity_token_form() -> None:
    assert entity_token(WD + "Q42") == "wd:Q42" and entity_token(SYN + "Q2001") == "syn:Q2001"
    assert entity_token("http://example.org/a b") == "<http://example.org/a b>"
    assert is_entity_token("wd:Q42") and is_entity_token("<http://example.org/a>")
    assert not any(is_entity_token(t) for t in ("q42", "<pad>", "<unk>"))
    assert all(not is_entity_token(t) for t in tokenize("wd:Q42 <http://x> a:b"))  # words never are


def test_merge_and_spread_round_trip() -> None:
    words = ["a", "fresco", "painter", "born", "in", "new", "york", "city"]
    merged, positions = merge_spans(words, [(1, 3, "syn:Q504"), (5, 8, "wd:Q60")])
    assert merged == ["a", "syn:Q504", "born", "in", "wd:Q60"]
    assert positions == [(0, 1), (1, 3), (3, 4), (4, 5), (5, 8)]
    values = np.array([0.1, 0.6, -0.2, 0.0, 0.9])
    spread = spread_over_words(values, positions)
    assert len(spread) == len(words) and spread.sum() == pytest.approx(values.sum())
    assert spread[1:3].sum() == pytest.approx(0.6) and spread[5:8].sum() == pytest.approx(0.9)
    assert list(spread[[0, 3, 4]]) == pytest.approx([0.1, -0.2, 0.0])
    # a cut input (the model read 3 positions) covers the words of those positions only
    assert len(spread_over_words(values[:3], positions)) == 4
    with pytest.raises(ValueError, match="overlaps"):
        merge_spans(words, [(1, 3, "x:a"), (2, 4, "x:b")])


@pytest.fixture(scope="module")
def trained() -> tuple[TrainedModel, list[str]]:
    """A small CNN trained on the demo texts with their occupations and cities as entity tokens."""
    texts = [d.text for d in SYNTHETIC.dataset.docs]
    inputs = _inputs(texts, _lexicon())
    torch.manual_seed(0)
    model, _ = train_model(
        texts[:150],
        [d.label for d in SYNTHETIC.dataset.docs[:150]],
        TrainSettings(model="cnn", epochs=1, seed=2),
        entity_inputs=inputs,
    )
    return model, texts


def test_a_multi_word_span_is_one_token_and_its_relevance_comes_back_to_its_words(
    trained: tuple[TrainedModel, list[str]], tmp_path: Path
) -> None:
    model, texts = trained
    text = "Anna Bracor was a fresco painter born in Varnia ."
    model = replace(model, entity_inputs=_inputs([*texts, text], _lexicon()))
    words = tokenize(text)
    merged, positions = model.entity_inputs.merged(text)  # type: ignore[union-attr]
    assert merged == ["anna", "bracor", "was", "a", "syn:Q504", "born", "in", "syn:Q2001"]
    assert positions[4] == (4, 6)
    assert model.vocab.index.get("syn:Q504", 1) > 1  # a vocabulary entry of its own, not the unknown word
    assert model.encode([text])[0, 4] == model.vocab.index["syn:Q504"]
    result = explain(model, [text], texts[:150], "shap")
    (scores,) = result.relevance
    assert len(scores) == len(merged)
    on_words = spread_over_words(scores, positions)
    assert len(on_words) == len(words)
    start, end = positions[4]
    assert on_words[start:end].sum() == pytest.approx(float(scores[4]), abs=1e-12)
    assert on_words[start] == on_words[end - 1]
    spans = word_spans(text)
    assert text[spans[start][0] : spans[end - 1][1]] == "fresco painter"
    assert words[start:end] == ["fresco", "painter"]
    # the model directory records it, and a loaded model reads the same input
    model.save(tmp_path / "m")
    assert torch.load(tmp_path / "m" / "model.pt", weights_only=True)["entity_tokens"] is True
    again = TrainedModel.load(tmp_path / "m")
    assert again.entity_tokens and torch.equal(again.encode([text]), model.encode([text]))
    # a model saved later without entity tokens in the same directory leaves no spans behind
    replace(model, entity_inputs=None).save(tmp_path / "m")
    assert not TrainedModel.load(tmp_path / "m").entity_tokens
    assert not (tmp_path / "m" / EntityInputs.FILE).exists()


def test_an_unknown_text_is_read_as_words(
    trained: tuple[TrainedModel, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    model = replace(trained[0], entity_inputs=EntityInputs({}))
    assert model.tokens("Born in Varnia , a painter .") == tokenize("Born in Varnia , a painter .")
    assert "read as plain words" in caplog.text


def _mention_relevance(store: object, graph: str, doc: str) -> dict[tuple[int, int], float]:
    frame = store.select(  # type: ignore[attr-defined]
        "PREFIX kgx: <https://w3id.org/kgexplain/ns#> SELECT ?start ?end ?r WHERE { GRAPH <" + graph + "> {"
        " ?m a kgx:Mention ; kgx:document <" + doc + "> ; kgx:start ?start ; kgx:end ?end ; kgx:relevance ?r } }"
    )
    return {(int(a), int(b)): float(r) for a, b, r in frame.iter_rows()}


@pytest.mark.slow
def test_pipeline_trains_and_explains_with_entity_tokens(tmp_path: Path) -> None:
    """train → explain in a store: the model reads entity tokens (and records it); the run's tokens are the
    original words, and a mention's relevance is its entity token's, shared by its words."""
    settings = Settings(entity_tokens=True, ground_case="any")  # "fresco painter" is lower-case in the texts
    settings = replace(settings, train=replace(settings.train, epochs=1))
    docs = SYNTHETIC.dataset.docs
    with open_store() as db:
        load_stage(db, SYNTHETIC.dataset, SYNTHETIC.kg, settings)
        train_stage(db, "synthetic", tmp_path / "model", settings)
        model = TrainedModel.load(tmp_path / "model")
        assert model.entity_tokens and "syn:Q504" in model.vocab.index
        assert sum(1 for t in model.vocab.tokens if is_entity_token(t)) > 20
        explained = explain_stage(db, "synthetic", tmp_path / "model", replace(settings, entity_tokens=False))
        assert explained.mentions > 0 and explained.additivity_error < 1e-5
        k = next(i for i, d in enumerate(docs) if "fresco painter" in d.text)
        text = docs[k].text
        heat = document_heatmap_data(db, "synthetic", docs[k].id, settings)
        assert heat["tokens"] == tokenize(text)  # the words, not the entity tokens
        words = tokenize(text)
        start = next(i for i in range(len(words)) if words[i : i + 2] == ["fresco", "painter"])
        assert (start, start + 2, FRESCO_PAINTER) in [m[:3] for m in heat["mentions"]]
        # the entity token's own relevance, from the model the run read
        ours = explain(model, [text], [d.text for d in docs if d.split == "train"], "shap").relevance[0]
        merged, positions = model.entity_inputs.merged(text)  # type: ignore[union-attr]
        p = positions.index((start, start + 2))
        assert merged[p] == "syn:Q504"
        relevance = _mention_relevance(db, explained.graph, Minter(settings.base_iri).document("synthetic", docs[k].id))
        assert relevance[(start, start + 2)] == pytest.approx(float(ours[p]), abs=1e-6)
        scores = heat["scores"]
        assert scores[start] == pytest.approx(float(ours[p]) / 2, abs=1e-6) == scores[start + 1]
        assert sum(scores) == pytest.approx(float(ours.sum()), abs=1e-5)


@pytest.mark.slow
def test_run_with_entity_tokens_publishes_rules(tmp_path: Path) -> None:
    """``kgexplain run --entity-tokens`` on the built-in demo data (as files: 800 texts, 4 epochs) completes and
    publishes rules; its model's vocabulary holds entity tokens."""
    from typer.testing import CliRunner

    from kgexplain.cli import app

    synthetic = make_synthetic(800, seed=7)
    data = tmp_path / "demo.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "text", "label", "split"])
        writer.writerows([d.id, d.text, d.label, d.split] for d in synthetic.dataset.docs)
    kg = tmp_path / "kg.nt"
    kg.write_text("".join(f"{s} {p} {o} .\n" for s, p, o in synthetic.kg), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--data",
            str(data),
            "--kg",
            str(kg),
            "--out",
            str(out),
            "--id-column",
            "id",
            "--split-column",
            "split",
            "--name",
            "demo",
            "--epochs",
            "4",
            "--entity-tokens",
            "--min-support",
            "3",
            "--threads",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rules"] > 0 and summary["mentions"] > 0
    assert (out / "rules.ttl").stat().st_size > 0
    model = TrainedModel.load(out / "model")
    assert model.entity_tokens
    assert any(t.startswith("syn:Q3") for t in model.vocab.tokens)  # the cities
    with open_store(out / "store", read_only=True) as db:  # the run record says what the model read
        flags = db.select(
            "PREFIX kgx: <https://w3id.org/kgexplain/ns#> SELECT DISTINCT ?run ?t WHERE { GRAPH ?g { "
            "?run a kgx:AttributionRun ; kgx:entityTokens ?t } }"
        )
    assert [str(v).lower() for v in flags["t"].to_list()] == ["true"]
    again = CliRunner().invoke(
        app,
        [
            "train",
            "--store",
            str(out / "store"),
            "--dataset",
            "demo",
            "--model-dir",
            str(tmp_path / "again"),
            "--entity-tokens",
            "--epochs",
            "1",
            "--threads",
            "1",
        ],
    )
    assert again.exit_code == 0, again.output
    assert TrainedModel.load(tmp_path / "again").entity_tokens
