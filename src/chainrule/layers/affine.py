"""The fully connected (affine) layer: ``out = x @ W + b``."""

from __future__ import annotations

from ..backend import Array
from ..errors import ShapeError
from .base import Layer, check_input_dtype, check_parameter_dtype


class Affine(Layer):
    """``out = x @ W + b`` for a batch ``x`` of shape ``(N, ...)`` (flattened to ``(N, D)``).

    Backward: ``dx = dout @ W.T`` (reshaped back to ``x``'s shape), ``dW = x.T @ dout``,
    ``db = dout.sum(axis=0)``. ``W`` and ``b`` live in ``params``; ``dW``/``db`` in ``grads``.
    The arrays passed in are used as they are (not copied), so a network and its layers can
    share them: updating ``W`` in place updates the layer.
    """

    def __init__(self, W: Array, b: Array) -> None:
        super().__init__()
        if getattr(W, "ndim", 0) != 2:
            raise ShapeError(f"Affine: W must be 2-D (in_features, out_features), got shape {getattr(W, 'shape', ())}")
        if tuple(getattr(b, "shape", ())) != (W.shape[1],):
            raise ShapeError(
                f"Affine: b must have shape ({W.shape[1]},) to match W of shape {W.shape}, "
                f"got {tuple(getattr(b, 'shape', ()))}"
            )
        check_parameter_dtype("Affine", "W", W)
        check_parameter_dtype("Affine", "b", b)
        self.params["W"] = W
        self.params["b"] = b
        self.x: Array = None
        self.original_x_shape: tuple[int, ...] | None = None

    # Textbook attribute names, kept as views of the dicts so both spellings stay in sync.
    @property
    def W(self) -> Array:
        return self.params["W"]

    @W.setter
    def W(self, value: Array) -> None:
        self.params["W"] = value

    @property
    def b(self) -> Array:
        return self.params["b"]

    @b.setter
    def b(self, value: Array) -> None:
        self.params["b"] = value

    @property
    def dW(self) -> Array | None:
        return self.grads.get("W")

    @property
    def db(self) -> Array | None:
        return self.grads.get("b")

    def forward(self, x: Array) -> Array:
        W, b = self.params["W"], self.params["b"]
        in_features = W.shape[0]
        check_input_dtype(self, x)
        if x.ndim == 0 or x.size != x.shape[0] * in_features:
            raise ShapeError(
                f"Affine.forward: expected a batch (N, ...) with {in_features} features per sample "
                f"to match W of shape {W.shape}, got x of shape {x.shape}"
            )
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], in_features)
        out = self.x @ W
        out += b
        return out

    def backward(self, dout: Array) -> Array:
        self.backward_params(dout)
        dx = dout @ self.params["W"].T
        return dx.reshape(self.original_x_shape)

    def backward_params(self, dout: Array) -> None:
        """``dW`` and ``db`` only; a network's first layer skips ``dx`` (a third of the work)."""
        self._require_forward(self.x)
        self._check_dout(dout, (self.x.shape[0], self.params["W"].shape[1]))
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
