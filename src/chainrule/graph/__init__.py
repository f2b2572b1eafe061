"""Computational graphs you can build, run and trace.

``Graph`` wires layers by named values and runs them forward and backward; ``format_trace``
writes the chain rule out edge by edge; ``network_graph`` turns a network into its layer
pipeline.
"""

from .core import Edge, Graph, GraphError, Node
from .examples import EXAMPLES, apple, apple_orange
from .network import network_graph
from .trace import TraceStep, format_trace, trace

__all__ = [
    "EXAMPLES",
    "Edge",
    "Graph",
    "GraphError",
    "Node",
    "TraceStep",
    "apple",
    "apple_orange",
    "format_trace",
    "network_graph",
    "trace",
]
