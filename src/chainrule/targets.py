"""Classification targets checked against the scores they go with: labels or one-hot rows.

A label out of range would index the wrong class (a negative one counts from the end), and a
target vector of another length would broadcast: both give a plausible, wrong loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backend import Array, array_module
from .errors import LabelError

_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def check_targets(x: Array, t: Any, layer: str) -> tuple[Array, bool]:
    """Validate ``t`` against scores ``x`` of shape (N, C); return it and whether it holds labels."""
    xp = array_module(x)
    t = xp.asarray(t)
    n, classes = x.shape
    if t.shape == x.shape:
        if t.dtype.kind not in "fiub":
            raise LabelError(f"{layer}.forward: one-hot targets must be numeric, got dtype {t.dtype}")
        if n and (bool((t < 0).any()) or not bool(xp.allclose(t.sum(axis=1), 1, atol=1e-5))):
            raise LabelError(
                f"{layer}.forward: targets of shape {t.shape} are read as one-hot rows, "
                "but some row is negative or does not sum to 1"
            )
        return t, False
    if t.ndim == 0:
        t = t.reshape(1)
    if t.ndim != 1 or t.shape[0] != n:
        raise LabelError(
            f"{layer}.forward: expected targets as {n} integer labels, shape ({n},), or one-hot "
            f"of shape {x.shape}; got shape {t.shape}"
        )
    if t.dtype.kind not in "iu":
        raise LabelError(
            f"{layer}.forward: labels must be integers, got dtype {t.dtype} "
            "(convert with t.astype(int), or pass one-hot rows of the scores' shape)"
        )
    # One reduction, not two: read as unsigned, a negative label is larger than any class.
    as_unsigned = t.view(_UNSIGNED[t.dtype.itemsize]) if t.dtype.kind == "i" else t
    if n and int(as_unsigned.max()) >= classes:
        raise LabelError(
            f"{layer}.forward: labels must lie in [0, {classes - 1}] for {classes} classes, "
            f"got values from {int(t.min())} to {int(t.max())}"
        )
    return t, True
