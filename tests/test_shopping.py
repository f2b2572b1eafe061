"""The shopping graphs: exact values in exact arithmetic, and the book's floats."""

from __future__ import annotations

from fractions import Fraction

import pytest

from chainrule.demos import apple, apple_orange
from chainrule.number_format import format_number

APPLE = {"total": 220, "apple": Fraction(11, 5), "apple_num": 110, "tax": 200}
APPLE_ORANGE = {
    "total": 715,
    "apple": Fraction(11, 5),
    "apple_num": 110,
    "orange": Fraction(33, 10),
    "orange_num": 165,
    "tax": 650,
}


@pytest.mark.parametrize("example, expected", [(apple, APPLE), (apple_orange, APPLE_ORANGE)])
def test_exact_values(example, expected):
    result = example(Fraction)
    assert result.total == expected["total"]
    assert result.gradients == {k: v for k, v in expected.items() if k != "total"}


@pytest.mark.parametrize("example, expected", [(apple, APPLE), (apple_orange, APPLE_ORANGE)])
def test_float_values_are_the_exact_ones_rounded(example, expected):
    result = example(float)
    assert result.total == pytest.approx(float(expected["total"]), rel=1e-15)
    for name, value in result.gradients.items():
        assert value == pytest.approx(float(expected[name]), rel=1e-15), name


def test_the_widely_copied_wrong_values_are_not_ours():
    """Blog copies print 3 and 250 for d/d(orange) and d/d(orange_num)... no: they are 3.3 and 165."""
    grads = apple_orange(Fraction).gradients
    assert grads["orange"] != 3 and grads["tax"] != 250


@pytest.mark.parametrize(
    "value, text",
    [(715.0000000000001, "715.0"), (110.00000000000001, "110.0"), (2.2, "2.2"), (Fraction(33, 10), "3.3"), (650, "650.0")],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_decimal_arithmetic_is_exact_too():
    from decimal import Decimal

    result = apple_orange(Decimal)
    assert result.total == 715
    assert result.gradients == {"apple": Decimal("2.2"), "apple_num": 110, "orange": Decimal("3.3"),
                                "orange_num": 165, "tax": 650}
