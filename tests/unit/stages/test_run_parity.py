"""A run started over REST does what ``kgexplain demo`` does: the same stages through ``stages.run_all``, so the
store holds the same kinds of runs (attribution, activations, mining) and the same rule files are written
(issue #20: REST runs used to skip the activations and the exports)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgexplain.service.jobs import JobRunner, RunSpec
from kgexplain.store import EmbeddedStore, open_store

pytestmark = pytest.mark.slow

RUN_KINDS = """
PREFIX kgx: <https://w3id.org/kgexplain/ns#>
SELECT DISTINCT ?kind WHERE { GRAPH ?g { ?run a ?kind . FILTER(?kind IN (kgx:AttributionRun, kgx:ActivationRun,
  kgx:MiningRun)) } }
"""


def _kinds(store) -> set[str]:
    frame = store.select(RUN_KINDS)
    return {k.rsplit("#", 1)[-1] for k in frame["kind"].to_list()} if frame.height else set()


def test_a_rest_run_makes_what_a_cli_run_makes(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "kgexplain.cli", "demo", "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    with open_store(out / "store") as cli_store:
        cli_kinds = _kinds(cli_store)

    with EmbeddedStore(None) as store:
        runner = JobRunner(store, tmp_path / "work", "https://w3id.org/kgexplain/id/")
        job = runner.submit(RunSpec(demo=True))
        deadline = time.monotonic() + 600
        while job.status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
        runner.close()
        assert job.status == "completed", job.error
        rest_kinds = _kinds(store)
    assert cli_kinds == rest_kinds == {"AttributionRun", "ActivationRun", "MiningRun"}
    assert job.result["activation_run"] and summary["activation_run"]
    assert set(job.result["exports"]) == set(summary["exports"]) == {"turtle", "json-ld"}
    for path in job.result["exports"].values():
        assert Path(path).stat().st_size > 0
    assert job.result["rules"] == summary["rules"]
