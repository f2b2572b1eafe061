"""Argument checks the library shares: raised where the bad value enters, naming it.

Each guards against a value that would otherwise give a plausible, wrong answer rather than an
error (a batch size of 0 scores nothing; targets of another length are silently truncated).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigError, LabelError


def check_batch_size(batch_size: Any, where: str) -> None:
    """A step of 0 or less would loop zero times (a score of 0.0) or never end."""
    check_positive_int(batch_size, "batch_size", where)


def check_same_length(x: Any, t: Any, where: str) -> None:
    """Samples and targets pair up one to one; zip-like truncation would score a subset."""
    if len(x) != len(t):
        raise LabelError(f"{where}: {len(x)} samples but {len(t)} targets; expected one target per sample")


def is_integer(value: Any) -> bool:
    """True for ``int`` and NumPy integers; False for ``bool``, floats (even ``10.0``) and the rest."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_positive_int(value: Any, label: str, where: str) -> None:
    """Sizes and counts: a float or bool would fail deep inside NumPy, 0 gives empty arrays."""
    if not is_integer(value) or value < 1:
        raise ConfigError(f"{where}: {label} must be a positive integer, got {value!r}")
