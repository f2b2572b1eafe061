"""The shopping examples of :mod:`chainrule.demos`, built with the graph API and already run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import demos
from ..layers import AddLayer, MulLayer
from .core import Graph


def _inputs(graph: Graph, values: dict[str, Any]) -> Graph:
    for name, value in values.items():
        graph.input(name, value)
    return graph


def apple(number: Callable[[Any], Any] = float) -> Graph:
    """2 apples at 100, 10% tax: total 220 (the same numbers as ``chainrule.demos.apple``)."""
    g = _inputs(Graph("apple"), demos.apple(number).inputs)
    g.apply(MulLayer(), ["apple", "apple_num"], "apple_price", name="mul_apple")
    g.apply(MulLayer(), ["apple_price", "tax"], "total", name="mul_tax")
    g.forward()
    g.backward()
    return g


def apple_orange(number: Callable[[Any], Any] = float) -> Graph:
    """2 apples at 100 and 3 oranges at 150, 10% tax: total 715."""
    g = _inputs(Graph("apple-orange"), demos.apple_orange(number).inputs)
    g.apply(MulLayer(), ["apple", "apple_num"], "apple_price", name="mul_apple")
    g.apply(MulLayer(), ["orange", "orange_num"], "orange_price", name="mul_orange")
    g.apply(AddLayer(), ["apple_price", "orange_price"], "fruit_price", name="add_fruit")
    g.apply(MulLayer(), ["fruit_price", "tax"], "total", name="mul_tax")
    g.forward()
    g.backward()
    return g


EXAMPLES: dict[str, Callable[..., Graph]] = {"apple": apple, "apple-orange": apple_orange}
