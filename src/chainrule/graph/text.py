"""How values and gradients are written for people: numbers as numbers, arrays by shape and norm."""

from __future__ import annotations

from typing import Any

from ..backend import to_numpy
from ..number_format import format_number


def is_scalar(value: Any) -> bool:
    """A plain number or a 0-d array: something a person can read as one value."""
    return value is not None and getattr(value, "ndim", 0) == 0


def shape_text(value: Any) -> str:
    return str(tuple(int(n) for n in value.shape))


def norm(value: Any) -> float:
    return float((to_numpy(value).astype(float) ** 2).sum() ** 0.5)


def value_text(value: Any) -> str:
    """715.0 for a number, ``(100, 784)`` for an array, '' for nothing."""
    if value is None:
        return ""
    if is_scalar(value):
        try:
            return format_number(value)
        except (TypeError, ValueError):
            return str(value)
    return shape_text(value)


def grad_text(grad: Any) -> str:
    """2.2 for a number, ``norm 0.0123`` (Euclidean) for an array, '' for no gradient.

    Plain words rather than ``‖∇‖``: ∇ is missing from Helvetica and Arial, and SVG renderers
    without per-glyph font fallback draw it as a box.
    """
    if grad is None:
        return ""
    if is_scalar(grad):
        return value_text(grad)
    return f"norm {norm(grad):.3g}"


def parameter_lines(node: Any) -> list[tuple[str, str]]:
    """A layer's parameter shapes, and their gradient norms after a backward pass through it.

    Pairs of (text, role) with role ``"value"`` or ``"grad"``: ``("W1 (784, 50)", "value")``,
    ``("dW1 norm 0.0831", "grad")`` (the book's name for the gradient of ``W1``).
    """
    lines = []
    for key, array in getattr(node.layer, "params", {}).items():
        label = node.param_labels.get(key, key)
        lines.append((f"{label} {shape_text(array)}", "value"))
        grad = getattr(node.layer, "grads", {}).get(key)
        if grad is not None and node.upstream is not None:
            lines.append((f"d{label} norm {norm(grad):.3g}", "grad"))
    return lines
