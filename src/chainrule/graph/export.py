"""Write a graph's picture to a file; the suffix chooses SVG, PNG or DOT."""

from __future__ import annotations

import os
from pathlib import Path

from .core import Graph, GraphError
from .dot import to_dot
from .svg import to_svg

FORMATS = (".svg", ".png", ".dot", ".gv")


def check_destination(path: str | Path) -> Path:
    """``path`` can be written: its folder exists and is writable and it is no folder itself.

    Checked before any work (a network run, a table printed), so that a typo in ``-o`` costs nothing.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise GraphError(f"cannot write {path}: the folder {folder} {what}")
    if path.is_dir():
        raise GraphError(f"cannot write {path}: it is a folder")
    if not os.access(folder, os.W_OK):
        raise GraphError(f"cannot write {path}: the folder {folder} is not writable")
    return path


def check_picture_path(path: str | Path) -> Path:
    """``path`` names a picture format (by its suffix) and can be written; see :func:`save`."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise GraphError(f"cannot write {path.name!r}: the picture formats are {', '.join(FORMATS)}")
    return check_destination(path)


def save(graph: Graph, path: str | Path) -> Path:
    """Write ``graph`` to ``path`` as .svg (no dependency), .png (matplotlib) or .dot/.gv (text)."""
    path = check_picture_path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(to_svg(graph), encoding="utf-8")
    elif suffix == ".png":
        from .png import save_png

        save_png(graph, path)
    else:
        path.write_text(to_dot(graph), encoding="utf-8")
    return path
