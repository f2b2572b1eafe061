"""Write a graph's picture to a file; the suffix chooses SVG, PNG or DOT."""

from __future__ import annotations

from pathlib import Path

from .core import Graph, GraphError
from .dot import to_dot
from .svg import to_svg

FORMATS = (".svg", ".png", ".dot", ".gv")


def save(graph: Graph, path: str | Path) -> Path:
    """Write ``graph`` to ``path`` as .svg (no dependency), .png (matplotlib) or .dot/.gv (text)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(to_svg(graph), encoding="utf-8")
    elif suffix in (".dot", ".gv"):
        path.write_text(to_dot(graph), encoding="utf-8")
    elif suffix == ".png":
        from .png import save_png

        save_png(graph, path)
    else:
        raise GraphError(f"cannot write {path.name!r}: the picture formats are {', '.join(FORMATS)}")
    return path
