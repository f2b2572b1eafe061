"""Embedding layers: a row lookup ``W[idx]`` instead of a one-hot vector times ``W``.

Multiplying a one-hot row by ``W`` selects one row of ``W``; indexing does the same without
building the one-hot matrix. Backward is the transpose of that selection: each looked-up row's
gradient is added to ``dW`` at its index, twice if the index appeared twice.
"""

from __future__ import annotations

from typing import Any

from ..backend import Array, array_module, scatter_add
from ..errors import LabelError, ShapeError
from .base import Layer, check_input_dtype, check_parameter_dtype


def check_indices(layer: str, idx: Any, vocab_size: int, xp: Any, label: str = "idx") -> Array:
    """Word ids must be integers in ``[0, vocab_size)``: a negative id would count from the end."""
    idx = xp.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise LabelError(f"{layer}.forward: {label} must hold integer word ids, got dtype {idx.dtype}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= vocab_size):
        raise LabelError(
            f"{layer}.forward: {label} must lie in [0, {vocab_size - 1}] for a vocabulary of {vocab_size}, "
            f"got values from {int(idx.min())} to {int(idx.max())}"
        )
    return idx


def _check_weight(layer: str, W: Array) -> None:
    if getattr(W, "ndim", 0) != 2:
        raise ShapeError(f"{layer}: W must be 2-D (vocab_size, embedding_size), got shape {getattr(W, 'shape', ())}")
    check_parameter_dtype(layer, "W", W)


class Embedding(Layer):
    """``out = W[idx]`` for integer word ids ``idx`` of any shape; ``out`` has shape ``idx.shape + (D,)``.

    Backward: ``dW[idx] += dout`` row by row (repeated ids add up); the ids get no gradient.
    """

    def __init__(self, W: Array) -> None:
        super().__init__()
        _check_weight(self.name, W)
        self.params["W"] = W
        self.idx: Array = None

    def forward(self, idx: Any) -> Array:
        W = self.params["W"]
        self.idx = check_indices(self.name, idx, W.shape[0], array_module(W))
        return W[self.idx]

    def backward(self, dout: Array) -> None:
        idx = self._require_forward(self.idx)
        W = self.params["W"]
        self._check_dout(dout, idx.shape + (W.shape[1],))
        dW = array_module(W).zeros_like(W)
        scatter_add(dW, idx.reshape(-1), dout.reshape(-1, W.shape[1]))
        self.grads["W"] = dW
        return None


class TimeEmbedding(Embedding):
    """:class:`Embedding` for a batch of sequences: ids ``(N, T)`` -> vectors ``(N, T, D)``."""

    def forward(self, xs: Any) -> Array:
        if getattr(xs, "ndim", None) != 2:
            raise ShapeError(f"{self.name}.forward: expected word ids of shape (N, T), got {getattr(xs, 'shape', ())}")
        return super().forward(xs)


class EmbeddingDot(Layer):
    """Score of each candidate word against a hidden vector: ``out[n, ...] = W[idx[n, ...]] · h[n]``.

    ``h`` is ``(N, D)``; ``idx`` is ``(N,)`` (one word per row) or ``(N, S)`` (several), and the
    output has ``idx``'s shape. This is the output side of word2vec with negative sampling: only
    the rows of the words scored are touched, not the whole vocabulary.
    Backward: ``dh = Σ_s dout[n, s] W[idx[n, s]]``, ``dW[idx[n, s]] += dout[n, s] h[n]``.
    """

    def __init__(self, W: Array) -> None:
        super().__init__()
        _check_weight(self.name, W)
        self.params["W"] = W
        self.cache: tuple[Array, Array, Array] | None = None

    def forward(self, h: Array, idx: Any) -> Array:
        W = self.params["W"]
        check_input_dtype(self, h, "h")
        idx = check_indices(self.name, idx, W.shape[0], array_module(W))
        if getattr(h, "ndim", 0) != 2 or h.shape[1] != W.shape[1]:
            raise ShapeError(
                f"{self.name}.forward: h must have shape (N, {W.shape[1]}) to match W {W.shape}, got {getattr(h, 'shape', ())}"
            )
        if idx.ndim not in (1, 2) or idx.shape[0] != h.shape[0]:
            raise ShapeError(f"{self.name}.forward: idx must have shape ({h.shape[0]},) or ({h.shape[0]}, S), got {idx.shape}")
        rows = W[idx]  # (N, D) or (N, S, D)
        h_b = h if idx.ndim == 1 else h[:, None, :]
        self.cache = (h_b, idx, rows)
        return (rows * h_b).sum(axis=-1)

    def backward(self, dout: Array) -> Array:
        h_b, idx, rows = self._require_forward(self.cache)
        self._check_dout(dout, idx.shape)
        W = self.params["W"]
        d = dout[..., None]
        dW = array_module(W).zeros_like(W)
        scatter_add(dW, idx.reshape(-1), (d * h_b).reshape(-1, W.shape[1]))
        self.grads["W"] = dW
        dh = d * rows
        return dh if idx.ndim == 1 else dh.sum(axis=1)
