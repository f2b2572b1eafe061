"""Pictures of graphs: the SVG parses and carries the labels, the DOT text parses, the PNG is a PNG,
and the layout keeps every label inside the picture and off every other label."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import types
from itertools import combinations, pairwise

import pytest

from chainrule import AddLayer, MulLayer, TwoLayerNet
from chainrule.graph import Graph, GraphError, MissingExtraError, apple, apple_orange, network_graph, save, to_dot, to_svg
from chainrule.graph.layout import CHAR_WIDTH, layout
from chainrule.graph.notebook import show_graphs_inline

SVG = "{http://www.w3.org/2000/svg}"


def shared_graph() -> Graph:
    g = Graph("shared")
    g.input("x", 3.0)
    g.input("y", 2.0)
    g.apply(MulLayer(), ["x", "y"], "xy")
    g.apply(AddLayer(), ["x", "xy"], "s")
    g.apply(MulLayer(), ["s", "s"], "out")
    g.forward()
    g.backward()
    return g


GRAPHS = {
    "apple": apple,
    "apple-orange": apple_orange,
    "shared": shared_graph,
    "two-layer": lambda: network_graph(TwoLayerNet(784, 50, 10, rng=0), batch_size=100),
}


def svg_texts(svg: str) -> dict[str, list[str]]:
    root = ET.fromstring(svg.encode("utf-8"))
    texts: dict[str, list[str]] = {}
    for element in root.iter(f"{SVG}text"):
        texts.setdefault(element.get("class"), []).append(element.text)
    return texts


def test_apple_orange_svg_parses_and_carries_every_label():
    svg = to_svg(apple_orange())
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg" and root.get("viewBox").startswith("0 0 ")
    texts = svg_texts(svg)
    assert sorted(texts["op"]) == ["+", "×", "×", "×"]
    assert {"apple", "apple_num", "orange", "orange_num", "tax", "apple_price", "fruit_price", "total"} <= set(
        texts["name"]
    )
    assert {"100.0", "2.0", "150.0", "3.0", "1.1", "200.0", "450.0", "650.0", "715.0"} <= set(texts["value"])
    assert {"2.2", "110.0", "3.3", "165.0", "650.0", "1.1"} <= set(texts["grad"])
    assert len(root.findall(f"{SVG}circle")) == 4
    assert root.find(f"{SVG}defs/{SVG}marker") is not None  # arrowheads
    for element in root.iter(f"{SVG}text"):
        assert float(element.get("font-size")) >= 13


def test_gradients_are_drawn_in_a_second_colour():
    root = ET.fromstring(to_svg(apple()).encode("utf-8"))
    colours = {element.get("class"): element.get("fill") for element in root.iter(f"{SVG}text")}
    assert colours["grad"] != colours["value"]


def test_shared_value_is_split_with_the_sum_of_its_gradients():
    texts = svg_texts(to_svg(shared_graph()))
    assert "36.0 + 18.0 = 54.0" in texts["grad"] and "9.0 + 9.0 = 18.0" in texts["grad"]


def test_network_svg_shows_shapes_and_gradient_norms():
    texts = svg_texts(to_svg(GRAPHS["two-layer"]()))
    assert {"(100, 784)", "(100, 50)", "(100, 10)", "(100,)"} <= set(texts["value"])
    assert all(" norm " in f" {text}" for text in texts["grad"] if text != "1.0")
    assert "W1 (784, 50)" in texts["caption"] and any(text.startswith("dW1 norm ") for text in texts["grad"])
    assert {"Affine", "ReLU", "Softmax", "with Loss"} <= set(texts["op"])


def product(title: str, x: str, y: str, out: str, backward: bool = True) -> Graph:
    """``out = x × y`` with x = 2 and y = 3, run forward (and backward)."""
    g = Graph(title)
    g.input(x, 2.0)
    g.input(y, 3.0)
    g.apply(MulLayer(), [x, y], out)
    g.forward()
    if backward:
        g.backward()
    return g


def test_names_are_escaped():
    g = product('<a & "b">', "x<1", "y&", "z>")
    texts = svg_texts(to_svg(g))
    assert {"x<1", "y&", "z>"} <= set(texts["name"]) and texts["title"] == ['<a & "b">']
    assert parse_dot(to_dot(g))["name"] == '<a & "b">'


def test_jupyter_draws_the_graph_inline(monkeypatch):
    """In a running IPython, Graph's SVG display is to_svg; the core Graph has no drawing method."""

    class Formatter:
        def __init__(self) -> None:
            self.types: dict = {}

        def for_type(self, kind, function) -> None:
            self.types[kind] = function

    svg_formatter = Formatter()
    shell = types.SimpleNamespace(display_formatter=types.SimpleNamespace(formatters={"image/svg+xml": svg_formatter}))
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert show_graphs_inline()
    g = apple()
    assert svg_formatter.types[Graph](g) == to_svg(g)
    assert not hasattr(Graph, "_repr_svg_") and not hasattr(Graph, "save")
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert not show_graphs_inline()  # plain Python: nothing to register with


def test_picture_before_backward_has_no_gradients():
    texts = svg_texts(to_svg(product("forward only", "a", "b", "c", backward=False)))
    assert "grad" not in texts and "6.0" in texts["value"]


def label_boxes(graph: Graph):
    """The drawing, and each label with its estimated box (left, top, right, bottom)."""
    drawing = layout(graph)
    placed = []
    for text in drawing.texts():
        if text.text:
            half = len(text.text) * text.size * CHAR_WIDTH / 2
            placed.append(
                (text.text, (text.x - half, text.y - 0.8 * text.size, text.x + half, text.y + 0.25 * text.size))
            )
    return drawing, placed


@pytest.mark.parametrize("name", GRAPHS)
def test_labels_stay_inside_the_picture_and_off_each_other(name):
    drawing, placed = label_boxes(GRAPHS[name]())
    for text, (left, top, right, bottom) in placed:
        assert 0 <= left and right <= drawing.width and 0 <= top and bottom <= drawing.height, text
    for (a, box_a), (b, box_b) in combinations(placed, 2):
        overlap = box_a[0] < box_b[2] and box_b[0] < box_a[2] and box_a[1] < box_b[3] and box_b[1] < box_a[3]
        assert not overlap, f"{a!r} overlaps {b!r}"


# -- DOT ------------------------------------------------------------------------------------------

TOKEN = re.compile(
    r'\s+|(?P<arrow>->)|(?P<punct>[{}\[\];,=])|(?P<quoted>"(?:\\.|[^"\\])*")|(?P<id>[A-Za-z_][\w.]*|-?\d+(?:\.\d+)?)'
)


def tokens(text: str) -> list[tuple[str, str]]:
    """DOT tokens; an HTML-like label <...> is one token (its angle brackets must balance)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "<":
            depth, j = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
                assert j < len(text), "unbalanced < > in an HTML label"
            ET.fromstring(f"<label>{text[i + 1 : j - 1]}</label>")  # the label is well-formed markup
            out.append(("html", text[i:j]))
            i = j
            continue
        match = TOKEN.match(text, i)
        assert match, f"unexpected DOT text at {text[i : i + 20]!r}"
        if match.lastgroup:
            value = match.group(match.lastgroup)
            out.append((match.lastgroup, value[1:-1].replace('\\"', '"') if match.lastgroup == "quoted" else value))
        i = match.end()
    return out


def parse_dot(text: str) -> dict:
    """A small parser for the DOT subset chainrule writes: ``digraph NAME { statements }``."""
    toks = tokens(text)
    assert toks[0] == ("id", "digraph") and toks[2] == ("punct", "{") and toks[-1] == ("punct", "}")
    body, nodes, edges, i = toks[3:-1], {}, [], 0

    def attrs(i: int) -> tuple[dict, int]:
        found: dict[str, str] = {}
        if i < len(body) and body[i] == ("punct", "["):
            i += 1
            while body[i] != ("punct", "]"):
                key, eq, value = body[i : i + 3]
                assert key[0] == "id" and eq == ("punct", "=") and value[0] in ("id", "quoted", "html"), body[i : i + 3]
                found[key[1]] = value[1]
                i += 3
                if body[i] == ("punct", ","):
                    i += 1
            i += 1
        return found, i

    while i < len(body):
        kind, value = body[i]
        assert kind in ("id", "quoted"), f"statement starts with {value!r}"
        if body[i + 1] == ("punct", "="):  # graph attribute: rankdir=LR
            i += 3
        elif value in ("graph", "node", "edge") and kind == "id":
            _, i = attrs(i + 1)
        else:
            chain = [value]
            i += 1
            while body[i] == ("arrow", "->"):
                chain.append(body[i + 1][1])
                i += 2
            found, i = attrs(i)
            if len(chain) == 1:
                nodes[chain[0]] = found
            else:
                edges += [(a, b, found) for a, b in pairwise(chain)]
        assert body[i] == ("punct", ";"), f"statement not ended by ';' at {body[i]}"
        i += 1
    return {"name": toks[1][1], "nodes": nodes, "edges": edges}


def test_apple_orange_dot_parses():
    dot = parse_dot(to_dot(apple_orange()))
    assert dot["name"] == "apple-orange"
    assert {"mul_apple", "mul_orange", "add_fruit", "mul_tax"} <= set(dot["nodes"])
    for source, target, _ in dot["edges"]:
        assert source in dot["nodes"] and target in dot["nodes"]
    assert len(dot["edges"]) == 9  # 8 inputs read by nodes + the output
    labels = " ".join(found["label"] for _, _, found in dot["edges"])
    for text in ("apple_num", "<b>110.0</b>", "<b>715.0</b>", "<b>650.0</b>"):
        assert text in labels


def test_dot_of_every_example_parses_with_balanced_braces():
    for make in GRAPHS.values():
        text = to_dot(make())
        assert text.count("{") == text.count("}") and "rankdir=LR;" in text
        parse_dot(text)


def test_pydot_reads_the_dot():
    pydot = pytest.importorskip("pydot")
    (graph,) = pydot.graph_from_dot_data(to_dot(apple_orange()))
    assert {node.get_name().strip('"') for node in graph.get_nodes()} >= {"mul_apple", "add_fruit", "mul_tax"}


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_renders_the_dot(tmp_path):
    result = subprocess.run(
        ["dot", "-Tsvg"], input=to_dot(apple_orange()), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    ET.fromstring(result.stdout.encode("utf-8"))


# -- files and PNG --------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".svg", ".dot"])
def test_save_picks_the_format_from_the_suffix(tmp_path, suffix):
    g = apple()
    path = save(g, tmp_path / f"apple{suffix}")
    assert path.read_text(encoding="utf-8") == (to_svg(g) if suffix == ".svg" else to_dot(g))


def test_save_rejects_unknown_formats(tmp_path):
    with pytest.raises(GraphError, match=r"\.svg, \.png, \.dot"):
        save(apple(), tmp_path / "apple.jpg")


def test_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = save(apple_orange(), tmp_path / "apple-orange.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    for module in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError, match=r"pip install 'chainrule\[plot\]'"):
        save(apple(), tmp_path / "apple.png")
    assert not (tmp_path / "apple.png").exists()
