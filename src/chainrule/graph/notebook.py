"""Jupyter draws a :class:`~chainrule.graph.core.Graph` inline, as its SVG picture.

A ``_repr_svg_`` method would make the core graph import the drawing modules built on top of
it. IPython's display formatter lets the drawing side say instead how a Graph is shown
(``for_type``), so the arrow keeps pointing down. IPython is never imported here: where it is
not already running there is no notebook to show anything in.
"""

from __future__ import annotations

import sys

from .core import Graph
from .svg import to_svg


def show_graphs_inline() -> bool:
    """Register :func:`~chainrule.graph.svg.to_svg` as the SVG display of Graph in a running IPython.

    Called when :mod:`chainrule.graph` is imported; returns whether there was a shell to register with.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None:
        return False
    shell.display_formatter.formatters["image/svg+xml"].for_type(Graph, to_svg)
    return True
