"""The three neuron commands on the demo's stored activations, as a user runs them, then their results over
real HTTP (`/api/neurons/...`, `/sparql`) and on the `/neurons` page in headless Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from test_pages import browse, chromium  # noqa: F401  (the fixture)
from typer.testing import CliRunner

from kgexplain.cli import app
from kgexplain.publish.shacl import validate
from kgexplain.store import EmbeddedStore


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, " ".join(result.output.split())  # rich wraps at the terminal's width


@pytest.fixture(scope="module")
def neuron_store(demo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A copy of the demo store with one run of each neuron command; (store, command → its output)."""
    store = tmp_path_factory.mktemp("neurons") / "store"
    shutil.copytree(demo[0] / "store", store)
    common = ["--store", str(store), "--dataset", "synthetic"]
    outputs = {}
    for name, extra in (
        ("explainn", ["--layers", "head.relu1", "head.relu2"]),
        ("concepts", []),
        ("redescribe", ["--layer", "head.relu2", "--randomizations", "49"]),
    ):
        code, output = _run(["neurons", name, *common, *extra])
        assert code == 0, output
        outputs[name] = output
    return store, outputs


def test_the_commands_report_and_publish_valid_runs(neuron_store: tuple[Path, dict[str, str]]) -> None:
    store, outputs = neuron_store
    found = re.search(
        r"(\d+) rules between head.relu1 and head.relu2 over 2,000 documents: ([\d,]+) bits against "
        r"([\d,]+) without rules",
        outputs["explainn"],
    )
    assert found, outputs["explainn"]
    rules, bits, baseline = int(found[1]), int(found[2].replace(",", "")), int(found[3].replace(",", ""))
    assert rules >= 1 and bits < baseline
    assert re.search(
        r"[\d,]+ rules \(\d+ best published\) from [\d,]+ concepts and [\d,]+ frequent concept sets over 2,000 "
        r"documents",
        outputs["concepts"],
    ), outputs["concepts"]
    assert re.search(
        r"\d+ redescriptions of head.relu2 \(cnn\) against concepts over 2,000 documents", outputs["redescribe"]
    ), outputs["redescribe"]
    with EmbeddedStore(store) as db:
        graphs = [g for g in db.graphs() if re.search(r"/run/(neurons|concepts|redescribe)-", g)]
        assert len(graphs) == 3
        for graph in graphs:
            report = validate(db.dump(ox.NamedNode(graph)))
            assert report.conforms, report.report[:2000]


def test_bad_neuron_input_is_a_clear_error(neuron_store: tuple[Path, dict[str, str]]) -> None:
    store, _ = neuron_store
    common = ["--store", str(store), "--dataset", "synthetic"]
    code, output = _run(["neurons", "explainn", *common, "--layers", "head.nope", "head.relu2"])
    assert code == 2 and "head.nope" in output and "Traceback" not in output
    code, output = _run(["neurons", "redescribe", *common, "--layer", "head.relu2", "--against", "cnn"])
    assert code == 2 and "same activation run" in output and "Traceback" not in output
    code, output = _run(["neurons", "redescribe", *common, "--layer", "head.relu2", "--randomizations", "9"])
    assert code == 2 and "use at least 19 randomizations" in output and "Traceback" not in output


def test_neuron_results_over_rest_and_sparql(neuron_store: tuple[Path, dict[str, str]], serve) -> None:
    store, _ = neuron_store
    with EmbeddedStore(store) as db, serve(db) as url:
        for kind, roles in (
            ("rules", {"head", "tail"}),
            ("redescriptions", {"left"}),
            ("concepts", {"concept", "neuron"}),
        ):
            body = httpx.get(f"{url}/api/neurons/{kind}", params={"limit": 5}).json()
            assert body["dataset"] == "synthetic" and body["total"] >= len(body["results"]) > 0, body
            for result in body["results"]:
                assert roles <= set(result["parts"]), result
                neurons = [p for parts in result["parts"].values() for p in parts if "active_documents" in p]
                assert neurons and all(n["tokens"] and 0 < n["active_documents"] < 2000 for n in neurons)
        redescriptions = httpx.get(f"{url}/api/neurons/redescriptions", params={"limit": 200}).json()["results"]
        assert all(r["jaccard"] >= 0.2 and r["p"] <= 0.01 and 0 < r["p_randomized"] <= 0.05 for r in redescriptions)
        # the planted bias (country Varnia → Pos) is what the model keys on: some neuron follows that concept
        concepts = httpx.get(f"{url}/api/neurons/concepts", params={"limit": 200}).json()["results"]
        assert any(r["label"].startswith("mentions x: country(x, Varnia) → head.relu") for r in concepts)
        paged = httpx.get(f"{url}/api/neurons/concepts", params={"limit": 3, "offset": 3}).json()
        first = httpx.get(f"{url}/api/neurons/concepts", params={"limit": 6}).json()
        assert [r["id"] for r in paged["results"]] == [r["id"] for r in first["results"][3:6]]
        missing = httpx.get(f"{url}/api/neurons/rules", params={"run": "no-such-run"})
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert "kgexplain neurons explainn" in missing.json()["detail"]
        assert httpx.get(f"{url}/api/neurons/other").status_code in (404, 422)
        # the same rules through SPARQL, in the published vocabulary
        query = (
            "PREFIX kgx: <https://w3id.org/kgexplain/ns#> SELECT (COUNT(?r) AS ?n) "
            "WHERE { GRAPH ?g { ?r a kgx:NeuronConceptRule } }"
        )
        count = httpx.get(
            f"{url}/sparql", params={"query": query}, headers={"accept": "application/sparql-results+json"}
        ).json()
        assert int(count["results"]["bindings"][0]["n"]["value"]) == first["total"]


def test_neurons_page(neuron_store: tuple[Path, dict[str, str]], serve, chromium: str, tmp_path: Path) -> None:  # noqa: F811
    store, _ = neuron_store
    with EmbeddedStore(store) as db, serve(db) as url:
        for kind, shot in (
            ("rules", "neurons-rules"),
            ("redescriptions", "neurons-redescriptions"),
            ("concepts", "neurons-concepts"),
        ):
            dom = browse(chromium, f"{url}/neurons?kind={kind}", shot, tmp_path)
            assert dom.count('<tr class="result">') > 0, dom[:2000]
            assert 'class="current"' in dom and "input × gradient" in dom
        assert "Varnia" in dom  # the concepts page names the planted concept
