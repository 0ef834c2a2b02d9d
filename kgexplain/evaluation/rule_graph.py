"""The rule graph of the main paper (Nikolov & d'Aquin 2020, Figure 4).

Every mined rule is a node; two rules are joined by an edge when the sets of transactions
(entities) they cover overlap. The connected components of this graph are the paper's
"closed rule sets": groups of rules that explain overlapping parts of the data, whereas rules
in different components speak about disjoint sets of entities.

``rule_graph`` builds the graph, ``closed_sets`` lists its components, ``graph_data`` turns it into
a JSON-ready node/link dict (d3 style) for a web page, and ``render_png`` draws it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse

from ..errors import InputError
from ..mining.rules import MEASURES, Rule

__all__ = [
    "NEG_COLOUR",
    "OTHER_COLOUR",
    "POS_COLOUR",
    "closed_sets",
    "graph_data",
    "render_png",
    "rule_graph",
]

POS_COLOUR = "#1f77b4"
NEG_COLOUR = "#d62728"
OTHER_COLOUR = "#7f7f7f"
_CLASS_COLOURS = {"Pos": POS_COLOUR, "Neg": NEG_COLOUR}
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
    incidence = sparse.csr_matrix((np.ones(len(indices), dtype=np.int64), indices, indptr),
                                  shape=(len(sets), int(indices.max()) + 1))
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
        graph.add_node(i, key=rule.key(), label=rule.labels.get("rule") or rule.key(),
                       consequent=rule.consequent, support=int(rule.support),
                       confidence=float(rule.confidence[measure]), entities=entities.tolist())
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
        {"id": int(node), "label": str(attrs["label"]), "consequent": str(attrs["consequent"]),
         "support": int(attrs["support"]), "confidence": float(attrs["confidence"]),
         "component": component_of[node]}
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


def _packed_layout(graph: nx.Graph, components: list[list[int]], seed: int) -> dict[int, np.ndarray]:
    """A seeded spring layout per component, the components packed in rows (largest first) so none overlap.

    A component of ``n`` nodes gets a disc of radius ``0.5·√n``; discs are placed left to right in
    shelves whose width is about the square root of their total area.
    """
    gap = 0.6
    radii = [0.5 * math.sqrt(len(c)) for c in components]
    width = max(max(2 * r for r in radii), 1.15 * math.sqrt(sum((2 * r + gap) ** 2 for r in radii)))
    positions: dict[int, np.ndarray] = {}
    x = y = row_height = 0.0
    for members, radius in zip(components, radii, strict=True):
        diameter = 2 * radius
        if x > 0 and x + diameter > width:
            x, y, row_height = 0.0, y - row_height - gap, 0.0
        centre = np.array([x + radius, y - radius])
        if len(members) == 1:
            positions[members[0]] = centre
        else:
            local = _spring(graph.subgraph(members), radius, seed)
            positions.update({node: centre + np.asarray(p) for node, p in local.items()})
        x += diameter + gap
        row_height = max(row_height, diameter)
    return positions


def render_png(graph: nx.Graph, path: Path, title: str | None = None, max_labels: int = 30, *,
               seed: int = 0) -> Path:
    """Draw the rule graph to a PNG at ``path`` (parent folders created) and return ``path``.

    Nodes are coloured by consequent (legend shows the classes present), sized by support; edges are as
    wide as their overlap. Only the ``max_labels`` highest-confidence rules are labelled. The layout is
    deterministic for a given ``seed``. An empty graph gives a small PNG that says "no rules".
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    heading = title or "Rule graph"

    if graph.number_of_nodes() == 0:
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        try:
            ax.set_axis_off()
            ax.set_title(heading)
            ax.text(0.5, 0.5, "no rules", ha="center", va="center", fontsize=20, transform=ax.transAxes)
            fig.savefig(path, format="png")
        finally:
            plt.close(fig)
        return path

    components = closed_sets(graph)
    positions = _packed_layout(graph, components, seed)
    xy = np.array(list(positions.values()))
    span_x, span_y = np.ptp(xy[:, 0]) + 2.0, np.ptp(xy[:, 1]) + 2.0
    fig_width = 12.0
    fig_height = min(16.0, max(5.0, fig_width * span_y / span_x + 1.0))

    nodes = sorted(graph.nodes)
    attrs = graph.nodes
    max_support = max(max(attrs[n]["support"] for n in nodes), 1)
    # The largest node shrinks as the graph grows, so a few thousand rules are still dots, not a blot.
    biggest = min(400.0, max(16.0, 72.0 * 72.0 * fig_width * fig_height / (6.0 * len(nodes))))
    sizes = [biggest * (0.1 + 0.9 * math.sqrt(max(attrs[n]["support"], 0) / max_support)) for n in nodes]
    colours = [_CLASS_COLOURS.get(attrs[n]["consequent"], OTHER_COLOUR) for n in nodes]
    edges = list(graph.edges(data="overlap"))
    max_overlap = max((o for _, _, o in edges), default=1)
    widths = [0.4 + 3.6 * o / max_overlap for _, _, o in edges]
    edge_alpha = 0.6 if len(edges) <= 500 else max(0.08, 0.6 * math.sqrt(500 / len(edges)))
    labelled = sorted(nodes, key=lambda n: (-attrs[n]["confidence"], -attrs[n]["support"], n))[:max(max_labels, 0)]
    labels = {n: _short_label(attrs[n]["label"]) for n in labelled}

    fig, ax = plt.subplots(figsize=(fig_width, fig_height), dpi=100)
    try:
        if edges:
            nx.draw_networkx_edges(graph, positions, ax=ax, edgelist=[(u, v) for u, v, _ in edges],
                                   width=widths, edge_color="#999999", alpha=edge_alpha)
        nx.draw_networkx_nodes(graph, positions, ax=ax, nodelist=nodes, node_size=sizes, node_color=colours,
                               edgecolors="white", linewidths=0.5)
        if labels:
            nx.draw_networkx_labels(graph, positions, labels=labels, ax=ax, font_size=7, clip_on=False,
                                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})
        counts = Counter(attrs[n]["consequent"] for n in nodes)
        classes = [c for c in ("Pos", "Neg") if counts[c]] + sorted(c for c in counts if c not in _CLASS_COLOURS)
        handles = [Line2D([], [], marker="o", linestyle="", markersize=9, markeredgecolor="white",
                          markerfacecolor=_CLASS_COLOURS.get(c, OTHER_COLOUR), label=f"→ {c} ({counts[c]})")
                   for c in classes]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="consequent",
                  fontsize=8, title_fontsize=8, frameon=False)
        ax.set_title(f"{heading}\n{len(nodes)} rules · {len(edges)} overlaps · {len(components)} closed rule sets",
                     fontsize=11)
        ax.set_aspect("equal")
        ax.margins(0.06)
        ax.set_axis_off()
        fig.savefig(path, format="png", bbox_inches="tight", pad_inches=0.2)
    finally:
        plt.close(fig)
    return path
