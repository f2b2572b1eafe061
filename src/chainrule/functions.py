"""Pure array functions the layers are built from (the textbook's ``common/functions.py``).

All are numerically stable and work on NumPy or CuPy arrays alike; none modifies its input.
"""

from __future__ import annotations

from .backend import Array, array_module
from .checks import check_array_or_number, check_not_empty
from .errors import ShapeError
from .targets import check_targets


def sigmoid(x: Array) -> Array:
    """``1 / (1 + exp(-x))`` without overflow: ``exp`` only ever sees ``-|x|``."""
    check_array_or_number("sigmoid", x, method=None, accepted=(int, float))
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def log_softmax(x: Array) -> Array:
    """``log(softmax(x))`` over the last axis, shifted by the row maximum so ``exp`` cannot overflow."""
    check_array_or_number("log_softmax", x, method=None, accepted=())
    xp = array_module(x)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(x: Array) -> Array:
    """``exp(x) / sum(exp(x))`` over the last axis, computed on ``x - max(x)`` for stability."""
    check_array_or_number("softmax", x, method=None, accepted=())
    xp = array_module(x)
    e = xp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy_error(y: Array, t: Array) -> Array:
    """Mean cross-entropy of probabilities ``y`` against labels or one-hot ``t`` (textbook form).

    Kept for learners following the book; the loss layers use :func:`log_softmax` instead of
    ``log(y + 1e-7)`` so their value is exact rather than offset by the guard constant.
    """
    check_array_or_number("cross_entropy_error", y, "y", method=None, accepted=())
    check_not_empty(y, "cross_entropy_error", "y")
    xp = array_module(y)
    t = xp.asarray(t)
    if y.ndim == 1:
        y, t = y.reshape(1, -1), (t.reshape(1, -1) if t.shape == y.shape else t)
    if y.ndim != 2:
        raise ShapeError(f"cross_entropy_error: expected y of shape (N, classes), got {y.shape}")
    t, labels = check_targets(y, t, "cross_entropy_error")
    if not labels:
        t = t.argmax(axis=1)
    n = y.shape[0]
    return -xp.log(y[xp.arange(n), t] + 1e-7).sum() / max(n, 1)


def mean_squared_error(y: Array, t: Array) -> Array:
    """``0.5 * sum((y - t)**2)``: the textbook's sum-of-squares error (not averaged)."""
    check_array_or_number("mean_squared_error", y, "y", method=None, accepted=())
    check_array_or_number("mean_squared_error", t, "t", method=None, accepted=())
    check_not_empty(y, "mean_squared_error", "y")
    y_shape, t_shape = getattr(y, "shape", ()), getattr(t, "shape", ())
    if tuple(y_shape) != tuple(t_shape):  # broadcasting would sum a different, larger error
        raise ShapeError(f"mean_squared_error: t must have the shape of y {tuple(y_shape)}, got {tuple(t_shape)}")
    return 0.5 * ((y - t) ** 2).sum()
