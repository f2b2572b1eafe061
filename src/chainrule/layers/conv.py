"""Convolution and pooling on image batches ``(N, C, H, W)``, by way of im2col.

im2col lays every receptive field of the input out as one column, so a convolution becomes a
single matrix product and its backward pass two more. Here the columns are a strided *view* of
the (padded) input, copied once into the layout the matrix product wants; no Python loop runs
over output pixels. col2im, the adjoint, adds each kernel offset's slice of the gradient back
into the image: a loop over the ``FH * FW`` offsets, as in the textbook, with plain slice adds.

Output sizes are floored, as in PyTorch: when ``(H + 2*pad - FH)`` is not a multiple of
``stride``, the last rows/columns that no window reaches are ignored in the forward pass and get
a zero gradient. (The textbook silently does the same; here it is a documented choice.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import jit
from ..backend import Array, array_module
from ..errors import ConfigError, ShapeError
from .affine import Affine
from .base import Layer, check_input_dtype, check_parameter_dtype
from .pool_loops import max_pool_backward, max_pool_forward


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """Output length along one axis: ``(input_size + 2*pad - filter_size) // stride + 1``."""
    return (input_size + 2 * pad - filter_size) // stride + 1


def _check_geometry(stride: Any, pad: Any, layer: str) -> None:
    if int(stride) != stride or stride < 1:
        raise ConfigError(f"{layer}: stride must be a positive integer, got {stride!r}")
    if int(pad) != pad or pad < 0:
        raise ConfigError(f"{layer}: pad must be a non-negative integer, got {pad!r}")


def _output_hw(x: Array, filter_h: int, filter_w: int, stride: int, pad: int, layer: str) -> tuple[int, int]:
    """``(OH, OW)`` for a 4-D ``x``, or a ShapeError naming ``layer`` when the window cannot fit."""
    check_input_dtype(layer, x)
    if getattr(x, "ndim", 0) != 4:
        raise ShapeError(f"{layer}.forward: expected a batch of images (N, C, H, W), got shape {getattr(x, 'shape', ())}")
    height, width = x.shape[2] + 2 * pad, x.shape[3] + 2 * pad
    if filter_h > height or filter_w > width:
        raise ShapeError(
            f"{layer}.forward: the {filter_h}x{filter_w} window is larger than the padded input "
            f"{height}x{width} (input {x.shape[2]}x{x.shape[3]} with pad={pad})"
        )
    return conv_output_size(x.shape[2], filter_h, stride, pad), conv_output_size(x.shape[3], filter_w, stride, pad)


def _pad(x: Array, pad: int, value: float = 0.0) -> Array:
    if pad == 0:
        return x
    xp = array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant", constant_values=value)


def _windows(padded: Array, filter_h: int, filter_w: int, stride: int, out_h: int, out_w: int) -> Array:
    """A read-only strided view ``(A, B, FH, FW, OH, OW)`` of ``padded`` ``(A, B, Hp, Wp)``.

    Element ``[a, b, i, j, y, x]`` is ``padded[a, b, y*stride + i, x*stride + j]``: no copy is made.
    ``as_strided`` (rather than NumPy's ``sliding_window_view``) exists in CuPy as well.
    """
    xp = array_module(padded)
    s_a, s_b, s_h, s_w = padded.strides
    return xp.lib.stride_tricks.as_strided(
        padded,
        shape=(*padded.shape[:2], filter_h, filter_w, out_h, out_w),
        strides=(s_a, s_b, s_h, s_w, s_h * stride, s_w * stride),
    )


def _fold(
    offset_grad: Callable[[int, int], Array],
    image_shape: tuple[int, ...],
    filter_hw: tuple[int, int],
    stride: int,
    out_hw: tuple[int, int],
    dtype: Any,
    xp: Any,
) -> Array:
    """The adjoint of :func:`_windows`: add each kernel offset's gradient back into an image.

    ``offset_grad(i, j)`` is the ``(A, B, OH, OW)`` gradient of the window elements at offset
    ``(i, j)``; it is added at ``image[:, :, i::stride, j::stride]``. Overlapping windows add
    up, which is why this is ``FH * FW`` slice adds and not a reshape. Returns the padded image.
    """
    (filter_h, filter_w), (out_h, out_w) = filter_hw, out_hw
    image = xp.zeros(image_shape, dtype=dtype)
    disjoint = stride >= filter_h and stride >= filter_w  # e.g. 2x2 pooling with stride 2
    for i in range(filter_h):
        rows = slice(i, i + stride * (out_h - 1) + 1, stride)
        for j in range(filter_w):
            target = (slice(None), slice(None), rows, slice(j, j + stride * (out_w - 1) + 1, stride))
            if disjoint:  # no two windows share an element: assigning is enough, and cheaper
                image[target] = offset_grad(i, j)
            else:
                image[target] += offset_grad(i, j)
    return image


def _unpad(image: Array, pad: int) -> Array:
    return image if pad == 0 else image[:, :, pad:-pad, pad:-pad]


def im2col(input_data: Array, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0) -> Array:
    """The textbook's im2col: ``(N, C, H, W)`` -> ``(N*OH*OW, C*FH*FW)``, one row per window."""
    _check_geometry(stride, pad, "im2col")
    out_h, out_w = _output_hw(input_data, filter_h, filter_w, stride, pad, "im2col")
    view = _windows(_pad(input_data, pad), filter_h, filter_w, stride, out_h, out_w)
    n = input_data.shape[0]
    return view.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, -1)


def col2im(col: Array, input_shape: tuple[int, ...], filter_h: int, filter_w: int, stride: int = 1, pad: int = 0) -> Array:
    """The adjoint of :func:`im2col`: sum each row's entries back where they came from in the image."""
    _check_geometry(stride, pad, "col2im")
    if len(input_shape) != 4:
        raise ShapeError(f"col2im: input_shape must be (N, C, H, W), got {tuple(input_shape)}")
    n, c, h, w = input_shape
    out_h, out_w = conv_output_size(h, filter_h, stride, pad), conv_output_size(w, filter_w, stride, pad)
    if tuple(col.shape) != (n * out_h * out_w, c * filter_h * filter_w):
        raise ShapeError(
            f"col2im: expected col of shape {(n * out_h * out_w, c * filter_h * filter_w)} for input "
            f"{tuple(input_shape)}, got {tuple(col.shape)}"
        )
    windows = col.reshape(n, out_h, out_w, c, filter_h, filter_w)
    padded = _fold(
        lambda i, j: windows[:, :, :, :, i, j].transpose(0, 3, 1, 2),
        (n, c, h + 2 * pad, w + 2 * pad),
        (filter_h, filter_w),
        stride,
        (out_h, out_w),
        col.dtype,
        array_module(col),
    )
    return _unpad(padded, pad)


class Convolution(Layer):
    """Cross-correlation of ``x`` ``(N, C, H, W)`` with filters ``W`` ``(FN, C, FH, FW)``, plus ``b`` ``(FN,)``.

    im2col lays the whole batch out as ``col``, ``(C*FH*FW + 1, N*OH*OW)``: one column per
    window, plus a last row of ones. The bias is then the weight of a constant input 1, as the
    book draws it for a neuron, and the layer is one matrix product, ``out = [W2 | b] @ col``
    with ``W2 = W.reshape(FN, -1)``. Backward is two: ``[dW2 | db] = dout2 @ col.T`` and
    ``dcol = W2.T @ dout2``, which col2im folds back into the image.

    The product's ``(FN, N*OH*OW)`` result is returned as an ``(N, FN, OH, OW)`` *view*, channel
    by channel in memory (the textbook's own transposed view is pixel by pixel); ``dout`` in that
    order, as max pooling and ReLU give it back, needs no copy. One product per pass instead of
    one per sample, and no separate bias pass: SimpleConvNet, batch 100, two cores, forward
    4.7 -> 3.2-3.9 ms, weight gradient 4.2 -> 2.4-3.4 ms (profiles on a noisy machine).
    """

    def __init__(self, W: Array, b: Array, stride: int = 1, pad: int = 0) -> None:
        super().__init__()
        if getattr(W, "ndim", 0) != 4:
            raise ShapeError(f"Convolution: W must be 4-D (FN, C, FH, FW), got shape {getattr(W, 'shape', ())}")
        if tuple(getattr(b, "shape", ())) != (W.shape[0],):
            raise ShapeError(
                f"Convolution: b must have shape ({W.shape[0]},) to match W of shape {W.shape}, "
                f"got {tuple(getattr(b, 'shape', ()))}"
            )
        _check_geometry(stride, pad, self.name)
        check_parameter_dtype(self.name, "W", W)
        check_parameter_dtype(self.name, "b", b)
        self.params["W"] = W
        self.params["b"] = b
        self.stride, self.pad = int(stride), int(pad)
        self.col: Array = None
        self.x_shape: tuple[int, ...] = ()
        self.out_hw: tuple[int, int] = (0, 0)

    # Textbook attribute names (.W, .b, .dW, .db): the same views of params/grads as Affine's.
    W, b, dW, db = Affine.W, Affine.b, Affine.dW, Affine.db

    def forward(self, x: Array) -> Array:
        W, b = self.params["W"], self.params["b"]
        filters, channels, filter_h, filter_w = W.shape
        out_h, out_w = _output_hw(x, filter_h, filter_w, self.stride, self.pad, self.name)
        if x.shape[1] != channels:
            raise ShapeError(
                f"{self.name}.forward: input has {x.shape[1]} channels but W of shape {W.shape} "
                f"expects {channels}; got x of shape {x.shape}"
            )
        n, rows = x.shape[0], channels * filter_h * filter_w
        xp = array_module(x)
        view = _windows(_pad(x, self.pad), filter_h, filter_w, self.stride, out_h, out_w)  # (N, C, FH, FW, OH, OW)
        col = xp.empty((rows + 1, n * out_h * out_w), dtype=xp.result_type(x, W))
        col[:rows].reshape(channels, filter_h, filter_w, n, out_h, out_w)[...] = view.transpose(1, 2, 3, 0, 4, 5)
        col[rows] = 1
        self.col, self.x_shape, self.out_hw = col, x.shape, (out_h, out_w)
        weights_and_bias = xp.concatenate([W.reshape(filters, rows), b.reshape(filters, 1)], axis=1)
        out = weights_and_bias @ col  # (FN, N*OH*OW)
        return out.reshape(filters, n, out_h, out_w).transpose(1, 0, 2, 3)

    def backward(self, dout: Array) -> Array:
        dout2 = self._param_grads(dout)
        W = self.params["W"]
        filters, channels, filter_h, filter_w = W.shape
        n, _, height, width = self.x_shape
        out_h, out_w = self.out_hw
        dcol = (W.reshape(filters, -1).T @ dout2).reshape(channels, filter_h, filter_w, n, out_h, out_w)
        padded = _fold(
            lambda i, j: dcol[:, i, j].transpose(1, 0, 2, 3),
            (n, channels, height + 2 * self.pad, width + 2 * self.pad),
            (filter_h, filter_w),
            self.stride,
            self.out_hw,
            dcol.dtype,
            array_module(dcol),
        )
        return _unpad(padded, self.pad)

    def backward_params(self, dout: Array) -> None:
        """``dW`` and ``db`` only: a network's first convolution skips the col2im of ``dx``."""
        self._param_grads(dout)

    def _param_grads(self, dout: Array) -> Array:
        """Fill ``grads`` and return ``dout`` as ``(FN, N*OH*OW)``, the layout both products use."""
        col = self._require_forward(self.col)
        W = self.params["W"]
        filters = W.shape[0]
        self._check_dout(dout, (self.x_shape[0], filters, *self.out_hw))
        xp = array_module(dout)
        dout2 = dout.transpose(1, 0, 2, 3).reshape(filters, -1)  # a copy only if dout is sample by sample
        weight_and_bias_grads = dout2 @ col.T  # (FN, C*FH*FW + 1); the last column is the ones row's: db
        self.grads["W"] = xp.ascontiguousarray(weight_and_bias_grads[:, :-1]).reshape(W.shape)
        self.grads["b"] = xp.ascontiguousarray(weight_and_bias_grads[:, -1])
        return dout2


class _Pool(Layer):
    """Shared geometry of the pooling layers: a ``pool_h x pool_w`` window moved by ``stride``.

    Both poolings loop over the ``pool_h * pool_w`` offsets of the window with whole-batch
    element-wise operations; for 2x2 pooling that is four passes, far cheaper than reducing a
    size-4 axis per window.
    """

    pad_value = 0.0

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        super().__init__()
        for label, size in (("pool_h", pool_h), ("pool_w", pool_w)):
            if int(size) != size or size < 1:
                raise ConfigError(f"{self.name}: {label} must be a positive integer, got {size!r}")
        _check_geometry(stride, pad, self.name)
        if pad >= min(pool_h, pool_w):
            # A window lying wholly in the padding would pool nothing but padding.
            raise ConfigError(f"{self.name}: pad must be smaller than the pool size {pool_h}x{pool_w}, got pad={pad}")
        self.pool_h, self.pool_w, self.stride, self.pad = int(pool_h), int(pool_w), int(stride), int(pad)
        self.x_shape: tuple[int, ...] | None = None
        self.out_shape: tuple[int, ...] = ()

    def __repr__(self) -> str:
        return f"{self.name}(pool={self.pool_h}x{self.pool_w}, stride={self.stride}, pad={self.pad})"

    def _window_view(self, x: Array) -> tuple[Array, Array]:
        """The padded ``x`` and its ``(N, C, PH, PW, OH, OW)`` window view; records the shapes backward needs."""
        out_h, out_w = _output_hw(x, self.pool_h, self.pool_w, self.stride, self.pad, self.name)
        self.x_shape, self.out_shape = x.shape, (*x.shape[:2], out_h, out_w)
        padded = _pad(x, self.pad, self.pad_value)
        return padded, _windows(padded, self.pool_h, self.pool_w, self.stride, out_h, out_w)

    def _offsets(self) -> list[tuple[int, int]]:
        return [(i, j) for i in range(self.pool_h) for j in range(self.pool_w)]

    def _fold(self, offset_grad: Callable[[int, int], Array], dtype: Any, xp: Any) -> Array:
        """Add per-offset gradients ``(N, C, OH, OW)`` back into an input-shaped gradient."""
        n, c, height, width = self._require_forward(self.x_shape)
        padded_shape = (n, c, height + 2 * self.pad, width + 2 * self.pad)
        pool_hw = (self.pool_h, self.pool_w)
        out_hw = (self.out_shape[2], self.out_shape[3])
        return _unpad(_fold(offset_grad, padded_shape, pool_hw, self.stride, out_hw, dtype, xp), self.pad)


class Pooling(_Pool):
    """Max pooling: ``out = max`` over each ``pool_h x pool_w`` window, per channel.

    Backward: each window's ``dout`` goes to the element that was the maximum (the first one in
    row-major order on ties, as in PyTorch); the others get 0. ``stride`` defaults to 1 as in the
    textbook's signature ``Pooling(pool_h, pool_w, stride=1, pad=0)``; the usual non-overlapping
    pooling is ``Pooling(2, 2, stride=2)``. Padding is ``-inf`` (the textbook pads with 0, which
    lets the padding win the max over negative inputs).

    Below is the array formulation, which CuPy runs; large NumPy inputs go through a compiled
    loop that gives the same numbers in one pass (:mod:`.pool_loops`, when numba is installed).
    """

    pad_value = float("-inf")

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        super().__init__(pool_h, pool_w, stride, pad)
        self.windows: Array = None
        self.out: Array = None
        self.winner: Array = None  # where each window's maximum was, when the compiled loop ran
        self._padded: Array = None  # the input it ran on (the gradient takes its memory layout)

    def forward(self, x: Array) -> Array:
        padded, windows = self._window_view(x)
        if jit.use_compiled(x) and x.dtype in (np.float32, np.float64):
            # The same maximum and winner in one compiled pass (pool_loops.py says why and how fast).
            self.out, self.winner = max_pool_forward(padded, self.pool_h, self.pool_w, self.stride, self.out_shape[2:])
            self.windows, self._padded = windows, padded
            return self.out
        xp = array_module(x)
        out = windows[:, :, 0, 0].copy()
        for i, j in self._offsets()[1:]:
            xp.maximum(out, windows[:, :, i, j], out=out)
        # Backward finds the winners again from these: cheaper than tracking an argmax here.
        self.windows, self.out, self.winner = windows, out, None
        return out

    def backward(self, dout: Array) -> Array:
        self._require_forward(self.out)
        self._check_dout(dout, self.out_shape)
        if self.winner is not None and type(dout) is np.ndarray and dout.dtype == self.out.dtype:
            dx = max_pool_backward(dout, self.winner, self.pool_h, self.pool_w, self.stride, self._padded)
            return _unpad(dx, self.pad)
        xp = array_module(dout)
        unclaimed = xp.ones(self.out_shape, dtype=bool)

        def winner_grad(i: int, j: int) -> Array:
            # The first element equal to the max claims the window's gradient; later ties get 0.
            is_winner = self.windows[:, :, i, j] == self.out
            is_winner &= unclaimed
            xp.logical_xor(unclaimed, is_winner, out=unclaimed)
            return dout * is_winner

        return self._fold(winner_grad, dout.dtype, xp)


class AvgPooling(_Pool):
    """Average pooling: ``out = mean`` over each window (zero padding counts, as in PyTorch's default).

    Backward: each window's ``dout / (pool_h * pool_w)`` is spread evenly over the window.
    Same signature and defaults as :class:`Pooling`.
    """

    def forward(self, x: Array) -> Array:
        _, windows = self._window_view(x)
        out = windows[:, :, 0, 0].copy()
        for i, j in self._offsets()[1:]:
            out += windows[:, :, i, j]
        out /= self.pool_h * self.pool_w
        return out

    def backward(self, dout: Array) -> Array:
        self._require_forward(self.x_shape)
        self._check_dout(dout, self.out_shape)
        share = dout / (self.pool_h * self.pool_w)
        return self._fold(lambda i, j: share, share.dtype, array_module(dout))
