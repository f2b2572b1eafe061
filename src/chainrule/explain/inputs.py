"""Changing a graph's inputs from text, the same way on the command line and in the served page.

``chainrule explain apple --input apple=150`` and typing 150 into the page both go through
:func:`apply_inputs`, so the page shows exactly the numbers the command prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..errors import GraphError
from ..graph.core import Graph
from .document import editable


def parse_value(graph: Graph, name: str, text: str) -> float:
    """``"150"`` -> 150.0, with an error naming the input for anything that is not a finite number."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise GraphError(f"graph {graph.name!r}: input {name} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise GraphError(f"graph {graph.name!r}: input {name} must be a finite number, got {text!r}")
    return value


def apply_inputs(graph: Graph, texts: Mapping[str, str]) -> Graph:
    """Set the named inputs from text, then run forward and backward again (of the same output)."""
    numbers = {name: editable(edge.value) for name, edge in graph.edges.items() if edge.is_input}
    values = {}
    for name, text in texts.items():
        if not numbers.get(name):
            choices = [n for n, ok in numbers.items() if ok]
            raise GraphError(f"graph {graph.name!r}: {name!r} is not an input you can set; settable inputs: {choices}")
        values[name] = parse_value(graph, name, text)
    differentiated = graph.differentiated
    graph.forward(**values)
    graph.backward(of=differentiated)
    return graph
