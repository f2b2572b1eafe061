"""The shopping examples that open the backpropagation chapter, built from MulLayer and AddLayer.

Buying apples (and oranges) with consumption tax is a computational graph small enough to do by
hand: the forward pass gives the total, the backward pass tells how much the total moves per
unit change of every price, count and the tax rate. ``number`` chooses the arithmetic: ``float``
as in the book, or ``fractions.Fraction`` / ``decimal.Decimal`` to get the values exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .layers import AddLayer, MulLayer

Number = Any


@dataclass
class ShoppingResult:
    """The forward total and the gradient of the total with respect to each input, by name."""

    title: str
    inputs: dict[str, Number]
    total: Number
    gradients: dict[str, Number]


def _tax_rate(number: Callable[[Any], Number]) -> Number:
    # From the string: float("1.1") is the book's 1.1, while Fraction("1.1") and Decimal("1.1")
    # are exactly 11/10 (built from the float 1.1 they would carry its binary rounding error).
    return number("1.1")


def apple(number: Callable[[Any], Number] = float) -> ShoppingResult:
    """2 apples at 100 each, 10% tax: total 220; d/d(apple)=2.2, d/d(count)=110, d/d(tax)=200."""
    inputs = {"apple": number(100), "apple_num": number(2), "tax": _tax_rate(number)}
    mul_apple, mul_tax = MulLayer(), MulLayer()

    apple_price = mul_apple.forward(inputs["apple"], inputs["apple_num"])
    total = mul_tax.forward(apple_price, inputs["tax"])

    dapple_price, dtax = mul_tax.backward(number(1))
    dapple, dapple_num = mul_apple.backward(dapple_price)
    gradients = {"apple": dapple, "apple_num": dapple_num, "tax": dtax}
    return ShoppingResult("apple", inputs, total, gradients)


def apple_orange(number: Callable[[Any], Number] = float) -> ShoppingResult:
    """2 apples at 100 and 3 oranges at 150, 10% tax: total 715; gradients 2.2, 110, 3.3, 165, 650."""
    inputs = {
        "apple": number(100),
        "apple_num": number(2),
        "orange": number(150),
        "orange_num": number(3),
        "tax": _tax_rate(number),
    }
    mul_apple, mul_orange, add_fruit, mul_tax = MulLayer(), MulLayer(), AddLayer(), MulLayer()

    apple_price = mul_apple.forward(inputs["apple"], inputs["apple_num"])
    orange_price = mul_orange.forward(inputs["orange"], inputs["orange_num"])
    fruit_price = add_fruit.forward(apple_price, orange_price)
    total = mul_tax.forward(fruit_price, inputs["tax"])

    dfruit_price, dtax = mul_tax.backward(number(1))
    dapple_price, dorange_price = add_fruit.backward(dfruit_price)
    dorange, dorange_num = mul_orange.backward(dorange_price)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    gradients = {"apple": dapple, "apple_num": dapple_num, "orange": dorange, "orange_num": dorange_num, "tax": dtax}
    return ShoppingResult("apple-orange", inputs, total, gradients)


EXAMPLES: dict[str, Callable[..., ShoppingResult]] = {"apple": apple, "apple-orange": apple_orange}

