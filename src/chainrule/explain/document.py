"""What the explainer page shows, computed once in Python: the picture and every step's numbers.

The page's script only reveals and highlights; it computes nothing. Every number comes from the
graph's own layers (forward, backward, and :func:`chainrule.graph.trace` for the local
derivatives) and is written with the same functions as ``chainrule graph --trace``, so the page
and the command line agree digit for digit.

Steps: 0 shows the inputs; then one step per node of the forward pass; then the seed of the
backward pass (∂out/∂out = 1); then one step per node of the backward pass; then the summary.
Each arrow's value appears at the step that computes it and its gradient at the step that
completes it (for a value read by several nodes: when the last of them has sent its part).

The document is data, not HTML: a step is a record ``{"kind", "node", "title", "text", "rows",
...}`` and each row a record of what it shows (``{"kind": "product", "node", "input",
"upstream", "local", "grad", ...}``); sentences are :func:`~.words.words` records that the page
fills in the reader's language. ``page.js`` is the one renderer; tests compare records.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..errors import NotForwardedError
from ..graph.core import Edge, Graph, Node
from ..graph.layout import Drawing, layout
from ..graph.svg import drawing_to_svg
from ..graph.text import is_scalar, norm, shape_text, value_text
from ..graph.trace import TraceStep, forward_parts, local_derivative_name, trace
from .heatmap import heat_map
from .layer_words import layer_words
from .words import words, words_for_page

Record = dict[str, Any]


def ready_to_run(graph: Graph) -> Graph:
    """Run forward and backward if the graph has not been, so there is something to explain."""
    if graph.differentiated is None:
        try:
            graph.backward()
        except NotForwardedError:
            graph.forward()
            graph.backward()
    return graph


def editable(value: Any) -> bool:
    """A plain real number a person can retype (not an array, not a label, not a Fraction)."""
    return isinstance(value, (float, np.floating)) or (
        isinstance(value, numbers.Integral) and not isinstance(value, bool)
    )


def norm_text(array: Any) -> str:
    return f"{norm(array):.3g}"


def gradient(grad: Any) -> Record | None:
    """A gradient as the page writes it: ``{"value": "2.2"}``, ``{"norm": "0.0123", "shape": "(100, 10)"}``, or None."""
    if grad is None:
        return None
    if is_scalar(grad):
        return {"value": value_text(grad)}
    return {"norm": norm_text(grad), "shape": shape_text(grad)}


def heat_figure(array: Any, caption: Record, *, filters: bool = False, image: bool = True) -> Record | None:
    """A heat map with its caption, or None for labels and non-finite data.

    ``filters``: a 4-D parameter is a convolution's filters, drawn one by one (not as a batch);
    ``image``: rows of 784 = 28² values may be drawn as a picture (a graph's input, not a hidden layer).
    """
    values = to_numpy(array)
    if not np.issubdtype(values.dtype, np.floating) or values.size < 2:
        return None
    heat = heat_map(values, filters=filters, image=image)
    last = heat.tiles - 1
    how = {
        "image": words("heat_image", side=heat.rows),
        "blocks": words("heat_blocks", rows=heat.rows, columns=heat.columns),
        "full": words("heat_full"),
        "channels": words("heat_channels", last=last, count=heat.of),
        "samples": words("heat_samples", last=last, count=heat.of),
        "filters": words("heat_filters", last=last, count=heat.of),
    }[heat.how]
    figure = {
        "src": heat.src,
        "width": heat.columns,
        "height": heat.rows,
        "caption": [caption, words("norm", norm=norm_text(values)), how],
        "scale": words("heat_scale", scale=f"{heat.scale:.3g}"),
    }
    if heat.zoom:
        figure["zoom"] = heat.zoom
    return figure


def _parameters(node: Node) -> list[tuple[str, Any, Any]]:
    """(the net's name for it, value, gradient) of each parameter of a node's layer."""
    grads = getattr(node.layer, "grads", {})
    return [
        (node.param_labels.get(key, key), array, grads.get(key) if node.upstream is not None else None)
        for key, array in getattr(node.layer, "params", {}).items()
    ]


class _Steps:
    """Builds the list of steps and knows at which step each arrow's value and gradient appear."""

    def __init__(self, graph: Graph, drawing: Drawing) -> None:
        self.graph, self.drawing = graph, drawing
        self.order = graph.order()
        self.out = graph.differentiated or ""
        self.forward_step = {node.name: i + 1 for i, node in enumerate(self.order)}
        self.backward_nodes = [node for node in reversed(self.order) if node.upstream is not None]
        self.seed = len(self.order) + 1
        self.backward_step = {node.name: self.seed + 1 + i for i, node in enumerate(self.backward_nodes)}
        self.done = self.seed + len(self.backward_nodes) + 1

    # -- when things appear -------------------------------------------------------------------

    def value_ready(self, edge: Edge) -> int:
        return 0 if edge.producer is None else self.forward_step[edge.producer.name]

    def grad_ready(self, edge: Edge) -> int | None:
        """The step after which ``edge.grad`` is final (the sum of all its parts), or None."""
        if edge.name == self.out:
            return self.seed
        senders = [self.backward_step[c.name] for c in dict.fromkeys(edge.consumers) if c.name in self.backward_step]
        return max(senders) if senders and edge.grad is not None else None

    def arrow_steps(self) -> list[Record]:
        """When each arrow's labels appear, and the norm its gradient label shows (the page words it)."""
        result = []
        for arrow in self.drawing.arrows:
            edge = self.graph[arrow.name]
            if not arrow.grad:
                grad = None
            elif not arrow.target:
                grad = self.seed
            elif arrow.target.startswith("split:"):
                grad = self.grad_ready(edge)
            else:
                grad = self.backward_step.get(arrow.target)
            # an array's gradient is labelled "norm 0.0123" (graph.text.grad_text): the page words it
            shown = arrow.grad.removeprefix("norm ") if arrow.grad.startswith("norm ") else None
            result.append({
                "value": self.value_ready(edge), "grad": grad, "source": arrow.source, "target": arrow.target, "norm": shown
            })
        return result

    def circle_steps(self) -> list[Record]:
        result = []
        for circle in self.drawing.circles:
            if circle.split:
                edge = self.graph[circle.name.removeprefix("split:")]
                result.append({"value": self.value_ready(edge), "grad": self.grad_ready(edge), "norms": []})
            else:
                node = self.graph.nodes[circle.name]
                norms = [[f"d{label}", norm_text(grad)] for label, _, grad in _parameters(node) if grad is not None]
                result.append(
                    {"value": self.forward_step[circle.name], "grad": self.backward_step.get(circle.name), "norms": norms}
                )
        return result

    # -- the two ways to a gradient -----------------------------------------------------------

    def unknowns(self) -> tuple[str, dict[int, int]]:
        """What a gradient is taken with respect to, and how many of them are known at each step.

        With parameters (a network), the parameters, known once their layer's backward has run;
        otherwise the inputs a gradient reaches, known once every reader has sent its part.
        """
        params = {node.name: sum(int(a.size) for a in getattr(node.layer, "params", {}).values()) for node in self.order}
        known_at: dict[int, int] = {}
        if any(params.values()):
            for node in self.backward_nodes:
                known_at[self.backward_step[node.name]] = params[node.name]
            return "parameters", known_at
        for edge in self.graph.inputs:
            step = self.grad_ready(edge)
            if step is not None:
                size = 1 if is_scalar(edge.value) else int(to_numpy(edge.value).size)
                known_at[step] = known_at.get(step, 0) + size
        return "inputs", known_at

    def costs(self) -> tuple[Record, list[Record]]:
        kind, known_at = self.unknowns()
        nodes, unknowns = len(self.order), sum(known_at.values())
        totals = {
            "kind": kind,
            "nodes": nodes,
            "unknowns": unknowns,
            "backprop": nodes + len(self.backward_nodes),
            "numerical": 2 * nodes * unknowns,
        }
        per_step, known = [], 0
        for step in range(self.done + 1):
            known += known_at.get(step, 0)
            forward = min(step, nodes)
            backward = max(0, min(step - self.seed, len(self.backward_nodes)))
            per_step.append(
                {"forward": forward, "backward": backward, "known": known, "numerical": 2 * nodes * known}
            )
        return totals, per_step

    # -- what each step shows -----------------------------------------------------------------

    def arrows_touching(self, name: str) -> list[int]:
        return [i for i, a in enumerate(self.drawing.arrows) if name in (a.source, a.target)]

    def circle_of(self, name: str) -> list[int]:
        return [i for i, c in enumerate(self.drawing.circles) if c.name == name]

    def _step(self, kind: str, title: Record, text: Record, rows: list[Record], figures: list[Record | None],
              node: str | None = None, arrows: list[int] | None = None, circles: list[int] | None = None) -> Record:
        return {
            "kind": kind,
            "node": node,
            "title": title,
            "text": text,
            "rows": rows,
            "figures": [f for f in figures if f],
            "arrows": arrows or [],
            "circles": circles or [],
        }

    def start(self) -> Record:
        rows, figures = [], []
        for edge in self.graph.inputs:
            if is_scalar(edge.value):
                rows.append({"kind": "input", "edge": edge.name, "value": value_text(edge.value)})
            elif np.issubdtype(to_numpy(edge.value).dtype, np.floating):
                shape = shape_text(edge.value)
                rows.append({"kind": "input_array", "edge": edge.name, "shape": shape})
                figures.append(heat_figure(edge.value, words("figure_value", name=edge.name, shape=shape)))
            else:
                labels = to_numpy(edge.value).ravel()
                shown = ", ".join(str(int(v)) for v in labels[:12]) + (", …" if labels.size > 12 else "")
                rows.append({"kind": "labels", "edge": edge.name, "shape": shape_text(edge.value), "labels": shown})
        arrows = [i for i, a in enumerate(self.drawing.arrows) if not a.source]
        return self._step("start", words("phase_start"), words("text_start"), rows, figures, arrows=arrows)

    def forward(self, node: Node, index: int) -> Record:
        output = self.graph[node.output].value
        text, numbers_, result = forward_parts(node, self.graph)
        rows: list[Record] = [{"kind": "forward", "node": node.name, "formula": text, "numbers": numbers_, "result": result}]
        said = layer_words(node, self.graph)
        if said:
            rows.insert(0, {"kind": "layer", "node": node.name, "words": said})
        figures = []
        if not is_scalar(output):
            rows.append({"kind": "array", "edge": node.output, "shape": shape_text(output), "norm": norm_text(output)})
            caption = words("figure_value", name=node.output, shape=shape_text(output))
            figures.append(heat_figure(output, caption, image=False))
        params = [{"name": label, "shape": shape_text(array)} for label, array, _ in _parameters(node)]
        if params:
            rows.append({"kind": "params", "node": node.name, "params": params})
        return self._step(
            "forward",
            words("phase_forward", index=index, count=len(self.order), node=node.name),
            words("text_forward", node=node.name, inputs=", ".join(node.inputs), output=node.output),
            rows,
            figures,
            node=node.name,
            arrows=self.arrows_touching(node.name),
            circles=self.circle_of(node.name),
        )

    def seed_step(self) -> Record:
        target = self.graph[self.out]
        seed = gradient(target.grad)
        figures = []
        if not is_scalar(target.grad):
            shape = shape_text(target.grad)
            figures.append(heat_figure(target.grad, words("figure_grad", out=self.out, name=self.out, shape=shape),
                                       image=target.is_input))
        seed_text = seed["value"] if "value" in seed else f"({seed['shape']})"
        return self._step(
            "seed",
            words("phase_seed"),
            words("text_seed", out=self.out, seed=seed_text),
            [{"kind": "seed", "out": self.out, "grad": seed}],
            figures,
            arrows=[i for i, a in enumerate(self.drawing.arrows) if not a.target and a.name == self.out],
        )

    def _product(self, step: TraceStep) -> Record:
        """One input's chain-rule product, which the page writes as
        ``∂total/∂apple_price = ∂total/∂fruit_price × ∂(apple_price + orange_price)/∂apple_price = 1.1 × 1.0 = 1.1``."""
        node, name = step.node, step.input_name
        if step.grad is None:
            return {"kind": "no_gradient", "node": node.name, "input": name}
        why = None
        if step.why == "addition passes it on":
            why = words("why_add")
        elif step.why:  # "= tax", "x > 0": a formula, the same in every language
            why = words("why_formula", formula=step.why)
        return {
            "kind": "product",
            "node": node.name,
            "input": name,
            "out": self.out,
            "output": node.output,
            "local_name": local_derivative_name(node, name),
            "upstream": gradient(step.upstream),
            "local": None if step.local is None else value_text(step.local),  # None: arrays, a Jacobian
            "grad": gradient(step.grad),
            "why": why,
        }

    def backward(self, node: Node, index: int, steps: list[TraceStep]) -> Record:
        graph, out = self.graph, self.out
        here = self.backward_step[node.name]
        mine = [step for step in steps if step.node is node]
        rows = [self._product(step) for step in mine]
        said = layer_words(node, self.graph, backward=True)
        if said:
            rows.insert(0, {"kind": "layer", "node": node.name, "words": said})
        figures = []
        if not is_scalar(node.upstream):
            shape = shape_text(node.upstream)
            caption = words("figure_grad", out=out, name=node.output, shape=shape)
            figures.append(heat_figure(node.upstream, caption, image=False))
        for step in mine:
            if step.grad is not None and not is_scalar(step.grad):
                shape = shape_text(step.grad)
                caption = words("figure_grad", out=out, name=step.input_name, shape=shape)
                figures.append(heat_figure(step.grad, caption, image=graph[step.input_name].is_input))
        # a loss layer: a number comes in, an array goes out; its Jacobian, not one local derivative
        arrays = not is_scalar(node.upstream) or any(step.local is None and step.grad is not None for step in mine)
        grads = [(label, grad) for label, _, grad in _parameters(node) if grad is not None]
        if grads:
            rows.append({"kind": "param_grads", "node": node.name,
                         "grads": [{"name": f"d{label}", "norm": norm_text(grad)} for label, grad in grads]})
            for label, grad in grads:
                caption = words("figure_grad", out=out, name=label, shape=shape_text(grad))
                figures.append(heat_figure(grad, caption, filters=True, image=False))
        for name in dict.fromkeys(node.inputs):  # values whose gradient sum this step completes
            edge = graph[name]
            parts = edge.grad_parts
            if len(parts) > 1 and self.grad_ready(edge) == here and all(is_scalar(p) for p in parts):
                rows.append({
                    "kind": "sum",
                    "edge": name,
                    "out": out,
                    "parts": [value_text(p) for p in parts],
                    "grad": value_text(edge.grad),
                    "why": words("sum_note", edge=name, count=len(parts)),
                })
        key = "text_backward_array" if arrays else "text_backward_scalar"
        return self._step(
            "backward",
            words("phase_backward", index=index, count=len(self.backward_nodes), node=node.name),
            words(key, node=node.name, out=out, output=node.output),
            rows,
            figures,
            node=node.name,
            arrows=self.arrows_touching(node.name),
            circles=self.circle_of(node.name),
        )

    def summary(self) -> Record:
        """Every gradient the two cost meters count: the inputs', and each parameter array's."""
        out = self.out
        rows: list[Record] = []
        parameters = [(label, array, grad) for node in self.order for label, array, grad in _parameters(node)]
        if parameters:
            rows.append({"kind": "heading", "words": words("results_inputs")})
        rows += [
            {"kind": "result", "edge": edge.name, "out": out, "grad": gradient(edge.grad), "parameter": False}
            for edge in self.graph.inputs
        ]
        if parameters:
            count = sum(int(array.size) for _, array, _ in parameters)
            heading = words("results_parameters", count=len(parameters), unknowns=f"{count:,}")
            rows.append({"kind": "heading", "words": heading})
            rows += [
                {"kind": "result", "edge": label, "out": out, "grad": gradient(grad), "parameter": True}
                for label, _, grad in parameters
            ]
        return self._step("done", words("phase_done"), words("text_done", out=out), rows, [])

    def all(self) -> list[Record]:
        traced = trace(self.graph)
        steps = [self.start()]
        steps += [self.forward(node, i + 1) for i, node in enumerate(self.order)]
        steps.append(self.seed_step())
        steps += [self.backward(node, i + 1, traced) for i, node in enumerate(self.backward_nodes)]
        steps.append(self.summary())
        return steps


def _legend(graph: Graph) -> Record:
    """The SVG's legend line (the SVG itself carries the English one)."""
    arrays = any(not is_scalar(edge.value) for edge in graph.edges.values() if edge.value is not None)
    return words("legend_arrays" if arrays else "legend", out=graph.differentiated)


def build_document(graph: Graph, *, served: bool = False, serve_command: str = "") -> Record:
    """Everything the page needs, as JSON-ready data (strings, numbers, lists, dicts)."""
    ready_to_run(graph)
    drawing = layout(graph)
    svg = drawing_to_svg(drawing).split("\n", 1)[1]  # inline in HTML: no XML declaration
    builder = _Steps(graph, drawing)
    totals, costs = builder.costs()
    steps = builder.all()
    for step, cost in zip(steps, costs):
        step["cost"] = cost
    inputs = [
        {"name": edge.name, "value": value_text(edge.value), "editable": editable(edge.value)}
        for edge in graph.inputs
    ]
    return {
        "title": graph.name,
        "differentiated": graph.differentiated,
        "svg": svg,
        "legend": _legend(graph),
        "arrows": builder.arrow_steps(),
        "circles": builder.circle_steps(),
        "steps": steps,
        "cost": totals,
        "inputs": inputs,
        "served": served,
        "serve_command": serve_command,
        "words": words_for_page(),
    }
