"""Loss layers over sequences: softmax cross-entropy per time step (with padding ignored) and
sigmoid cross-entropy per time step.

Both average over the counted ``N*T`` positions, so a loss is comparable across window lengths,
and both honour ``dout`` in backward, as the other loss layers do.
"""

from __future__ import annotations

from typing import Any

from ..backend import Array, array_module
from ..checks import check_not_empty
from ..errors import LabelError, ShapeError
from ..functions import sigmoid
from .base import check_input_dtype
from .losses import LossLayer


def sigmoid_cross_entropy(x: Array, t: Array) -> Array:
    """Element-wise ``-t log σ(x) - (1 - t) log(1 - σ(x))`` from the logits ``x``, without overflow.

    Written as ``max(x, 0) - x t + log(1 + exp(-|x|))``: exact, where the book's
    ``log(y + 1e-7)`` is offset by its guard constant. Its derivative in ``x`` is ``σ(x) - t``.
    """
    xp = array_module(x)
    return xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))


class TimeSoftmaxWithLoss(LossLayer):
    """Softmax cross-entropy at every time step, averaged over the positions whose label is not
    ``ignore_label`` (the book's ``-1``, used to pad sequences of different lengths).

    ``forward(xs, ts)``: scores ``(N, T, V)``; labels ``(N, T)`` or one-hot ``(N, T, V)``.
    Backward: ``dxs = dout * (softmax(xs) - onehot(ts)) / count``, zero at ignored positions.
    """

    def __init__(self, ignore_label: int = -1) -> None:
        super().__init__()
        self.ignore_label = ignore_label
        self.cache: tuple[Array, Array, Array, int] | None = None
        self.xs_shape: tuple[int, ...] = ()

    def _labels(self, xs: Array, ts: Any) -> Array:
        xp = array_module(xs)
        ts = xp.asarray(ts)
        if ts.shape == xs.shape:  # one-hot rows, as the book accepts
            return ts.argmax(axis=2)
        if ts.shape != xs.shape[:2]:
            raise LabelError(
                f"{self.name}.forward: expected labels of shape {xs.shape[:2]} or one-hot of shape {xs.shape}, got {ts.shape}"
            )
        if ts.dtype.kind not in "iu":
            raise LabelError(f"{self.name}.forward: labels must be integers, got dtype {ts.dtype}")
        V = xs.shape[2]
        counted = ts[ts != self.ignore_label]
        if counted.size and (int(counted.min()) < 0 or int(counted.max()) >= V):
            raise LabelError(
                f"{self.name}.forward: labels must lie in [0, {V - 1}] (or be the ignore label {self.ignore_label}), "
                f"got values from {int(counted.min())} to {int(counted.max())}"
            )
        return ts

    def forward(self, xs: Array, ts: Any) -> Array:
        xp = array_module(xs)
        check_input_dtype(self, xs, "xs")
        if getattr(xs, "ndim", 0) != 3:
            raise ShapeError(f"{self.name}.forward: expected scores of shape (N, T, V), got {getattr(xs, 'shape', ())}")
        check_not_empty(xs, f"{self.name}.forward", "xs")
        ts = self._labels(xs, ts)
        N, T, V = xs.shape
        self.xs_shape = xs.shape
        scores = xs.reshape(N * T, V)
        labels = ts.reshape(N * T)
        mask = labels != self.ignore_label
        labels = xp.where(mask, labels, 0)  # any valid index; the mask zeroes its term
        rows = xp.arange(N * T)
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        log_p = shifted[rows, labels] - xp.log(sums[:, 0])
        count = max(int(mask.sum()), 1)
        loss = -(log_p * mask).sum() / count
        self._require_finite(loss, xp)
        self.cache = (exp / sums, labels, mask, count)
        return loss

    def backward(self, dout: Any = 1) -> Array:
        y, labels, mask, count = self._require_forward(self.cache)
        self._check_scalar_dout(dout)
        xp = array_module(y)
        dx = y.copy()
        dx[xp.arange(y.shape[0]), labels] -= 1
        dx *= mask[:, None] * (dout / count)
        return dx.reshape(self.xs_shape)


class TimeSigmoidWithLoss(LossLayer):
    """Sigmoid cross-entropy at every time step: ``forward(xs, ts)`` with logits and 0/1 targets
    ``(N, T)``; the loss is the mean over the ``N*T`` positions.

    Backward: ``dxs = dout * (σ(xs) - ts) / (N*T)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cache: tuple[Array, Array] | None = None

    def forward(self, xs: Array, ts: Any) -> Array:
        xp = array_module(xs)
        check_input_dtype(self, xs, "xs")
        ts = xp.asarray(ts)
        check_input_dtype(self, ts, "ts")
        if getattr(xs, "ndim", 0) != 2 or ts.shape != xs.shape:
            raise ShapeError(
                f"{self.name}.forward: expected logits (N, T) and targets of the same shape, got {getattr(xs, 'shape', ())} and {ts.shape}"
            )
        if ts.size and (bool((ts < 0).any()) or bool((ts > 1).any())):
            raise LabelError(f"{self.name}.forward: targets must lie in [0, 1], got values from {float(ts.min())} to {float(ts.max())}")
        if xs.dtype.kind == "f":  # integer 0/1 targets would promote float32 logits to float64
            ts = ts.astype(xs.dtype)
        check_not_empty(xs, f"{self.name}.forward", "xs")
        loss = sigmoid_cross_entropy(xs, ts).sum() / xs.size
        self._require_finite(loss, xp)
        self.cache = (sigmoid(xs), ts)
        return loss

    def backward(self, dout: Any = 1) -> Array:
        y, ts = self._require_forward(self.cache)
        self._check_scalar_dout(dout)
        return (y - ts) * (dout / y.size)
