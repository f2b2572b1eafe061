"""Computational graphs you can build, run, trace and draw.

``Graph`` wires layers by named values and runs them forward and backward; ``format_trace``
writes the chain rule out edge by edge; ``to_svg``/``to_dot``/``save`` draw the graph with
forward values above the edges and gradients below; ``network_graph`` turns a network into
its layer pipeline; :mod:`chainrule.graph.cost` measures what backpropagation saves.
"""

from .core import Edge, Graph, GraphError, Node
from .dot import to_dot
from .examples import EXAMPLES, apple, apple_orange
from .export import save
from .network import network_graph
from ..errors import MissingExtraError
from .svg import to_svg
from .trace import TraceStep, format_trace, trace

__all__ = [
    "EXAMPLES",
    "Edge",
    "Graph",
    "GraphError",
    "MissingExtraError",
    "Node",
    "TraceStep",
    "apple",
    "apple_orange",
    "format_trace",
    "network_graph",
    "save",
    "to_dot",
    "to_svg",
    "trace",
]
