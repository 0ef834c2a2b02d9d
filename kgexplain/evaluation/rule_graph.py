"""The rule graph of the main paper (Nikolov & d'Aquin 2020, Figure 4).

Every mined rule is a node; two rules are joined by an edge when the sets of transactions
(entities) they cover overlap. The connected components of this graph are the paper's
"closed rule sets": groups of rules that explain overlapping parts of the data, whereas rules
in different components speak about disjoint sets of entities.

``rule_graph`` builds the graph, ``closed_sets`` lists its components, ``graph_data`` turns it into
a JSON-ready node/link dict (d3 style) for a web page, and ``render_png`` draws it (``graph_picture`` says
where: every node inside the picture, no two overlapping, labels clear of them). Classes have the colours of
``palette.py``, as on the web pages and in the heatmaps.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse

from ..errors import InputError
from ..mining.rules import MEASURES, Rule
from ..palette import CLASS_COLOURS, NEG_COLOUR, OTHER_COLOUR, POS_COLOUR, class_colour

__all__ = [
    "NEG_COLOUR",
    "OTHER_COLOUR",
    "POS_COLOUR",
    "DrawnNode",
    "GraphPicture",
    "closed_sets",
    "graph_data",
    "graph_picture",
    "render_png",
    "rule_graph",
]
_LABEL_CHARS = 40
_DENSE_LIMIT = 500
_URI = re.compile(r"https?://[^\s|→]*[/#]([^\s|→/#]+)")


def _entity_sets(rules: list[Rule]) -> list[np.ndarray]:
    """Each rule's covered transactions as a sorted array of distinct non-negative int64 indices."""
    sets = []
    for i, rule in enumerate(rules):
        entities = np.unique(np.asarray(rule.entities).ravel().astype(np.int64, copy=False))
        if entities.size and entities[0] < 0:
            raise InputError(f"rule {i} ({rule.key()}) covers a negative transaction index {int(entities[0])}")
        sets.append(entities)
    return sets


def _overlaps(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, |set_i ∩ set_j|)`` for every pair ``i < j`` of sets that share an element.

    The rules × entities incidence matrix ``M`` is sparse; its transpose is the inverted index
    entity → rules, so ``M @ Mᵀ`` only ever visits pairs of rules that have an entity in common and
    sums, per pair, the entities they share. Pairs are returned sorted by ``(i, j)``.
    """
    empty = np.zeros(0, dtype=np.int64)
    sizes = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    if not sizes.sum():
        return empty, empty, empty
    indices = np.concatenate(sets)
    indptr = np.concatenate([[0], np.cumsum(sizes)])
    incidence = sparse.csr_matrix(
        (np.ones(len(indices), dtype=np.int64), indices, indptr), shape=(len(sets), int(indices.max()) + 1)
    )
    pairs = sparse.triu(incidence @ incidence.T, k=1).tocoo()
    keep = pairs.data > 0
    rows, cols, counts = (np.asarray(a, dtype=np.int64)[keep] for a in (pairs.row, pairs.col, pairs.data))
    order = np.lexsort((cols, rows))
    return rows[order], cols[order], counts[order]


def rule_graph(rules: list[Rule], measure: str = "H") -> nx.Graph:
    """One node per rule (its index in ``rules``), an edge wherever two rules cover a common entity.

    Node attributes: ``key``, ``label`` (``labels["rule"]`` or the key), ``consequent``, ``support``,
    ``confidence`` (the value of ``measure``) and ``entities`` (sorted distinct ints). Edge attributes:
    ``overlap`` (entities in common) and ``jaccard`` (overlap / size of the union).
    """
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
    sets = _entity_sets(rules)
    graph = nx.Graph(measure=measure)
    for i, (rule, entities) in enumerate(zip(rules, sets, strict=True)):
        if measure not in rule.confidence:
            raise InputError(f"rule {i} ({rule.key()}) has no {measure} confidence")
        graph.add_node(
            i,
            key=rule.key(),
            label=rule.labels.get("rule") or rule.key(),
            consequent=rule.consequent,
            support=int(rule.support),
            confidence=float(rule.confidence[measure]),
            entities=entities.tolist(),
        )
    rows, cols, counts = _overlaps(sets)
    for i, j, overlap in zip(rows.tolist(), cols.tolist(), counts.tolist(), strict=True):
        union = len(sets[i]) + len(sets[j]) - overlap
        graph.add_edge(i, j, overlap=overlap, jaccard=overlap / union)
    return graph


def closed_sets(graph: nx.Graph) -> list[list[int]]:
    """The connected components (closed rule sets) as sorted node lists, largest first, ties by smallest id."""
    components = [sorted(c) for c in nx.connected_components(graph)]
    return sorted(components, key=lambda c: (-len(c), c[0]))


def graph_data(graph: nx.Graph) -> dict[str, Any]:
    """A JSON-serialisable ``{"nodes", "links", "components"}`` dict; ``component`` indexes ``closed_sets``."""
    components = closed_sets(graph)
    component_of = {node: k for k, members in enumerate(components) for node in members}
    nodes = [
        {
            "id": int(node),
            "label": str(attrs["label"]),
            "consequent": str(attrs["consequent"]),
            "support": int(attrs["support"]),
            "confidence": float(attrs["confidence"]),
            "component": component_of[node],
        }
        for node, attrs in sorted(graph.nodes(data=True))
    ]
    links = [
        {"source": int(a), "target": int(b), "overlap": int(attrs["overlap"]), "jaccard": float(attrs["jaccard"])}
        for a, b, attrs in sorted((min(u, v), max(u, v), d) for u, v, d in graph.edges(data=True))
    ]
    return {"nodes": nodes, "links": links, "components": len(components)}


def _short_label(text: str, limit: int = _LABEL_CHARS) -> str:
    """URIs reduced to their last path segment, then cut to ``limit`` characters with an ellipsis."""
    text = _URI.sub(r"\1", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _spring(component: nx.Graph, scale: float, seed: int) -> dict[int, np.ndarray]:
    """A seeded spring layout. Past ``_DENSE_LIMIT`` nodes networkx's spring layout costs about a second
    per iteration per few thousand nodes, so large components start from the (sparse, fast) spectral
    layout and get proportionally fewer spring iterations."""
    n = component.number_of_nodes()
    if n <= _DENSE_LIMIT:
        return nx.spring_layout(component, weight="jaccard", scale=scale, seed=seed)
    start = nx.spectral_layout(component, weight="jaccard")
    iterations = max(5, 50 * _DENSE_LIMIT // n)
    return nx.spring_layout(component, pos=start, weight="jaccard", iterations=iterations, scale=scale, seed=seed)


def _snap(points: np.ndarray) -> np.ndarray:
    """Each point moved to the nearest free cell of the unit grid, in order: no two share a cell, so all are
    at least 1 apart."""
    taken: set[tuple[int, int]] = set()
    out = np.empty_like(points)
    for i, (x, y) in enumerate(points):
        cx, cy = round(float(x)), round(float(y))
        ring = 0
        while True:
            cells = [
                (cx + dx, cy + dy)
                for dx in range(-ring, ring + 1)
                for dy in range(-ring, ring + 1)
                if max(abs(dx), abs(dy)) == ring and (cx + dx, cy + dy) not in taken
            ]
            if cells:
                best = min(cells, key=lambda c: ((c[0] - x) ** 2 + (c[1] - y) ** 2, c))
                taken.add(best)
                out[i] = best
                break
            ring += 1
    return out


def _separate(points: np.ndarray, seed: int, rounds: int = 200) -> np.ndarray:
    """``points`` moved apart until every two are at least 1 apart: pairs closer than that are pushed
    apart along the line joining them; what is still too close after ``rounds`` snaps to the unit grid."""
    from scipy.spatial import cKDTree

    points = np.array(points, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        pairs = cKDTree(points).query_pairs(1.0 - 1e-9, output_type="ndarray")
        if len(pairs) == 0:
            return points
        delta = points[pairs[:, 1]] - points[pairs[:, 0]]
        distance = np.hypot(delta[:, 0], delta[:, 1])
        same = distance < 1e-9
        if same.any():  # coincident points: part them in a random (seeded) direction
            delta[same] = rng.normal(size=(int(same.sum()), 2))
            distance[same] = np.hypot(delta[same, 0], delta[same, 1])
        push = ((1.02 - distance) / 2 / distance)[:, None] * delta
        np.subtract.at(points, pairs[:, 0], push)
        np.add.at(points, pairs[:, 1], push)
    return _snap(points)


def _packed_layout(
    graph: nx.Graph, components: list[list[int]], seed: int, label_room: float = 0.0
) -> dict[int, np.ndarray]:
    """Node centres in units of the smallest allowed distance between two of them: a seeded spring layout
    per component, spread until no two nodes are closer than 1, the components' boxes (``label_room`` wider,
    for the labels of their rightmost nodes) packed in shelves (largest first) half a unit apart, the shelves'
    width chosen to make the whole about 1.6 times as wide as high."""
    gap = 0.5
    placed: list[tuple[list[int], np.ndarray]] = []
    for members in components:
        if len(members) == 1:
            local = np.zeros((1, 2))
        else:
            spring = _spring(graph.subgraph(members), 0.9 * math.sqrt(len(members)), seed)
            local = _separate(np.array([spring[node] for node in members]), seed)
        local = local - local.min(axis=0) + 0.5  # each node is a unit wide: its box starts at 0
        placed.append((members, local))
    sizes = [local.max(axis=0) + (0.5 + label_room, 0.5) for _, local in placed]
    widest, total = max(w for w, _ in sizes), sum(w + gap for w, _ in sizes)
    shelves = [_shelves(sizes, width, gap) for width in np.geomspace(widest, max(total, widest), 40)]
    corners, _ = min(shelves, key=lambda packed: abs(math.log(packed[1][0] / packed[1][1] / 1.6)))
    return {
        node: local[k] + corner
        for (members, local), corner in zip(placed, corners, strict=True)
        for k, node in enumerate(members)
    }


def _shelves(
    sizes: list[np.ndarray], width: float, gap: float
) -> tuple[list[tuple[float, float]], tuple[float, float]]:
    """Boxes of ``sizes`` placed left to right in rows no wider than ``width``: their corners and the extent."""
    corners = []
    x = y = row_height = right = 0.0
    for w, h in sizes:
        if x > 0 and x + w > width:
            x, y, row_height = 0.0, y + row_height + gap, 0.0
        corners.append((x, y))
        right = max(right, x + w)
        x += w + gap
        row_height = max(row_height, h)
    return corners, (right, y + row_height)


_DPI = 100
_LABEL_PT, _TITLE_PT, _NOTE_PT = 8.0, 12.0, 9.0
_MARGIN = 16.0  # px around everything
_LABEL_PAD = 2.0  # px between a label's text and the edge of its box
_LABEL_GAP = 3.0  # px between a node's marker and its label


@dataclass(frozen=True)
class DrawnNode:
    """A rule as ``render_png`` draws it, in pixels from the PNG's top-left corner: its marker's centre and
    radius, and its label's box (left, top, right, bottom; None for a node outside the labelled ones).
    ``label`` is the rule's shortened label, or its number in the key under the graph where that did not fit."""

    node: int
    x: float
    y: float
    radius: float
    colour: str
    label: str
    label_box: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class GraphPicture:
    """Where ``render_png`` puts everything: the PNG's size, the area the nodes and labels are kept in
    (left, top, right, bottom), every node, and the key's lines for labels written as numbers."""

    width: int
    height: int
    area: tuple[float, float, float, float]
    nodes: tuple[DrawnNode, ...]
    key: tuple[str, ...] = ()


class _Text:
    """Text sizes in pixels at ``_DPI``, as the Agg renderer lays them out."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import RendererAgg
        from matplotlib.font_manager import FontProperties

        self.renderer = RendererAgg(8, 8, _DPI)
        self.props = {
            (pt, bold): FontProperties(size=pt, weight="bold" if bold else "normal")
            for pt in (_LABEL_PT, _TITLE_PT, _NOTE_PT)
            for bold in (False, True)
        }

    def size(self, text: str, pt: float, bold: bool = False) -> tuple[float, float]:
        width, _, _ = self.renderer.get_text_width_height_descent(text, self.props[pt, bold], ismath=False)
        _, height, _ = self.renderer.get_text_width_height_descent("Ágy", self.props[pt, bold], ismath=False)
        return float(width), float(height)


def _radii(supports: list[int]) -> tuple[np.ndarray, float]:
    """Marker radii in pixels, growing with the square root of support; the largest shrinks as the graph
    grows, so a few thousand rules are still dots, not a blot."""
    biggest = max(3.0, min(14.0, 160.0 / math.sqrt(len(supports))))
    smallest = max(1.5, 0.4 * biggest)
    top = max(max(supports), 1)
    share = np.sqrt(np.clip(np.asarray(supports, dtype=np.float64), 0, None) / top)
    return smallest + (biggest - smallest) * share, biggest


def _label_spots(x: float, y: float, r: float, w: float, h: float) -> Iterator[tuple[float, float]]:
    """Top-left corners a label ``w`` × ``h`` may take around a marker, nearest first."""
    g = _LABEL_GAP
    right, left = x + r + g, x - r - g - w
    yield right, y - h / 2
    yield left, y - h / 2
    yield x - w / 2, y - r - g - h
    yield x - w / 2, y + r + g
    for k in (1, 2, 3):
        for dy in (-k * (h + 1), k * (h + 1)):
            yield right, y - h / 2 + dy
            yield left, y - h / 2 + dy
            yield x - w / 2, (y - r - g - h if dy < 0 else y + r + g) + dy


def _free(
    box: tuple[float, float, float, float],
    area: tuple[float, float, float, float],
    boxes: list[tuple[float, float, float, float]],
    centres: np.ndarray,
    radii: np.ndarray,
) -> bool:
    """Whether ``box`` lies in ``area`` and clear of the other labels' boxes and of every marker."""
    left, top, right, bottom = box
    if left < area[0] or top < area[1] or right > area[2] or bottom > area[3]:
        return False
    if any(left < b[2] + 1 and b[0] < right + 1 and top < b[3] + 1 and b[1] < bottom + 1 for b in boxes):
        return False
    nearest_x = np.clip(centres[:, 0], left, right)
    nearest_y = np.clip(centres[:, 1], top, bottom)
    return bool(np.all(np.hypot(centres[:, 0] - nearest_x, centres[:, 1] - nearest_y) >= radii + 1))


def _note_size(text: _Text, note: str, legend: list[tuple[str, str]]) -> tuple[float, float]:
    """The size of the line under the title: the counts, then a dot and a name per class."""
    width, height = text.size(note, _NOTE_PT)
    return width + sum(text.size("   " + item, _NOTE_PT)[0] + 1.1 * height for item, _ in legend), height


def _heading(graph: nx.Graph, components: int) -> tuple[str, list[tuple[str, str]]]:
    counts = Counter(graph.nodes[n]["consequent"] for n in graph.nodes)
    classes = [c for c in ("Pos", "Neg") if counts[c]] + sorted(c for c in counts if c not in CLASS_COLOURS)
    note = f"{graph.number_of_nodes()} rules · {graph.number_of_edges()} overlaps · {components} closed rule sets"
    return note, [(f"→ {c} ({counts[c]})", class_colour(c)) for c in classes]


def graph_picture(graph: nx.Graph, title: str | None = None, max_labels: int = 30, *, seed: int = 0) -> GraphPicture:
    """The geometry of ``render_png``'s drawing, in PNG pixels: every node's marker (no two overlap; all lie
    in ``area``) and label box (clear of the markers and of each other, in ``area``). The ``max_labels``
    highest-confidence rules are labelled; a label that finds no free spot beside its marker is written as
    a number there and spelled out in the key under the graph (and where even the number finds none, in a
    very crowded graph, it sits beside its node over what is there)."""
    text = _Text()
    heading = title or "Rule graph"
    title_w, title_h = text.size(heading, _TITLE_PT, bold=True)
    note, legend = _heading(graph, len(closed_sets(graph)))
    note_w, note_h = _note_size(text, note, legend)
    header = _MARGIN + title_h + 8 + note_h + 14
    if graph.number_of_nodes() == 0:
        width = math.ceil(max(400.0, title_w, note_w) + 2 * _MARGIN)
        return GraphPicture(width, math.ceil(header + 120), (_MARGIN, header, width - _MARGIN, header + 120), ())

    nodes = sorted(graph.nodes)
    attrs = graph.nodes
    radii, biggest = _radii([attrs[n]["support"] for n in nodes])
    unit = max(2 * biggest + max(4.0, 0.5 * biggest), min(80.0, 600.0 / math.sqrt(len(nodes))))
    labels = {n: _short_label(attrs[n]["label"]) for n in nodes}
    sizes = {n: text.size(labels[n], _LABEL_PT) for n in nodes}
    pad = 2 * _LABEL_PAD
    room_x = max(w for w, _ in sizes.values()) + pad + _LABEL_GAP  # a label beside the rightmost nodes
    room_y = max(h for _, h in sizes.values()) + pad + _LABEL_GAP  # and above the top ones, below the bottom
    layout = _packed_layout(graph, closed_sets(graph), seed, label_room=room_x / unit)
    units = np.array([layout[n] for n in nodes])
    right = max(layout[n][0] + 0.5 + room_x / unit for n in nodes)  # boxes start at 0 (``_packed_layout``)
    graph_w, graph_h = right * unit, (units[:, 1].max() + 0.5) * unit + 2 * room_y
    width = math.ceil(max(graph_w, title_w, note_w) + 2 * _MARGIN)
    left = (width - graph_w) / 2
    area = (left, header, left + graph_w, header + graph_h)
    centres = units * unit + (left, header + room_y)

    ranked = sorted(
        range(len(nodes)), key=lambda i: (-attrs[nodes[i]]["confidence"], -attrs[nodes[i]]["support"], nodes[i])
    )
    boxes: list[tuple[float, float, float, float]] = []
    placed: dict[int, tuple[str, tuple[float, float, float, float]]] = {}
    key: list[str] = []
    for i in ranked[: max(max_labels, 0)]:
        x, y = centres[i]
        for shown in (labels[nodes[i]], str(len(key) + 1)):
            w, h = text.size(shown, _LABEL_PT)
            spots = [(bx, by, bx + w + pad, by + h + pad) for bx, by in _label_spots(x, y, radii[i], w + pad, h + pad)]
            free = next((b for b in spots if _free(b, area, boxes, centres, radii)), None)
            if free is not None or shown != labels[nodes[i]]:
                box = free or spots[0]  # crowded past the key too: beside the node, over what is there
                break
        if shown != labels[nodes[i]]:
            key.append(f"{shown}  {labels[nodes[i]]}")
        boxes.append(box)
        placed[i] = (shown, box)
    key_h = len(key) * (text.size("Ágy", _LABEL_PT)[1] + 4) + (8 if key else 0)
    height = math.ceil(area[3] + key_h + _MARGIN)
    drawn = tuple(
        DrawnNode(
            int(n),
            float(centres[i][0]),
            float(centres[i][1]),
            float(radii[i]),
            class_colour(attrs[n]["consequent"]),
            *(placed.get(i, ("", None))),
        )
        for i, n in enumerate(nodes)
    )
    return GraphPicture(width, height, area, drawn, tuple(key))


def render_png(graph: nx.Graph, path: Path, title: str | None = None, max_labels: int = 30, *, seed: int = 0) -> Path:
    """Draw the rule graph to a PNG at ``path`` (parent folders created) and return ``path``.

    Nodes are coloured by consequent (``palette.py``, as on the web pages; the legend shows the classes
    present) and sized by support; edges are as wide as their overlap. Every node lies inside the picture
    and no two overlap; the ``max_labels`` highest-confidence rules are labelled (``graph_picture`` has the
    geometry). The layout is deterministic for a given ``seed``. An empty graph gives a small PNG that says
    "no rules".
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, Rectangle

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = graph_picture(graph, title, max_labels, seed=seed)
    text = _Text()
    heading = title or "Rule graph"
    note, legend = _heading(graph, len(closed_sets(graph)))
    # A quarter pixel of slack: Agg truncates the figure's pixel size, so this keeps it exactly width × height.
    fig = Figure(figsize=((picture.width + 0.25) / _DPI, (picture.height + 0.25) / _DPI), dpi=_DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, picture.width + 0.25)
    ax.set_ylim(picture.height + 0.25, 0)
    ax.set_axis_off()
    plain: dict[str, Any] = {"parse_math": False, "usetex": False}  # "$" in a label is text, never mathtext

    _, title_h = text.size(heading, _TITLE_PT, bold=True)
    ax.text(picture.width / 2, _MARGIN, heading, ha="center", va="top", fontsize=_TITLE_PT, fontweight="bold", **plain)
    note_w, note_h = _note_size(text, note, legend)
    x, y = (picture.width - note_w) / 2, _MARGIN + title_h + 8 + note_h / 2
    ax.text(x, y, note, ha="left", va="center", fontsize=_NOTE_PT, color="#444444", **plain)
    x += text.size(note, _NOTE_PT)[0]
    for item, colour in legend:
        x += text.size("   ", _NOTE_PT)[0]
        ax.add_patch(Circle((x + note_h * 0.45, y), note_h * 0.45, facecolor=colour, edgecolor="none"))
        x += 1.1 * note_h
        ax.text(x, y, item, ha="left", va="center", fontsize=_NOTE_PT, color="#444444", **plain)
        x += text.size(item, _NOTE_PT)[0]

    if not picture.nodes:
        area = picture.area
        ax.text(
            (area[0] + area[2]) / 2, (area[1] + area[3]) / 2, "no rules", ha="center", va="center", fontsize=20, **plain
        )
    else:
        at = {d.node: (d.x, d.y) for d in picture.nodes}
        edges = list(graph.edges(data="overlap"))
        if edges:
            most = max(o for _, _, o in edges)
            alpha = 0.6 if len(edges) <= 500 else max(0.08, 0.6 * math.sqrt(500 / len(edges)))
            ax.add_collection(
                LineCollection(
                    [(at[u], at[v]) for u, v, _ in edges],
                    colors="#999999",
                    alpha=alpha,
                    linewidths=[0.4 + 3.6 * o / most for _, _, o in edges],
                    zorder=1,
                )
            )
        # markers drawn within their radius: a white rim of 1 px inside the edge, so touching nodes stay apart
        ax.add_collection(
            PatchCollection(
                [Circle((d.x, d.y), d.radius - 0.5) for d in picture.nodes],
                facecolors=[d.colour for d in picture.nodes],
                edgecolors="white",
                linewidths=0.72,
                zorder=2,
            )
        )
        for d in picture.nodes:
            if d.label_box is None:
                continue
            left, top, right, bottom = d.label_box
            near = (min(max(d.x, left), right), min(max(d.y, top), bottom))  # the box's point nearest the node
            reach = math.hypot(near[0] - d.x, near[1] - d.y)
            if reach > d.radius + _LABEL_GAP + 1:  # a label moved off its node gets a leader line to it
                edge = (d.x + (near[0] - d.x) * d.radius / reach, d.y + (near[1] - d.y) * d.radius / reach)
                ax.plot([edge[0], near[0]], [edge[1], near[1]], color="#888888", linewidth=0.6, zorder=3)
            ax.add_patch(
                Rectangle(
                    (left, top),
                    right - left,
                    bottom - top,
                    facecolor="white",
                    alpha=0.85,
                    edgecolor="#cccccc",
                    linewidth=0.5,
                    zorder=3,
                )
            )
            ax.text(
                left + _LABEL_PAD,
                (top + bottom) / 2,
                d.label,
                ha="left",
                va="center",
                fontsize=_LABEL_PT,
                color="#222222",
                zorder=4,
                **plain,
            )
        line_h = text.size("Ágy", _LABEL_PT)[1] + 4
        for k, line in enumerate(picture.key):
            ax.text(
                picture.area[0] + 4,
                picture.area[3] + 8 + (k + 0.5) * line_h,
                line,
                ha="left",
                va="center",
                fontsize=_LABEL_PT,
                color="#222222",
                **plain,
            )

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=_DPI, facecolor="white")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
