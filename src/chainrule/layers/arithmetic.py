"""The multiplication and addition nodes of the shopping-example computational graphs.

They work on Python numbers (``float``, ``Fraction``, ``Decimal``) as well as arrays, so the
textbook examples run exactly as printed and can also be checked in exact arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from .base import Layer, check_array_or_number, unbroadcast


def _shape(value: Any) -> tuple[int, ...]:
    """A Python number (``float``, ``Fraction``, ``Decimal``) is a scalar: shape ``()``."""
    return tuple(getattr(value, "shape", ()))


def _output_shape(layer: Layer, x: Any, y: Any) -> tuple[int, ...]:
    """The shape ``x op y`` broadcasts to, or an error naming the layer: a list, which ``+`` would
    concatenate and ``*`` repeat, or two shapes that do not broadcast."""
    check_array_or_number(layer, x, "x")
    check_array_or_number(layer, y, "y")
    x_shape, y_shape = _shape(x), _shape(y)
    try:
        return tuple(np.broadcast_shapes(x_shape, y_shape))
    except ValueError:
        raise ShapeError(
            f"{layer.name}.forward: x of shape {x_shape} and y of shape {y_shape} do not broadcast together"
        ) from None


class MulLayer(Layer):
    """``out = x * y``. Backward swaps the inputs: ``dx = dout * y``, ``dy = dout * x``."""

    def __init__(self) -> None:
        super().__init__()
        self.x: Any = None
        self.y: Any = None
        self.out_shape: tuple[int, ...] | None = None

    def forward(self, x: Any, y: Any) -> Any:
        self.out_shape = _output_shape(self, x, y)
        self.x, self.y = x, y
        return x * y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        # A dout of another shape would broadcast into gradients of the wrong size or sum.
        self._check_dout(dout, self._require_forward(self.out_shape), real=False)
        dx = unbroadcast(dout * self.y, _shape(self.x))
        dy = unbroadcast(dout * self.x, _shape(self.y))
        return dx, dy


class AddLayer(Layer):
    """``out = x + y``. Backward passes ``dout`` unchanged to both inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.x_shape: tuple[int, ...] | None = None
        self.y_shape: tuple[int, ...] = ()
        self.out_shape: tuple[int, ...] = ()

    def forward(self, x: Any, y: Any) -> Any:
        self.out_shape = _output_shape(self, x, y)
        self.x_shape, self.y_shape = _shape(x), _shape(y)
        return x + y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        x_shape = self._require_forward(self.x_shape)
        self._check_dout(dout, self.out_shape, real=False)
        # `dout * 1` gives each input its own gradient object, never an alias of dout.
        dx = unbroadcast(dout * 1, x_shape)
        dy = unbroadcast(dout * 1, self.y_shape)
        return dx, dy
