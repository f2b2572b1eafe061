"""PNG pictures through matplotlib, the optional ``plot`` extra, imported only when asked for."""

from __future__ import annotations

from pathlib import Path

from ..plots import new_figure
from .core import Graph
from .layout import COLORS, Drawing, layout

PX_TO_POINTS = 0.75  # the layout is in CSS pixels (96 per inch); matplotlib sizes text in points


def drawing_to_png(drawing: Drawing, path: str | Path, scale: float = 2.0) -> Path:
    """Draw ``drawing`` with matplotlib; ``scale`` 2 gives a sharp picture on high-DPI screens."""
    figure = new_figure(drawing.width / 96, drawing.height / 96)
    from matplotlib.patches import Circle, FancyArrowPatch

    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, drawing.width)
    axes.set_ylim(drawing.height, 0)  # y grows downwards, as in SVG
    axes.set_axis_off()
    line = COLORS["line"]
    for arrow in drawing.arrows:
        xs, ys = zip(*arrow.points)
        axes.plot(xs, ys, color=line, linewidth=1.2, solid_joinstyle="miter")
        if arrow.head:  # only the head: the line itself is drawn above, in one stroke
            (x0, y0), (x1, y1) = arrow.points[-2:]
            length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-9)
            start = (x1 - 8 * (x1 - x0) / length, y1 - 8 * (y1 - y0) / length)
            axes.add_patch(
                FancyArrowPatch(
                    start, (x1, y1), arrowstyle="-|>", mutation_scale=14, color=line, linewidth=0, shrinkA=0, shrinkB=0
                )
            )
    for circle in drawing.circles:
        if circle.split:
            axes.add_patch(Circle((circle.x, circle.y), circle.r, color=line, zorder=3))
        else:
            axes.add_patch(
                Circle(
                    (circle.x, circle.y), circle.r, facecolor=COLORS["fill"], edgecolor=line, linewidth=1.5, zorder=3
                )
            )
    for text in drawing.texts():
        axes.text(
            text.x,
            text.y,
            text.text,
            fontsize=text.size * PX_TO_POINTS,
            color=text.color,
            ha="center",
            va="baseline",
            fontweight="bold" if text.bold else "normal",
            family="sans-serif",
            zorder=4,
        )
    path = Path(path)
    figure.savefig(path, dpi=96 * scale, facecolor=COLORS["fill"])
    return path


def save_png(graph: Graph, path: str | Path) -> Path:
    """The picture of ``graph`` as a PNG file (needs matplotlib)."""
    return drawing_to_png(layout(graph), path)
