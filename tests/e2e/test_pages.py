"""The web pages in real headless Chromium (Debian's `chromium`): each renders, the rule list's filters
work, a rule's page links to its documents, whose heatmap renders; a screenshot of each page is saved
under ``test-artifacts/pages/``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kgexplain.store import EmbeddedStore

from browser import FLAGS, Browser


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
def site(demo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory, serve):
    path = tmp_path_factory.mktemp("pages") / "store"
    shutil.copytree(demo[0] / "store", path)
    with EmbeddedStore(path) as db, serve(db) as url:
        yield url


def browse(chromium: str, url: str, shot: str, tmp_path: Path) -> str:
    """The page's DOM after Chromium rendered it; a 1200×900 screenshot goes to test-artifacts/pages/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path / f"profile-{shot}"
    subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", "--window-size=1200,900",
                    f"--screenshot={ARTIFACTS / (shot + '.png')}", url], check=True, timeout=90,
                   capture_output=True)
    dom = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url], check=True,
                         timeout=90, capture_output=True, text=True).stdout
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
        browser.evaluate("(() => { const s = document.querySelector('select[name=class]'); s.value = 'Pos';"
                         " s.dispatchEvent(new Event('change', {bubbles: true})); })()")
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
    assert "Varnia" in dom and dom.count("<svg") >= 4          # one bar per confidence measure
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


def test_rule_graph_page(chromium: str, site: str, tmp_path: Path) -> None:
    dom = browse(chromium, f"{site}/graph", "graph", tmp_path)
    assert 'id="graph"' in dom and "Closed rule sets" in dom and PLANTED.replace(">", "&gt;") in dom
    png = httpx.get(f"{site}/graph.png")
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
