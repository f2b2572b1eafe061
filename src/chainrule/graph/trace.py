"""The chain rule written out edge by edge, as a reader of the method does it by hand.

For every node, from the output back to the inputs: the gradient that reached its output
(upstream), and for each input the local derivative ``∂out/∂input`` and the product of the two,
which is what flows back along that input. Where a value feeds several nodes the products add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .core import Graph, Node
from .text import grad_text, is_scalar, parameter_lines, value_text

INFIX = {"MulLayer": "×", "AddLayer": "+"}


@dataclass
class TraceStep:
    """One input of one node: ``grad = local × upstream`` (``local`` is None for arrays)."""

    node: Node
    input_name: str
    local: Any
    upstream: Any
    grad: Any
    why: str = ""


def _why(node: Node, position: int, graph: Graph) -> str:
    """Where a scalar local derivative comes from, for the layers a reader meets first."""
    kind = type(node.layer).__name__
    if kind == "MulLayer":
        return f"= {node.inputs[1 - position]}"
    if kind == "AddLayer":
        return "addition passes it on"
    x, y = node.inputs[0], node.output
    if kind == "Relu":
        return f"{x} > 0" if graph[x].value > 0 else f"{x} ≤ 0"
    if kind == "Sigmoid":
        return f"= {y}(1 − {y})"
    if kind == "Tanh":
        return f"= 1 − {y}²"
    return ""


def _local_derivatives(node: Node, graph: Graph) -> tuple[Any, ...] | None:
    """``∂out/∂input`` for each input of a node whose values are all numbers, else None.

    The layer's own ``backward`` computes them: fed an upstream gradient of 1, it returns the
    local derivatives. It is then run again with the real upstream gradient, so the layer is
    left as the backward pass left it.
    """
    values = [graph[name].value for name in node.inputs] + [graph[node.output].value, node.upstream]
    if not all(is_scalar(v) for v in values):
        return None
    local = node.layer.backward(1)
    node.layer.backward(node.upstream)
    return local if isinstance(local, tuple) else (local,)


def trace(graph: Graph) -> list[TraceStep]:
    """The steps of the last ``graph.backward()``, nodes in reverse topological order."""
    if graph.differentiated is None:
        raise ValueError(f"graph {graph.name!r}: run forward() and backward() before tracing them")
    steps = []
    for node in reversed(graph.order()):
        if node.upstream is None:
            continue
        local = _local_derivatives(node, graph)
        for position, name in enumerate(node.inputs):
            grad = node.input_grads[position] if position < len(node.input_grads) else None
            derivative = local[position] if local is not None and grad is not None else None
            why = _why(node, position, graph) if derivative is not None else ""
            steps.append(TraceStep(node, name, derivative, node.upstream, grad, why))
    return steps


def expression(node: Node) -> str:
    """What a node computes from its inputs: ``fruit_price × tax``, or ``Affine(x)`` for a layer without a symbol."""
    symbol = INFIX.get(type(node.layer).__name__)
    if symbol and len(node.inputs) == 2:
        return f"{node.inputs[0]} {symbol} {node.inputs[1]}"
    return f"{node.label.replace(chr(10), ' ')}({', '.join(node.inputs)})"


def formula(node: Node) -> str:
    """``total = fruit_price × tax``, or ``a1 = Affine(x)`` for a layer without a symbol."""
    return f"{node.output} = {expression(node)}"


def local_derivative_name(node: Node, input_name: str) -> str:
    """``∂(fruit_price × tax)/∂fruit_price``: the node's own derivative, written with what it computes.

    Not ``∂total/∂fruit_price``: at the output node that is the gradient being computed, and the
    chain rule would read ``∂total/∂fruit_price = ∂total/∂total × ∂total/∂fruit_price``.
    """
    text = expression(node)
    return f"∂({text})/∂{input_name}" if type(node.layer).__name__ in INFIX else f"∂{text}/∂{input_name}"


def forward_parts(node: Node, graph: Graph) -> tuple[str, str, str]:
    """The formula, its operands' numbers ('' when an operand is an array) and the result of one node."""
    values = [graph[name].value for name in node.inputs]
    result = value_text(graph[node.output].value)
    if not all(is_scalar(v) for v in values):
        return formula(node), "", result
    symbol = INFIX.get(type(node.layer).__name__)
    if symbol and len(values) == 2:
        return formula(node), f"{value_text(values[0])} {symbol} {value_text(values[1])}", result
    label = node.label.replace(chr(10), " ")
    return formula(node), f"{label}({', '.join(value_text(v) for v in values)})", result


def forward_line(node: Node, graph: Graph) -> str:
    """``total = fruit_price × tax = 650.0 × 1.1 = 715.0``: one node of the forward pass, with its numbers."""
    text, numbers, result = forward_parts(node, graph)
    return f"{text} = {numbers} = {result}" if numbers else f"{text} → {result}"


def _sum_text(graph: Graph, name: str) -> str:
    """``5.0 = 3.0 + 2.0`` for a value several nodes read, else just the gradient."""
    parts = graph[name].grad_parts
    total = grad_text(graph[name].grad)
    if len(parts) > 1 and all(is_scalar(p) for p in parts):
        return (
            f"{total} = "
            + " + ".join(grad_text(p) for p in parts)
            + f"  ({name} is read {len(parts)} times: the gradients add)"
        )
    return total


def format_trace(graph: Graph) -> str:
    """The forward pass, then every chain-rule product of the backward pass, as text."""
    out = graph.differentiated
    steps = trace(graph)
    ordered = graph.order()
    width = max((len(node.name) for node in ordered), default=0)
    lines = [f"{graph.name}: the chain rule, edge by edge", "", "forward, nodes in topological order:"]
    lines += [f"  {node.name:<{width}}  {forward_line(node, graph)}" for node in ordered]
    lines += ["", f"backward, nodes in reverse order, starting from ∂{out}/∂{out} = {grad_text(graph[out].grad)}:"]
    current = None
    for step in steps:
        node = step.node
        if node is not current:
            current = node
            upstream = _sum_text(graph, node.output)
            lines.append(f"  {node.name:<{width}}  {formula(node)}    upstream ∂{out}/∂{node.output} = {upstream}")
            input_width = max(len(name) for name in node.inputs) + 1
            parameters = parameter_lines(node)
            if parameters:  # "W2 (5, 3) dW2 norm 0.0183, b2 (3,) db2 norm 0.408"
                joined = "".join((" " if role == "grad" else ", ") + text for text, role in parameters)
                lines.append("    parameters: " + joined[2:])
        head = f"    {step.input_name + ':':<{input_width}} "
        d_local = f"∂{node.output}/∂{step.input_name}"
        if step.grad is None:
            lines.append(f"{head}no gradient ({node.name} does not differentiate this input)")
        elif step.local is not None:
            why = f" ({step.why})" if step.why else ""
            lines.append(
                f"{head}local {d_local} = {value_text(step.local)}{why}"
                f" × upstream {grad_text(step.upstream)} = {grad_text(step.grad)}"
            )
        else:
            lines.append(
                f"{head}local Jacobian {d_local} applied to upstream {grad_text(step.upstream)} = {grad_text(step.grad)}"
            )
    lines += ["", f"gradients of {out}:"]
    names = [edge.name for edge in graph.inputs]
    name_width = max((len(n) for n in names), default=0)
    lines += [f"  {name:<{name_width}}  {_sum_text(graph, name) or 'none'}" for name in names]
    return "\n".join(lines)
