"""The rule graph (paper Fig. 4): edges where covered entity sets overlap, closed rule sets, JSON, PNG: every
node drawn inside the picture, none overlapping another, each labelled, in the classes' one palette."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import matplotlib.image
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgexplain import palette
from kgexplain.attribution import heatmap
from kgexplain.errors import InputError
from kgexplain.evaluation.rule_graph import (
    NEG_COLOUR,
    POS_COLOUR,
    GraphPicture,
    closed_sets,
    graph_data,
    graph_picture,
    render_png,
    rule_graph,
)
from kgexplain.mining.rules import Item, Rule
from kgexplain.service import pages

P17 = "http://www.wikidata.org/prop/direct/P17"
ENTITY = "http://www.wikidata.org/entity/Q"


def make_rule(
    n: int, entities: list[int], consequent: str = "Pos", *, label: str | None = None, h: float = 0.5, tc: float = 0.6
) -> Rule:
    entity_array = np.asarray(sorted(entities), dtype=np.int64)
    return Rule(
        antecedent=(Item("out", P17, f"{ENTITY}{n}"),),
        consequent=consequent,
        support=len(set(entities)),
        confidence={"TC": tc, "TS": 0.5, "WTS": 0.5, "H": h},
        lift=1.0,
        entities=entity_array,
        labels={"rule": label} if label else {},
    )


# Components: {0, 1, 2} (chain 0–1–2), {3, 4}, and the isolated {5}.
ENTITY_SETS = [[0, 1, 2], [2, 3, 4], [3, 4, 5], [10, 11], [11, 12, 13], [20]]
EXPECTED_EDGES = {
    (0, 1): (1, 1 / 5),  # {2};    union {0..4}
    (1, 2): (2, 2 / 4),  # {3, 4}; union {2..5}
    (3, 4): (1, 1 / 4),  # {11};   union {10..13}
}


@pytest.fixture
def rules() -> list[Rule]:
    consequents = ["Pos", "Neg", "Pos", "Neg", "Pos", "Neg"]
    return [
        make_rule(i, e, c, label=f"country(x, Land{i}) → {c}" if i % 2 == 0 else None, h=0.1 * (i + 1))
        for i, (e, c) in enumerate(zip(ENTITY_SETS, consequents, strict=True))
    ]


def hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[k : k + 2], 16) for k in (1, 3, 5)]) / 255.0


def has_colour(image: np.ndarray, colour: str) -> bool:
    return bool(np.any(np.all(np.abs(image[..., :3] - hex_rgb(colour)) < 1.5 / 255, axis=-1)))


# ---------------------------------------------------------------- graph


def test_edges_exactly_where_entities_overlap(rules: list[Rule]) -> None:
    graph = rule_graph(rules)
    assert sorted(graph.nodes) == list(range(6))
    got = {tuple(sorted(e)) for e in graph.edges}
    assert got == set(EXPECTED_EDGES)
    for (i, j), (overlap, jaccard) in EXPECTED_EDGES.items():
        assert graph.edges[i, j]["overlap"] == overlap
        assert graph.edges[i, j]["jaccard"] == pytest.approx(jaccard)
    assert graph.degree(5) == 0


def test_node_attributes(rules: list[Rule]) -> None:
    graph = rule_graph(rules)
    node = graph.nodes[0]
    assert node["key"] == rules[0].key()
    assert node["label"] == "country(x, Land0) → Pos"
    assert graph.nodes[1]["label"] == rules[1].key()  # no human label: falls back to the key
    assert node["consequent"] == "Pos" and graph.nodes[1]["consequent"] == "Neg"
    assert node["support"] == 3
    assert node["confidence"] == pytest.approx(0.1)
    assert node["entities"] == [0, 1, 2] and all(type(e) is int for e in node["entities"])
    assert rule_graph(rules, measure="TC").nodes[0]["confidence"] == pytest.approx(0.6)


def test_duplicate_and_unsorted_entities_count_once() -> None:
    a = make_rule(0, [1, 2])
    a.entities = np.array([2, 1, 2, 2])
    b = make_rule(1, [2, 3, 4])
    graph = rule_graph([a, b])
    assert graph.nodes[0]["entities"] == [1, 2]
    assert graph.edges[0, 1]["overlap"] == 1
    assert graph.edges[0, 1]["jaccard"] == pytest.approx(1 / 4)


def test_rules_without_entities_and_empty_list() -> None:
    graph = rule_graph([make_rule(0, []), make_rule(1, [])])
    assert graph.number_of_nodes() == 2 and graph.number_of_edges() == 0
    empty = rule_graph([])
    assert empty.number_of_nodes() == 0
    assert closed_sets(empty) == []
    assert graph_data(empty) == {"nodes": [], "links": [], "components": 0}


def test_bad_input_is_rejected(rules: list[Rule]) -> None:
    with pytest.raises(InputError):
        rule_graph(rules, measure="XYZ")
    bad = make_rule(0, [1])
    bad.entities = np.array([-1, 3])
    with pytest.raises(InputError):
        rule_graph([bad])


def test_identical_entity_sets_have_jaccard_one() -> None:
    graph = rule_graph([make_rule(0, [4, 7, 9]), make_rule(1, [4, 7, 9], "Neg")])
    assert graph.edges[0, 1]["overlap"] == 3
    assert graph.edges[0, 1]["jaccard"] == pytest.approx(1.0)


# ---------------------------------------------------------------- closed rule sets


def test_closed_sets_are_components_largest_first(rules: list[Rule]) -> None:
    assert closed_sets(rule_graph(rules)) == [[0, 1, 2], [3, 4], [5]]


def test_closed_sets_ties_broken_by_smallest_id() -> None:
    # Components {0, 3} and {1, 2} both have two rules; singletons {4} and {5} come after.
    sets = [[1], [50, 51], [50], [1, 2], [70], [60]]
    graph = rule_graph([make_rule(i, e) for i, e in enumerate(sets)])
    assert closed_sets(graph) == [[0, 3], [1, 2], [4], [5]]


def test_closed_sets_order_does_not_depend_on_node_insertion_order() -> None:
    graph = nx.Graph()
    graph.add_nodes_from([7, 5, 4, 3, 2, 1, 0])
    graph.add_edges_from([(3, 2), (1, 0), (5, 4), (4, 7)])
    assert closed_sets(graph) == [[4, 5, 7], [0, 1], [2, 3]]
    graph.add_node(6)
    graph.add_node(-1)
    assert closed_sets(graph) == [[4, 5, 7], [0, 1], [2, 3], [-1], [6]]


def brute_force(sets: list[set[int]]) -> tuple[dict[tuple[int, int], tuple[int, float]], list[list[int]]]:
    edges = {}
    for i, j in itertools.combinations(range(len(sets)), 2):
        common = sets[i] & sets[j]
        if common:
            edges[i, j] = (len(common), len(common) / len(sets[i] | sets[j]))
    parent = list(range(len(sets)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i, j in edges:
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(sets)):
        groups.setdefault(find(i), []).append(i)
    components = sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))
    return edges, components


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sets(st.integers(min_value=0, max_value=15), max_size=5), max_size=12))
def test_graph_matches_brute_force(sets: list[set[int]]) -> None:
    graph = rule_graph([make_rule(i, list(s)) for i, s in enumerate(sets)])
    edges, components = brute_force(sets)
    assert graph.number_of_nodes() == len(sets)
    assert {tuple(sorted(e)) for e in graph.edges} == set(edges)
    for (i, j), (overlap, jaccard) in edges.items():
        assert graph.edges[i, j]["overlap"] == overlap
        assert graph.edges[i, j]["jaccard"] == pytest.approx(jaccard)
    assert closed_sets(graph) == components


def test_many_rules_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    sets = [set(rng.choice(3000, size=int(rng.integers(1, 8)), replace=False).tolist()) for _ in range(600)]
    graph = rule_graph([make_rule(i, list(s)) for i, s in enumerate(sets)])
    edges, components = brute_force(sets)
    assert {tuple(sorted(e)) for e in graph.edges} == set(edges)
    assert all(graph.edges[e]["overlap"] == edges[e][0] for e in edges)
    assert closed_sets(graph) == components


# ---------------------------------------------------------------- JSON


def test_graph_data_is_json_and_consistent(rules: list[Rule]) -> None:
    graph = rule_graph(rules)
    data = graph_data(graph)
    decoded = json.loads(json.dumps(data, allow_nan=False))
    assert decoded == data
    assert len(data["nodes"]) == graph.number_of_nodes()
    assert len(data["links"]) == graph.number_of_edges()
    assert data["components"] == 3
    component = {n["id"]: n["component"] for n in data["nodes"]}
    for k, members in enumerate(closed_sets(graph)):
        assert {component[m] for m in members} == {k}
    for link in data["links"]:
        assert component[link["source"]] == component[link["target"]]
        i, j = link["source"], link["target"]
        assert (link["overlap"], link["jaccard"]) == pytest.approx(EXPECTED_EDGES[i, j])
    node0 = next(n for n in data["nodes"] if n["id"] == 0)
    assert node0 == {
        "id": 0,
        "label": "country(x, Land0) → Pos",
        "consequent": "Pos",
        "support": 3,
        "confidence": pytest.approx(0.1),
        "component": 0,
    }


# ---------------------------------------------------------------- PNG


def test_render_png_writes_an_image(rules: list[Rule], tmp_path: Path) -> None:
    path = render_png(rule_graph(rules), tmp_path / "nested" / "dir" / "graph.png", title="Test rules")
    assert path == tmp_path / "nested" / "dir" / "graph.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[1] > 300 and image.shape[0] > 200
    assert has_colour(image, POS_COLOUR) and has_colour(image, NEG_COLOUR)


def test_render_png_colours_follow_consequents(tmp_path: Path) -> None:
    only_pos = [make_rule(i, e, "Pos") for i, e in enumerate(ENTITY_SETS)]
    image = matplotlib.image.imread(render_png(rule_graph(only_pos), tmp_path / "pos.png"))
    assert has_colour(image, POS_COLOUR)
    assert not has_colour(image, NEG_COLOUR)


def test_render_png_is_deterministic(rules: list[Rule], tmp_path: Path) -> None:
    graph = rule_graph(rules)
    first = matplotlib.image.imread(render_png(graph, tmp_path / "a.png", max_labels=3))
    second = matplotlib.image.imread(render_png(graph, tmp_path / "b.png", max_labels=3))
    assert np.array_equal(first, second)
    unlabelled = matplotlib.image.imread(render_png(graph, tmp_path / "c.png", max_labels=0))
    assert unlabelled.shape == first.shape and not np.array_equal(first, unlabelled)


def test_render_png_with_no_rules(tmp_path: Path) -> None:
    path = render_png(rule_graph([]), tmp_path / "empty" / "graph.png")
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[1] > 300
    assert float(image[..., :3].min()) < 0.2  # the "no rules" text is drawn, not a blank canvas


def test_render_png_larger_graph(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rules = [
        make_rule(
            i,
            rng.choice(400, size=int(rng.integers(1, 6)), replace=False).tolist(),
            "Pos" if i % 3 else "Neg",
            h=float(rng.random()),
        )
        for i in range(150)
    ]
    image = matplotlib.image.imread(render_png(rule_graph(rules), tmp_path / "big.png"))
    assert image.shape[1] > 300


# ---------------------------------------------------------------- every node drawn, apart and labelled

#: The rules `kgexplain demo` publishes: four, each covering ten entities of its own (no overlaps).
DEMO = [
    "country(x, Varnia) → Pos",
    "country(x, Belloria) → Neg",
    "country(x, Kestia) → Neg",
    "country(x, Oskland) → Neg",
]


def demo_rules() -> list[Rule]:
    return [
        make_rule(i, list(range(10 * i, 10 * i + 10)), label.rsplit(" ", 1)[1], label=label, h=1.0 - 0.05 * i)
        for i, label in enumerate(DEMO)
    ]


def synthetic_rules(n: int = 30, seed: int = 1) -> list[Rule]:
    """``n`` rules with long labels over 60 entities: a big tangled component, a chain and loners."""
    rng = np.random.default_rng(seed)
    return [
        make_rule(
            i,
            rng.choice(60, size=int(rng.integers(1, 5)), replace=False).tolist(),
            "Pos" if i % 3 else "Neg",
            h=float(rng.random()),
            label=f"country(x, Land{i}) ∧ occupation(x, Job{i % 7}) → {'Pos' if i % 3 else 'Neg'}",
        )
        for i in range(n)
    ]


def assert_drawn_apart(picture: GraphPicture, graph: nx.Graph, *, labelled: int) -> None:
    """Every node's marker lies wholly in the drawing area, which lies in the picture; no two markers overlap;
    ``labelled`` nodes have a label box, in the area and clear of every marker and of each other."""
    assert sorted(d.node for d in picture.nodes) == sorted(graph.nodes)
    left, top, right, bottom = picture.area
    assert 0 <= left < right <= picture.width and 0 <= top < bottom <= picture.height
    for d in picture.nodes:
        assert d.radius > 1
        assert left <= d.x - d.radius and d.x + d.radius <= right, d
        assert top <= d.y - d.radius and d.y + d.radius <= bottom, d
    for a, b in itertools.combinations(picture.nodes, 2):
        assert math.hypot(a.x - b.x, a.y - b.y) >= a.radius + b.radius, (a, b)
    boxes = [d.label_box for d in picture.nodes if d.label_box is not None]
    assert len(boxes) == labelled
    for box_left, box_top, box_right, box_bottom in boxes:
        assert left <= box_left < box_right <= right and top <= box_top < box_bottom <= bottom
        for d in picture.nodes:
            nearest = (min(max(d.x, box_left), box_right), min(max(d.y, box_top), box_bottom))
            assert math.hypot(nearest[0] - d.x, nearest[1] - d.y) >= d.radius, (box_left, box_top, d)
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def assert_drawn_where_said(picture: GraphPicture, image: np.ndarray) -> None:
    """The PNG is the picture's size, and each node's centre has its class's colour."""
    assert image.shape[:2] == (picture.height, picture.width)
    for d in picture.nodes:
        pixel = image[int(d.y), int(d.x), :3]
        assert np.all(np.abs(pixel - hex_rgb(d.colour)) < 1.5 / 255), (d, pixel)


@pytest.mark.parametrize("rules", [demo_rules, synthetic_rules], ids=["demo", "30 rules"])
def test_every_node_is_drawn_inside_apart_and_labelled(rules, tmp_path: Path) -> None:
    graph = rule_graph(rules())
    picture = graph_picture(graph)
    assert_drawn_apart(picture, graph, labelled=graph.number_of_nodes())
    assert_drawn_where_said(picture, matplotlib.image.imread(render_png(graph, tmp_path / "graph.png")))
    keyed = dict(line.split("  ", 1) for line in picture.key)  # labels with no room beside their node
    for d in picture.nodes:
        assert graph.nodes[d.node]["label"].startswith(keyed.get(d.label, d.label).removesuffix("…"))
    assert len(keyed) <= 5


def test_demo_rules_are_labelled_beside_their_nodes() -> None:
    picture = graph_picture(rule_graph(demo_rules()))
    assert [d.label for d in picture.nodes] == DEMO and picture.key == ()
    assert [d.colour for d in picture.nodes] == [POS_COLOUR, NEG_COLOUR, NEG_COLOUR, NEG_COLOUR]


def test_only_the_most_confident_are_labelled() -> None:
    graph = rule_graph(synthetic_rules(40, seed=2))
    picture = graph_picture(graph, max_labels=10)
    assert_drawn_apart(picture, graph, labelled=10)
    best = sorted(graph.nodes, key=lambda n: (-graph.nodes[n]["confidence"], -graph.nodes[n]["support"], n))[:10]
    assert {d.node for d in picture.nodes if d.label_box is not None} == set(best)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sets(st.integers(min_value=0, max_value=12), min_size=1, max_size=4), min_size=1, max_size=14),
    st.integers(0, 3),
)
def test_markers_never_overlap(sets: list[set[int]], seed: int) -> None:
    graph = rule_graph(
        [make_rule(i, list(s), "Pos" if i % 2 else "Neg", label=f"rule {i}") for i, s in enumerate(sets)]
    )
    assert_drawn_apart(graph_picture(graph, seed=seed), graph, labelled=len(sets))


def test_large_graph_markers_stay_apart() -> None:
    rng = np.random.default_rng(5)
    graph = rule_graph(
        [make_rule(i, rng.choice(900, size=int(rng.integers(1, 6)), replace=False).tolist()) for i in range(400)]
    )
    picture = graph_picture(graph, max_labels=0)
    assert_drawn_apart(picture, graph, labelled=0)


# ---------------------------------------------------------------- one palette


def test_classes_have_one_colour_everywhere() -> None:
    """The rule graph, the pages' CSS and bars and the heatmaps' relevance colours are the palette's."""
    assert (POS_COLOUR, NEG_COLOUR) == (palette.POS_COLOUR, palette.NEG_COLOUR)
    assert palette.rgb(POS_COLOUR) == heatmap.POSITIVE_RGB and palette.rgb(NEG_COLOUR) == heatmap.NEGATIVE_RGB
    page = pages.rule_list_page(
        {
            "measure": "H",
            "total": 2,
            "offset": 0,
            "limit": 50,
            "rules": [
                {
                    "id": f"run/{c}",
                    "label": f"country(x, A) → {c}",
                    "class": c,
                    "support": 3,
                    "lift": 1.0,
                    "run": "run",
                    "confidence": {"H": 0.5},
                }
                for c in ("Pos", "Neg")
            ],
        },
        {},
    )
    assert f".pos {{ color: {POS_COLOUR}; }}" in page and f".neg {{ color: {NEG_COLOUR}; }}" in page
    assert f"fill='{POS_COLOUR}'" in page and f"fill='{NEG_COLOUR}'" in page  # the confidence bars
