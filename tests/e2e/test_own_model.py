"""`kgexplain run --model hf:DIR | sklearn:FILE` and `kgexplain explain --model python:MODULE:FUNCTION` as a user
runs them, on a tiny BERT and a TF-IDF pipeline trained on the planted-bias texts (tests/own_models.py): no
training, the planted rule country(x, Varnia) → Pos comes out first among the Pos rules, the run record names
the model by hash; a model that cannot be used fails with one line, exit 2, and leaves the store as it was."""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from own_models import bert_directory, pipeline_file, synthetic, write_inputs
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.models.external import directory_digest, file_digest
from kgexplain.store import EmbeddedStore
from kgexplain.text import tokenize

pytestmark = pytest.mark.e2e
runner = CliRunner()
G = ox.NamedNode("http://example.org/existing")
PLANTED = "country(x, Varnia) → Pos"


def _inputs(factory: pytest.TempPathFactory, train: int, test: int) -> tuple[Path, Path]:
    """The first ``train`` training and ``test`` test texts as data.csv (rules are mined from the training
    texts), and the synthetic KG."""
    data = synthetic()
    docs = data.dataset.split("train")[:train] + data.dataset.split("test")[:test]
    return write_inputs(factory.mktemp("own-model-inputs"), docs, data)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _inputs(tmp_path_factory, 300, 60)


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _inputs(tmp_path_factory, 160, 40)


@pytest.fixture(scope="module")
def tiny_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _inputs(tmp_path_factory, 40, 20)


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bert_directory(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pipeline_file(tmp_path_factory.getbasetemp())


def run(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args)
    return result.exit_code, result.output


def run_own(inputs: tuple[Path, Path], out: Path, model: str, *extra: str) -> dict:
    data, kg = inputs
    code, output = run(
        [
            "run",
            "--data",
            str(data),
            "--kg",
            str(kg),
            "--out",
            str(out),
            "--model",
            model,
            "--split-column",
            "split",
            "--id-column",
            "id",
            *extra,
        ]
    )
    assert code == 0, output
    assert "not trained" in output and "activations: skipped" in output
    assert not (out / "model").exists()
    return json.loads((out / "summary.json").read_text())


def pos_rules(summary: dict) -> list[str]:
    return [r["rule"] for r in summary["top_rules"] if r["consequent"] == "Pos"]


def model_record(out: Path) -> dict[str, str]:
    with EmbeddedStore(out / "store") as db:
        frame = db.select("""PREFIX kgx: <https://w3id.org/kgexplain/ns#>
            SELECT ?p ?o WHERE { GRAPH ?g { ?run a kgx:AttributionRun ; kgx:usedModel ?m . ?m ?p ?o } }""")
    return {p.rsplit("#", 1)[-1]: o for p, o in frame.iter_rows()}


def test_run_on_a_tiny_bert_finds_the_planted_rule(inputs: tuple[Path, Path], bert_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bert"
    summary = run_own(inputs, out, f"hf:{bert_dir}", "--steps", "32")
    assert pos_rules(summary)[:1] == [PLANTED], summary["top_rules"]
    assert summary["method"] == "ig" and summary["test_accuracy"] > 0.8
    assert summary["user_model"]["sha256"] == directory_digest(bert_dir)[0]
    record = model_record(out)
    assert record["modelHash"] == directory_digest(bert_dir)[0]
    assert record["modelSource"] == f"hf:{bert_dir.resolve()}"
    assert json.loads(record["modelLabels"]) == ["other", "planted"]
    assert record["tokenizer"].startswith("BertTokenizer")
    # words, not pieces: the heatmap of a document shows its \w+ tokens
    code, output = run(
        [
            "heatmap",
            "--store",
            str(out / "store"),
            "--dataset",
            "data",
            "--doc",
            "syn-01000",
            "--output",
            str(tmp_path / "doc.html"),
        ]
    )
    assert code == 0, output
    page = (tmp_path / "doc.html").read_text()
    shown = re.findall(r'<span class="kgx-tok"[^>]*>([^<]*)</span>', page)
    assert shown == tokenize(synthetic().dataset.split("test")[0].text)


def test_run_on_a_scikit_learn_pipeline_finds_the_planted_rule(
    small_inputs: tuple[Path, Path], pipeline: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sklearn"
    summary = run_own(small_inputs, out, f"sklearn:{pipeline}", "--max-evals", "60")
    assert pos_rules(summary)[:1] == [PLANTED], summary["top_rules"]
    assert summary["method"] == "partition" and summary["additivity_error"] < 1e-9
    assert model_record(out)["modelHash"] == file_digest(pipeline)


@pytest.fixture
def user_module(tmp_path: Path, pipeline: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A user's model behind a function (as one behind HTTP would be): the pipeline, wrapped."""
    name = f"user_predict_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(f"""
        import joblib
        _pipeline = joblib.load({str(pipeline)!r})

        def predict(texts):
            return _pipeline.predict_proba(texts)
        predict.labels = ["other", "planted"]

        def flat(texts):
            return _pipeline.predict_proba(texts)[:, 1]
        flat.labels = ["other", "planted"]
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


@pytest.fixture
def out(tmp_path: Path, tiny_inputs: tuple[Path, Path]) -> Path:
    """An output directory whose store holds a loaded dataset and a graph that a failed run must not touch."""
    data, kg = tiny_inputs
    code, output = run(["load", "--data", str(data), "--kg", str(kg), "--store", str(tmp_path / "out" / "store")])
    assert code == 0, output
    with EmbeddedStore(tmp_path / "out" / "store") as db:
        db.load([("<http://example.org/s>", "<http://example.org/p>", '"kept"')], G)
    return tmp_path / "out"


def store_content(out: Path) -> tuple[list[str], bytes]:
    with EmbeddedStore(out / "store") as db:
        return sorted(db.graphs()), db.dump(G)


def test_explain_a_function_model_in_a_loaded_store(out: Path, user_module: str) -> None:
    code, output = run(
        [
            "explain",
            "--store",
            str(out / "store"),
            "--dataset",
            "data",
            "--model",
            f"python:{user_module}:predict",
            "--max-evals",
            "40",
        ]
    )
    assert code == 0, output
    assert "attribution run explain-" in output
    with EmbeddedStore(out / "store") as db:
        method = db.select("""PREFIX kgx: <https://w3id.org/kgexplain/ns#>
            SELECT DISTINCT ?run ?m WHERE { GRAPH ?g { ?run a kgx:AttributionRun ; kgx:method ?m } }""")
    assert method["m"].to_list() == ["partition"]


@pytest.mark.parametrize(
    "case", ["not a saved model", "tokenizer missing", "wrong shape", "unknown labels", "method does not apply"]
)
def test_a_model_that_cannot_be_used_fails_cleanly_and_keeps_the_store(
    case: str, out: Path, bert_dir: Path, user_module: str, tmp_path: Path, tiny_inputs: tuple[Path, Path]
) -> None:
    before = store_content(out)
    model, extra = f"hf:{bert_dir}", []
    expect = {
        "not a saved model": "is not a saved model (no config.json)",
        "tokenizer missing": "no tokenizer in",
        "wrong shape": "returned shape (2,) for 2 texts",
        "unknown labels": "are not among the labels",
        "method does not apply": "--method ig does not apply to a python: model",
    }[case]
    if case == "not a saved model":
        (tmp_path / "empty").mkdir()
        model = f"hf:{tmp_path / 'empty'}"
    elif case == "tokenizer missing":
        (tmp_path / "weights").mkdir()
        for name in ("config.json", "model.safetensors"):
            shutil.copy(bert_dir / name, tmp_path / "weights" / name)
        model = f"hf:{tmp_path / 'weights'}"
    elif case == "wrong shape":
        model = f"python:{user_module}:flat"
    elif case == "unknown labels":
        extra = ["--labels", "negative,positive"]
    else:
        model, extra = f"python:{user_module}:predict", ["--method", "ig"]
    data, kg = tiny_inputs
    for command in (
        ["run", "--data", str(data), "--kg", str(kg), "--out", str(out), "--split-column", "split"],
        ["explain", "--store", str(out / "store"), "--dataset", "data"],
    ):
        code, output = run([*command, "--model", model, *extra])
        assert code == 2, output
        assert output.count("error:") == 1 and expect in " ".join(output.split()), output
        assert "Traceback" not in output
        assert store_content(out) == before


def test_run_on_a_three_class_pipeline_finds_each_class_rule(tmp_path: Path) -> None:
    """A user's scikit-learn pipeline over three classes (issue #19): the label column keeps the class names, the
    pipeline's classes are matched by name, and each class's planted fact is that class's first rule."""
    import joblib
    from own_models import tfidf_pipeline

    from kgexplain.loaders.synthetic import make_synthetic_classes

    data = make_synthetic_classes(600, cities_per_country=6)
    docs = data.dataset.split("train")[:240] + data.dataset.split("test")[:30]
    csv_path, kg = write_inputs(tmp_path / "inputs", docs, data)
    model = tmp_path / "three.joblib"
    joblib.dump(tfidf_pipeline(data.dataset.split("train"), data.dataset.classes), model)
    out = tmp_path / "out"
    summary = run_own((csv_path, kg), out, f"sklearn:{model}", "--max-evals", "40")
    assert data.dataset.classes == ("museum", "music", "sport")
    for cls, country in {"museum": "Varnia", "music": "Belloria", "sport": "Kestia"}.items():
        ranked = [r["rule"] for r in summary["top_rules"] if r["consequent"] == cls]
        assert ranked[:1] == [f"country(x, {country}) → {cls}"], summary["top_rules"]
    record = model_record(out)
    assert record["modelHash"] == file_digest(model)
    assert json.loads(record["modelLabels"]) == ["museum", "music", "sport"]
