"""SVG written by chainrule itself: no Graphviz, no matplotlib, just XML text."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .core import Graph
from .layout import COLORS, Drawing, Text, layout

FONT_FAMILY = "Helvetica, Arial, 'DejaVu Sans', sans-serif"


def _number(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _owner(owner: str) -> str:
    """``data-arrow="3"``: ties a shape and its labels together for the explainer's step-by-step reveal."""
    if not owner:
        return ""
    kind, index = owner.split(":")
    return f' data-{kind}="{index}"'


def _text(text: Text) -> str:
    weight = ' font-weight="bold"' if text.bold else ""
    return (
        f'<text class="{text.role}"{_owner(text.owner)} x="{_number(text.x)}" y="{_number(text.y)}" font-size="{_number(text.size)}" '
        f'fill="{text.color}"{weight} text-anchor="middle">{escape(text.text)}</text>'
    )


def drawing_to_svg(drawing: Drawing) -> str:
    """Render a laid-out :class:`~chainrule.graph.layout.Drawing` as an SVG document."""
    width, height = _number(drawing.width), _number(drawing.height)
    line = COLORS["line"]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family={quoteattr(FONT_FAMILY)}>'
        ),
        f"<title>{escape(drawing.title)}</title>",
        (
            '<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{line}"/></marker></defs>'
        ),
        f'<rect width="100%" height="100%" fill="{COLORS["fill"]}"/>',
    ]
    for index, arrow in enumerate(drawing.arrows):
        points = " ".join(f"{_number(x)},{_number(y)}" for x, y in arrow.points)
        head = ' marker-end="url(#arrowhead)"' if arrow.head else ""
        out.append(
            f'<polyline class="edge" data-name={quoteattr(arrow.name)} data-arrow="{index}" points="{points}" fill="none" '
            f'stroke="{line}" stroke-width="1.6"{head}/>'
        )
    for index, circle in enumerate(drawing.circles):
        x, y, r = _number(circle.x), _number(circle.y), _number(circle.r)
        if circle.split:
            out.append(
                f'<circle class="split" data-name={quoteattr(circle.name)} data-circle="{index}" cx="{x}" cy="{y}" r="{r}" fill="{line}"/>'
            )
        else:
            out.append(
                f'<circle class="node" data-name={quoteattr(circle.name)} data-circle="{index}" cx="{x}" cy="{y}" r="{r}" '
                f'fill="{COLORS["fill"]}" stroke="{line}" stroke-width="2"/>'
            )
    out += [_text(text) for text in drawing.texts() if text.text]
    out.append("</svg>")
    return "\n".join(out) + "\n"


def to_svg(graph: Graph) -> str:
    """The picture of ``graph`` as SVG text (values above the arrows, gradients below in red)."""
    return drawing_to_svg(layout(graph))
