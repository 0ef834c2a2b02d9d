"""`kgexplain serve` over real HTTP (uvicorn on loopback) with a real store: the SPARQL 1.1 Protocol, its
formats and guards, real SPARQL clients, and the REST rule lookup on the demo's rules."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
import rdflib.compare

from kgexplain.config import Settings
from kgexplain.service import ServiceConfig
from kgexplain.stages import mine_stage
from kgexplain.store import EmbeddedStore
from kgexplain.vocab import Minter

KGX = "https://w3id.org/kgexplain/ns#"
RULES = f"PREFIX kgx: <{KGX}> SELECT ?rule ?support WHERE {{ GRAPH ?g {{ ?rule a kgx:AssociationRule ; kgx:support ?support }} }}"
PLANTED = "country(x, Varnia) → Pos"


@pytest.fixture(scope="module")
def demo_store(demo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    path = tmp_path_factory.mktemp("service") / "store"
    shutil.copytree(demo[0] / "store", path)
    with EmbeddedStore(path) as db:
        yield db


@pytest.fixture(scope="module")
def service(demo_store: EmbeddedStore, serve) -> Iterator[str]:
    with serve(demo_store) as url:
        yield url


def problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_health(service: str) -> None:
    body = httpx.get(f"{service}/api/health").json()
    assert body["status"] == "ok" and body["read_only"] is True and "embedded store" in body["store"]


def test_query_by_get_form_and_direct_post_agree(service: str, demo_store: EmbeddedStore) -> None:
    direct = sorted(demo_store.select(RULES)["rule"].to_list())
    assert direct
    get = httpx.get(f"{service}/sparql", params={"query": RULES})
    form = httpx.post(f"{service}/sparql", data={"query": RULES})
    body = httpx.post(f"{service}/sparql", content=RULES.encode(), headers={"content-type": "application/sparql-query"})
    for response in (get, form, body):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/sparql-results+json")
        rows = response.json()["results"]["bindings"]
        assert sorted(r["rule"]["value"] for r in rows) == direct


def test_every_results_format(service: str, demo_store: EmbeddedStore) -> None:
    direct = {(r, s) for r, s in demo_store.select(RULES).iter_rows()}
    xml = httpx.get(f"{service}/sparql", params={"query": RULES}, headers={"accept": "application/sparql-results+xml"})
    assert xml.headers["content-type"].startswith("application/sparql-results+xml")
    parsed = rdflib.query.Result.parse(io.BytesIO(xml.content), format="xml")
    assert {(str(r[0]), int(r[1])) for r in parsed} == direct
    csv_ = httpx.get(f"{service}/sparql", params={"query": RULES}, headers={"accept": "text/csv"})
    assert csv_.headers["content-type"].startswith("text/csv")
    assert {(r["rule"], int(r["support"])) for r in csv.DictReader(io.StringIO(csv_.text))} == direct
    tsv = httpx.get(
        f"{service}/sparql",
        params={"query": RULES},
        headers={"accept": "text/tab-separated-values;q=0.9, text/html;q=0.1"},
    )
    lines = tsv.text.strip().split("\n")
    assert lines[0] == "?rule\t?support" and len(lines) == len(direct) + 1
    ask = httpx.get(f"{service}/sparql", params={"query": f"ASK {{ GRAPH ?g {{ ?r a <{KGX}AssociationRule> }} }}"})
    assert ask.json() == {"head": {}, "boolean": True}


def test_every_graph_format(service: str, demo_store: EmbeddedStore) -> None:
    query = f"CONSTRUCT {{ ?r ?p ?o }} WHERE {{ GRAPH ?g {{ ?r a <{KGX}AssociationRule> ; ?p ?o }} }}"
    expected = rdflib.Graph().parse(
        data=ox.serialize(demo_store.construct(query), format=ox.RdfFormat.N_TRIPLES), format="nt"
    )
    assert len(expected) > 20
    for media, fmt in (("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld")):
        response = httpx.post(f"{service}/sparql", data={"query": query}, headers={"accept": media})
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
        got = rdflib.Graph().parse(data=response.content, format=fmt)
        assert rdflib.compare.isomorphic(got, expected), media
    default = httpx.get(f"{service}/sparql", params={"query": query})
    assert default.headers["content-type"].startswith("text/turtle")
    problem(httpx.get(f"{service}/sparql", params={"query": query}, headers={"accept": "text/csv"}), 406)


def test_real_clients(service: str, demo_store: EmbeddedStore) -> None:
    from SPARQLWrapper import JSON, SPARQLWrapper

    direct = sorted(demo_store.select(RULES)["rule"].to_list())
    client = SPARQLWrapper(f"{service}/sparql")
    client.setQuery(RULES)
    client.setReturnFormat(JSON)
    rows = client.queryAndConvert()["results"]["bindings"]
    assert sorted(r["rule"]["value"] for r in rows) == direct
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = rdflib.Graph(SPARQLStore(f"{service}/sparql", returnFormat="json"))
    assert sorted(str(r[0]) for r in graph.query(RULES)) == direct


def test_guards(service: str, demo_store: EmbeddedStore) -> None:
    body = problem(
        httpx.get(
            f"{service}/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }"}
        ),
        403,
    )
    assert "SERVICE" in body["detail"]  # refused by policy (403), not as malformed
    problem(httpx.get(f"{service}/sparql", params={"query": "SELEKT nonsense"}), 400)
    problem(httpx.get(f"{service}/sparql"), 400)
    before = demo_store.count()
    insert = "INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/a> <http://example.org/b> 1 } }"
    problem(httpx.post(f"{service}/sparql", data={"update": insert}), 403)
    problem(
        httpx.post(f"{service}/sparql", content=insert.encode(), headers={"content-type": "application/sparql-update"}),
        403,
    )
    problem(httpx.get(f"{service}/sparql", params={"query": insert}), 400)  # an update sent as a query
    problem(httpx.post(f"{service}/sparql", content=b"x", headers={"content-type": "text/plain"}), 415)
    assert demo_store.count() == before


def test_updates_need_the_token(tmp_path: Path, serve) -> None:
    insert = "INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/a> <http://example.org/b> 1 } }"
    with EmbeddedStore(tmp_path / "store") as db, serve(db, ServiceConfig(update_token="s3cret")) as url:
        problem(httpx.post(f"{url}/sparql", data={"update": insert}), 401)
        problem(httpx.post(f"{url}/sparql", data={"update": insert}, headers={"authorization": "Bearer wrong"}), 401)
        assert db.count() == 0
        ok = httpx.post(
            f"{url}/sparql",
            content=insert.encode(),
            headers={"content-type": "application/sparql-update", "authorization": "Bearer s3cret"},
        )
        assert ok.status_code == 204 and db.count() == 1
        service_update = (
            "INSERT { GRAPH <http://example.org/g> { ?s ?p ?o } } WHERE { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }"
        )
        problem(
            httpx.post(f"{url}/sparql", data={"update": service_update}, headers={"authorization": "Bearer s3cret"}),
            403,
        )
        assert httpx.get(f"{url}/api/health").json()["read_only"] is False
    with EmbeddedStore(tmp_path / "empty-token") as db, serve(db, ServiceConfig(update_token="")) as url:
        # KGX_UPDATE_TOKEN set to nothing (docker/compose.yaml's default) keeps the endpoint read-only
        problem(httpx.post(f"{url}/sparql", data={"update": insert}, headers={"authorization": "Bearer"}), 403)
        assert db.count() == 0 and httpx.get(f"{url}/api/health").json()["read_only"] is True


def test_graph_store_protocol(tmp_path: Path, serve) -> None:
    """/store: reads for everyone, writes with the token; PUT replaces in one update, POST merges, DELETE
    drops; each RDF format in, each graph format out; a body that does not parse changes nothing."""
    g = "http://example.org/graph"
    turtle = b"@prefix ex: <http://example.org/> . ex:a ex:b ex:c , ex:d ; ex:e [ ex:f 1 ] ."
    token = {"authorization": "Bearer s3cret"}
    with (
        EmbeddedStore(tmp_path / "store") as db,
        serve(db, ServiceConfig(update_token="s3cret", max_upload_bytes=10_000)) as url,
    ):
        store = f"{url}/store"
        problem(httpx.get(store, params={"graph": g}), 404)
        problem(httpx.get(store), 400)
        problem(httpx.get(store, params={"graph": "not an iri"}), 400)
        problem(httpx.put(store, params={"graph": g}, content=turtle, headers={"content-type": "text/turtle"}), 401)
        assert db.count() == 0
        created = httpx.put(
            store, params={"graph": g}, content=turtle, headers={"content-type": "text/turtle", **token}
        )
        assert created.status_code == 201 and db.count(ox.NamedNode(g)) == 4
        for media in ("text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"):
            got = httpx.get(store, params={"graph": g}, headers={"accept": media})
            assert got.status_code == 200 and got.headers["content-type"].startswith(media)
            theirs = rdflib.Graph().parse(
                data=got.content,
                format={
                    "text/turtle": "turtle",
                    "application/n-triples": "nt",
                    "application/ld+json": "json-ld",
                    "application/rdf+xml": "xml",
                }[media],
            )
            assert rdflib.compare.isomorphic(theirs, rdflib.Graph().parse(data=turtle, format="turtle")), media
        assert httpx.head(store, params={"graph": g}).status_code == 200
        # a body that does not parse, a graph inside the body, an unknown media type, a too large body: no change
        problem(
            httpx.put(store, params={"graph": g}, content=b"<a> <b", headers={"content-type": "text/turtle", **token}),
            400,
        )
        problem(
            httpx.put(
                store,
                params={"graph": g},
                content=b"<http://x/a> <http://x/b> <http://x/c> <http://x/g> .",
                headers={"content-type": "application/n-triples", **token},
            ),
            400,
        )
        problem(
            httpx.put(store, params={"graph": g}, content=turtle, headers={"content-type": "text/plain", **token}), 415
        )
        problem(
            httpx.put(
                store, params={"graph": g}, content=b"#" * 20_000, headers={"content-type": "text/turtle", **token}
            ),
            413,
        )
        assert db.count(ox.NamedNode(g)) == 4
        nt = json.dumps([{"@id": "http://example.org/x", "http://example.org/y": [{"@value": "z"}]}]).encode()
        merged = httpx.post(
            store, params={"graph": g}, content=nt, headers={"content-type": "application/ld+json", **token}
        )
        assert merged.status_code == 204 and db.count(ox.NamedNode(g)) == 5
        replaced = httpx.put(
            store,
            params={"graph": g},
            content=b"<http://x/a> <http://x/b> <http://x/c> .",
            headers={"content-type": "application/n-triples", **token},
        )
        assert replaced.status_code == 204 and db.count(ox.NamedNode(g)) == 1
        assert (
            httpx.post(
                store, params={"default": ""}, content=turtle, headers={"content-type": "text/turtle", **token}
            ).status_code
            == 204
        )
        assert db.count() == 5 and httpx.get(f"{store}?default").status_code == 200
        assert httpx.delete(store, params={"graph": g}, headers=token).status_code == 204
        assert db.count(ox.NamedNode(g)) == 0
        problem(httpx.delete(store, params={"graph": g}, headers=token), 404)
    with EmbeddedStore(tmp_path / "read-only") as db, serve(db) as url:
        problem(
            httpx.put(
                f"{url}/store", params={"graph": g}, content=turtle, headers={"content-type": "text/turtle", **token}
            ),
            403,
        )


def test_a_sparql_reader_sees_a_mining_run_all_at_once(demo: tuple[Path, str], tmp_path: Path, serve) -> None:
    """While `mine` publishes a second run, a client polls /sparql for the rules of every graph and the runs the
    catalog lists: each answer shows the old state or the new one — never rules without their catalog entry,
    nor a run with part of its rules."""
    shutil.copytree(demo[0] / "store", tmp_path / "store")
    catalog = Minter().catalog_graph()
    per_graph = (
        f"PREFIX kgx: <{KGX}> SELECT ?g (COUNT(?rule) AS ?n) (SAMPLE(?run) AS ?listed) WHERE {{ "
        f"GRAPH ?g {{ ?rule a kgx:AssociationRule }} OPTIONAL {{ GRAPH {catalog} {{ ?run kgx:runGraph ?g }} }} }} "
        "GROUP BY ?g"
    )
    states: list[tuple[tuple[int, bool], ...]] = []
    with EmbeddedStore(tmp_path / "store") as db, serve(db) as url:
        before = httpx.get(f"{url}/sparql", params={"query": per_graph}, headers={"accept": "application/json"}).json()
        listed = httpx.get(f"{url}/api/rules", params={"limit": 200}).json()  # now in the response cache
        assert httpx.get(f"{url}/api/rules", params={"limit": 200}).json() == listed
        done = threading.Event()

        def poll() -> None:
            with httpx.Client() as client:
                while not done.is_set():
                    rows = client.get(
                        f"{url}/sparql", params={"query": per_graph}, headers={"accept": "application/json"}
                    ).json()["results"]["bindings"]
                    states.append(tuple(sorted((int(r["n"]["value"]), "listed" in r) for r in rows)))

        reader = threading.Thread(target=poll)
        reader.start()
        try:
            result = mine_stage(db, "synthetic", Settings())
        finally:
            done.set()
            reader.join()
        after = httpx.get(f"{url}/sparql", params={"query": per_graph}, headers={"accept": "application/json"}).json()
        # the cached listing gives way to one with the new run's rules once the index sees the run (≤ 2 s)
        deadline = time.monotonic() + 10
        while (now := httpx.get(f"{url}/api/rules", params={"limit": 200}).json()) == listed:
            assert time.monotonic() < deadline, "GET /api/rules still answers from before the new run"
            time.sleep(0.2)
        assert {r["run"] for r in now["rules"]} >= {result.run_id}
    old = tuple(sorted((int(r["n"]["value"]), "listed" in r) for r in before["results"]["bindings"]))
    new = tuple(sorted((int(r["n"]["value"]), "listed" in r) for r in after["results"]["bindings"]))
    assert result.rules and len(new) == len(old) + 1 and all(listed for _, listed in new)
    assert states and set(states) <= {old, new}, sorted(set(states) - {old, new})[:3]


def test_timeout_and_size_limit(demo_store: EmbeddedStore, serve) -> None:
    """A cross product of the demo's 300k triples streams for minutes: stopped at the timeout; a full dump
    passes the byte limit: refused with 413."""
    cross = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"
    with serve(demo_store, ServiceConfig(query_timeout_s=1.0, max_result_bytes=10**9)) as url:
        start = time.monotonic()
        body = problem(httpx.get(f"{url}/sparql", params={"query": cross}, timeout=30), 503)
        assert "timeout" in body["detail"] and time.monotonic() - start < 5
        assert httpx.get(f"{url}/sparql", params={"query": RULES}).status_code == 200  # the slot came back
    with serve(demo_store, ServiceConfig(max_result_bytes=20_000)) as url:
        problem(httpx.get(f"{url}/sparql", params={"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"}), 413)
        assert httpx.get(f"{url}/sparql", params={"query": RULES}).status_code == 200


def test_rules_list_filters_and_pages(service: str) -> None:
    every = httpx.get(f"{service}/api/rules").json()
    assert every["total"] == len(every["rules"]) > 0
    labels = [r["label"] for r in every["rules"]]
    assert PLANTED in labels
    confidences = [r["confidence"]["H"] for r in every["rules"]]
    assert confidences == sorted(confidences, reverse=True)
    planted = next(r for r in every["rules"] if r["label"] == PLANTED)
    assert planted["class"] == "Pos" and planted["support"] == 10 and planted["confidence"]["H"] >= 0.75
    assert [i["property"] for i in planted["antecedent"]] == ["http://www.wikidata.org/prop/direct/P17"]
    pos = httpx.get(f"{service}/api/rules", params={"class": "Pos"}).json()["rules"]
    assert pos and all(r["class"] == "Pos" for r in pos)
    by_item = httpx.get(f"{service}/api/rules", params={"property": "P17", "q": "varnia"}).json()["rules"]
    assert [r["label"] for r in by_item] == [PLANTED]
    assert (
        httpx.get(f"{service}/api/rules", params={"min_confidence": 1.0, "measure": "TC", "min_support": 10**6}).json()[
            "total"
        ]
        == 0
    )
    first = httpx.get(f"{service}/api/rules", params={"limit": 1}).json()
    assert len(first["rules"]) == 1 and first["total"] == every["total"]
    if every["total"] > 1:
        second = httpx.get(first["next"]).json()
        assert second["offset"] == 1 and second["rules"][0]["id"] == every["rules"][1]["id"]
    problem(httpx.get(f"{service}/api/rules", params={"limit": 10_000}), 422)
    problem(httpx.get(f"{service}/api/rules", params={"class": "Maybe"}), 422)


def test_one_rule(service: str, demo_store: EmbeddedStore) -> None:
    planted = next(r for r in httpx.get(f"{service}/api/rules").json()["rules"] if r["label"] == PLANTED)
    item = planted["antecedent"][0]
    # an external mapping of the item's property, stated (as `kgexplain link` does) on its wd: entity
    entity = item["property"].replace("/prop/direct/", "/entity/")
    demo_store.load(
        [(f"<{entity}>", "<http://www.w3.org/2004/02/skos/core#exactMatch>", "<http://dbpedia.org/ontology/country>")],
        ox.NamedNode("https://example.org/links"),
    )
    rule = httpx.get(f"{service}{planted['url']}").json()
    links = rule["antecedent"][0]["links"]
    assert {"of": "property", "relation": "skos:exactMatch", "target": "http://dbpedia.org/ontology/country"} in links
    assert any(link["relation"] == "rdfs:seeAlso" and "wikidata.org/wiki/Property:" in link["target"] for link in links)
    assert rule["label"] == PLANTED and rule["confidence"] == planted["confidence"]
    assert len(rule["entities"]) == 10 and all(e["label"] for e in rule["entities"])  # Varnia's cities
    assert rule["documents"] and all(d["iri"].startswith("https://") for d in rule["documents"])
    assert rule["provenance"]["run_id"] == planted["run"] and rule["provenance"]["measure"] == "H"
    assert rule["provenance"]["informedBy"].startswith("https://")
    problem(httpx.get(f"{service}/api/rules/{planted['run']}/nope"), 404)
    problem(httpx.get(f"{service}/api/nothing-here"), 404)


def test_openapi_lists_the_endpoints(service: str) -> None:
    spec = httpx.get(f"{service}/openapi.json").json()
    assert {"/sparql", "/api/health", "/api/rules", "/api/rules/{run_id}/{rule_id}"} <= set(spec["paths"])
    assert httpx.get(f"{service}/docs").status_code == 200
    assert json.dumps(spec)  # serialisable as served


def test_entity_and_document(service: str) -> None:
    planted = next(r for r in httpx.get(f"{service}/api/rules").json()["rules"] if r["label"] == PLANTED)
    rule = httpx.get(f"{service}{planted['url']}").json()
    city = httpx.get(f"{service}{rule['entities'][0]['url']}").json()
    assert city["label"] == rule["entities"][0]["label"]
    assert {"out", "in"} >= {f["direction"] for f in city["facts"]}
    country = [f for f in city["facts"] if f["property"].endswith("/P17")]
    assert country and country[0]["value_label"] == "Varnia" and country[0]["property_label"] == "country"
    assert city["influence"] and city["influence"][0]["occurrences"] >= 1
    assert planted["id"] in [r["id"] for r in city["rules_covering"]]
    varnia = httpx.get(f"{service}/api/entities/{planted['antecedent'][0]['value'].rsplit('/', 1)[-1]}").json()
    assert varnia["label"] == "Varnia" and planted["id"] in [r["id"] for r in varnia["rules_mentioning"]]
    problem(httpx.get(f"{service}/api/entities/Q999999999"), 404)
    doc = httpx.get(f"{service}{rule['documents'][0]['url']}").json()
    assert doc["tokens"] and 0.0 <= doc["prediction"] <= 1.0
    named = {m["entity"] for m in doc["mentions"]}
    assert named & {e["iri"] for e in rule["entities"]}  # the document mentions a covered city
    problem(httpx.get(f"{service}/api/documents/synthetic/no-such-doc"), 404)


def test_schemathesis_finds_no_server_error(service: str, tmp_path: Path) -> None:
    """Property-based requests generated from the OpenAPI spec (seeded): no answer may be a 5xx.
    Run in a temporary directory: schemathesis keeps a cache (.schemathesis/) where it runs. Its client
    waits longer than the service's own deadline (``request_timeout_s``, 60 s), so an answer the service
    is too slow to give shows up as the service's 503, a failure, and not as a client-side timeout of a
    big but correct answer (`GET /store?default`, the demo store's 29 MB, took over 10 s with other jobs
    on this 2-core machine)."""
    binary = Path(sys.executable).parent / "schemathesis"
    run = subprocess.run(
        [
            str(binary),
            "run",
            f"{service}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "40",
            "--seed",
            "1234",
            "--no-color",
            "--request-timeout",
            "75",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_runs_started_over_rest(tmp_path: Path, serve, monkeypatch: pytest.MonkeyPatch) -> None:
    """POST /api/runs needs the token, checks its body, runs the demo pipeline in the background with
    progress, and the run's rules are then listed by /api/rules. A service that runs nothing leaves no
    work directory behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with EmbeddedStore(tmp_path / "store") as db:
        with serve(db) as url:
            problem(httpx.post(f"{url}/api/runs", json={"demo": True}), 403)
        assert not list(tmp_path.glob("kgx-serve-*"))
        config = ServiceConfig(update_token="t0ken", work_dir=tmp_path / "work")
        auth = {"authorization": "Bearer t0ken"}
        with serve(db, config) as url:
            problem(httpx.post(f"{url}/api/runs", json={"demo": True}), 401)
            problem(httpx.post(f"{url}/api/runs", json={"demo": True, "model": "transformer"}, headers=auth), 422)
            problem(httpx.post(f"{url}/api/runs", json={"data": "/no/such.csv", "kg": "/no/kg.nt"}, headers=auth), 422)
            problem(
                httpx.post(f"{url}/api/runs", json={"demo": True, "method": "lrp", "model": "gru"}, headers=auth), 422
            )
            started = httpx.post(f"{url}/api/runs", json={"demo": True, "epochs": 3}, headers=auth)
            assert started.status_code == 202 and started.headers["location"] == started.json()["url"]
            job_url = f"{url}{started.json()['url']}"
            deadline, seen = time.monotonic() + 300, set()
            while (job := httpx.get(job_url).json())["status"] in ("queued", "running"):
                seen.update(job["progress"])
                assert time.monotonic() < deadline, job
                time.sleep(0.5)
            assert job["status"] == "completed", job["error"]
            assert job["result"]["rules"] > 0 and (tmp_path / "work").is_dir()
            assert seen or job["progress"]  # stages reported progress
            listed = httpx.get(f"{url}/api/runs").json()
            assert listed["jobs"][0]["id"] == job["id"]
            assert {r["run"] for r in listed["recorded"]} >= {job["result"]["mining_run"], job["result"]["explain_run"]}
            deadline = time.monotonic() + 10  # the rule index rechecks every 2 s
            while not (rules := httpx.get(f"{url}{job['result']['rules_url']}").json())["total"]:
                assert time.monotonic() < deadline
                time.sleep(0.5)
            assert rules["total"] == job["result"]["rules"]
            problem(httpx.get(f"{url}/api/runs/job-nope"), 404)


def test_the_run_record_names_the_support_threshold_used(demo: tuple[Path, str], tmp_path: Path) -> None:
    """A min_support above the number of transactions is clamped to it; the published provenance says what was
    used, so a reader can reproduce the run (it used to record the number asked for)."""
    shutil.copytree(demo[0] / "store", tmp_path / "store")
    with EmbeddedStore(tmp_path / "store") as db:
        result = mine_stage(db, "synthetic", Settings(min_support=10**6))
        minter = Minter(Settings().base_iri)
        record = db.select(f"""PREFIX kgx: <{KGX}> SELECT ?support ?transactions WHERE {{
            GRAPH <{minter.catalog_graph().value}> {{ <{minter.run(result.run_id)}> kgx:minSupport ?support ;
                                                       kgx:transactions ?transactions }} }}""")
    assert record.height == 1
    support, transactions = record.row(0)
    assert int(support) == int(transactions) < 10**6
