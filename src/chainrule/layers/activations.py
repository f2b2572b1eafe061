"""Element-wise activation layers: ReLU, leaky ReLU, sigmoid and tanh.

Each caches the least its derivative needs (ReLU a mask, sigmoid and tanh their output) and
returns a fresh array from ``backward``; the caller's ``dout`` is never written into.
"""

from __future__ import annotations

import numpy as np

from .. import jit
from ..backend import Array, array_module
from ..errors import ConfigError
from ..functions import sigmoid
from .base import Layer, check_input_dtype
from .relu_loops import relu_backward, relu_forward

_COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Relu(Layer):
    """``out = max(x, 0)``. Backward: ``dx = dout * (x > 0)`` (``mask`` is ``x <= 0``, as in the book).

    ``maximum`` and a product with the mask rather than ``where``, which NumPy runs 8-11x slower
    on a mask of random signs (256x1024 float32: forward 0.99 -> 0.12 ms, backward 0.97 ->
    0.09 ms). The one difference: NaN or inf in ``dout`` where ``x <= 0`` gives NaN, not 0.
    Large contiguous float arrays on NumPy run the same formulas as compiled loops, one pass
    each way and the same numbers bit for bit (:mod:`~chainrule.layers.relu_loops` says why).

    ``backward`` writes ``dx`` into a buffer this layer owns and reuses from step to step (a
    fresh megabyte-sized array per step costs page faults): the returned array is valid until
    this layer's next ``backward``; copy it to keep it longer. The caller's ``dout`` is only read.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mask: Array = None
        self._grad_buffer: Array = None

    def forward(self, x: Array) -> Array:
        check_input_dtype(self, x, numbers_too=True)
        if _compiles(x):
            out, self.mask = relu_forward(x)
            return out
        xp = array_module(x)
        x = xp.asarray(x)  # a Python number becomes a 0-d array, so ~mask is a logical not
        self.mask = x <= 0
        return xp.maximum(x, 0)

    def backward(self, dout: Array) -> Array:
        mask = self._require_forward(self.mask)
        self._check_dout(dout, mask.shape)
        xp = array_module(dout)
        dtype, buffer = xp.result_type(dout, mask), self._grad_buffer
        if buffer is None or buffer.shape != mask.shape or buffer.dtype != dtype or array_module(buffer) is not xp:
            buffer = self._grad_buffer = xp.empty_like(mask, dtype=dtype)  # x's memory order
        if dtype == dout.dtype and _compiles(dout, mask, buffer):
            return relu_backward(dout, mask, buffer)
        return xp.multiply(dout, ~mask, out=buffer)


def _compiles(first: Array, *others: Array) -> bool:
    """Whether ReLU's compiled loops take these arrays: large, C-contiguous, NumPy, float32 or float64."""
    return (
        jit.use_compiled(first, *others)
        and first.dtype in _COMPILED_DTYPES
        and all(a.flags.c_contiguous for a in (first, *others))
    )


class LeakyRelu(Layer):
    """``out = x`` for ``x > 0``, else ``alpha * x``. Backward: ``dx = dout * (1 or alpha)``."""

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        if not 0 <= alpha < 1:
            raise ConfigError(f"LeakyRelu: alpha must be in [0, 1), got {alpha}")
        self.alpha = alpha
        self.mask: Array = None

    def forward(self, x: Array) -> Array:
        check_input_dtype(self, x, numbers_too=True)
        xp = array_module(x)
        x = xp.asarray(x)
        self.mask = x <= 0
        return xp.where(self.mask, self.alpha * x, x)

    def backward(self, dout: Array) -> Array:
        self._require_forward(self.mask)
        self._check_dout(dout, self.mask.shape)
        return array_module(dout).where(self.mask, self.alpha * dout, dout)


class Sigmoid(Layer):
    """``out = 1 / (1 + exp(-x))``. Backward from the cached output: ``dx = dout * out * (1 - out)``."""

    def __init__(self) -> None:
        super().__init__()
        self.out: Array = None

    def forward(self, x: Array) -> Array:
        check_input_dtype(self, x, numbers_too=True)
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: Array) -> Array:
        self._require_forward(self.out)
        self._check_dout(dout, self.out.shape)
        return dout * (1.0 - self.out) * self.out


class Tanh(Layer):
    """``out = tanh(x)``. Backward from the cached output: ``dx = dout * (1 - out**2)``."""

    def __init__(self) -> None:
        super().__init__()
        self.out: Array = None

    def forward(self, x: Array) -> Array:
        check_input_dtype(self, x, numbers_too=True)
        self.out = array_module(x).tanh(x)
        return self.out

    def backward(self, dout: Array) -> Array:
        self._require_forward(self.out)
        self._check_dout(dout, self.out.shape)
        return dout * (1.0 - self.out * self.out)
