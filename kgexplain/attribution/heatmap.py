"""Token heatmaps (HTML and PNG) and rank agreement between attribution methods.

A heatmap colours each token of a document by its relevance, as in the CNN paper's figures
(algorithms.md §4): red for positive relevance, blue for negative, and the intensity grows with
``|score| / scale``. ``scale`` defaults to the document's largest ``|score|``; pass one shared scale to
compare documents or methods by eye. Intensities saturate at 1.

Mentions are ``(start, end, entity IRI, label)`` with token positions, ``end`` exclusive (the
``grounding.Mention`` dataclass is accepted too). In HTML they are underlined and link to the entity;
only ``http``/``https`` IRIs become links, any other scheme is underlined without one.

HTML is self-contained: inline CSS, no script, no external assets, and every token, title and IRI is
escaped. PNGs are drawn with Matplotlib's Agg canvas directly (no pyplot, so the caller's backend is
left alone) and written through a temporary file renamed into place.

Agreement between methods is Spearman's rank correlation of two score vectors of one document.
"""

from __future__ import annotations

import html
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..palette import NEG_COLOUR, POS_COLOUR, rgb

__all__ = [
    "NEGATIVE_RGB",
    "POSITIVE_RGB",
    "agreement_markdown",
    "agreement_report",
    "agreement_summary",
    "html_page",
    "rank_agreement",
    "render_html",
    "render_png",
]

log = logging.getLogger(__name__)

POSITIVE_RGB: tuple[int, int, int] = rgb(POS_COLOUR)  # red: pushes towards the positive class (the Pos colour)
NEGATIVE_RGB: tuple[int, int, int] = rgb(NEG_COLOUR)  # blue: pushes away from it (the Neg colour)
_LINK_SCHEMES = ("http://", "https://")
_WHITE_TEXT_ABOVE = 0.7  # alpha above which a token is written in white for contrast

_PAGE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 60em; padding: 0 1em; color: #111; background: #fff; }
section.kgx-heatmap { margin: 0 0 2.5em 0; }
section.kgx-heatmap h2 { font-size: 1.15em; margin: 0 0 0.2em 0; }
section.kgx-heatmap p.kgx-subtitle { margin: 0 0 0.6em 0; color: #555; }
p.kgx-tokens { line-height: 2.1; font-size: 1.05em; }
span.kgx-tok { padding: 0.15em 0.2em; border-radius: 0.2em; }
p.kgx-empty { color: #777; font-style: italic; }
div.kgx-legend { font-size: 0.85em; color: #444; margin: 0.3em 0 0.8em 0; }
""".strip()


# ----------------------------------------------------------------------------------------------------
# shared helpers


def _as_scores(tokens: Sequence[str], scores: Sequence[float]) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(values) != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but {len(values)} scores")
    return values


def _resolve_scale(values: np.ndarray, scale: float | None) -> float:
    """The magnitude that maps to full colour: ``scale`` if given, else the largest finite |score|
    (0 for an empty or all-zero document, where every token is uncoloured)."""
    if scale is not None:
        scale = float(scale)
        if not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale must be a positive finite number, not {scale!r}")
        return scale
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


def _alphas(values: np.ndarray, scale: float) -> np.ndarray:
    """Colour intensity per token in [0, 1]: |score| / scale, saturating at 1; 0 for non-finite scores."""
    if scale <= 0 or values.size == 0:
        return np.zeros(values.shape)
    alpha = np.clip(np.abs(values) / scale, 0.0, 1.0)
    return np.where(np.isfinite(values), alpha, 0.0)


def _fmt(score: float) -> str:
    """A signed score for tooltips and legends: four decimals, or three significant digits in
    scientific notation when that would hide the value."""
    if not math.isfinite(score):
        return str(score)
    if score == 0 or 1e-3 <= abs(score) < 1e4:
        return f"{score:+.4f}"
    return f"{score:+.3e}"


def _mention_tuples(mentions: Sequence[Any], n_tokens: int) -> list[tuple[int, int, str, str]]:
    """Normalised, sorted, checked mentions: in range, non-empty and non-overlapping."""
    out = []
    for m in mentions:
        if hasattr(m, "start") and hasattr(m, "entity"):
            item = (int(m.start), int(m.end), str(m.entity), str(getattr(m, "surface", "")))
        else:
            start, end, iri, label = m
            item = (int(start), int(end), str(iri), str(label))
        if not 0 <= item[0] < item[1] <= n_tokens:
            raise ValueError(f"mention {item[:2]} is outside the document's {n_tokens} tokens or empty")
        out.append(item)
    out.sort()
    for before, after in pairwise(out):
        if after[0] < before[1]:
            raise ValueError(f"mentions {before[:2]} and {after[:2]} overlap")
    return out


# ----------------------------------------------------------------------------------------------------
# HTML


def _rgba(rgb: tuple[int, int, int], alpha: float) -> str:
    return f"rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {alpha:.3f})"


def _token_span(token: str, score: float, alpha: float) -> str:
    rgb = POSITIVE_RGB if score > 0 else NEGATIVE_RGB
    style = f"background-color: {_rgba(rgb, alpha if score != 0 else 0.0)}"
    if alpha > _WHITE_TEXT_ABOVE:
        style += "; color: #fff"
    tip = html.escape(f"{token}: {_fmt(score)}", quote=True)
    return f'<span class="kgx-tok" style="{style}" title="{tip}">{html.escape(token, quote=False)}</span>'


def _legend(scale: float, given: bool) -> str:
    bar = (
        "display: inline-block; width: 12em; height: 0.9em; vertical-align: middle; "
        "border: 1px solid #bbb; margin: 0 0.4em; background: linear-gradient(to right, "
        f"{_rgba(NEGATIVE_RGB, 1)}, {_rgba(NEGATIVE_RGB, 0)} 50%, "
        f"{_rgba(POSITIVE_RGB, 0)} 50%, {_rgba(POSITIVE_RGB, 1)})"
    )
    source = "shared scale" if given else "largest |score| in this document"
    low, high = (_fmt(-scale), _fmt(scale)) if scale > 0 else ("0", "0")
    return (
        f'<div class="kgx-legend"><span class="kgx-low">{html.escape(low)}</span>'
        f'<span class="kgx-bar" style="{bar}"></span>'
        f'<span class="kgx-high">{html.escape(high)}</span> '
        f'<span class="kgx-scale">blue: against, red: for the positive class; full colour at '
        f"|score| = {html.escape(_fmt(scale).lstrip('+'))} ({source})</span></div>"
    )


def _mention_open(iri: str, label: str) -> tuple[str, str]:
    tip = html.escape(f"{label} <{iri}>" if label else iri, quote=True)
    style = "text-decoration: underline; text-decoration-thickness: 2px; text-underline-offset: 0.3em; color: inherit"
    if iri.lower().startswith(_LINK_SCHEMES):
        href = html.escape(iri, quote=True)
        opening = f'<a class="kgx-mention" href="{href}" title="{tip}" style="{style}" rel="noopener noreferrer">'
        return opening, "</a>"
    return f'<span class="kgx-mention" title="{tip}" style="{style}">', "</span>"


def render_html(
    tokens: Sequence[str],
    scores: Sequence[float],
    *,
    title: str = "",
    subtitle: str = "",
    mentions: Sequence[Any] = (),
    scale: float | None = None,
    fragment: bool = False,
) -> str:
    """A token heatmap as a self-contained HTML page, or (``fragment=True``) as one ``<section>``
    to combine with others through ``html_page``.

    Each token is a ``<span class="kgx-tok">`` whose background is ``rgba(red|blue, alpha)`` with
    ``alpha = min(|score| / scale, 1)`` and whose ``title`` is ``"token: +0.0123"``. Raises
    ``ValueError`` when tokens and scores differ in length, a mention is out of range or overlaps
    another, or ``scale`` is not positive."""
    values = _as_scores(tokens, scores)
    spans = _mention_tuples(mentions, len(tokens))
    scale_used = _resolve_scale(values, scale)
    alpha = _alphas(values, scale_used)

    parts: list[str] = ['<section class="kgx-heatmap">']
    if title:
        parts.append(f"<h2>{html.escape(title, quote=False)}</h2>")
    if subtitle:
        parts.append(f'<p class="kgx-subtitle">{html.escape(subtitle, quote=False)}</p>')
    parts.append(_legend(scale_used, scale is not None))
    if not tokens:
        parts.append('<p class="kgx-tokens kgx-empty">(no tokens)</p>')
    else:
        starts = {s: (e, iri, label) for s, e, iri, label in spans}
        words: list[str] = []
        i = 0
        while i < len(tokens):
            if i in starts:
                end, iri, label = starts[i]
                opening, closing = _mention_open(iri, label)
                inner = " ".join(_token_span(str(tokens[j]), float(values[j]), float(alpha[j])) for j in range(i, end))
                words.append(opening + inner + closing)
                i = end
            else:
                words.append(_token_span(str(tokens[i]), float(values[i]), float(alpha[i])))
                i += 1
        parts.append('<p class="kgx-tokens">' + " ".join(words) + "</p>")
    parts.append("</section>")
    section = "\n".join(parts)
    return section if fragment else _page([section], title or "Token relevance", heading=False)


def html_page(sections: Sequence[str], title: str) -> str:
    """One HTML page, headed by ``title``, holding ``render_html(..., fragment=True)`` sections in order."""
    return _page(sections, title, heading=True)


def _page(sections: Sequence[str], title: str, *, heading: bool) -> str:
    body = "\n".join(sections)
    h1 = f"<h1>{html.escape(title, quote=False)}</h1>\n" if heading else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title, quote=False)}</title>\n<style>\n{_PAGE_CSS}\n</style>\n</head>\n"
        f"<body>\n{h1}{body}\n</body>\n</html>\n"
    )


# ----------------------------------------------------------------------------------------------------
# PNG

_FONT_PT = 12.0
_TITLE_PT = 13.0
_LABEL_PT = 7.0


@dataclass(frozen=True)
class _Box:
    x: float  # left, pixels from the image's left edge
    y: float  # top, pixels from the image's top edge
    w: float
    h: float


@dataclass(frozen=True)
class _Layout:
    width_px: float
    height_px: int
    boxes: list[_Box]  # one per token, in token order
    title_y: float  # baseline of the title, pixels from the top
    colorbar: _Box  # where the colour bar goes
    pad: tuple[float, float]  # horizontal and vertical padding of the text inside a box
    baseline_offset: float  # from a box's top to the text baseline


def _layout(tokens: Sequence[str], *, width_in: float, dpi: float, title: str, with_mentions: bool) -> _Layout:
    """Where each token box goes, in image pixels (origin top-left, as in the PNG's array)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(8, 8, dpi)
    prop = FontProperties(size=_FONT_PT)
    px = dpi / 72.0  # pixels per point
    width_px = width_in * dpi
    margin = 0.25 * dpi
    font_px = _FONT_PT * px
    pad_x, pad_y = 0.2 * font_px, 0.22 * font_px
    gap = 0.4 * font_px
    ref_h, ref_d = renderer.get_text_width_height_descent("Ágy", prop, ismath=False)[1:]
    box_h = ref_h + 2 * pad_y
    line_h = box_h + (0.95 if with_mentions else 0.45) * font_px

    y = margin
    title_y = 0.0
    if title:
        title_y = y + _TITLE_PT * px
        y = title_y + 0.7 * font_px
    boxes: list[_Box] = []
    x = margin
    usable_right = width_px - margin
    for token in tokens:
        w = renderer.get_text_width_height_descent(str(token), prop, ismath=False)[0] + 2 * pad_x
        if x > margin and x + w > usable_right:
            x, y = margin, y + line_h
        boxes.append(_Box(x, y, w, box_h))
        x += w + gap
    y += line_h if tokens else 1.4 * font_px
    bar_h = 0.16 * dpi
    colorbar = _Box(margin + 0.2 * (width_px - 2 * margin), y + 0.1 * dpi, 0.6 * (width_px - 2 * margin), bar_h)
    height = math.ceil(colorbar.y + bar_h + 0.35 * dpi + margin * 0.5)
    return _Layout(width_px, height, boxes, title_y, colorbar, (pad_x, pad_y), pad_y + ref_h - ref_d)


def _blend(rgb: tuple[int, int, int], alpha: float) -> tuple[float, float, float]:
    """An opaque colour: ``rgb`` at ``alpha`` over white, as a browser paints the HTML version."""
    return tuple(1.0 - alpha * (1.0 - c / 255.0) for c in rgb)  # type: ignore[return-value]


def render_png(
    tokens: Sequence[str],
    scores: Sequence[float],
    path: Path,
    *,
    title: str = "",
    mentions: Sequence[Any] = (),
    scale: float | None = None,
    width_in: float = 10.0,
    dpi: int = 150,
) -> Path:
    """The heatmap of ``render_html`` as a PNG ``width_in * dpi`` pixels wide: words left to right,
    wrapped, on boxes coloured like the HTML (opaque, over white), mentions underlined with their
    label beneath, and a colour bar from ``-scale`` to ``+scale``. Returns ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    if width_in <= 0 or dpi <= 0:
        raise ValueError("width_in and dpi must be positive")
    path = Path(path)
    values = _as_scores(tokens, scores)
    spans = _mention_tuples(mentions, len(tokens))
    scale_used = _resolve_scale(values, scale)
    alpha = _alphas(values, scale_used)
    lay = _layout(tokens, width_in=width_in, dpi=dpi, title=title, with_mentions=bool(spans))

    # A quarter pixel of slack: Agg truncates the figure's pixel size, so this keeps it exactly height_px.
    height_px = lay.height_px + 0.25
    fig = Figure(figsize=(width_in, height_px / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, lay.width_px)
    ax.set_ylim(height_px, 0)
    ax.set_axis_off()
    text_kw: dict[str, Any] = {"parse_math": False, "usetex": False}  # "$" is text, never mathtext

    if title:
        ax.text(
            lay.width_px / 2,
            lay.title_y,
            title,
            ha="center",
            va="baseline",
            fontsize=_TITLE_PT,
            fontweight="bold",
            **text_kw,
        )
    if not tokens:
        ax.text(
            lay.width_px / 2,
            lay.colorbar.y - 0.15 * dpi,
            "(no tokens)",
            ha="center",
            va="bottom",
            fontsize=_FONT_PT,
            color="#777777",
            style="italic",
            **text_kw,
        )
    for token, value, a, box in zip(tokens, values, alpha, lay.boxes, strict=False):
        rgb = POSITIVE_RGB if value > 0 else NEGATIVE_RGB
        ax.add_patch(
            Rectangle((box.x, box.y), box.w, box.h, facecolor=_blend(rgb, float(a)), edgecolor="none", linewidth=0)
        )
        ax.text(
            box.x + lay.pad[0],
            box.y + lay.baseline_offset,
            str(token),
            ha="left",
            va="baseline",
            fontsize=_FONT_PT,
            color="white" if a > _WHITE_TEXT_ABOVE else "#111111",
            **text_kw,
        )

    px = dpi / 72.0
    for start, end, _iri, label in spans:
        first = lay.boxes[start]
        for j in range(start, end):
            box = lay.boxes[j]
            right = box.x + box.w
            if j + 1 < end and lay.boxes[j + 1].y == box.y:
                right = lay.boxes[j + 1].x  # underline the gap inside a mention on one line
            ax.plot(
                [box.x, right], [box.y + box.h + 1.5 * px] * 2, color="#222222", linewidth=1.3, solid_capstyle="butt"
            )
        if label:
            ax.text(
                first.x,
                first.y + first.h + 2.5 * px,
                label,
                ha="left",
                va="top",
                fontsize=_LABEL_PT,
                color="#555555",
                style="italic",
                clip_on=True,
                **text_kw,
            )

    cmap = LinearSegmentedColormap.from_list(
        "kgx_relevance", [_blend(NEGATIVE_RGB, 1.0), (1.0, 1.0, 1.0), _blend(POSITIVE_RGB, 1.0)]
    )
    limit = scale_used if scale_used > 0 else 1.0
    cb = lay.colorbar
    cax = fig.add_axes((cb.x / lay.width_px, 1.0 - (cb.y + cb.h) / height_px, cb.w / lay.width_px, cb.h / height_px))
    bar = fig.colorbar(ScalarMappable(norm=Normalize(-limit, limit), cmap=cmap), cax=cax, orientation="horizontal")
    bar.set_ticks([-limit, 0.0, limit])
    bar.set_ticklabels([_fmt(-limit), "0", _fmt(limit)] if scale_used > 0 else ["", "0", ""])
    bar.ax.tick_params(labelsize=8)
    source = "shared scale" if scale is not None else "max |score| in document"
    bar.ax.set_title(f"relevance (blue: against, red: for; {source})", fontsize=8, color="#444444")

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.debug("heatmap of %d tokens written to %s", len(tokens), path)
    return path


# ----------------------------------------------------------------------------------------------------
# agreement between methods


def rank_agreement(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of two token-score vectors of one document; ``nan`` when there are
    fewer than two tokens, either vector is constant, or a score is not finite. Raises ``ValueError``
    when the lengths differ."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError("score vectors must be one-dimensional")
    if len(x) != len(y):
        raise ValueError(f"score vectors differ in length: {len(x)} and {len(y)}")
    if len(x) < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return math.nan
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


_REPORT_SCHEMA = {"method_a": pl.String, "method_b": pl.String, "document": pl.String, "spearman": pl.Float64}


def agreement_report(
    methods: Mapping[str, Sequence[Sequence[float]]], doc_ids: Sequence[str] | None = None
) -> pl.DataFrame:
    """Spearman agreement for every pair of methods (names sorted, ``method_a < method_b``) on every
    document: columns ``method_a, method_b, document, spearman`` (``nan`` where undefined). Every method
    must score the same documents with the same number of tokens each; ``doc_ids`` default to
    ``"0", "1", ...``."""
    names = sorted(methods)
    counts = {name: len(methods[name]) for name in names}
    if len(set(counts.values())) > 1:
        raise ValueError(f"methods score different numbers of documents: {counts}")
    n_docs = next(iter(counts.values()), 0)
    ids = [str(i) for i in range(n_docs)] if doc_ids is None else [str(d) for d in doc_ids]
    if len(ids) != n_docs:
        raise ValueError(f"{len(ids)} document ids for {n_docs} documents")
    rows: dict[str, list[Any]] = {key: [] for key in _REPORT_SCHEMA}
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            for k, doc in enumerate(ids):
                try:
                    rho = rank_agreement(methods[first][k], methods[second][k])
                except ValueError as exc:
                    raise ValueError(f"document {doc!r}, methods {first!r} and {second!r}: {exc}") from exc
                rows["method_a"].append(first)
                rows["method_b"].append(second)
                rows["document"].append(doc)
                rows["spearman"].append(rho)
    return pl.DataFrame(rows, schema=_REPORT_SCHEMA)


def agreement_summary(report: pl.DataFrame) -> pl.DataFrame:
    """Per pair of methods: ``documents`` (how many have a defined correlation), and the ``mean`` and
    ``median`` over those (null when there are none). Sorted by method names."""
    rho = pl.col("spearman").fill_nan(None)
    return (
        report.group_by("method_a", "method_b")
        .agg(rho.count().cast(pl.Int64).alias("documents"), rho.mean().alias("mean"), rho.median().alias("median"))
        .sort("method_a", "method_b")
    )


def agreement_markdown(summary: pl.DataFrame) -> str:
    """``agreement_summary`` as a Markdown table (three decimals; "n/a" where undefined)."""

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value).replace("|", "\\|")

    lines = ["| method A | method B | documents | mean ρ | median ρ |", "|---|---|---:|---:|---:|"]
    for row in summary.iter_rows(named=True):
        lines.append(
            "| " + " | ".join(cell(row[key]) for key in ("method_a", "method_b", "documents", "mean", "median")) + " |"
        )
    return "\n".join(lines) + "\n"
