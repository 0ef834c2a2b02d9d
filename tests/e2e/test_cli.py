"""The CLI as a user runs it: bad input fails with one clear line and leaves the store alone; the demo
finds the planted rule."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import polars.selectors  # noqa: F401
import pyoxigraph as ox
import pytest
import torch
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.models.training import TrainedModel, predict
from kgexplain.queries import load_query
from kgexplain.store import EmbeddedStore

runner = CliRunner()
G = ox.NamedNode("http://example.org/existing")


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output directory whose store already holds a graph that a failed run must not touch."""
    with EmbeddedStore(tmp_path / "out" / "store") as db:
        db.load([("<http://example.org/s>", "<http://example.org/p>", '"kept"')], G)
    return tmp_path / "out"


def store_content(out: Path) -> tuple[list[str], bytes]:
    with EmbeddedStore(out / "store") as db:
        return db.graphs(), db.dump(G)


@pytest.fixture
def good_csv(tmp_path: Path) -> Path:
    path = tmp_path / "good.csv"
    path.write_text("text,label\n" + "".join(f"text number {i} about Italy,{i % 2}\n" for i in range(20)))
    return path


@pytest.fixture
def kg(tmp_path: Path) -> Path:
    path = tmp_path / "kg.nt.gz"
    with gzip.open(path, "wt") as f:
        f.write('<http://www.wikidata.org/entity/Q38> <http://www.w3.org/2000/01/rdf-schema#label> "Italy"@en .\n')
    return path


def run(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "case",
    [
        "missing dump",
        "corrupt gzip",
        "missing columns",
        "empty dataset",
        "unknown model",
        "one label value",
        "method does not apply",
        "no cuda",
        "unknown method",
    ],
)
def test_bad_input_fails_cleanly_and_keeps_the_store(
    case: str, out: Path, good_csv: Path, kg: Path, tmp_path: Path
) -> None:
    before = store_content(out)
    data, dump, extra = good_csv, kg, []
    expect = {
        "missing dump": "no such file",
        "corrupt gzip": "gzip",
        "missing columns": "no column",
        "empty dataset": "no rows",
        "unknown model": "unknown model 'rnn'",
        "one label value": "at least two values (classes)",
        "method does not apply": "--method shap does not apply to the bilstm model",
        "no cuda": "no CUDA device",
        "unknown method": "unknown attribution method 'lime'",
    }[case]
    if case == "missing dump":
        dump = tmp_path / "nowhere.nt.gz"
    elif case == "corrupt gzip":
        dump = tmp_path / "broken.nt.gz"
        dump.write_bytes(b"this is not gzip at all\n")
    elif case == "missing columns":
        extra = ["--text-column", "abstract"]
    elif case == "empty dataset":
        data = tmp_path / "empty.csv"
        data.write_text("text,label\n")
    elif case == "unknown model":
        extra = ["--model", "rnn"]
    elif case == "method does not apply":
        extra = ["--model", "bilstm", "--method", "shap"]
    elif case == "no cuda":
        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA device; the error is for machines without one")
        extra = ["--device", "cuda"]
    elif case == "unknown method":
        extra = ["--method", "lime"]
    elif case == "one label value":
        data = tmp_path / "one.csv"
        data.write_text("text,label\n" + "".join(f"t {i},1\n" for i in range(5)))
    code, output = run(["run", "--data", str(data), "--kg", str(dump), "--out", str(out), *extra])
    assert code == 2, output
    assert expect in output.lower() or expect in output
    assert "Traceback" not in output
    assert output.count("error:") == 1
    assert store_content(out) == before


@pytest.mark.e2e
def test_demo_finds_the_planted_rule(demo: tuple[Path, str]) -> None:
    """The synthetic end-to-end: country(x, Varnia) → Pos is among the top 3 Pos rules by conf_H."""
    out, output = demo
    summary = json.loads((out / "summary.json").read_text())
    pos = [r for r in summary["top_rules"] if r["consequent"] == "Pos"]
    pos.sort(key=lambda r: -r["conf_H"])
    assert any(r["rule"] == "country(x, Varnia) → Pos" for r in pos[:3]), pos[:3]
    assert "country(x, Varnia) → Pos" in output
    assert summary["test_accuracy"] > 0.75  # 10 % label noise caps it near 0.9
    assert summary["additivity_error"] < 1e-3
    with EmbeddedStore(out / "store") as db:
        planted = db.select(
            "PREFIX kgx: <https://w3id.org/kgexplain/ns#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
            "SELECT ?rule ?h ?e WHERE { GRAPH ?g { ?rule rdfs:label 'country(x, Varnia) → Pos' ; kgx:confH ?h ; "
            "kgx:coversEntity ?e } }"
        )
    assert planted.height == 10  # one row per covered city of Varnia
    assert (planted["h"] >= 0.75).all()


@pytest.mark.e2e
def test_demo_exports_round_trip(demo: tuple[Path, str]) -> None:
    """Turtle and JSON-LD exports hold the same graph as the store's mining run graph."""
    out, _ = demo
    turtle = {str(t) for t in ox.parse(path=str(out / "rules.ttl"))}
    jsonld = {str(t) for t in ox.parse(path=str(out / "rules.jsonld"), format=ox.RdfFormat.JSON_LD)}
    summary = json.loads((out / "summary.json").read_text())
    with EmbeddedStore(out / "store") as db:
        stored = {str(t) for t in ox.parse(db.dump(ox.NamedNode(summary["rules_graph"])), ox.RdfFormat.N_TRIPLES)}
    assert turtle and turtle == jsonld == stored


@pytest.mark.e2e
def test_demo_graphs_pass_shacl(demo: tuple[Path, str]) -> None:
    """The whole mining run graph (rules, items, influence, run) and the attribution graph of a sample of
    documents (tokens, mentions, predictions, run) conform to ontology/shapes.ttl."""
    from kgexplain.publish.shacl import validate

    out, _ = demo
    summary = json.loads((out / "summary.json").read_text())
    with EmbeddedStore(out / "store") as db:
        mining = db.dump(ox.NamedNode(summary["rules_graph"]))
        graph = next(g for g in db.graphs() if summary["explain_run"] in g)
        sample = db.construct(
            "PREFIX kgx: <https://w3id.org/kgexplain/ns#> CONSTRUCT { ?s ?p ?o } WHERE { "
            f"GRAPH ?dg {{ ?d kgx:index ?i FILTER(?i < 20) }} GRAPH <{graph}> {{ ?s kgx:document ?d ; ?p ?o }} }}"
        )
        runs = db.construct(
            "PREFIX kgx: <https://w3id.org/kgexplain/ns#> CONSTRUCT { ?s ?p ?o } "
            f"WHERE {{ GRAPH <{graph}> {{ ?s a kgx:AttributionRun ; ?p ?o }} }}"
        )
        attribution = ox.serialize(list(sample) + list(runs), format=ox.RdfFormat.N_TRIPLES)
    report = validate(mining)
    assert report.conforms, report.report[:2000]
    assert b"EntityInfluence" in mining
    report = validate(attribution)
    assert report.conforms, report.report[:2000]
    assert b"#Mention>" in attribution and b"#Token>" in attribution


@pytest.mark.shared
def test_load_reports_malformed_lines_and_keeps_the_rest(shared_data: Path, tmp_path: Path) -> None:
    """A real dump slice with broken lines loads: the broken lines are counted and shown, the rest kept."""
    source = shared_data / "wikidata" / "wikidata-subset.nt.gz"
    with gzip.open(source, "rt", encoding="utf-8") as f:
        lines = [next(f) for _ in range(20_000)]
    broken = [
        "<http://www.wikidata.org/entity/Q1> <http://x/p> .\n",
        "this is not a triple\n",
        '<http://www.wikidata.org/entity/Q2> <http://x/p> "unterminated .\n',
    ]
    dump = tmp_path / "broken.nt.gz"
    with gzip.open(dump, "wt", encoding="utf-8") as f:
        f.writelines(lines[:100] + broken + lines[100:])
    labels = [ln for ln in lines if "rdf-schema#label" in ln and "/entity/Q" in ln][:40]
    names = [ln.split('"')[1] for ln in labels if ln.split('"')[1][:1].isupper()][:10]
    data = tmp_path / "texts.csv"
    data.write_text("text,label\n" + "".join(f'"A text about {n}.",{i % 2}\n' for i, n in enumerate(names * 2)))
    code, output = run(["load", "--data", str(data), "--kg", str(dump), "--store", str(tmp_path / "store")])
    assert code == 0, output
    assert "3 malformed lines" in output
    assert "malformed line 101" in output
    with EmbeddedStore(tmp_path / "store") as db:
        found = db.select(
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
            "SELECT DISTINCT ?l WHERE { GRAPH ?g { ?e rdfs:label ?l } }"
        )["l"].to_list()
    assert set(names) <= set(found)


@pytest.mark.e2e
def test_demo_on_a_remote_oxigraph_server_gives_the_same_rules(
    demo: tuple[Path, str], oxigraph_server: str, tmp_path: Path
) -> None:
    """The whole pipeline over HTTP against a real Oxigraph server: same rules, same metrics."""
    out = tmp_path / "remote"
    code, output = run(["demo", "--out", str(out), "--endpoint", oxigraph_server])
    assert code == 0, output
    remote = json.loads((out / "summary.json").read_text())
    local = json.loads((demo[0] / "summary.json").read_text())
    assert remote["store"] == oxigraph_server
    assert remote["rules"] == local["rules"] and remote["transactions"] == local["transactions"]
    assert remote["top_rules"] == local["top_rules"]


@pytest.mark.e2e
def test_mining_the_demo_with_spark_gives_the_same_rules(demo: tuple[Path, str], tmp_path: Path, java: None) -> None:
    """`kgexplain mine --miner spark` (Spark ML FPGrowth, local mode) against the in-process Apriori on a
    copy of the demo store: same rules with the same supports and confidences, recorded as the miner."""
    store = tmp_path / "store"
    shutil.copytree(demo[0] / "store", store)
    code, output = run(
        ["mine", "--dataset", "synthetic", "--store", str(store), "--miner", "spark", "--spark-master", "local[2]"]
    )
    assert code == 0, output
    runs = (
        "PREFIX kgx: <https://w3id.org/kgexplain/ns#> SELECT ?miner ?graph WHERE { GRAPH ?c { "
        "?run a kgx:MiningRun ; kgx:miner ?miner ; kgx:runGraph ?graph } }"
    )
    with EmbeddedStore(store) as db:
        by_miner = {}
        for miner, graph in db.select(runs).iter_rows():
            rules = db.select(load_query("rules/rules"), graph=ox.NamedNode(graph))
            by_miner[miner] = rules.drop("rule").with_columns(pl.selectors.float().round(12)).sort("label")
    assert set(by_miner) == {"apriori", "spark"}
    assert by_miner["spark"].height > 0 and by_miner["spark"].equals(by_miner["apriori"])
    assert "country(x, Varnia) → Pos" in output


@pytest.mark.e2e
def test_heatmap_of_a_demo_document(demo: tuple[Path, str], tmp_path: Path) -> None:
    """`kgexplain heatmap` reads a document back from the store and draws it as PNG and HTML."""
    import matplotlib.image

    out, _ = demo
    store = str(out / "store")
    code, output = run(
        [
            "heatmap",
            "--store",
            store,
            "--dataset",
            "synthetic",
            "--doc",
            "syn-01000",
            "--output",
            str(tmp_path / "doc.png"),
        ]
    )
    assert code == 0, output
    assert matplotlib.image.imread(tmp_path / "doc.png").shape[1] > 500
    code, output = run(
        [
            "heatmap",
            "--store",
            store,
            "--dataset",
            "synthetic",
            "--doc",
            "syn-01000",
            "--doc",
            "syn-01001",
            "--output",
            str(tmp_path / "docs.html"),
        ]
    )
    assert code == 0, output
    page = (tmp_path / "docs.html").read_text()
    assert page.count('class="kgx-heatmap"') == 2 and "syn-01001" in page
    code, output = run(
        ["heatmap", "--store", store, "--dataset", "synthetic", "--doc", "missing", "--output", str(tmp_path / "x.png")]
    )
    assert code == 2 and "no document 'missing'" in output


@pytest.mark.e2e
@pytest.mark.parametrize("model, method", [("bilstm", "ig"), ("gru", "reat")])
def test_demo_with_other_models_and_methods(model: str, method: str, tmp_path: Path) -> None:
    """Other model × method pairs through the whole pipeline: the model learns the planted bias (beyond
    the test split's 0.79 majority class) and the planted rule is still found."""
    out = tmp_path / model
    code, output = run(["demo", "--out", str(out), "--model", model, "--method", method])
    assert code == 0, output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == model and summary["test_accuracy"] > 0.82
    pos = sorted((r for r in summary["top_rules"] if r["consequent"] == "Pos"), key=lambda r: -r["conf_H"])
    assert any(r["rule"] == "country(x, Varnia) → Pos" for r in pos[:3]), pos[:3]


@pytest.mark.e2e
def test_agreement_between_explainers(demo: tuple[Path, str], tmp_path: Path) -> None:
    """A second attribution run with IG, then `kgexplain agree`: one row per pair, ρ per document."""
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(demo[0], out)
    store = str(out / "store")
    code, output = run(["agree", "--store", store, "--dataset", "synthetic"])
    assert code == 2 and "at least two explainers" in output
    code, output = run(
        ["explain", "--store", store, "--dataset", "synthetic", "--model-dir", str(out / "model"), "--method", "ig"]
    )
    assert code == 0, output
    code, output = run(["agree", "--store", store, "--dataset", "synthetic", "--output", str(tmp_path / "a.csv")])
    assert code == 0, output
    assert "cnn/ig" in output and "cnn/shap-deep" in output
    import polars as pl

    report = pl.read_csv(tmp_path / "a.csv")
    assert report.height == 2000 and report["spearman"].drop_nulls().is_between(-1, 1).all()
    assert report["spearman"].mean() > 0.5  # two faithful explainers of one CNN largely agree


@pytest.mark.e2e
def test_demo_activations_read_back_and_recapture(demo: tuple[Path, str], tmp_path: Path) -> None:
    """The demo stores every document's activations; reading them back from the store gives exactly what
    the hooks capture from the saved model, in all three forms; `kgexplain activations` re-captures one
    layer with other bins as a new run, which becomes the latest, and its graph passes SHACL."""
    import shutil

    import numpy as np

    from kgexplain.config import Settings
    from kgexplain.models.activations import binarize, capture, neuron_thresholds, uniform_bins
    from kgexplain.models.training import TrainedModel
    from kgexplain.publish.shacl import validate
    from kgexplain.stages import read_activations, read_documents

    out = tmp_path / "copy"
    shutil.copytree(demo[0], out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["activation_layers"] == {"head.relu1": 50, "head.relu2": 50, "head.dense": 1}
    settings = Settings()
    trained = TrainedModel.load(out / "model")
    with EmbeddedStore(out / "store") as db:
        docs, values = read_activations(db, "synthetic", settings)
        _, active = read_activations(db, "synthetic", settings, form="active")
        _, binned = read_activations(db, "synthetic", settings, form="binned")
        frame, _ = read_documents(db, "synthetic", settings)
    texts = dict(zip(frame["doc"].to_list(), frame["text"].to_list(), strict=True))
    fresh = capture(trained, [texts[d] for d in docs])
    assert len(docs) == 2000
    for layer, matrix in fresh.layers.items():
        np.testing.assert_allclose(values[layer], matrix, rtol=1e-5, atol=1e-6)
        cut = neuron_thresholds(
            values[layer],
            settings.activation_threshold,
            pooled=layer in fresh.pooled,
            rule=settings.activation_binarize,
        )
        np.testing.assert_array_equal(active[layer], binarize(values[layer], cut[None, :]))
        np.testing.assert_array_equal(binned[layer], uniform_bins(values[layer], 4)[0])
    code, output = run(
        [
            "activations",
            "--store",
            str(out / "store"),
            "--dataset",
            "synthetic",
            "--model-dir",
            str(out / "model"),
            "--layer",
            "head.relu1",
            "--bins",
            "6",
        ]
    )
    assert code == 0, output
    with EmbeddedStore(out / "store") as db:
        _, binned6 = read_activations(db, "synthetic", settings, form="binned")
        graph = next(g for g in db.graphs() if "/activations-" in g and summary["activation_run"] not in g)
        report = validate(db.dump(ox.NamedNode(graph)))
    assert list(binned6) == ["head.relu1"] and binned6["head.relu1"].max() == 5
    assert report.conforms, report.report[:2000]
    code, output = run(
        [
            "activations",
            "--store",
            str(out / "store"),
            "--dataset",
            "synthetic",
            "--model-dir",
            str(out / "model"),
            "--layer",
            "head.nope",
        ]
    )
    assert code == 2 and "no layer named 'head.nope'" in output


@pytest.mark.e2e
def test_evaluate_the_demo_rules(demo: tuple[Path, str], tmp_path: Path) -> None:
    """`kgexplain evaluate` mines under every measure, scores the rules on the test texts and writes the
    Markdown/HTML/JSON report and the rule graph, without writing to the store. On the planted-bias set the
    country rules hold, so the CNN's H rules predict the sign of test mentions well above chance."""
    import matplotlib.image

    out, _ = demo
    with EmbeddedStore(out / "store") as db:
        before = db.graphs()
    code, output = run(
        [
            "evaluate",
            "--store",
            str(out / "store"),
            "--dataset",
            "synthetic",
            "--output",
            str(tmp_path / "eval"),
            "--preset",
            "default",
            "--model-dir",
            str(out / "model"),
        ]
    )
    assert code == 0, output
    report = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    (model,) = report["models"]
    assert model["model"] == "cnn" and set(model["results"]) == {"TC", "TS", "WTS", "H"}
    assert 0.75 < model["test_accuracy"] <= 1.0
    h = model["results"]["H"]["all"]
    assert h["coverage"] > 0.5 and h["acc_imp"] > 0.75 and h["acc_overall"] > 0.75
    assert model["results"]["H"]["unseen"]["entities"] == 0  # every demo city is in training texts too
    assert "| cnn | all | H |" in (tmp_path / "eval" / "evaluation.md").read_text()
    assert "<table>" in (tmp_path / "eval" / "evaluation.html").read_text()
    # Table 3: the model on "label, description" of every described KG entity; the base rate is checked
    # against texts read here with rdflib from the store's own dump, the Pos rules' texts must score above it
    context = model["context"]
    texts = _described_entities(out / "store")
    trained = TrainedModel.load(out / "model")
    expected = predict(trained.model, trained.encode(list(texts.values()))).numpy()
    assert context["all"]["texts"] == len(texts) > 20
    assert context["all"]["avg_score"] == pytest.approx(float(expected.mean()), abs=1e-6)
    assert 0 < context["Pos"]["texts"] < len(texts)
    assert context["Pos"]["avg_score"] > context["all"]["avg_score"]
    assert "Out-of-context validity" in (tmp_path / "eval" / "evaluation.md").read_text()
    assert matplotlib.image.imread(tmp_path / "eval" / "rule-graph.png").shape[1] > 300
    with EmbeddedStore(out / "store") as db:
        assert db.graphs() == before
    code, output = run(
        ["evaluate", "--store", str(out / "store"), "--dataset", "nope", "--output", str(tmp_path / "x")]
    )
    assert code == 2 and "no completed attribution run of 'nope'" in output
    code, output = run(
        [
            "evaluate",
            "--store",
            str(out / "store"),
            "--dataset",
            "synthetic",
            "--output",
            str(tmp_path / "x"),
            "--model-dir",
            str(tmp_path),
        ]
    )
    assert code == 2 and "no trained model in" in output


def _described_entities(store: Path) -> dict[str, str]:
    """ "label, description" per entity with a description, read quad by quad from the store."""
    db = ox.Store.read_only(str(store))
    labels = {
        q.subject.value: q.object.value
        for q in db.quads_for_pattern(None, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"), None)
    }
    out = {}
    for q in db.quads_for_pattern(None, ox.NamedNode("http://schema.org/description"), None):
        label = labels.get(q.subject.value)
        out[q.subject.value] = f"{label}, {q.object.value}" if label else q.object.value
    return out
