"""What the explainer page shows, computed once in Python: the picture and every step's numbers.

The page's script only reveals and highlights; it computes nothing. Every number comes from the
graph's own layers (forward, backward, and :func:`chainrule.graph.trace` for the local
derivatives) and is written with the same functions as ``chainrule graph --trace``, so the page
and the command line agree digit for digit.

Steps: 0 shows the inputs; then one step per node of the forward pass; then the seed of the
backward pass (∂out/∂out = 1); then one step per node of the backward pass; then the summary.
Each arrow's value appears at the step that computes it and its gradient at the step that
completes it (for a value read by several nodes: when the last of them has sent its part).
"""

from __future__ import annotations

import numbers
from html import escape
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..errors import NotForwardedError
from ..graph.core import Edge, Graph, Node
from ..graph.layout import Drawing, layout
from ..graph.svg import drawing_to_svg
from ..graph.text import grad_text, is_scalar, norm, parameter_lines, shape_text, value_text
from ..graph.trace import TraceStep, forward_line, trace
from .heatmap import heat_map
from .words import LANGUAGES, WORDS, say, words_for_page

Bilingual = dict[str, str]


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


def _figure(array: Any, caption: Bilingual) -> dict[str, Any] | None:
    """A heat map with its caption in both languages, or None for labels and non-finite data."""
    values = to_numpy(array)
    if not np.issubdtype(values.dtype, np.floating) or values.size < 2:
        return None
    heat = heat_map(values)
    how = {
        "image": say("heat_image", side=heat.rows),
        "blocks": say("heat_blocks", rows=heat.rows, columns=heat.columns),
        "full": say("heat_full"),
    }[heat.how]
    scale = say("heat_scale", scale=f"{heat.scale:.3g}")
    normed = say("norm", norm=f"{norm(values):.3g}")
    return {
        "src": heat.src,
        "width": heat.columns,
        "height": heat.rows,
        "caption": {lang: f"{caption[lang]} · {normed[lang]} · {how[lang]}" for lang in caption},
        "scale": scale,
    }


def _labels_line(value: Any, name: str) -> Bilingual:
    labels = to_numpy(value).ravel()
    shown = ", ".join(str(int(v)) for v in labels[:12]) + (", …" if labels.size > 12 else "")
    line = say("labels", labels=shown)
    return {lang: f"{escape(name)} {shape_text(value)} · {escape(text)}" for lang, text in line.items()}


def _same(html: str) -> Bilingual:
    return {"en": html, "zh": html}


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

    def arrow_steps(self) -> list[dict[str, Any]]:
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
            result.append({"value": self.value_ready(edge), "grad": grad, "source": arrow.source, "target": arrow.target})
        return result

    def circle_steps(self) -> list[dict[str, Any]]:
        result = []
        for circle in self.drawing.circles:
            if circle.split:
                edge = self.graph[circle.name.removeprefix("split:")]
                result.append({"value": self.value_ready(edge), "grad": self.grad_ready(edge)})
            else:
                result.append({"value": self.forward_step[circle.name], "grad": self.backward_step.get(circle.name)})
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

    def costs(self) -> tuple[dict[str, Any], list[dict[str, int]]]:
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

    # -- what each step says ------------------------------------------------------------------

    def arrows_touching(self, name: str) -> list[int]:
        return [i for i, a in enumerate(self.drawing.arrows) if name in (a.source, a.target)]

    def circle_of(self, name: str) -> list[int]:
        return [i for i, c in enumerate(self.drawing.circles) if c.name == name]

    def start(self) -> dict[str, Any]:
        lines, figures = [], []
        for edge in self.graph.inputs:
            if is_scalar(edge.value):
                lines.append(_same(f'<p class="input" data-edge="{escape(edge.name)}">{escape(edge.name)} = '
                                   f'<span class="value">{escape(value_text(edge.value))}</span></p>'))
            elif np.issubdtype(to_numpy(edge.value).dtype, np.floating):
                lines.append(_same(f'<p class="input" data-edge="{escape(edge.name)}">{escape(edge.name)} '
                                   f'{escape(shape_text(edge.value))}</p>'))
                figures.append(_figure(edge.value, say("figure_value", name=edge.name, shape=shape_text(edge.value))))
            else:
                labels = _labels_line(edge.value, edge.name)
                lines.append({lang: f'<p class="input">{text}</p>' for lang, text in labels.items()})
        return {
            "phase": "start",
            "title": say("phase_start"),
            "text": say("text_start"),
            "lines": lines,
            "figures": [f for f in figures if f],
            "arrows": [i for i, a in enumerate(self.drawing.arrows) if not a.source],
            "circles": [],
        }

    def forward(self, node: Node, index: int) -> dict[str, Any]:
        graph = self.graph
        output = graph[node.output].value
        line = f'<p class="forward" data-node="{escape(node.name)}">{escape(forward_line(node, graph))}</p>'
        lines = [_same(line)]
        figures = []
        if not is_scalar(output):
            normed = say("norm", norm=f"{norm(output):.3g}")
            lines.append({lang: f"<p>{escape(node.output)} {shape_text(output)} · {escape(t)}</p>" for lang, t in normed.items()})
            figures.append(_figure(output, say("figure_value", name=node.output, shape=shape_text(output))))
        shapes = [text for text, role in parameter_lines(node) if role == "value"]
        if shapes:
            lines.append(_same(f'<p class="params">{escape(", ".join(shapes))}</p>'))
        inputs = ", ".join(node.inputs)
        return {
            "phase": "forward",
            "node": node.name,
            "title": say("phase_forward", index=index, count=len(self.order), node=node.name),
            "text": say("text_forward", node=node.name, inputs=inputs, output=node.output),
            "lines": lines,
            "figures": [f for f in figures if f],
            "arrows": self.arrows_touching(node.name),
            "circles": self.circle_of(node.name),
        }

    def seed_step(self) -> dict[str, Any]:
        target = self.graph[self.out]
        seed = grad_text(target.grad)
        figures = [] if is_scalar(target.grad) else [_figure(target.grad, say("figure_grad", out=self.out, name=self.out, shape=shape_text(target.grad)))]
        return {
            "phase": "seed",
            "title": say("phase_seed"),
            "text": say("text_seed", out=self.out, seed=seed),
            "lines": [_same(f'<p class="seed">∂{escape(self.out)}/∂{escape(self.out)} = <span class="grad">{escape(seed)}</span></p>')],
            "figures": [f for f in figures if f],
            "arrows": [i for i, a in enumerate(self.drawing.arrows) if not a.target and a.name == self.out],
            "circles": [],
        }

    def _product(self, step: TraceStep) -> Bilingual:
        """``∂total/∂apple_price = ∂total/∂fruit_price × ∂fruit_price/∂apple_price = 1.1 × 1.0 = 1.1``."""
        node, out, name = step.node, self.out, step.input_name
        attrs = f'data-node="{escape(node.name)}" data-input="{escape(name)}"'
        if step.grad is None:
            note = say("no_gradient", input=name, node=node.name)
            return {lang: f'<p class="product none" {attrs}>{escape(text)}</p>' for lang, text in note.items()}
        head = f'<span class="lhs">∂{escape(out)}/∂{escape(name)}</span> = ∂{escape(out)}/∂{escape(node.output)} × ∂{escape(node.output)}/∂{escape(name)}'
        upstream, grad = escape(grad_text(step.upstream)), escape(grad_text(step.grad))
        if step.local is None:  # arrays: the layer's backward applies its Jacobian
            shape = escape(shape_text(step.grad))
            return _same(
                f'<p class="product array" {attrs}>{head}: <span class="upstream">{upstream}</span> → '
                f'<span class="grad">{grad}</span> {shape}</p>'
            )
        if step.why == "addition passes it on":
            reason = say("why_add")
        else:  # "= tax", "x > 0": a formula, the same in every language
            reason = _same(f"∂{node.output}/∂{name} {step.why}" if step.why else "")
        return {
            lang: f'<p class="product" {attrs}>{head} = <span class="upstream">{upstream}</span> × '
            f'<span class="local">{escape(value_text(step.local))}</span> = <span class="grad">{grad}</span>'
            + (f' <span class="why">({escape(reason[lang])})</span>' if reason[lang] else "")
            + "</p>"
            for lang in reason
        }

    def backward(self, node: Node, index: int, steps: list[TraceStep]) -> dict[str, Any]:
        graph, out = self.graph, self.out
        here = self.backward_step[node.name]
        mine = [step for step in steps if step.node is node]
        lines = [self._product(step) for step in mine]
        figures = []
        if not is_scalar(node.upstream):
            figures.append(_figure(node.upstream, say("figure_grad", out=out, name=node.output, shape=shape_text(node.upstream))))
        for step in mine:
            if step.grad is not None and not is_scalar(step.grad):
                figures.append(_figure(step.grad, say("figure_grad", out=out, name=step.input_name, shape=shape_text(step.grad))))
        # a loss layer: a number comes in, an array goes out; its Jacobian, not one local derivative
        arrays = not is_scalar(node.upstream) or any(step.local is None and step.grad is not None for step in mine)
        grads = [text for text, role in parameter_lines(node) if role == "grad"]
        if grads:
            lines.append(_same(f'<p class="params grad-params">{escape(", ".join(grads))}</p>'))
            for key, grad in getattr(node.layer, "grads", {}).items():
                label = node.param_labels.get(key, key)
                figures.append(_figure(grad, say("figure_grad", out=out, name=label, shape=shape_text(grad))))
        for name in dict.fromkeys(node.inputs):  # values whose gradient sum this step completes
            edge = graph[name]
            parts = edge.grad_parts
            if len(parts) > 1 and self.grad_ready(edge) == here and all(is_scalar(p) for p in parts):
                total = " + ".join(grad_text(p) for p in parts)
                note = say("sum_note", edge=name, count=len(parts))
                lines.append({
                    lang: f'<p class="sum" data-edge="{escape(name)}">∂{escape(out)}/∂{escape(name)} = {escape(total)} = '
                    f'<span class="grad">{escape(grad_text(edge.grad))}</span> <span class="why">({escape(text)})</span></p>'
                    for lang, text in note.items()
                })
        key = "text_backward_array" if arrays else "text_backward_scalar"
        return {
            "phase": "backward",
            "node": node.name,
            "title": say("phase_backward", index=index, count=len(self.backward_nodes), node=node.name),
            "text": say(key, node=node.name, out=out, output=node.output),
            "lines": lines,
            "figures": [f for f in figures if f],
            "arrows": self.arrows_touching(node.name),
            "circles": self.circle_of(node.name),
        }

    def summary(self) -> dict[str, Any]:
        out = self.out
        lines = [
            _same(
                f'<p class="result" data-edge="{escape(edge.name)}">∂{escape(out)}/∂{escape(edge.name)} = '
                f'<span class="grad">{escape(grad_text(edge.grad) or "none")}</span></p>'
            )
            for edge in self.graph.inputs
        ]
        return {
            "phase": "done",
            "title": say("phase_done"),
            "text": say("text_done", out=out),
            "lines": lines,
            "figures": [],
            "arrows": [],
            "circles": [],
        }

    def all(self) -> list[dict[str, Any]]:
        traced = trace(self.graph)
        steps = [self.start()]
        steps += [self.forward(node, i + 1) for i, node in enumerate(self.order)]
        steps.append(self.seed_step())
        steps += [self.backward(node, i + 1, traced) for i, node in enumerate(self.backward_nodes)]
        steps.append(self.summary())
        return steps


def _legend(graph: Graph) -> Bilingual:
    """The SVG's legend line in each language (the SVG itself carries the English one)."""
    arrays = any(not is_scalar(edge.value) for edge in graph.edges.values() if edge.value is not None)
    return {
        lang: WORDS["legend"][lang].format(
            out=graph.differentiated,
            arrays=WORDS["legend_arrays"][lang] if arrays else "",
            norms=WORDS["legend_norms"][lang] if arrays else "",
        )
        for lang in LANGUAGES
    }


def build_document(graph: Graph, *, served: bool = False, serve_command: str = "") -> dict[str, Any]:
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
