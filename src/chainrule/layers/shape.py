"""Layers that only rearrange their input: ``Flatten``."""

from __future__ import annotations

import math

from ..backend import Array
from ..errors import ShapeError
from .base import Layer, check_input_dtype


class Flatten(Layer):
    """``(N, ...)`` -> ``(N, -1)``: one row per sample. Backward reshapes ``dout`` back to ``x``'s shape."""

    def __init__(self) -> None:
        super().__init__()
        self.x_shape: tuple[int, ...] | None = None

    def forward(self, x: Array) -> Array:
        check_input_dtype(self, x)
        if getattr(x, "ndim", 0) < 1:
            raise ShapeError(f"{self.name}.forward: expected a batch (N, ...), got shape {getattr(x, 'shape', ())}")
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: Array) -> Array:
        x_shape = self._require_forward(self.x_shape)
        self._check_dout(dout, (x_shape[0], math.prod(x_shape[1:])))
        return dout.reshape(x_shape)

