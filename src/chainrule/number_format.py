"""Numbers as a person writes them (and counts with their nouns), shared by the demos, the graph's labels, the explainer and the messages."""

from __future__ import annotations

from typing import Any


def format_number(value: Any) -> str:
    """A value as a person writes it: 715.0000000000001 -> '715.0', Fraction(11, 5) -> '2.2'.

    Twelve significant digits hide binary rounding noise (float64 carries ~16) while keeping
    every digit a shopping example can have.
    """
    return repr(float(f"{float(value):.12g}"))


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``plural(1, "epoch")`` -> '1 epoch', ``plural(3, "epoch")`` -> '3 epochs': never '1 epochs'."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"
