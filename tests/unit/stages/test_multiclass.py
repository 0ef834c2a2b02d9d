"""Any number of classes (issue #19, point 3): a label column with k > 2 values keeps its names; each document is
explained for its predicted class (or ``--target``); influence and rules per class, one-vs-rest, with the class
name as consequent, published as RDF that conforms to the shapes. Two classes stay exactly as they were."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
import rdflib
import torch
from typer.testing import CliRunner

from kgexplain.attribution.deeplift_batched import supports
from kgexplain.cli import app
from kgexplain.config import Settings
from kgexplain.errors import InputError, ModelError
from kgexplain.loaders.datasets import Dataset, dataset_triples, read_dataset
from kgexplain.loaders.synthetic import PLANTED_CLASSES, make_synthetic_classes
from kgexplain.models.cnn import TextCNN
from kgexplain.models.training import TrainedModel
from kgexplain.models.vocabulary import Vocabulary
from kgexplain.publish.shacl import validate
from kgexplain.stages import MineResult, best_rules, explain_stage, export_stage, load_stage, mine_stage, train_stage
from kgexplain.stages.explain import target_index
from kgexplain.stages.mine import class_influence
from kgexplain.store import open_store, to_ntriples
from kgexplain.vocab import KGX, Minter

K = rdflib.Namespace(KGX)
COUNTRY = {"museum": "Varnia", "music": "Belloria", "sport": "Kestia"}  # PLANTED_CLASSES, by label


# --- the data -----------------------------------------------------------------------------------------------


def test_a_label_column_with_three_values_keeps_their_names(tmp_path: Path) -> None:
    rows = ["text,label"] + [f"text number {i},{('sport', 'museum', 'music')[i % 3]}" for i in range(12)]
    (tmp_path / "three.csv").write_text("\n".join(rows) + "\n")
    dataset = read_dataset(tmp_path / "three.csv")
    assert dataset.classes == ("museum", "music", "sport")
    assert [d.label for d in dataset.docs] == [
        dataset.classes.index(("sport", "museum", "music")[i % 3]) for i in range(12)
    ]
    (tmp_path / "two.csv").write_text("text,label\n" + "".join(f"t {i},{'yes' if i % 2 else 'no'}\n" for i in range(8)))
    assert read_dataset(tmp_path / "two.csv").classes == ("no", "yes")  # binary: as before
    (tmp_path / "one.csv").write_text("text,label\na,x\nb,x\n")
    with pytest.raises(InputError, match="at least two values"):
        read_dataset(tmp_path / "one.csv")


def test_dataset_graphs_name_their_classes() -> None:
    minter = Minter("https://example.org/id/")
    docs = make_synthetic_classes(12).dataset.docs
    three = b"".join(to_ntriples(dataset_triples(Dataset("d", docs, ("museum", "music", "sport")), minter)))
    graph = rdflib.Graph().parse(data=three, format="nt")
    classes = sorted(
        (int(graph.value(c, K.classIndex)), str(graph.value(c, rdflib.RDFS.label)))
        for c in graph.objects(None, K.hasClass)
    )
    assert classes == [(0, "museum"), (1, "music"), (2, "sport")]
    assert not list(graph.objects(None, K.positiveClassName))
    assert validate(three).conforms
    two = b"".join(
        to_ntriples(
            dataset_triples(Dataset("d", [replace(d, label=d.label % 2) for d in docs], ("neg", "pos")), minter)
        )
    )
    assert b"hasClass" not in two and b"positiveClassName" in two and validate(two).conforms


# --- the model, one class at a time -------------------------------------------------------------------------


def test_a_class_is_explained_one_vs_rest() -> None:
    vocab = Vocabulary.build([["a", "b", "c"]], min_count=1)
    trained = TrainedModel("cnn", TextCNN(len(vocab), max_len=60, n_classes=3).eval(), vocab, 60)
    assert trained.n_classes == 3 and trained.model.config["n_classes"] == 3
    ids = trained.encode(["a b c", "c c a b"])
    with torch.no_grad():
        probabilities = trained.model(ids)
        logits = trained.model.head.logit(trained.model.embedding(ids))
    assert probabilities.shape == (2, 3) and torch.allclose(probabilities.sum(1), torch.ones(2))
    for c in range(3):
        view = trained.for_class(c)
        others = [j for j in range(3) if j != c]
        with torch.no_grad():
            score = view.model(ids).squeeze(1)
        assert torch.allclose(score, torch.sigmoid(logits[:, c] - logits[:, others].mean(1)), atol=1e-6)
        assert view.model.head.dense.out_features == 1 and supports(view)  # every explainer applies
    assert trained.model.head.dense.out_features == 3  # the model itself is untouched
    binary = TrainedModel("cnn", TextCNN(len(vocab), max_len=60).eval(), vocab, 60)
    assert binary.n_classes == 2 and "n_classes" not in binary.model.config  # saved binary configs unchanged
    with pytest.raises(ModelError):
        binary.for_class(0)


def test_target_names_a_class() -> None:
    classes = ("museum", "music", "sport")
    assert target_index(None, classes) is None and target_index("sport", classes) == 2
    with pytest.raises(InputError, match="not a class"):
        target_index("opera", classes)
    assert target_index("pos", ("neg", "pos")) is None  # two classes: always P(positive)
    with pytest.raises(InputError, match="positive class"):
        target_index("neg", ("neg", "pos"))


def test_class_influence_reads_other_classes_documents_one_vs_rest() -> None:
    mentions = pl.DataFrame(
        {
            "entity": ["e", "e", "e", "e", "f"],
            "doc": ["d0", "d1", "d2", "d3", "d2"],
            "relevance": [0.5, -0.2, 0.4, -0.3, 0.1],
        }
    )
    explained = pl.DataFrame({"doc": ["d0", "d1", "d2", "d3"], "explained": [0, 0, 1, 1]})
    zero = class_influence(mentions, explained, 0, 0.8).rows_by_key("entity", named=True)
    # class 0: d0 (+), d1 (−) as they are; d2 pushes towards class 1 (against 0); d3 pushes away from 1: no occurrence
    assert (zero["e"][0]["n"], zero["e"][0]["n_pos"], zero["e"][0]["n_neg"]) == (3, 1, 2)
    assert (zero["f"][0]["n"], zero["f"][0]["n_neg"], zero["f"][0]["tc"]) == (1, 1, -1)
    two = class_influence(mentions, explained, 2, 0.8).rows_by_key("entity", named=True)
    assert (two["e"][0]["n"], two["e"][0]["n_neg"]) == (2, 2)  # d0 and d2 push towards another class
    everywhere = pl.DataFrame({"doc": ["d0", "d1", "d2", "d3"], "explained": [1, 1, 1, 1]})  # --target: binary
    one = class_influence(mentions, everywhere, 1, 0.8).rows_by_key("entity", named=True)
    assert (one["e"][0]["n"], one["e"][0]["n_pos"], one["e"][0]["n_neg"]) == (4, 2, 2)


# --- end to end: three classes, a planted fact each -----------------------------------------------------------


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MineResult]:
    """The three-class planted set (a different country per class) through load → train → explain → mine into
    an embedded store on disk, on one CPU thread (the CLI's choice on two cores): about 15 s."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("three-classes")
    synthetic = make_synthetic_classes(900, cities_per_country=6)
    settings = Settings()
    settings = replace(settings, train=replace(settings.train, epochs=10, patience=4, learning_rate=3e-3))
    try:
        with open_store(out / "store") as store:
            load_stage(store, synthetic.dataset, synthetic.kg, settings)
            trained = train_stage(store, synthetic.dataset.name, out / "model", settings)
            assert trained.test_accuracy is not None and trained.test_accuracy > 0.6  # chance: 1/3
            explained = explain_stage(store, synthetic.dataset.name, out / "model", settings)
            assert explained.additivity_error < 1e-3
            assert explained.test_accuracy == pytest.approx(trained.test_accuracy, abs=1e-6)
            mined = mine_stage(store, synthetic.dataset.name, settings)
            export_stage(store, mined.graph, out / "rules.nt", "ntriples")
    finally:
        torch.set_num_threads(threads)
    return out, mined


def test_each_class_rule_is_first_for_that_class(three_classes: tuple[Path, MineResult]) -> None:
    _out, mined = three_classes
    assert mined.classes == ("museum", "music", "sport") == tuple(sorted(PLANTED_CLASSES))
    assert {r.consequent for r in mined.rules} <= set(mined.classes)
    for cls, country in COUNTRY.items():
        ranked = [r for r in mined.rules if r.consequent == cls]
        assert ranked, f"no rule for {cls}"
        assert ranked[0].labels["rule"] == f"country(x, {country}) → {cls}", [r.labels["rule"] for r in ranked]
        assert ranked[0].confidence["H"] >= 0.75 and ranked[0].support == 6
    assert [r.consequent for r in best_rules(mined, per_class=1)] == ["museum", "music", "sport"]


def test_rules_per_class_are_published_and_conform(three_classes: tuple[Path, MineResult]) -> None:
    out, mined = three_classes
    assert mined.conforms
    data = (out / "rules.nt").read_bytes()
    graph = rdflib.Graph().parse(data=data, format="nt")
    consequents = {str(graph.value(c, rdflib.RDFS.label)) for c in graph.objects(None, K.consequent)}
    assert consequents == {"museum", "music", "sport"}
    assert all((c, rdflib.RDF.type, K.ClassLabel) in graph for c in graph.objects(None, K.consequent))
    assert {str(c).rsplit("/", 1)[-1] for c in graph.objects(None, K.forClass)} == {"museum", "music", "sport"}
    assert validate(data).conforms
    tampered = data.replace(
        b"/class/synthetic-classes/music> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>",
        b"/class/synthetic-classes/music> <http://www.w3.org/2000/01/rdf-schema#seeAlso>",
    )
    assert tampered != data and not validate(tampered).conforms  # a consequent must be a kgx:ClassLabel
    with open_store(out / "store", read_only=True) as store:
        explained = store.select(
            "PREFIX kgx: <https://w3id.org/kgexplain/ns#> SELECT ?label (COUNT(*) AS ?n) "
            "WHERE { GRAPH ?g { ?p a kgx:Prediction ; kgx:explainedLabel ?label } } "
            "GROUP BY ?label"
        )
    assert sorted(int(v) for v in explained["label"].to_list()) == [0, 1, 2]


def test_mine_prints_the_rules_of_each_class(three_classes: tuple[Path, MineResult]) -> None:
    out, _mined = three_classes
    result = CliRunner().invoke(app, ["mine", "--store", str(out / "store"), "--dataset", "synthetic-classes"])
    assert result.exit_code == 0, result.output
    assert "3 classes, one-vs-rest" in result.output
    for cls, country in COUNTRY.items():
        assert f"country(x, {country}) → {cls}" in result.output


# --- evaluation per class and macro (issue #19) ---------------------------------------------------------------


def test_each_class_is_scored_one_vs_rest_and_averaged() -> None:
    from kgexplain.evaluation.metrics import Assignment, class_metrics, macro, score_sets

    test = pl.DataFrame(
        {
            "entity": ["e", "e", "e", "e", "f"],
            "doc": ["d0", "d1", "d2", "d3", "d2"],
            "relevance": [0.5, -0.2, 0.4, -0.3, 0.1],
            "explained": [0, 0, 1, 1, 1],
            "predicted": [0, 1, 1, 1, 1],
        }
    )
    members = {"e": frozenset({"museum"}), "f": frozenset({"music"})}
    museum = class_metrics(test, members, {"e", "f", "g"}, "museum", 0)
    # d0 (+, for museum), d1 (−), d2 pushes towards music (against museum); d3 pushes away from music: no occurrence
    assert (museum.covered, museum.occurrences) == (1, 3)
    assert museum.acc_imp == pytest.approx(1 / 3) and museum.acc_overall == pytest.approx(1 / 3)
    music = class_metrics(test, members, {"e", "f", "g"}, "music", 1)
    assert (music.covered, music.occurrences, music.acc_imp, music.acc_overall) == (1, 1, 1.0, 1.0)
    sport = class_metrics(test, members, {"e", "f", "g"}, "sport", 2)
    assert sport.covered == 0 and sport.acc_imp != sport.acc_imp  # NaN: nothing to score
    average = macro({"museum": museum, "music": music, "sport": sport}, {"e", "f", "g"}, members)
    assert average.acc_imp == pytest.approx(2 / 3) and average.acc_overall == pytest.approx(2 / 3)
    assert (average.covered, average.coverage, average.occurrences) == (2, pytest.approx(2 / 3), 4)
    assignment = Assignment({"e": "museum", "f": "music"}, 0, 0, members)
    scored, per_class = score_sets(
        test, assignment, assignment, {"e", "f", "g"}, {"g"}, {"e", "f"}, ("museum", "music", "sport")
    )
    assert scored["all"].acc_imp == average.acc_imp and scored["all"].coverage_train == 1.0
    assert set(per_class["unseen"]) == {"museum", "music", "sport"} and scored["unseen"].covered == 0


def test_a_conflict_between_three_classes_goes_to_the_most_confident_rule() -> None:
    import numpy as np

    from kgexplain.evaluation.metrics import assign_classes
    from kgexplain.mining.rules import Item, Rule

    a, b = Item("out", "p", "a"), Item("out", "p", "b")

    def rule(items: tuple[Item, ...], cls: str, h: float) -> Rule:
        return Rule(items, cls, 3, {"H": h}, 1.0, np.zeros(0, dtype=np.int64))

    rules = [rule((a,), "museum", 0.9), rule((b,), "music", 0.8), rule((a, b), "sport", 0.9)]
    items = {"x": {a, b}, "y": {b}, "z": {a}}
    confident = assign_classes(rules, items, "H")
    assert confident.classes == {"y": "music", "z": "museum"} and (confident.ties, confident.conflicts) == (1, 1)
    union = assign_classes(rules, items, "H", "union")
    assert union.members["x"] == {"museum", "music", "sport"} and union.members["y"] == {"music"}
    rules[2] = rule((a, b), "sport", 0.95)
    assert assign_classes(rules, items, "H").classes["x"] == "sport"


def test_evaluate_scores_each_class_and_the_macro_average(
    three_classes: tuple[Path, MineResult], tmp_path: Path
) -> None:
    from kgexplain.evaluation.stage import evaluate_stage, report_markdown

    out, _mined = three_classes
    with open_store(out / "store", read_only=True) as store:
        result = evaluate_stage(
            store, "synthetic-classes", Settings(), tmp_path / "report", ["H"], model_dirs=[out / "model"]
        )
    assert result.classes == ("museum", "music", "sport")
    (ev,) = result.models
    per_class = ev.per_class["H"]["all"]
    assert set(per_class) == {"museum", "music", "sport"}
    for cls, m in per_class.items():  # each planted rule covers its country's cities, and the model keys on them
        assert m.covered >= 1 and m.acc_imp > 0.5 and m.acc_overall > 0.5, (cls, m)
    average = ev.results["H"]["all"]
    assert average.acc_imp == pytest.approx(sum(m.acc_imp for m in per_class.values()) / 3)
    assert average.covered >= max(m.covered for m in per_class.values())
    assert set(ev.covered["H"]) == {"museum", "music", "sport"}
    assert ev.context is not None and {"museum", "all museum"} <= set(ev.context)
    assert ev.context["museum"].avg_score > ev.context["all museum"].avg_score  # museum rules pick museum texts
    report = report_markdown(result)
    assert "| H · museum |" in report and "| H · macro |" in report and "(every text, sport)" in report
    cli = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--store",
            str(out / "store"),
            "--dataset",
            "synthetic-classes",
            "--output",
            str(tmp_path / "cli"),
            "--measures",
            "H",
            "--sensitivity",
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert (tmp_path / "cli" / "sensitivity.csv").read_text().count("\n") > 2


def test_rest_pages_and_catalog_follow_the_classes(three_classes: tuple[Path, MineResult], tmp_path: Path) -> None:
    """Over real HTTP: rules filtered by class name, the rule page names its class, an unknown class is refused
    with a clear problem; the DCAT catalog names the classes and conforms to the DCAT shapes."""
    import httpx
    import pyshacl
    from loopback import served

    from kgexplain.publish.export import export_rules
    from kgexplain.service.app import create_app
    from kgexplain.service.state import ServiceConfig

    out, mined = three_classes
    with open_store(out / "store", read_only=True) as store:
        with served(create_app(store, ServiceConfig())) as url:
            for cls, country in COUNTRY.items():
                body = httpx.get(f"{url}/api/rules", params={"class": cls, "limit": 200}).json()
                assert body["total"] == sum(r.consequent == cls for r in mined.rules) > 0
                assert {r["class"] for r in body["rules"]} == {cls}
                assert body["rules"][0]["label"] == f"country(x, {country}) → {cls}"
            refused = httpx.get(f"{url}/api/rules", params={"class": "opera"})
            assert refused.status_code == 422 and "museum, music, sport" in refused.json()["detail"]
            assert refused.headers["content-type"].startswith("application/problem+json")
            first = httpx.get(f"{url}/api/rules", params={"class": "sport", "limit": 1}).json()["rules"][0]
            page = httpx.get(f"{url}/rules/{first['id']}")
            assert page.status_code == 200 and "→ sport" in page.text and first["class"] == "sport"
            detail = httpx.get(f"{url}{first['url']}").json()
            assert detail["class"] == "sport" and detail["entities"]
            document = httpx.get(f"{url}/api/documents/synthetic-classes/syn-00000").json()
            assert document["explained_class"] in ("museum", "music", "sport")  # its predicted class
            shown = httpx.get(f"{url}/documents/synthetic-classes/syn-00000").text
            assert f"P({document['explained_class']}) = {document['prediction']:.3f}" in shown
        export_rules(store, mined.graph, tmp_path / "catalog.ttl", "dcat", endpoint_url="https://x.example/sparql")
    catalog = rdflib.Graph().parse(tmp_path / "catalog.ttl")
    described = " ".join(str(d) for d in catalog.objects(None, rdflib.DCTERMS.description))
    assert "'museum', 'music', 'sport'" in described and "Pos|Neg" not in described
    shapes = rdflib.Graph().parse(Path(__file__).resolve().parents[3] / "kgexplain" / "ontology" / "dcat-shapes.ttl")
    conforms, _graph, text = pyshacl.validate(catalog, shacl_graph=shapes)
    assert conforms, text


def test_activations_and_neuron_rules_of_a_three_class_model(three_classes: tuple[Path, MineResult]) -> None:
    """A k-output model's neurons (issue #19): captured with its three output units, ExplaiNN with the predicted
    class one-hot as head (one column per class, published against the dataset's class labels), and the output
    layer left out of the concept rules' default layers."""
    import numpy as np

    from kgexplain.neurons import explainn_stage, hidden_layers
    from kgexplain.stages.activations import activations_stage, read_activations

    out, _mined = three_classes
    with open_store(out / "store") as store:
        captured = activations_stage(store, "synthetic-classes", out / "model", Settings(activation_top_tokens=0))
        assert captured.layers["head.dense"] == 3 and captured.documents == 900
        documents, values = read_activations(store, "synthetic-classes", Settings())
        predicted = values["head.dense"].argmax(axis=1)
        assert sorted(set(predicted.tolist())) == [0, 1, 2]
        rules = explainn_stage(store, "synthetic-classes", Settings(), "predicted", "head.relu2")
        assert rules.head_names == ["predicted = museum", "predicted = music", "predicted = sport"]
        assert rules.rules and rules.documents == len(documents)
        heads = store.select(
            "PREFIX kgx: <https://w3id.org/kgexplain/ns#> SELECT DISTINCT ?h WHERE { GRAPH ?g { "
            "?r a kgx:NeuronRule ; kgx:headNeuron ?h } }"
        )
        minter = Minter(Settings().base_iri)
        classes = {minter.class_label("synthetic-classes", c) for c in ("museum", "music", "sport")}
        assert heads.height and set(heads["h"].to_list()) <= classes
    assert hidden_layers(values, ("museum", "music", "sport")) == ["head.relu1", "head.relu2"]
    assert hidden_layers({"a": np.zeros((2, 4)), "out": np.zeros((2, 1))}, ("neg", "pos")) == ["a"]


def test_no_test_mention_scores_nothing() -> None:
    from kgexplain.evaluation.metrics import class_metrics

    empty = class_metrics(pl.DataFrame(), {"e": frozenset({"museum"})}, {"e"}, "museum", 0)
    assert (empty.covered, empty.occurrences, empty.coverage) == (1, 0, 1.0) and empty.acc_imp != empty.acc_imp
