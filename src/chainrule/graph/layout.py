"""Where everything goes in a picture of a graph, left to right, in pixels.

Columns come from the longest path: a node stands one column right of the latest node it reads
from, and then as far right as its consumers allow, so a chain hugs the node it feeds. Every
input of a node gets a horizontal run ("lane") in the gap before its column, long enough for
the edge's name and value above it and its gradient below; the lanes then converge into the
node's circle. Rows are a tidy tree grown from the outputs: a node's block is the stack of its
lanes, and the node that produces a lane's value is centred on that lane, so arrows run
straight wherever the graph is a tree. A value read by several nodes first goes to a small
dot (a split), whose own lane shows the sum of the gradients that come back.

The result is a :class:`Drawing` of circles and arrows that the SVG and PNG writers share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .core import Edge, Graph, Node
from .text import grad_text, is_scalar, parameter_lines, value_text

FONT = 14  # value and gradient on the edges
NAME_FONT = 13  # edge names, captions and the legend
SYMBOL_FONT = 22  # ×, +, σ inside a circle
WORD_FONT = 14  # ReLU, Affine ... inside a circle
CHAR_WIDTH = 0.62  # average advance of a sans-serif character, in ems (digits are ~0.56)
LANE_ABOVE, LANE_BELOW = 42, 32  # room for name + value above a lane, and the gradient below it
BEND = 30  # horizontal room for lanes to converge into a circle
GAP = 14  # between a circle's column and the next lanes
MARGIN = 20
TITLE_HEIGHT = 30
LEGEND_HEIGHT = 34
SPLIT_RADIUS = 4.0
COLORS = {
    "line": "#333333",
    "fill": "#ffffff",
    "title": "#1a1a1a",
    "value": "#1a1a1a",
    "op": "#1a1a1a",
    "name": "#666666",
    "grad": "#c0392b",  # the second colour: everything the backward pass computed
}


@dataclass
class Circle:
    """A node (or, with ``split``, the dot where a shared value branches) and its caption lines."""

    x: float
    y: float
    r: float
    label: str
    font_size: float
    name: str
    caption: list[tuple[str, str]] = field(default_factory=list)  # (text, "value" | "grad")
    split: bool = False


@dataclass
class Arrow:
    """A polyline ending in an arrowhead (unless ``head`` is False); labels centred on its run."""

    points: list[tuple[float, float]]
    name: str
    value: str
    grad: str
    label_x: float
    label_y: float
    head: bool = True
    source: str = ""  # the box it leaves: a node's name, "split:EDGE", or "" for a graph input
    target: str = ""  # the box it enters, or "" for a graph output


@dataclass
class Text:
    """One line of text, centred on ``x`` with its baseline at ``y``; ``role`` names what it shows."""

    x: float
    y: float
    text: str
    size: float
    role: str  # title, name, value, grad, op, caption, legend
    owner: str = ""  # "arrow:3" or "circle:1": the shape the text labels (the explainer reveals them by step)

    @property
    def color(self) -> str:
        return COLORS.get(self.role, COLORS["name"])

    @property
    def bold(self) -> bool:
        return self.role in ("title", "value", "grad")


# Baselines relative to a lane: name and value above the line, the gradient below it.
NAME_DY, VALUE_DY, GRAD_DY = -25, -7, 19


@dataclass
class Drawing:
    title: str
    width: float
    height: float
    circles: list[Circle]
    arrows: list[Arrow]
    legend: str

    def texts(self) -> list[Text]:
        """Every label, placed: the title, each arrow's three lines, circle labels and captions."""
        texts = [Text(self.width / 2, 22, self.title, 15, "title")]
        for index, arrow in enumerate(self.arrows):
            x, y, owner = arrow.label_x, arrow.label_y, f"arrow:{index}"
            texts += [
                Text(x, y + NAME_DY, arrow.name, NAME_FONT, "name", owner),
                Text(x, y + VALUE_DY, arrow.value, FONT, "value", owner),
            ]
            if arrow.grad:
                texts.append(Text(x, y + GRAD_DY, arrow.grad, FONT, "grad", owner))
        for index, circle in enumerate(self.circles):
            owner = f"circle:{index}"
            lines = circle.label.split("\n") if circle.label else []
            # centre the block of lines on the circle; +0.35em drops a baseline to the visual middle
            first = circle.y - (len(lines) - 1) * 0.6 * circle.font_size + 0.35 * circle.font_size
            texts += [
                Text(circle.x, first + i * 1.2 * circle.font_size, line, circle.font_size, "op", owner)
                for i, line in enumerate(lines)
            ]
            texts += [
                Text(
                    circle.x,
                    circle.y + circle.r + 16 * (i + 1),
                    caption,
                    NAME_FONT,
                    "grad" if role == "grad" else "caption",
                    owner,
                )
                for i, (caption, role) in enumerate(circle.caption)
            ]
        texts.append(Text(self.width / 2, self.height - 14, self.legend, NAME_FONT, "legend"))
        return texts


def text_width(text: str, size: float) -> float:
    return max((len(line) for line in text.split("\n")), default=0) * size * CHAR_WIDTH


# -- the boxes and lanes the layout works on -------------------------------------------------------


@dataclass(eq=False)
class _Lane:
    edge: Edge
    grad: str
    source: _Box | None  # None: a graph input, drawn as an arrow from nowhere
    target: _Box | None  # None: a graph output, drawn as an arrow to nowhere
    y: float = 0.0


@dataclass(eq=False)
class _Box:
    name: str
    node: Node | None  # None for a split dot
    lanes: list[_Lane] = field(default_factory=list)
    out: list[_Lane] = field(default_factory=list)
    col: int = 0
    x: float = 0.0
    y: float = 0.0
    above: float = 0.0  # how far the box's block reaches above and below its centre line
    below: float = 0.0
    caption: list[tuple[str, str]] = field(default_factory=list)
    children: list[tuple[_Lane, float, _Box | None]] = field(default_factory=list)  # lane, offset, child


def _split_text(edge: Edge) -> str:
    """``3.0 + 2.0 = 5.0``: the gradients that come back to a shared value, and their sum."""
    parts = edge.grad_parts
    if edge.grad is not None and 1 < len(parts) <= 3 and all(is_scalar(p) for p in parts):
        return " + ".join(grad_text(p) for p in parts) + f" = {grad_text(edge.grad)}"
    return grad_text(edge.grad)


def _boxes(graph: Graph) -> list[_Box]:
    """One box per node and per shared value, in topological order, with their lanes."""
    order = graph.order()
    boxes = {node.name: _Box(node.name, node) for node in order}
    reads = {name: sum(node.inputs.count(name) for node in order) for name in graph.edges}
    splits: dict[str, _Box] = {}
    ordered: list[_Box] = []

    def feeder(edge: Edge) -> _Box | None:
        if reads[edge.name] < 2:
            return boxes[edge.producer.name] if edge.producer else None
        if edge.name not in splits:
            split = _Box(f"split:{edge.name}", None)
            source = boxes[edge.producer.name] if edge.producer else None
            lane = _Lane(edge, _split_text(edge), source, split)
            split.lanes.append(lane)
            if source is not None:
                source.out.append(lane)
            splits[edge.name] = split
            ordered.append(split)
        return splits[edge.name]

    for node in order:
        box = boxes[node.name]
        for position, name in enumerate(node.inputs):
            grad = node.input_grads[position] if position < len(node.input_grads) else None
            source = feeder(graph[name])
            lane = _Lane(graph[name], grad_text(grad), source, box)
            box.lanes.append(lane)
            if source is not None:
                source.out.append(lane)
        box.caption = parameter_lines(node)
        ordered.append(box)
    for edge in graph.outputs:
        source = boxes[edge.producer.name]
        source.out.append(_Lane(edge, grad_text(edge.grad), source, None))
    return ordered


def _columns(boxes: list[_Box]) -> int:
    """Longest path from the inputs, then each box pulled right to just before its first consumer."""
    for box in boxes:
        box.col = 1 + max((lane.source.col for lane in box.lanes if lane.source), default=0)
    for box in reversed(boxes):
        consumers = [lane.target.col for lane in box.out if lane.target is not None]
        if consumers:
            box.col = min(consumers) - 1
    return max((box.col for box in boxes), default=0)


def _lane_width(lane: _Lane) -> float:
    texts = [(lane.edge.name, NAME_FONT), (value_text(lane.edge.value), FONT), (lane.grad, FONT)]
    return max(64.0, max(text_width(t, size) for t, size in texts) + 24)


def _own_extent(box: _Box, radius: float) -> tuple[float, float]:
    """Room above and below a box's centre: the circle, and its caption lines underneath."""
    if box.node is None:
        return LANE_ABOVE, LANE_BELOW
    return max(LANE_ABOVE, radius + 8), max(LANE_BELOW, radius + 16 * len(box.caption) + 10)


def _measure(box: _Box, radius: float, placed: set[int]) -> None:
    """A box's block: its lanes stacked, each as tall as the subtree that feeds it.

    Each lane's offset from the first lane is recorded; the box sits midway between its first
    and last lane, and ``above``/``below`` say how far its whole block reaches from there.
    """
    box.children = []
    top = bottom = 0.0  # how far the stacked lanes reach, measured from the first lane
    for lane in box.lanes:
        child = lane.source if lane.source is not None and id(lane.source) not in placed else None
        if child is not None:
            placed.add(id(child))
            _measure(child, radius, placed)
        above, below = (child.above, child.below) if child is not None else (LANE_ABOVE, LANE_BELOW)
        if box.children:
            offset = bottom + above
        else:
            offset, top = 0.0, -above
        box.children.append((lane, offset, child))
        bottom = offset + below
    own_above, own_below = _own_extent(box, radius)
    middle = box.children[-1][1] / 2 if box.children else 0.0
    box.above = max(own_above, middle - top)
    box.below = max(own_below, bottom - middle)


def _place(box: _Box, y: float) -> None:
    box.y = y
    first = y - box.children[-1][1] / 2 if box.children else y
    for lane, offset, child in box.children:
        lane.y = first + offset
        if child is not None:
            _place(child, lane.y)


def _label_font(label: str) -> float:
    return SYMBOL_FONT if len(label) <= 2 else WORD_FONT


def _radius(label: str) -> float:
    """Big enough for the label's widest line and all its lines."""
    size = _label_font(label)
    return max(text_width(label, size) / 2, 0.6 * size * label.count("\n") + 8) + 10


def _x_positions(boxes: list[_Box], columns: int, radius: float) -> tuple[dict, dict, dict, float]:
    """For each column: where its gap of lanes starts and ends, and the x of its circles' centres."""
    lanes_in_gap: dict[int, list[_Lane]] = {col: [] for col in range(1, columns + 2)}
    for box in boxes:
        lanes_in_gap[box.col].extend(box.lanes)
        lanes_in_gap[box.col + 1].extend(lane for lane in box.out if lane.target is None)
    gap_start, gap_end, centre = {}, {}, {}
    x = MARGIN
    for col in range(1, columns + 2):
        gap_start[col] = x
        x += max((_lane_width(lane) for lane in lanes_in_gap[col]), default=0.0)
        gap_end[col] = x
        in_col = [box for box in boxes if box.col == col]
        if not in_col:
            continue
        width = max(
            [2 * radius if box.node else 2 * SPLIT_RADIUS for box in in_col]
            + [text_width(text, NAME_FONT) for box in in_col for text, _ in box.caption]
        )
        bend = BEND if any(box.node for box in in_col) else 6
        centre[col] = x + bend + width / 2
        x = centre[col] + width / 2 + GAP
    return gap_start, gap_end, centre, gap_end[columns + 1] + 12 + MARGIN


def layout(graph: Graph) -> Drawing:
    """Positions for every circle, arrow and label of ``graph``'s picture."""
    boxes = _boxes(graph)
    columns = _columns(boxes)
    radius = max([22.0] + [_radius(box.node.label) for box in boxes if box.node is not None])
    gap_start, gap_end, centre, width = _x_positions(boxes, columns, radius)

    # y: a tidy tree from every box that feeds nothing (the outputs)
    placed: set[int] = set()
    top = MARGIN + TITLE_HEIGHT
    for root in [box for box in boxes if not any(lane.target for lane in box.out)]:
        placed.add(id(root))
        _measure(root, radius, placed)
        _place(root, top + root.above)
        top += root.above + root.below + 8
    for box in boxes:
        box.x = centre[box.col]

    circles = [
        Circle(
            box.x,
            box.y,
            radius if box.node else SPLIT_RADIUS,
            box.node.label if box.node else "",
            _label_font(box.node.label) if box.node else 0,
            box.name,
            box.caption,
            split=box.node is None,
        )
        for box in boxes
    ]
    arrows = []
    for box in boxes:
        for lane in box.lanes:
            arrows.append(_arrow(lane, box, radius, gap_start[box.col], gap_end[box.col]))
        for lane in box.out:
            if lane.target is None:
                arrows.append(_arrow(lane, box, radius, gap_start[box.col + 1], gap_end[box.col + 1]))
    differentiated = graph.differentiated
    arrays = any(not is_scalar(edge.value) for edge in graph.edges.values() if edge.value is not None)
    legend = "above an arrow: its name and forward value" + (" (shape of an array)" if arrays else "")
    if differentiated:
        legend += f"  ·  below, in red: the gradient ∂{differentiated}/∂(that value)" + (
            " or its norm" if arrays else ""
        )
    width = max(width, text_width(legend, NAME_FONT) + 2 * MARGIN)
    return Drawing(graph.name, width, top + LEGEND_HEIGHT, circles, arrows, legend)


def _exit(box: _Box, radius: float) -> tuple[float, float]:
    return (box.x, box.y) if box.node is None else (box.x + radius, box.y)


def _arrow(lane: _Lane, box: _Box, radius: float, start: float, end: float) -> Arrow:
    """The polyline of one lane: from its source to the run, along the run, into its target."""
    if lane.target is None:  # an output: straight out of the producer
        points = [_exit(box, radius), (end + 10, box.y)]
        y = box.y
    else:
        y = lane.y
        points = [_exit(lane.source, radius)] if lane.source is not None else []
        points += [(start, y), (end, y)]
        target = lane.target
        if target.node is None:
            points.append((target.x, target.y))
        else:
            dx, dy = target.x - end, target.y - y
            length = (dx * dx + dy * dy) ** 0.5
            points.append((target.x - radius * dx / length, target.y - radius * dy / length))
    text = value_text(lane.edge.value)
    return Arrow(
        points,
        lane.edge.name,
        text,
        lane.grad,
        (start + end) / 2,
        y,
        head=lane.target is None or lane.target.node is not None,
        source=lane.source.name if lane.source is not None else "",
        target=lane.target.name if lane.target is not None else "",
    )
