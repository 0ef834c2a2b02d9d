"""The second real task end to end: Wikidata-linked SimpleQuestions, labelled biographical vs other by the
property asked about (kgexplain.loaders.questions), through `kgexplain run` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.loaders.questions import FILES

pytestmark = pytest.mark.e2e


def test_questions_task_end_to_end(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "questions"
    data = tmp_path / "questions"
    data.mkdir()
    for split, lines in (("train", 1500), ("test", 500)):  # the first lines of each file, for CI time
        with (source / FILES[split]).open(encoding="utf-8") as f:
            (data / FILES[split]).write_text("".join(next(f) for _ in range(lines)), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--data",
            str(data),
            "--kg",
            str(shared_data / "wikidata" / "wikidata-subset.nt.gz"),
            "--out",
            str(out),
            "--max-tokens",
            "32",
            "--epochs",
            "6",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == "questions" and summary["documents"] == 2000
    # well above the majority class (~61 % "other"): the property family is learnable from the wording
    assert summary["test_accuracy"] > 0.75
    # the questions are lower-cased, so grounding ignores case (cased grounding finds ~1 mention in 20 texts)
    assert summary["mentions"] > 1000 and summary["transactions"] > 100
    assert summary["rules"] > 0
    db = ox.Store.read_only(str(out / "store"))
    query = (
        "SELECT (COUNT(?doc) AS ?n) (COUNT(DISTINCT ?s) AS ?subjects) WHERE { GRAPH ?g { "
        "?doc <https://w3id.org/kgexplain/ns#subjectEntity> ?s } }"
    )
    row = next(iter(db.query(query)))
    assert int(row["n"].value) == 2000 and int(row["subjects"].value) > 1000
    assert "→ Pos" in result.output or "→ Neg" in result.output
