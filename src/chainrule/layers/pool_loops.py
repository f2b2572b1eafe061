"""Max pooling as compiled loops over NumPy arrays: one pass forward, one pass backward.

The array formulation in :class:`~chainrule.layers.conv.Pooling` (an element-wise maximum per
window offset, then the winners found again by comparing) is the reference, and what CuPy runs.
On NumPy it walks strided views of the input 4 times forward and about 20 times backward for a
2x2 window; these loops read each element once and remember which one won.

Same results as the array path: the winner is the first maximum in row-major order (as in
PyTorch); a window holding a NaN outputs NaN (``np.maximum`` propagates it) and passes no
gradient, since NaN equals nothing. Where windows do not overlap, gradients are bit-identical;
where they overlap, an element's contributions are summed in another order.

How the loops are made fast (SimpleConvNet's pooling, batch 100, float32; round 3 figures are
minima of interleaved runs on one thread of a busy machine):

- Each window geometry gets its own kernel, with ``pool_h``, ``pool_w`` and ``stride`` as
  compile-time constants: LLVM unrolls the window and turns the comparisons into selects (with
  run-time sizes they stayed branches, which random data mispredicts: 8.9 ms forward).
- The forward loop finds the maximum and its winner in one pass (a later element takes over
  only if strictly greater) and checks for NaN, which ``>`` ignores, once per output row; a row
  holding one is redone with ``np.maximum``'s rule. The loop then vectorises: float32 1.5 -> 0.7 ms
  (float64 1.6 -> 1.7 ms).
- Where the windows tile the image (``stride == pool_h == pool_w``), float32 backward writes
  each one whole, ``dout`` at the winner and 0 around it, instead of zero-filling and
  scattering: 1.2 -> 0.6 ms (float64 keeps zeros plus a scatter, which ran faster there).
- The loops see C-contiguous arrays only: numba cannot vectorise over strides it does not know
  (the backward loop ran 1.0 -> 5-14 ms on a transposed ``dout``). The input may be
  channel-major, as a convolution leaves it, and gets its gradient in that order; the pooled
  output is always sample by sample, so the ReLU after it, its mask, the affine layer's
  reshape and the gradient coming back run on contiguous arrays (those, with the pooling,
  forward and backward: 2.8 -> 2.5 ms).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import jit

__all__ = ["max_pool_backward", "max_pool_forward"]

Kernels = tuple[Callable[..., None], Callable[..., None], Callable[..., None]]
_kernels: dict[tuple[int, int, int], Kernels] = {}


def winner_dtype(pool_h: int, pool_w: int) -> type:
    """Index of the winning element within its window; ``pool_h * pool_w`` means "none" (NaN)."""
    return np.uint8 if pool_h * pool_w < 255 else np.int32


def max_pool_forward(x: np.ndarray, pool_h: int, pool_w: int, stride: int, out_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(out, winner)`` for the (already padded) ``x`` ``(N, C, H, W)``: the max of each window and where it was.

    The loop reads ``x`` in its memory order (sample by sample, or channel by channel as a
    convolution's output is) and writes both results sample by sample (C-contiguous), the
    order that a ReLU after it and an affine layer's reshape read without a copy.
    """
    forward, _, _ = _compiled(pool_h, pool_w, stride)
    channel_major = _is_channel_major(x)
    shape = (*x.shape[:2], *out_hw)
    out, winner = np.empty(shape, dtype=x.dtype), np.empty(shape, dtype=winner_dtype(pool_h, pool_w))
    forward(_in_memory_order(x, channel_major), out, winner, channel_major)
    return out, winner


def max_pool_backward(dout: np.ndarray, winner: np.ndarray, pool_h: int, pool_w: int, stride: int, like: np.ndarray) -> np.ndarray:
    """The gradient for the padded input ``like``: each window's ``dout`` added at its winner, 0 elsewhere.

    The result has ``like``'s memory order (sample or channel major), so a layer that produced
    ``x`` in its own order gets its gradient back in that order.
    """
    _, scatter_add, tile = _compiled(pool_h, pool_w, stride)
    channel_major = _is_channel_major(like)
    shape = (like.shape[1], like.shape[0], *like.shape[2:]) if channel_major else like.shape
    dout, winner = np.ascontiguousarray(dout), np.ascontiguousarray(winner)
    if stride == pool_h == pool_w and dout.dtype == np.float32:
        # The windows tile the image: every element is written once, no zero-filling pass.
        # (In float64 these interleaved writes ran slower than zeros plus a scatter: 5.0 vs 2.3 ms.)
        dx = np.empty(shape, dtype=dout.dtype)
        tile(dout, winner, dx, channel_major)
        covered_h, covered_w = dout.shape[2] * stride, dout.shape[3] * stride
        dx[:, :, covered_h:] = 0  # the rows and columns no window reaches
        dx[:, :, :covered_h, covered_w:] = 0
    else:
        dx = np.zeros(shape, dtype=dout.dtype)
        scatter_add(dout, winner, dx, channel_major)
    return dx.transpose(1, 0, 2, 3) if channel_major else dx


def _is_channel_major(a: np.ndarray) -> bool:
    """Whether ``a`` ``(N, C, H, W)`` is stored channel by channel, as a convolution's output is."""
    return a.strides[0] < a.strides[1]


def _in_memory_order(a: np.ndarray, channel_major: bool) -> np.ndarray:
    """``a`` as a C-contiguous array, ``(C, N, H, W)`` when channel-major (no copy when ``a`` is dense)."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3) if channel_major else a)


def _compiled(pool_h: int, pool_w: int, stride: int) -> Kernels:
    key = (pool_h, pool_w, stride)
    kernels = _kernels.get(key)
    if kernels is None:
        kernels = _kernels[key] = _compile(pool_h, pool_w, stride)
    return kernels


def _compile(pool_h: int, pool_w: int, stride: int) -> Kernels:
    numba = jit.numba_module()
    none = pool_h * pool_w  # no winner: the window's maximum is NaN

    @numba.njit(nogil=True, error_model="numpy")
    def first_maximum(image, top, left):  # type: ignore[no-untyped-def]
        """The window's maximum as ``np.maximum`` finds it (NaN wins) and the first element equal to it."""
        best = image[top, left]
        for i in range(pool_h):
            for j in range(pool_w):
                best = np.maximum(best, image[top + i, left + j])
        k, found = 0, False  # k counts the elements before the first one equal to the maximum
        for i in range(pool_h):
            for j in range(pool_w):
                found |= image[top + i, left + j] == best
                k += not found
        return best, k

    @numba.njit(nogil=True, error_model="numpy")
    def forward(x, out, winner, channel_major):  # type: ignore[no-untyped-def]
        # x is (A, B, H, W) in memory order; out and winner are (N, C, PH, PW).
        for a in range(x.shape[0]):
            for b in range(x.shape[1]):
                n, c = (b, a) if channel_major else (a, b)
                image = x[a, b]
                for y in range(out.shape[2]):
                    top, unordered = y * stride, False
                    for x_ in range(out.shape[3]):
                        left = x_ * stride
                        # One pass: a later element takes over only if strictly greater, so the first
                        # maximum (row-major) wins, as np.maximum keeps its first argument on ties.
                        best, k, total = image[top, left], 0, image[top, left]
                        for i in range(pool_h):
                            for j in range(pool_w):
                                value = image[top + i, left + j]
                                total += value
                                takes_over = value > best
                                best = value if takes_over else best
                                k = i * pool_w + j if takes_over else k
                        unordered |= total != total  # a NaN (or inf - inf) in the window
                        out[n, c, y, x_] = best
                        winner[n, c, y, x_] = k
                    if unordered:  # '>' ignores NaN where np.maximum keeps it: redo the row exactly
                        for x_ in range(out.shape[3]):
                            out[n, c, y, x_], winner[n, c, y, x_] = first_maximum(image, top, x_ * stride)

    @numba.njit(nogil=True, error_model="numpy")
    def scatter_add(dout, winner, dx, channel_major):  # type: ignore[no-untyped-def]
        """Overlapping (or gapped) windows: add each window's gradient at its winner, into zeros."""
        for a in range(dx.shape[0]):
            for b in range(dx.shape[1]):
                n, c = (b, a) if channel_major else (a, b)
                for y in range(dout.shape[2]):
                    for x_ in range(dout.shape[3]):
                        k = winner[n, c, y, x_]
                        if k < none:
                            dx[a, b, y * stride + k // pool_w, x_ * stride + k % pool_w] += dout[n, c, y, x_]

    @numba.njit(nogil=True, error_model="numpy")
    def tile(dout, winner, dx, channel_major):  # type: ignore[no-untyped-def]
        """Windows that tile the image: write each one whole, ``dout`` at the winner and 0 around it, row by row."""
        zero = dx.dtype.type(0)
        for a in range(dx.shape[0]):
            for b in range(dx.shape[1]):
                n, c = (b, a) if channel_major else (a, b)
                for y in range(dout.shape[2]):
                    for i in range(pool_h):
                        for x_ in range(dout.shape[3]):
                            k, grad = winner[n, c, y, x_], dout[n, c, y, x_]
                            for j in range(pool_w):
                                dx[a, b, y * stride + i, x_ * stride + j] = grad if k == i * pool_w + j else zero

    return forward, scatter_add, tile
