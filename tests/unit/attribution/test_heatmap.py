"""Token heatmaps (HTML parsed back, PNG read back pixel by pixel) and method agreement."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kgexplain.attribution.grounding import Mention
from kgexplain.attribution.heatmap import (
    NEGATIVE_RGB,
    POSITIVE_RGB,
    _layout,
    agreement_markdown,
    agreement_report,
    agreement_summary,
    html_page,
    rank_agreement,
    render_html,
    render_png,
)

ROOT = Path(__file__).resolve().parents[3]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RGBA = re.compile(r"background-color:\s*rgba\((\d+),\s*(\d+),\s*(\d+),\s*([0-9.]+)\)")


class _Page(HTMLParser):
    """Collects every tag, the token spans (text, colour, alpha, tooltip, enclosing link) and sections."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, dict[str, str | None]]] = []
        self.tokens: list[dict] = []
        self.sections = 0
        self.text: list[str] = []
        self._link: list[dict[str, str | None] | None] = []
        self._in_token = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        self.attrs.append((tag, a))
        classes = (a.get("class") or "").split()
        if tag == "section" and "kgx-heatmap" in classes:
            self.sections += 1
        if "kgx-mention" in classes:
            self._link.append(a)
        elif tag in ("a", "span") and self._link:
            self._link.append(None)  # keeps the stack balanced for nested non-mention tags
        if tag == "span" and "kgx-tok" in classes:
            m = RGBA.search(a.get("style") or "")
            assert m, f"token span without an rgba background: {a}"
            mention = next((x for x in reversed(self._link) if x is not None), None)
            self.tokens.append(
                {
                    "text": "",
                    "rgb": tuple(int(v) for v in m.groups()[:3]),
                    "alpha": float(m.group(4)),
                    "title": a.get("title"),
                    "mention": mention,
                }
            )
            self._in_token = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._in_token:
            self._in_token = False
        if tag in ("a", "span") and self._link:
            self._link.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_token:
            self.tokens[-1]["text"] += data


def parse(markup: str) -> _Page:
    page = _Page()
    page.feed(markup)
    page.close()
    return page


# ----------------------------------------------------------------------------------------------------
# HTML


def test_html_tokens_in_order_and_escaped() -> None:
    tokens = ["the", "<script>", "alert(1)", "</script>", "a&b", '"quoted"', "end"]
    markup = render_html(tokens, [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7], title="<b>doc</b>")
    page = parse(markup)
    assert [t["text"] for t in page.tokens] == tokens
    assert "script" not in page.tags and "b" not in page.tags
    assert "&lt;script&gt;" in markup and "<script>" not in markup
    assert page.tokens[1]["title"] == "<script>: -0.2000"
    assert markup.startswith("<!DOCTYPE html>") and "<style>" in markup
    # self-contained: no scripts, stylesheets, images or anything fetched from elsewhere
    assert not {"script", "link", "img", "iframe"} & set(page.tags)
    assert all("src" not in attrs for _, attrs in page.attrs)


def test_html_colours_and_alpha_follow_sign_and_magnitude() -> None:
    page = parse(render_html(["great", "bad", "the", "meh"], [2.0, -1.0, 0.0, -0.5]))
    great, bad, the, meh = page.tokens
    assert great["rgb"] == POSITIVE_RGB and great["alpha"] == pytest.approx(1.0)
    assert bad["rgb"] == NEGATIVE_RGB and bad["alpha"] == pytest.approx(0.5)
    assert the["alpha"] == 0.0
    assert meh["rgb"] == NEGATIVE_RGB and meh["alpha"] == pytest.approx(0.25)
    assert POSITIVE_RGB[0] > POSITIVE_RGB[2] and NEGATIVE_RGB[2] > NEGATIVE_RGB[0]  # red is red, blue is blue
    assert great["title"] == "great: +2.0000" and bad["title"] == "bad: -1.0000"


def test_html_shared_scale_and_saturation() -> None:
    page = parse(render_html(["x", "y", "z"], [2.0, -8.0, 0.4], scale=4.0))
    assert [t["alpha"] for t in page.tokens] == pytest.approx([0.5, 1.0, 0.1])
    with pytest.raises(ValueError):
        render_html(["x"], [1.0], scale=0.0)
    with pytest.raises(ValueError):
        render_html(["x", "y"], [1.0])


def test_html_mentions_link_to_their_entities() -> None:
    tokens = ["a", "film", "by", "alfred", "hitchcock", "in", "paris"]
    q_hitch, q_paris = "http://www.wikidata.org/entity/Q7374", "http://www.wikidata.org/entity/Q90"
    page = parse(
        render_html(tokens, [0.1] * 7, mentions=[(3, 5, q_hitch, "Alfred Hitchcock"), Mention(6, 7, q_paris, "paris")])
    )
    linked = {t["text"]: (t["mention"] or {}).get("href") for t in page.tokens}
    assert linked == {
        "a": None,
        "film": None,
        "by": None,
        "alfred": q_hitch,
        "hitchcock": q_hitch,
        "in": None,
        "paris": q_paris,
    }
    anchors = [attrs for tag, attrs in page.attrs if tag == "a"]
    assert len(anchors) == 2 and "Alfred Hitchcock" in (anchors[0]["title"] or "")


def test_html_mentions_are_checked_and_never_script_links() -> None:
    page = parse(render_html(["x", "y"], [1.0, -1.0], mentions=[(0, 1, "javascript:alert(1)", "x")]))
    assert not any(tag == "a" for tag, _ in page.attrs)
    assert page.tokens[0]["mention"] is not None  # still marked, just not a link
    with pytest.raises(ValueError, match="overlap"):
        render_html(["a", "b", "c"], [1, 2, 3], mentions=[(0, 2, "http://e/1", "ab"), (1, 3, "http://e/2", "bc")])
    with pytest.raises(ValueError):
        render_html(["a"], [1.0], mentions=[(0, 2, "http://e/1", "a")])


def test_html_empty_document_fragment_and_page() -> None:
    empty = render_html([], [], title="nothing")
    page = parse(empty)
    assert page.tokens == [] and page.sections == 1 and "(no tokens)" in "".join(page.text)

    first = render_html(["good"], [1.0], title="doc 1", subtitle="SHAP", fragment=True)
    second = render_html(["bad"], [-1.0], title="doc 2", fragment=True)
    assert "<html" not in first and first.startswith("<section")
    combined = parse(html_page([first, second], title="Two <docs>"))
    assert combined.sections == 2
    assert [t["text"] for t in combined.tokens] == ["good", "bad"]
    assert combined.tags.count("h1") == 1 and combined.tags.count("html") == 1
    assert "Two <docs>" in "".join(combined.text)


# ----------------------------------------------------------------------------------------------------
# PNG


def _read_png(path: Path) -> np.ndarray:
    import matplotlib.image as mpimg

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return mpimg.imread(path)


def _median_rgb(image: np.ndarray, box) -> np.ndarray:
    """Median colour inside a token box (inset by two pixels); glyph pixels are a minority there."""
    top, left = math.ceil(box.y) + 2, math.ceil(box.x) + 2
    bottom, right = math.floor(box.y + box.h) - 2, math.floor(box.x + box.w) - 2
    assert bottom > top and right > left
    return np.median(image[top:bottom, left:right, :3].reshape(-1, 3), axis=0)


def test_png_is_valid_sized_and_coloured_where_the_tokens_are(tmp_path: Path) -> None:
    tokens, scores = ["superb", "awful", "plain"], [3.0, -3.0, 0.0]
    path = render_png(tokens, scores, tmp_path / "sub" / "doc.png", title="t", width_in=6.0, dpi=100)
    assert path == tmp_path / "sub" / "doc.png" and path.is_file()
    image = _read_png(path)
    layout = _layout(tokens, width_in=6.0, dpi=100, title="t", with_mentions=False)
    assert image.shape[1] == 600 and image.shape[0] == layout.height_px

    red, blue, plain = (_median_rgb(image, box) for box in layout.boxes)
    assert red[0] > 0.7 and red[2] < 0.35 and red[0] - red[2] > 0.4
    assert blue[2] > 0.6 and blue[0] < 0.35 and blue[2] - blue[0] > 0.3
    assert plain == pytest.approx([1.0, 1.0, 1.0], abs=0.02)
    assert [p.name for p in path.parent.iterdir()] == ["doc.png"]  # the temporary file is gone


def test_png_one_word_documents_differ_in_colour(tmp_path: Path) -> None:
    pos = _read_png(render_png(["good"], [1.0], tmp_path / "pos.png", scale=1.0, width_in=3.0, dpi=80))
    neg = _read_png(render_png(["good"], [-1.0], tmp_path / "neg.png", scale=1.0, width_in=3.0, dpi=80))
    assert pos.shape == neg.shape and pos.shape[1] == 240
    diff = pos[..., :3].mean(axis=(0, 1)) - neg[..., :3].mean(axis=(0, 1))
    assert diff[0] > 0.01 and diff[2] < -0.01  # redder and less blue with the positive score


def test_png_wraps_lines_and_writes_the_example(tmp_path: Path) -> None:
    review = (
        "alfred hitchcock directed this gripping thriller with a wonderful score by bernard herrmann "
        "but the dull middle act and the boring romance drag it down although the ending in paris "
        "is superb and the <cast> shines with $x$ dollar signs and 100% energy"
    )
    text = review.split()
    rng = np.random.default_rng(7)
    scores = rng.normal(scale=0.3, size=len(text))
    scores[text.index("wonderful")], scores[text.index("dull")] = 1.2, -1.0
    mentions = [
        (0, 2, "http://www.wikidata.org/entity/Q7374", "Alfred Hitchcock"),
        (11, 13, "http://www.wikidata.org/entity/Q191047", "Bernard Herrmann"),
        (text.index("paris"), text.index("paris") + 1, "http://www.wikidata.org/entity/Q90", "Paris"),
    ]
    layout = _layout(text, width_in=8.0, dpi=120, title="x", with_mentions=True)
    assert len({b.y for b in layout.boxes}) >= 3  # wrapped onto several lines
    assert all(b.x + b.w <= 8.0 * 120 for b in layout.boxes)
    assert [b.x for b in layout.boxes[:2]] == sorted(b.x for b in layout.boxes[:2])  # left to right

    out = ROOT / "test-artifacts" / "heatmap-example.png"
    render_png(
        text,
        scores,
        out,
        title="Example review: SHAP relevance, predicted positive",
        mentions=mentions,
        width_in=8.0,
        dpi=120,
    )
    image = _read_png(out)
    assert image.shape[1] == 960
    # overwriting in place works too
    render_png(text, scores, tmp_path / "again.png", width_in=8.0, dpi=120)
    render_png(text, -scores, tmp_path / "again.png", width_in=8.0, dpi=120)
    assert _read_png(tmp_path / "again.png").shape[1] == 960


def test_png_empty_document(tmp_path: Path) -> None:
    image = _read_png(render_png([], [], tmp_path / "empty.png", width_in=4.0, dpi=50))
    assert image.shape[1] == 200 and image.shape[0] > 0


# ----------------------------------------------------------------------------------------------------
# agreement


def test_rank_agreement() -> None:
    x = [0.3, -1.0, 2.0, 0.1, 0.0]
    assert rank_agreement(x, x) == pytest.approx(1.0)
    assert rank_agreement(x, [-v for v in x]) == pytest.approx(-1.0)
    assert rank_agreement([1, 2, 3, 4], [10, 20, 40, 30]) == pytest.approx(0.8)
    assert math.isnan(rank_agreement([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert math.isnan(rank_agreement([1.0], [2.0]))
    assert math.isnan(rank_agreement([], []))
    with pytest.raises(ValueError):
        rank_agreement([1.0, 2.0], [1.0, 2.0, 3.0])


def _toy() -> dict[str, list[list[float]]]:
    return {
        "shap": [[1, 2, 3, 4], [0.5, 0.1, 0.9], [1, 1, 1]],
        "lrp": [[4, 3, 2, 1], [0.4, 0.2, 0.8], [3, 1, 2]],
        "ig": [[1, 2, 4, 3], [0.1, 0.5, 0.9], [1, 2, 3]],
    }


def test_agreement_report_pairs_and_values() -> None:
    report = agreement_report(_toy(), doc_ids=["d1", "d2", "d3"])
    assert report.columns == ["method_a", "method_b", "document", "spearman"]
    pairs = report.select("method_a", "method_b").unique(maintain_order=True).rows()
    assert pairs == [("ig", "lrp"), ("ig", "shap"), ("lrp", "shap")]
    assert report.height == 9
    value = {(a, b, d): r for a, b, d, r in report.iter_rows()}
    assert value[("lrp", "shap", "d1")] == pytest.approx(-1.0)
    assert value[("lrp", "shap", "d2")] == pytest.approx(1.0)
    assert value[("ig", "shap", "d1")] == pytest.approx(0.8)
    assert math.isnan(value[("ig", "shap", "d3")]) and math.isnan(value[("lrp", "shap", "d3")])
    assert value[("ig", "lrp", "d3")] == pytest.approx(-0.5)
    assert value[("ig", "lrp", "d2")] == pytest.approx(0.5)

    assert agreement_report(_toy())["document"].to_list()[:3] == ["0", "1", "2"]
    with pytest.raises(ValueError):
        agreement_report({"a": [[1, 2]], "b": [[1, 2], [3, 4]]})
    with pytest.raises(ValueError, match="'d2'"):
        agreement_report({"a": [[1, 2], [1, 2]], "b": [[1, 2], [1, 2, 3]]}, doc_ids=["d1", "d2"])
    assert agreement_report({"only": [[1, 2]]}).height == 0


def test_agreement_summary_and_markdown() -> None:
    report = agreement_report(_toy(), doc_ids=["d1", "d2", "d3"])
    summary = agreement_summary(report)
    assert summary.columns == ["method_a", "method_b", "documents", "mean", "median"]
    by_pair = {(r["method_a"], r["method_b"]): r for r in summary.iter_rows(named=True)}
    assert {k: v["documents"] for k, v in by_pair.items()} == {("ig", "lrp"): 3, ("ig", "shap"): 2, ("lrp", "shap"): 2}
    for (a, b), row in by_pair.items():
        values = report.filter((pl.col("method_a") == a) & (pl.col("method_b") == b))["spearman"].to_numpy()
        assert row["mean"] == pytest.approx(np.nanmean(values))
        assert row["median"] == pytest.approx(np.nanmedian(values))

    table = agreement_markdown(summary)
    lines = table.strip().splitlines()
    assert len(lines) == 2 + 3 and lines[0].startswith("| method A | method B | documents")
    assert lines[2].startswith("| ig | lrp | 3 |")
    undefined = agreement_summary(agreement_report({"a": [[1, 1]], "b": [[1, 2]]}))
    assert undefined["documents"].to_list() == [0] and "n/a" in agreement_markdown(undefined)
