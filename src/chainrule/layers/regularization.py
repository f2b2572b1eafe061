"""Regularisation layers: ``Dropout``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Array, array_module
from ..errors import ConfigError, ShapeError
from .base import Layer, check_input_dtype


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    ``p`` is ``dropout_ratio``. Backward: ``dx = dout * keep``, with ``keep`` the same scaled
    mask. In eval mode the layer is the identity. The textbook instead leaves kept units
    unscaled and multiplies by ``1 - p`` at test time; scaling at training time keeps the
    expected activation the same in both modes, so inference needs no knowledge of ``p``.

    The mask is drawn from the layer's own ``numpy.random.Generator`` (``rng``: a seed or a
    generator). ``mask`` is the last mask used; set ``fixed_mask`` (booleans, True = kept) to use
    that mask on every training forward instead of drawing one, e.g. for gradient checks.

    ``inverted=False`` gives the textbook's convention instead (for ``chainrule.book``): kept units
    pass unscaled while training and eval mode multiplies by ``1 - p``.
    """

    def __init__(
        self, dropout_ratio: float = 0.5, *, rng: int | np.random.Generator | None = None, inverted: bool = True
    ) -> None:
        super().__init__()
        if not 0 <= dropout_ratio < 1:
            raise ConfigError(f"Dropout: dropout_ratio must be in [0, 1), got {dropout_ratio}")
        self.dropout_ratio = dropout_ratio
        self.inverted = inverted
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.fixed_mask: Any = None
        self.mask: Array = None
        self.keep: Array = None
        self.x_shape: tuple[int, ...] | None = None

    def __repr__(self) -> str:
        return f"{self.name}(dropout_ratio={self.dropout_ratio})"

    def _draw_mask(self, x: Array) -> Array:
        xp = array_module(x)
        if self.fixed_mask is None:
            # Drawn on the host so a seed gives the same masks on the CPU and on a GPU.
            return xp.asarray(self.rng.random(x.shape) >= self.dropout_ratio)
        mask = xp.asarray(self.fixed_mask, dtype=bool)
        if mask.shape != x.shape:
            raise ShapeError(f"{self.name}.forward: fixed_mask has shape {mask.shape} but x has shape {x.shape}")
        return mask

    def forward(self, x: Array) -> Array:
        check_input_dtype(self, x)
        self.x_shape = x.shape
        if not self.training:
            self.keep = None
            return x if self.inverted else x * (1.0 - self.dropout_ratio)
        self.mask = self._draw_mask(x)
        self.keep = self.mask.astype(x.dtype)
        if self.inverted:
            self.keep *= 1.0 / (1.0 - self.dropout_ratio)
        return x * self.keep

    def backward(self, dout: Array) -> Array:
        self._check_dout(dout, self._require_forward(self.x_shape))
        if self.keep is None:
            return dout if self.inverted else dout * (1.0 - self.dropout_ratio)
        return dout * self.keep
