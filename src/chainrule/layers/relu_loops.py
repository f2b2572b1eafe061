"""ReLU as compiled loops over NumPy arrays: the output and the mask in one pass, the gradient in one.

The array formulation in :class:`~chainrule.layers.activations.Relu` (``mask = x <= 0``,
``np.maximum(x, 0)``, then ``dout * ~mask``) is the reference, and what CuPy runs. On NumPy it
is slower than its memory traffic explains: NumPy 2.4 does not vectorise ``np.maximum`` against a
scalar (256x1024 float32: 0.14 ms against a scalar, 0.05 ms against an array of zeros), the
forward pass reads ``x`` twice, and the backward pass first negates the mask into a new array,
then multiplies by it as a number. These loops read each element once (round 3, one thread,
median of 300; forward, then backward):

============================  ==================  ==================
shape, dtype                  array formulation   compiled loops
============================  ==================  ==================
256x1024, float32             0.249 / 0.102 ms    0.049 / 0.038 ms
100x30x12x12, float32         0.436 / 0.175 ms    0.086 / 0.068 ms
256x1024, float64             0.154 / 0.175 ms    0.093 / 0.089 ms
============================  ==================  ==================

Same numbers, bit for bit, as the array formulation: NaN passes forward (``x <= 0`` is false
for it, as ``np.maximum`` propagates it), ``-0.0`` becomes ``0.0`` as ``np.maximum`` makes it,
and a masked gradient is ``dout * 0`` (so NaN or inf there gives NaN, and a negative one
``-0.0``), exactly what the product with the mask computes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import jit

__all__ = ["relu_backward", "relu_forward"]

_kernels: tuple[Callable[..., None], Callable[..., None]] | None = None


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(max(x, 0), x <= 0)`` for a C-contiguous float array ``x``, in one pass."""
    forward, _ = _compiled()
    out, mask = np.empty_like(x), np.empty(x.shape, dtype=bool)
    forward(x.reshape(-1), out.reshape(-1), mask.reshape(-1))
    return out, mask


def relu_backward(dout: np.ndarray, mask: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """``dout * ~mask`` written into ``dx`` (all three C-contiguous, ``dx`` of ``dout``'s dtype), in one pass."""
    _, backward = _compiled()
    backward(dout.reshape(-1), mask.reshape(-1), dx.reshape(-1))
    return dx


def _compiled() -> tuple[Callable[..., None], Callable[..., None]]:
    global _kernels
    if _kernels is None:
        _kernels = _compile()
    return _kernels


def _compile() -> tuple[Callable[..., None], Callable[..., None]]:
    numba = jit.numba_module()

    @numba.njit(nogil=True, error_model="numpy")
    def forward(x, out, mask):  # type: ignore[no-untyped-def]
        zero = out.dtype.type(0)
        for i in range(x.size):
            value = x[i]
            masked = value <= 0  # false for NaN, which passes through as np.maximum passes it
            mask[i] = masked
            out[i] = zero if masked else value

    @numba.njit(nogil=True, error_model="numpy")
    def backward(dout, mask, dx):  # type: ignore[no-untyped-def]
        zero = dx.dtype.type(0)
        for i in range(dout.size):
            grad = dout[i]
            dx[i] = grad * zero if mask[i] else grad  # dout * 0 or dout * 1, as the product with ~mask

    return forward, backward
