"""The pages hold no script a store value can smuggle in, read in real headless Chromium (Debian's `chromium`).

A copy of the demo's store gets hostile IRIs where the rule page and the heatmap write links: `owl:sameAs` and
SKOS mappings (what `kgexplain link` publishes) of the planted rule's property and value to `javascript:`,
`data:` and `vbscript:` URLs, one in mixed case after spaces and a form feed (browsers strip those), and a
mention grounded in a `javascript:` IRI. (A tab inside an IRI does not survive the store's TSV results, so
``web_url``'s handling of tabs and newlines is checked on the function itself.) No `<a>` of any page may then
point anywhere but http(s), the values must still show as text, and every answer the browser gets carries the
security headers: a CSP whose script-src allows no inline script, `nosniff` and `frame-ancestors 'none'`.
"""

from __future__ import annotations

import gc
import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from browser import Browser
from test_pages import ARTIFACTS, PLANTED, chromium  # noqa: F401 - the fixture

from kgexplain.service.pages import web_url
from kgexplain.store import EmbeddedStore

SKOS = "http://www.w3.org/2004/02/skos/core#"
OWL = "http://www.w3.org/2002/07/owl#"
KGX = "https://w3id.org/kgexplain/ns#"
#: (relation, target) planted on the planted rule's value, as they read in the store.
HOSTILE = [
    (OWL + "sameAs", "javascript:alert(document.domain)"),
    (SKOS + "exactMatch", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
    (SKOS + "closeMatch", " \x0c JaVaScRiPt:alert(document.cookie)"),
    (SKOS + "broadMatch", "vbscript:msgbox(1)"),
]
SAFE = (SKOS + "narrowMatch", "https://example.org/varnia")
#: Every <a> of the page: its href attribute and the URL the browser would follow.
ANCHORS = "[...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href, a.textContent])"


def _nq_iri(iri: str) -> str:
    """An IRI in N-Quads with its spaces and controls escaped (a lenient load keeps them)."""
    return "<" + "".join(f"\\u{ord(c):04X}" if ord(c) <= 0x20 else c for c in iri) + ">"


def _plant(path: Path) -> None:
    """The hostile links of the planted rule's property and value, loaded leniently (as a careless import
    would) into a graph of their own, and the first mention of the rule's first document grounded in a
    ``javascript:`` IRI."""
    store = ox.Store(str(path))
    rule = f"""PREFIX kgx: <{KGX}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?property ?value (MIN(?covered) AS ?doc) WHERE {{ GRAPH ?g {{
          ?rule rdfs:label {json.dumps(PLANTED)} ; kgx:antecedent [ kgx:property ?property ; kgx:value ?value ] ;
                kgx:coversDocument ?covered }} }} GROUP BY ?property ?value"""
    ((property_iri, value_iri, document),) = [
        (r["property"].value, r["value"].value, r["doc"].value) for r in store.query(rule)
    ]
    graph = "<https://example.org/graph/hostile>"
    quads = [f"<{value_iri}> <{relation}> {_nq_iri(target)} {graph} ." for relation, target in HOSTILE]
    quads.append(f"<{property_iri}> <{SAFE[0]}> <{SAFE[1]}> {graph} .")
    store.load("\n".join(quads) + "\n", format=ox.RdfFormat.N_QUADS, lenient=True)
    store.update(f"""PREFIX kgx: <{KGX}>
        DELETE {{ GRAPH ?g {{ ?m kgx:entity ?e }} }} INSERT {{ GRAPH ?g {{ ?m kgx:entity <javascript:alert(1)> }} }}
        WHERE {{ {{ SELECT ?g ?m ?e WHERE {{ GRAPH ?g {{ ?m a kgx:Mention ; kgx:document <{document}> ;
                                                      kgx:start ?s ; kgx:entity ?e }} }} ORDER BY ?s LIMIT 1 }} }}""")
    store.flush()
    del store
    gc.collect()  # the store's lock goes with the object


@pytest.fixture(scope="module")
def hostile(demo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory, serve):
    """The demo's store with the hostile values, served: (base URL, planted rule's id, its first document's page)."""
    path = tmp_path_factory.mktemp("hostile") / "store"
    shutil.copytree(demo[0] / "store", path)
    _plant(path)
    with EmbeddedStore(path) as db, serve(db) as url:
        rule = next(r for r in httpx.get(f"{url}/api/rules").json()["rules"] if r["label"] == PLANTED)
        detail = httpx.get(f"{url}/api/rules/{rule['id']}").json()
        yield url, rule["id"], f"/documents/{detail['dataset']}/{detail['documents'][0]['id']}"


def visit(browser: Browser, url: str) -> list[dict[str, Any]]:
    """Opens ``url`` and returns every response the browser received for it and what it loaded (CDP
    ``Network.responseReceived``), with header names in lower case."""
    browser.events.clear()
    browser.send("Network.enable")
    browser.send("Page.navigate", url=url)
    deadline = time.monotonic() + 60
    while not any(e.get("method") == "Page.loadEventFired" for e in browser.events):
        browser.events.append(json.loads(browser.socket.recv(timeout=max(0.1, deadline - time.monotonic()))))
    responses = [e["params"]["response"] for e in browser.events if e.get("method") == "Network.responseReceived"]
    browser.events.clear()
    return [{**r, "headers": {k.lower(): v for k, v in r["headers"].items()}} for r in responses]


def assert_secure_headers(response: dict[str, Any]) -> None:
    headers, where = response["headers"], response["url"]
    policy = {d.split()[0]: d.split()[1:] for d in headers.get("content-security-policy", "").split(";") if d.strip()}
    assert policy, f"{where} has no Content-Security-Policy"
    scripts = policy.get("script-src", policy.get("default-src"))
    assert scripts is not None and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, where
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert policy.get("default-src") == ["'none'"] and policy.get("base-uri") == ["'none'"], where
    assert headers.get("x-content-type-options") == "nosniff", where


def assert_only_web_links(browser: Browser) -> list[list[str]]:
    anchors = browser.evaluate(ANCHORS)
    for attribute, followed, _text in anchors:
        assert followed.split(":", 1)[0] in ("http", "https"), f"<a href={attribute!r}> leads to {followed!r}"
    assert (
        browser.evaluate("document.querySelectorAll('script:not([src]), [onclick], [onerror], [onload]').length") == 0
    )
    return anchors


def test_store_values_never_become_script_links(
    chromium: str,  # noqa: F811 - the fixture
    hostile,
    tmp_path: Path,
) -> None:
    url, rule_id, document = hostile
    with Browser(chromium, tmp_path / "profile") as browser:
        responses = visit(browser, f"{url}/rules/{rule_id}")
        anchors = assert_only_web_links(browser)
        text = browser.evaluate("document.getElementById('items').textContent")
        # the hostile targets show as text (a browser reads the tabs as spaces), the safe one as a link
        for _relation, target in HOSTILE:
            assert " ".join(target.split()) in " ".join(text.split()), target
        assert [a for a in anchors if a[0] == SAFE[1]], "the https mapping lost its link"
        browser.screenshot(ARTIFACTS / "rule-hostile-links.png")
        responses += visit(browser, f"{url}{document}")
        assert_only_web_links(browser)
        assert "javascript:alert(1)" in browser.evaluate(
            "[...document.querySelectorAll('.kgx-mention')].map(m => m.title).join(' ')"
        )
    assert {r["status"] for r in responses} == {200}
    for response in responses:
        assert_secure_headers(response)


def test_every_page_answer_carries_the_policy(chromium: str, hostile, tmp_path: Path) -> None:  # noqa: F811 - the fixture
    url, rule_id, document = hostile
    pages = [
        "/rules",
        "/rules?class=Pos",
        f"/rules/{rule_id}",
        document,
        "/graph",
        "/neurons",
        "/query",
        "/query?query=ASK%7B%7D",
        "/rules/no-such-run/no-such-rule",
        "/documents/synthetic/nope",
    ]
    seen: dict[str, dict[str, Any]] = {}
    with Browser(chromium, tmp_path / "profile") as browser:
        for page in pages:
            got = visit(browser, url + page)
            assert url + page in {r["url"] for r in got}
            assert_only_web_links(browser)
            seen.update({r["url"]: r for r in got})
    assert {f"{url}/static/editor.js", f"{url}/static/editor.css", f"{url}/graph.png"} <= set(seen)
    assert seen[f"{url}/rules/no-such-run/no-such-rule"]["status"] == 404
    for response in seen.values():
        assert_secure_headers(response)
    # and what a browser does not load by itself: a missing static file, the endpoint's error
    for path in ("/static/nope.js", "/static/../pages.py", "/sparql?query=SELEC"):
        assert_secure_headers({"url": path, "headers": dict(httpx.get(url + path).headers)})


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        " \t\n JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x00javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "VBScript:x",
        "//evil.example/x",
        "/rules",
        "https:no-host",
        "http//example.org",
        "",
        "file:///etc/passwd",
        "ftp://example.org/",
    ],
)
def test_only_http_urls_are_web_urls(value: str) -> None:
    assert web_url(value) is None


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("https://www.wikidata.org/wiki/Q42", "https://www.wikidata.org/wiki/Q42"),
        ("  HTTP://example.org/a b\t", "HTTP://example.org/a b"),
        ("ht\ttps://example.org/", "https://example.org/"),
    ],
)
def test_http_urls_are_kept_as_a_browser_reads_them(value: str, url: str) -> None:
    assert web_url(value) == url
