"""`kgexplain evaluate --sensitivity`, `--conflicts` and `--coverage-base` on the demo (issue #18.5)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.mining.rules import MEASURES
from kgexplain.store import EmbeddedStore

runner = CliRunner()


def evaluate(out: Path, output: Path, *extra: str) -> str:
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--store",
            str(out / "store"),
            "--dataset",
            "synthetic",
            "--output",
            str(output),
            "--preset",
            "default",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.e2e
def test_sensitivity_on_the_demo(demo: tuple[Path, str], tmp_path: Path) -> None:
    """The grid is supmin {1, 2, 3, 5} × longest antecedent {2, 3} × every measure; its rows at the run's
    own settings (supmin 5, length 3) are the main table's numbers; nothing is written to the store."""
    out, _ = demo
    with EmbeddedStore(out / "store") as db:
        before = db.graphs()
    printed = evaluate(out, tmp_path / "eval", "--sensitivity")
    with EmbeddedStore(out / "store") as db:
        assert db.graphs() == before
    report = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert report["settings"]["coverage_base"] == "test" and report["settings"]["conflicts"] == "confident"
    with open(tmp_path / "eval" / "sensitivity.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    points = {(int(r["min_support"]), int(r["max_length"])) for r in rows}
    assert points == {(s, n) for s in (1, 2, 3, 5) for n in (2, 3)}
    assert len(rows) == len(points) * len(MEASURES) and {r["measure"] for r in rows} == set(MEASURES)
    (model,) = report["models"]
    current = [r for r in rows if r["this_run"] == "True"]
    assert {(r["min_support"], r["max_length"]) for r in current} == {("5", "3")}
    for r in current:
        main = model["results"][r["measure"]]["all"]
        assert int(r["rules"]) == model["rules"][r["measure"]]
        assert int(r["covered"]) == main["covered"] and int(r["occurrences"]) == main["occurrences"]
        for column, key in (
            ("acc_imp", "acc_imp"),
            ("acc_overall", "acc_overall"),
            ("coverage_test", "coverage"),
            ("coverage_train", "coverage_train"),
        ):
            assert float(r[column]) == pytest.approx(main[key]), (r["measure"], column)
    for r in rows:
        assert 0 < float(r["coverage_test"]) <= 1 and 0 < float(r["coverage_train"]) <= 1
        assert int(r["train_entities"]) == model["results"]["H"]["all"]["train_entities"] > 0
    text = (tmp_path / "eval" / "evaluation.md").read_text()
    assert "| model | measure | supmin | longest | rules |" in text and "| cnn | H | 5 | 3 |" in text
    assert "| cnn | H | 5 | 3 |" in printed


@pytest.mark.e2e
def test_conflicts_and_coverage_base_on_the_demo(demo: tuple[Path, str], tmp_path: Path) -> None:
    """On the demo each city has one country, so no entity matches rules of both classes: every
    --conflicts reading gives the default's numbers. --coverage-base train puts the train column beside
    the paper's; both bases are in the JSON whichever is chosen."""
    out, _ = demo
    evaluate(out, tmp_path / "default")
    evaluate(out, tmp_path / "union", "--conflicts", "union", "--coverage-base", "train")
    default = json.loads((tmp_path / "default" / "evaluation.json").read_text())
    union = json.loads((tmp_path / "union" / "evaluation.json").read_text())
    assert union["settings"]["conflicts"] == "union" and union["settings"]["coverage_base"] == "train"
    assert union["models"][0]["results"] == default["models"][0]["results"]
    assert set(union["models"][0]["conflicts"].values()) == {0}
    assert "| coverage (train) | paper | coverage (test) |" in (tmp_path / "union" / "evaluation.md").read_text()
    assert "| coverage (test) | paper | coverage (train) |" in (tmp_path / "default" / "evaluation.md").read_text()
    assert not (tmp_path / "default" / "sensitivity.csv").exists()
    for option, value, message in (
        ("--conflicts", "first", "unknown --conflicts 'first'"),
        ("--coverage-base", "dev", "unknown --coverage-base 'dev'"),
    ):
        result = runner.invoke(
            app,
            [
                "evaluate",
                "--store",
                str(out / "store"),
                "--dataset",
                "synthetic",
                "--output",
                str(tmp_path / "bad"),
                option,
                value,
            ],
        )
        assert result.exit_code == 2 and message in result.output, result.output
