"""Gradient clipping by global norm: the standard guard against exploding gradients in RNNs.

Backpropagation through time multiplies by ``Wh`` once per step, so a gradient can grow
geometrically with the window length; one huge step can undo training. Rescaling all
gradients together keeps their direction and bounds the step.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from .backend import Array
from .errors import ConfigError, NonFiniteError


def global_norm(grads: Mapping[str, Array] | Iterable[Array]) -> float:
    """``sqrt(Σ_arrays Σ g²)``: the length of all gradients as one vector."""
    arrays = grads.values() if isinstance(grads, Mapping) else grads
    return math.sqrt(sum(float((g * g).sum()) for g in arrays))


def clip_grads(grads: Mapping[str, Array] | Iterable[Array], max_norm: float) -> float:
    """Scale every gradient by ``max_norm / norm`` in place when their global norm exceeds ``max_norm``.

    ``grads`` is a dict of gradient arrays (a network's or layer's ``grads``) or a list of them;
    they are written into, as PyTorch's ``clip_grad_norm_`` does. Returns the norm before
    clipping (the book's ``clip_grads``, which returns nothing, scales by
    ``max_norm / (norm + 1e-6)``; dividing by the norm itself makes the clipped norm exactly
    ``max_norm``).
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or not (math.isfinite(max_norm) and max_norm > 0):
        raise ConfigError(f"clip_grads: max_norm must be a positive finite number, got {max_norm!r}")
    arrays = list(grads.values() if isinstance(grads, Mapping) else grads)
    norm = global_norm(arrays)
    if not math.isfinite(norm):
        raise NonFiniteError(f"clip_grads: the gradients' norm is {norm}; they hold NaN or inf and cannot be clipped")
    if norm > max_norm:
        rate = max_norm / norm
        for g in arrays:
            g *= rate
    return norm
