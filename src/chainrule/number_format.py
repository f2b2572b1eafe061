"""Numbers as a person writes them, shared by the shopping demo, the graph's labels and the explainer."""

from __future__ import annotations

from typing import Any


def format_number(value: Any) -> str:
    """A value as a person writes it: 715.0000000000001 -> '715.0', Fraction(11, 5) -> '2.2'.

    Twelve significant digits hide binary rounding noise (float64 carries ~16) while keeping
    every digit a shopping example can have.
    """
    return repr(float(f"{float(value):.12g}"))
