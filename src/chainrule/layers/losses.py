"""Output layers: softmax, and the loss layers that end a network's forward pass.

A loss layer's ``forward(x, t)`` returns a scalar; its ``backward(dout=1)`` starts the backward
pass. ``dout`` is honoured (the textbook ignores it), so a loss can be scaled or summed with
others and still differentiate correctly.
"""

from __future__ import annotations

from typing import Any

from ..backend import Array, array_module
from ..checks import check_not_empty
from ..errors import NonFiniteError, ShapeError
from ..functions import softmax
from ..targets import check_targets
from .base import Layer, check_input_dtype


class Softmax(Layer):
    """``y = softmax(x)`` over the last axis. Backward: ``dx = y * (dout - sum(dout * y))``."""

    def __init__(self) -> None:
        super().__init__()
        self.out: Array = None

    def forward(self, x: Array) -> Array:
        check_input_dtype(self, x)
        self.out = softmax(x)
        return self.out

    def backward(self, dout: Array) -> Array:
        self._require_forward(self.out)
        self._check_dout(dout, self.out.shape)
        y = self.out
        return y * (dout - (dout * y).sum(axis=-1, keepdims=True))


class LossLayer(Layer):
    """Marker base class: ``forward(x, t) -> scalar``, ``backward(dout=1) -> dx``."""

    def _check_scalar_dout(self, dout: Any) -> None:
        check_input_dtype(self, dout, "dout", "backward", numbers_too=True)
        if getattr(dout, "ndim", 0) != 0:
            raise ShapeError(
                f"{self.name}.backward: dout is the gradient of a scalar loss and must be a scalar, "
                f"got shape {dout.shape}"
            )

    def _require_finite(self, loss: Any, xp: Any) -> None:
        if not bool(xp.isfinite(loss)):
            raise NonFiniteError(
                f"{self.name}.forward: the loss is {float(loss)}; the input holds NaN or inf "
                "(a diverging network: try a smaller learning rate)"
            )


def _as_batch(x: Array, layer: str) -> Array:
    """A 1-D score vector is one sample, as in the textbook; anything else must be (N, C)."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    if x.ndim != 2:
        raise ShapeError(f"{layer}.forward: expected scores of shape (N, classes), got {x.shape}")
    return x


class SoftmaxWithLoss(LossLayer):
    """Softmax followed by mean cross-entropy over the batch, fused so backward is simple.

    ``forward(x, t)``: ``t`` is integer labels ``(N,)`` or one-hot rows ``(N, C)``.
    Backward: ``dx = dout * (softmax(x) - t) / N``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.loss: Array = None
        self.y: Array = None
        self.t: Array = None
        self._labels = True
        self._x_shape: tuple[int, ...] = ()

    def forward(self, x: Array, t: Any) -> Array:
        xp = array_module(x)
        check_input_dtype(self, x)
        check_not_empty(x, f"{self.name}.forward")
        self._x_shape = x.shape
        x = _as_batch(x, self.name)
        self.t, self._labels = check_targets(x, t, self.name)
        n = x.shape[0]
        # Classes along the first axis, as the textbook's softmax has them: the reductions over
        # a few classes then run across the whole batch at once (100x10: 21 -> 12 us a call).
        scores = xp.ascontiguousarray(x.T)
        shifted = scores - scores.max(axis=0)  # log-softmax = shifted - log(sum(exp(shifted)))
        exp = xp.exp(shifted)
        sums = exp.sum(axis=0)
        if self._labels:
            picked = (shifted[self.t, xp.arange(n)] - xp.log(sums)).sum()  # per sample, then summed
        else:
            picked = (self.t.T * (shifted - xp.log(sums))).sum()
        self.loss = -picked / max(n, 1)
        self._require_finite(self.loss, xp)
        exp /= sums
        self.y = exp.T  # softmax(x), (N, C)
        return self.loss

    def backward(self, dout: Any = 1) -> Array:
        self._require_forward(self.y)
        self._check_scalar_dout(dout)
        xp = array_module(self.y)
        n = self.y.shape[0]
        dx = self.y.copy()
        if self._labels:
            dx[xp.arange(n), self.t] -= 1
        else:
            dx -= self.t
        dx *= dout / max(n, 1)
        return dx.reshape(self._x_shape)


class MeanSquaredError(LossLayer):
    """``loss = 0.5 * sum((y - t)**2) / N`` (mean over the batch). Backward: ``dout * (y - t) / N``."""

    def __init__(self) -> None:
        super().__init__()
        self.diff: Array = None

    def forward(self, y: Array, t: Any) -> Array:
        xp = array_module(y)
        t = xp.asarray(t)
        check_input_dtype(self, y, "y")
        check_input_dtype(self, t, "t")
        if t.shape != y.shape:
            raise ShapeError(f"{self.name}.forward: targets must have the shape of y {y.shape}, got {t.shape}")
        check_not_empty(y, f"{self.name}.forward", "y")
        self.diff = y - t
        n = y.shape[0] if y.ndim else 1
        loss = 0.5 * (self.diff * self.diff).sum() / max(n, 1)
        self._require_finite(loss, xp)
        return loss

    def backward(self, dout: Any = 1) -> Array:
        self._require_forward(self.diff)
        self._check_scalar_dout(dout)
        n = self.diff.shape[0] if self.diff.ndim else 1
        return self.diff * (dout / max(n, 1))
