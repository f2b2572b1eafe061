"""The textbook's L2 penalty (weight decay), defined once for the two APIs that offer it.

The book's ``MultiLayerNet(weight_decay_lambda=λ)`` adds ``0.5 * λ * ΣW²`` to the loss, hence
``λ * W`` to each weight's gradient (:class:`~chainrule.nets.Sequential` keeps that API); the
optimizers' ``weight_decay`` (what ``chainrule train --weight-decay`` sets) adds the same
gradient term when they update, and leaves the reported loss the data's own. Both call the
functions here, so which arrays decay and how the term is computed cannot drift apart: only
weight matrices and convolution filters decay (``ndim >= 2``), never biases or batch-norm
scale and shift. Set on both the network and the optimizer, the weights would decay twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .backend import Array, array_module

__all__ = ["decays", "l2_penalty", "with_weight_decay"]


def decays(param: Array) -> bool:
    """Whether weight decay applies to ``param``: weights and filters do, biases and scales do not."""
    return param.ndim >= 2


def l2_penalty(params: Iterable[Array], lam: float) -> Any:
    """``0.5 * lam * ΣW²`` over the arrays of ``params`` that decay: the loss term."""
    return 0.5 * lam * sum((w * w).sum() for w in params if decays(w))


def with_weight_decay(param: Array, grad: Array, lam: float) -> Array:
    """``grad + lam * param`` for an array that decays, as a new array (``grad`` is only read);
    ``grad`` itself otherwise: the gradient of the loss plus :func:`l2_penalty`."""
    if not lam or not decays(param):
        return grad
    decayed = array_module(param).multiply(param, lam)
    decayed += grad
    return decayed
