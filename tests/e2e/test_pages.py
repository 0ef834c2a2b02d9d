"""The web pages in real headless Chromium (Debian's `chromium`): each renders, the rule list's filters
work, a rule's page links to its documents, whose heatmap renders, the rule graph draws every rule in the
classes' colours, and the SPARQL editor runs queries into a table; a screenshot of each page is saved
under ``test-artifacts/pages/``."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import matplotlib.image
import numpy as np
import pytest
from browser import FLAGS, Browser
from scipy import ndimage

from kgexplain.palette import NEG_COLOUR, POS_COLOUR, rgb
from kgexplain.service.routes.editor import examples
from kgexplain.store import EmbeddedStore

PLANTED = "country(x, Varnia) → Pos"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        message = "Chromium is missing (Debian: apt install chromium; .ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="module")
def served(demo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory, serve):
    """A copy of the demo's store, served: (base URL, the store)."""
    path = tmp_path_factory.mktemp("pages") / "store"
    shutil.copytree(demo[0] / "store", path)
    with EmbeddedStore(path) as db, serve(db) as url:
        yield url, db


@pytest.fixture(scope="module")
def site(served: tuple[str, EmbeddedStore]) -> str:
    return served[0]


def browse(chromium: str, url: str, shot: str, tmp_path: Path) -> str:
    """The page's DOM after Chromium rendered it; a 1200×900 screenshot goes to test-artifacts/pages/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path / f"profile-{shot}"
    subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1200,900",
            f"--screenshot={ARTIFACTS / (shot + '.png')}",
            url,
        ],
        check=True,
        timeout=90,
        capture_output=True,
    )
    dom = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        check=True,
        timeout=90,
        capture_output=True,
        text=True,
    ).stdout
    assert (ARTIFACTS / (shot + ".png")).stat().st_size > 5_000
    return dom


def rows(dom: str) -> list[tuple[str, str]]:
    """(class, label) of each rule row of the rule list."""
    return re.findall(r"<tr class=\"rule\" data-class=\"(\w+)\"><td><a href=\"[^\"]+\">([^<]+)</a>", dom)


def test_rule_list_and_its_filters(chromium: str, site: str, tmp_path: Path) -> None:
    dom = browse(chromium, f"{site}/rules", "rules", tmp_path)
    every = rows(dom)
    assert every and (("Pos", PLANTED.replace(">", "&gt;")) in every or ("Pos", PLANTED) in every)
    for name in ("class", "measure", "min_confidence", "min_support", "property", "value", "q", "sort"):
        assert f'name="{name}"' in dom
    # the filter form, used as a person would: pick the class, type into the text box, click Apply
    with Browser(chromium, tmp_path / "profile-filter") as browser:
        browser.navigate(f"{site}/rules")
        browser.evaluate(
            "(() => { const s = document.querySelector('select[name=class]'); s.value = 'Pos';"
            " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )
        browser.click("input[name=q]")
        browser.type("varnia")
        browser.events.clear()
        browser.click("#apply")
        browser.wait_for("Page.loadEventFired")
        query = parse_qs(urlsplit(browser.url).query)
        assert urlsplit(browser.url).path == "/rules" and query["class"] == ["Pos"] and query["q"] == ["varnia"]
        filtered = rows(browser.dom)
        browser.screenshot(ARTIFACTS / "rules-filtered.png")
    assert filtered and all(cls == "Pos" and "Varnia" in label for cls, label in filtered)
    assert len(filtered) < len(every)


def test_rule_page_links_to_documents_and_their_heatmaps(chromium: str, site: str, tmp_path: Path) -> None:
    planted = next(r for r in httpx.get(f"{site}/api/rules").json()["rules"] if r["label"] == PLANTED)
    dom = browse(chromium, f"{site}/rules/{planted['id']}", "rule", tmp_path)
    assert "Varnia" in dom and dom.count("<svg") >= 4  # one bar per confidence measure
    documents = re.findall(r'<a class="document" href="(/documents/[^"]+)"', dom)
    assert documents
    heatmap = browse(chromium, f"{site}{documents[0]}", "document", tmp_path)
    assert "P(positive)" in heatmap and heatmap.count("<span") > 5
    assert "404" not in heatmap.split("<h1>")[1][:40]
    # and by clicking: the rule list's link to the rule, then the rule's first document
    with Browser(chromium, tmp_path / "profile-click") as browser:
        browser.navigate(f"{site}/rules")
        for selector in (f"a[href='/rules/{planted['id']}']", "a.document"):
            browser.events.clear()
            browser.click(selector)
            browser.wait_for("Page.loadEventFired")
        assert urlsplit(browser.url).path == documents[0] and "P(positive)" in browser.dom


def blobs(image: np.ndarray, colour: str) -> int:
    """How many separate patches of exactly ``colour`` the image holds (a node, a legend dot)."""
    mask = np.all(np.abs(image[..., :3] - np.array(rgb(colour)) / 255) < 1.5 / 255, axis=-1)
    return int(ndimage.label(mask)[1])


def test_rule_graph_page(chromium: str, site: str, tmp_path: Path) -> None:
    dom = browse(chromium, f"{site}/graph", "graph", tmp_path)
    assert 'id="graph"' in dom and "Closed rule sets" in dom and PLANTED.replace(">", "&gt;") in dom
    png = httpx.get(f"{site}/graph.png")
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    # every rule is drawn, in its class's colour (the one of the rule list), beside a legend dot per class
    rules = httpx.get(f"{site}/api/rules", params={"limit": 200}).json()["rules"]
    image = matplotlib.image.imread(io.BytesIO(png.content))
    for cls, colour in (("Pos", POS_COLOUR), ("Neg", NEG_COLOUR)):
        count = sum(r["class"] == cls for r in rules)
        assert blobs(image, colour) == count + (count > 0), cls
    assert f".pos {{ color: {POS_COLOUR}; }}" in httpx.get(f"{site}/rules").text
    shown = re.findall(r'<a href="/rules/[^"]+">([^<]+)</a>', dom.split('id="components"')[1])
    assert sorted(shown) == sorted(r["label"].replace(">", "&gt;") for r in rules)


def answer(browser: Browser) -> tuple[str, list[list[str]]]:
    """Waits for the editor's answer: the status line and the table's rows (header first)."""
    deadline = time.monotonic() + 60
    while True:
        state = browser.evaluate("document.getElementById('status').className")
        if state in ("ok", "error"):
            break
        assert time.monotonic() < deadline, "the editor did not answer"
        time.sleep(0.05)
    rows = browser.evaluate(
        "[...document.querySelectorAll('#answer tr')].map(r => [...r.cells].map(c => c.textContent))"
    )
    return browser.evaluate("document.getElementById('status').textContent"), rows or []


def run_query(browser: Browser) -> tuple[str, list[list[str]]]:
    browser.evaluate("document.getElementById('status').className = ''")
    browser.click("#run")
    return answer(browser)


def test_query_page_runs_queries_into_a_table(chromium: str, served: tuple[str, EmbeddedStore], tmp_path: Path) -> None:
    site, db = served
    shown = examples()
    assert [e.key for e in shown] == ["1-top-rules", "2-rules-of-a-class", "3-entities-of-a-rule", "4-run-catalog"]
    for example in shown:  # each example answers rows on the demo's store
        assert db.select(example.text).height > 0, example.key
    with Browser(chromium, tmp_path / "profile-query", height=1400) as browser:
        browser.navigate(f"{site}/query")
        text = browser.evaluate("document.getElementById('query').value")
        for prefix in ("kgx:", "wd:", "wdt:", "rdfs:", "skos:", "owl:", "prov:"):
            assert f"PREFIX {prefix} <" in text
        assert text == shown[0].text
        options = browser.evaluate("[...document.querySelectorAll('#example option')].map(o => o.value)")
        assert options == ["", *(e.key for e in shown)]
        # the first example, as it opens: the top rules with their labels, as the store answers them
        status, rows = run_query(browser)
        expected = db.select(shown[0].text)
        assert rows[0] == [f"?{c}" for c in expected.columns] and status.startswith(f"{expected.height} rows")
        assert [r[0] for r in rows[1:]] == expected["label"].to_list() and any(r[0] == PLANTED for r in rows[1:])
        assert browser.evaluate("document.getElementById('csv').hidden") is False
        browser.evaluate("window.scrollTo(0, document.getElementById('status').offsetTop - 420)")
        browser.screenshot(ARTIFACTS / "query.png")
        # another, chosen from the list: the run catalog
        browser.evaluate(
            "(() => { const s = document.getElementById('example'); s.value = '4-run-catalog';"
            " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )
        assert browser.evaluate("document.getElementById('query').value") == shown[3].text
        status, rows = run_query(browser)
        catalog = db.select(shown[3].text)
        assert len(rows) == catalog.height + 1 and {r[3] for r in rows[1:]} == set(catalog["status"].to_list())
        # one typed by hand
        browser.evaluate("document.getElementById('query').value = ''")
        browser.click("#query")
        browser.type(
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "SELECT ?label WHERE { GRAPH ?g { ?rule a <https://w3id.org/kgexplain/ns#AssociationRule> ; "
            "rdfs:label ?label } } ORDER BY ?label"
        )
        assert browser.evaluate("document.getElementById('example').value") == ""
        status, rows = run_query(browser)
        labels = sorted(r["label"] for r in httpx.get(f"{site}/api/rules").json()["rules"])
        assert rows == [["?label"], *([label] for label in labels)], status
        assert browser.evaluate("document.getElementById('query').rows") == 8  # the editor fits the query
        browser.screenshot(ARTIFACTS / "query-typed.png")
        # a malformed query: the endpoint's problem as a message, and no table
        browser.evaluate("document.getElementById('query').value = 'SELECT * WHERE { ?s ?p }'")
        status, rows = run_query(browser)
        assert rows == [] and browser.evaluate("document.getElementById('status').className") == "error"
        assert "parse" in status, status
        assert browser.evaluate("document.getElementById('csv').hidden") is True
        browser.screenshot(ARTIFACTS / "query-error.png")
    # the CSV the link downloads is the endpoint's
    csv = httpx.post(f"{site}/sparql", data={"query": shown[0].text}, headers={"accept": "text/csv"})
    assert csv.status_code == 200 and csv.text.splitlines()[0] == ",".join(db.select(shown[0].text).columns)


def test_query_page_files(site: str) -> None:
    """The editor's script and style are files of this origin, with their types; nothing else is served."""
    page = httpx.get(f"{site}/query")
    assert page.status_code == 200 and '<script src="/static/editor.js"' in page.text.replace("'", '"')
    assert (
        "<script>" not in page.text and "'unsafe-inline'" not in page.headers["content-security-policy"].split(";")[1]
    )
    assert "href='/query'>SPARQL</a>" in page.text
    js, css = httpx.get(f"{site}/static/editor.js"), httpx.get(f"{site}/static/editor.css")
    assert js.headers["content-type"] == "text/javascript; charset=utf-8" and "fetch(" in js.text
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert httpx.get(f"{site}/static/editor.js", headers={"if-none-match": js.headers["etag"]}).status_code == 304
    for missing in ("nope.js", "examples", "..%2Fpages.py", "examples%2F1-top-rules.rq"):
        assert httpx.get(f"{site}/static/{missing}").status_code == 404
