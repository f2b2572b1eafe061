"""Graphviz DOT text: the same picture for ``dot -Tsvg`` / ``dot -Tpng`` and tools that read DOT.

Inputs and outputs become small points so every edge has two ends; each edge's label is an
HTML-like label with the name, the forward value and, below it in red, the gradient.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from .core import Graph
from .layout import COLORS
from .text import grad_text, parameter_lines, value_text


def _id(name: str) -> str:
    """A quoted DOT identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _edge_label(name: str, value: str, grad: str) -> str:
    lines = [f'<font color="{COLORS["name"]}" point-size="11">{escape(name)}</font>', f"<b>{escape(value)}</b>"]
    if grad:
        lines.append(f'<font color="{COLORS["grad"]}"><b>{escape(grad)}</b></font>')
    return "<" + "<br/>".join(lines) + ">"


def _node_label(graph: Graph, name: str) -> str:
    node = graph.nodes[name]
    lines = [escape(line) for line in node.label.split("\n")]
    for text, role in parameter_lines(node):
        color = f' color="{COLORS["grad"]}"' if role == "grad" else ""
        lines.append(f'<font point-size="9"{color}>{escape(text)}</font>')
    return "<" + "<br/>".join(lines) + ">"


def to_dot(graph: Graph) -> str:
    """``digraph { rankdir=LR; ... }`` for ``graph``, values and gradients on the edges."""
    lines = [
        f"digraph {_id(graph.name)} {{",
        "  rankdir=LR;",
        '  node [shape=circle, fontname="Helvetica", fontsize=18, margin=0.02];',
        '  edge [fontname="Helvetica", fontsize=12];',
    ]
    for edge in graph.inputs:
        lines.append(f"  {_id('input:' + edge.name)} [shape=point, width=0.06];")
    for name in graph.nodes:
        lines.append(f"  {_id(name)} [label={_node_label(graph, name)}];")
    for edge in graph.outputs:
        lines.append(f"  {_id('output:' + edge.name)} [shape=point, width=0.06];")
    for node in graph.nodes.values():
        for position, name in enumerate(node.inputs):
            edge = graph[name]
            source = _id(edge.producer.name if edge.producer else "input:" + name)
            grad = node.input_grads[position] if position < len(node.input_grads) else None
            label = _edge_label(name, value_text(edge.value), grad_text(grad))
            lines.append(f"  {source} -> {_id(node.name)} [label={label}];")
    for edge in graph.outputs:
        label = _edge_label(edge.name, value_text(edge.value), grad_text(edge.grad))
        lines.append(f"  {_id(edge.producer.name)} -> {_id('output:' + edge.name)} [label={label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
