"""Computational graphs you can build, run, trace and draw.

``Graph`` wires layers by named values and runs them forward and backward; ``format_trace``
writes the chain rule out edge by edge; ``to_svg(graph)``/``to_dot(graph)``/``save(graph, path)``
draw the graph with forward values above the edges and gradients below (and Jupyter shows a
graph inline); ``network_graph`` turns a network into its layer pipeline.
"""

from .core import Edge, Graph, GraphError, Node
from .dot import to_dot
from .examples import EXAMPLES, apple, apple_orange
from .export import save
from .network import network_graph
from .notebook import show_graphs_inline
from ..errors import MissingExtraError
from .svg import to_svg
from .trace import TraceStep, format_trace, trace

show_graphs_inline()

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
