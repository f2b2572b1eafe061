"""Argument checks the library shares: raised where the bad value enters, naming it.

Each guards against a value that would otherwise give a plausible, wrong answer rather than an
error (a batch size of 0 scores nothing; targets of another length are silently truncated).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .errors import ConfigError, DTypeError, LabelError, ShapeError


def check_batch_size(batch_size: Any, where: str) -> None:
    """A step of 0 or less would loop zero times (a score of 0.0) or never end."""
    check_positive_int(batch_size, "batch_size", where)


def check_same_length(x: Any, t: Any, where: str) -> None:
    """Samples and targets pair up one to one; zip-like truncation would score a subset."""
    if len(x) != len(t):
        raise LabelError(f"{where}: {len(x)} samples but {len(t)} targets; expected one target per sample")


def check_not_empty(x: Any, where: str, label: str = "x") -> None:
    """A loss averages over samples: over none, NumPy's 0/0-guarded answer (0.0, even -0.0) would
    read as a perfect score."""
    if x.size == 0:
        raise ShapeError(f"{where}: empty batch: {label} has shape {tuple(x.shape)}; expected at least 1 sample")


def is_integer(value: Any) -> bool:
    """True for ``int`` and NumPy integers; False for ``bool``, floats (even ``10.0``) and the rest."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_positive_int(value: Any, label: str, where: str) -> None:
    """Sizes and counts: a float or bool would fail deep inside NumPy, 0 gives empty arrays."""
    if not is_integer(value) or value < 1:
        raise ConfigError(f"{where}: {label} must be a positive integer, got {value!r}")


def check_array_or_number(
    owner: Any, x: Any, label: str = "x", method: str | None = "forward", accepted: Any = numbers.Number
) -> None:
    """Refuse a list, tuple or other non-array: ``[1, 2] + [3, 4]`` would concatenate, not add.

    An array (anything with a ``dtype``) or an instance of ``accepted`` passes: the arithmetic
    layers take exact numbers too (``Fraction``, ``Decimal``), the float layers ``int`` and ``float``.
    ``owner`` is a layer or a name; ``method`` (None for a function) follows it in the message.
    """
    if hasattr(x, "dtype") or isinstance(x, accepted):
        return
    where = owner_name(owner) + (f".{method}" if method else "")
    raise DTypeError(
        f"{where}: {label} is a {type(x).__name__}; expected an array "
        f"(e.g. numpy.asarray({label})){' or a number' if accepted else ''}"
    )


def owner_name(owner: Any) -> str:
    """The name a message gives ``owner``: a string as it is, a layer or network by its ``name``."""
    return owner if isinstance(owner, str) else getattr(owner, "name", type(owner).__name__)
