"""Attention: a decoder state looks back over the encoder's hidden states and takes a weighted
average of them, the weights saying where to look.

For encoder states ``hs`` (N, T, H) and one decoder state ``h`` (N, H)::

    a = softmax_t(hs[:, t] · h)        (N, T)   -- AttentionWeight
    c = Σ_t a[:, t] hs[:, t]           (N, H)   -- WeightSum

:class:`Attention` is the two in a row; :class:`TimeAttention` does it for every decoder step
at once, as batched matrix products.
"""

from __future__ import annotations

from ..backend import Array
from ..errors import ShapeError
from ..functions import softmax
from .base import Layer, check_input_dtype


def _softmax_backward(a: Array, da: Array) -> Array:
    """``ds = a ⊙ (da - Σ da ⊙ a)`` over the last axis: the softmax's Jacobian times ``da``."""
    return a * (da - (da * a).sum(axis=-1, keepdims=True))


def _check_states(layer: Layer, hs: Array, h: Array, h_label: str, h_ndim: int) -> None:
    check_input_dtype(layer, hs, "hs")
    check_input_dtype(layer, h, h_label)
    hs_shape, h_shape = tuple(getattr(hs, "shape", ())), tuple(getattr(h, "shape", ()))
    if len(hs_shape) != 3 or len(h_shape) != h_ndim or h_shape[0] != hs_shape[0] or h_shape[-1] != hs_shape[2]:
        expected = "(N, H)" if h_ndim == 2 else "(N, T_dec, H)"
        raise ShapeError(
            f"{layer.name}.forward: expected hs (N, T, H) and {h_label} {expected} with the same N and H, "
            f"got hs {hs_shape} and {h_label} {h_shape}"
        )


class AttentionWeight(Layer):
    """``a = softmax_t(hs[:, t] · h)``: ``forward(hs, h)`` -> ``(N, T)``; backward -> ``(dhs, dh)``."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: tuple[Array, Array, Array] | None = None

    def forward(self, hs: Array, h: Array) -> Array:
        _check_states(self, hs, h, "h", 2)
        a = softmax((hs * h[:, None, :]).sum(axis=2))
        self.cache = (hs, h, a)
        return a

    def backward(self, da: Array) -> tuple[Array, Array]:
        hs, h, a = self._require_forward(self.cache)
        self._check_dout(da, a.shape)
        ds = _softmax_backward(a, da)[:, :, None]
        return ds * h[:, None, :], (ds * hs).sum(axis=1)


class WeightSum(Layer):
    """``c = Σ_t a[:, t] hs[:, t]``: ``forward(hs, a)`` -> ``(N, H)``; backward -> ``(dhs, da)``."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: tuple[Array, Array] | None = None

    def forward(self, hs: Array, a: Array) -> Array:
        check_input_dtype(self, a, "a")
        if getattr(hs, "ndim", 0) != 3 or tuple(getattr(a, "shape", ())) != hs.shape[:2]:
            raise ShapeError(
                f"{self.name}.forward: expected hs (N, T, H) and weights a (N, T), "
                f"got hs {tuple(getattr(hs, 'shape', ()))} and a {tuple(getattr(a, 'shape', ()))}"
            )
        check_input_dtype(self, hs, "hs")
        self.cache = (hs, a)
        return (hs * a[:, :, None]).sum(axis=1)

    def backward(self, dc: Array) -> tuple[Array, Array]:
        hs, a = self._require_forward(self.cache)
        self._check_dout(dc, (hs.shape[0], hs.shape[2]))
        return a[:, :, None] * dc[:, None, :], (hs * dc[:, None, :]).sum(axis=2)


class Attention(Layer):
    """:class:`AttentionWeight` then :class:`WeightSum`: ``forward(hs, h)`` -> context ``(N, H)``.

    Backward -> ``(dhs, dh)``; ``hs`` gets gradient along both paths. ``attention_weight`` is
    the last ``a``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.weight_layer = AttentionWeight()
        self.sum_layer = WeightSum()
        self.attention_weight: Array = None

    def forward(self, hs: Array, h: Array) -> Array:
        self.attention_weight = self.weight_layer.forward(hs, h)
        return self.sum_layer.forward(hs, self.attention_weight)

    def backward(self, dc: Array) -> tuple[Array, Array]:
        dhs_sum, da = self.sum_layer.backward(dc)
        dhs_weight, dh = self.weight_layer.backward(da)
        return dhs_sum + dhs_weight, dh


class TimeAttention(Layer):
    """:class:`Attention` for every decoder step: ``forward(hs_enc (N, T, H), hs_dec (N, T', H))``
    -> contexts ``(N, T', H)``, with ``a = softmax(hs_dec hs_enc^T)`` and ``c = a hs_enc``.

    Backward -> ``(dhs_enc, dhs_dec)``. ``attention_weights`` is the last ``a`` (N, T', T).
    """

    def __init__(self) -> None:
        super().__init__()
        self.cache: tuple[Array, Array] | None = None
        self.attention_weights: Array = None

    def forward(self, hs_enc: Array, hs_dec: Array) -> Array:
        _check_states(self, hs_enc, hs_dec, "hs_dec", 3)
        a = softmax(hs_dec @ hs_enc.transpose(0, 2, 1))
        self.cache = (hs_enc, hs_dec)
        self.attention_weights = a
        return a @ hs_enc

    def backward(self, dout: Array) -> tuple[Array, Array]:
        hs_enc, hs_dec = self._require_forward(self.cache)
        a = self.attention_weights
        self._check_dout(dout, hs_dec.shape)
        ds = _softmax_backward(a, dout @ hs_enc.transpose(0, 2, 1))
        dhs_enc = a.transpose(0, 2, 1) @ dout + ds.transpose(0, 2, 1) @ hs_dec
        return dhs_enc, ds @ hs_enc
