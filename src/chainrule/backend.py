"""The array-backend seam: NumPy on the CPU, CuPy on NVIDIA GPUs.

Layers never import NumPy directly for computation; they ask :func:`array_module` which module
owns the arrays they were given, so the same layer code runs on either device. Which device a
network lives on is decided once, when it is built (``backend=`` on networks and trainers), by
creating its parameters with that backend's ``xp``; there is no global switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

try:  # CuPy is optional: only present on machines with an NVIDIA GPU and the `gpu` extra.
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

Array = Any  # numpy.ndarray or cupy.ndarray; kept loose so type hints do not import CuPy.


@dataclass(frozen=True)
class Backend:
    """An array library plus the few conversions the rest of chainrule needs."""

    name: str
    xp: ModuleType

    def asarray(self, a: Any, dtype: Any = None) -> Array:
        """Move ``a`` onto this backend (no copy when it is already there with that dtype)."""
        return self.xp.asarray(a, dtype=dtype)

    def to_numpy(self, a: Any) -> np.ndarray:
        return to_numpy(a)

    @property
    def is_gpu(self) -> bool:
        return self.name == "cupy"


NUMPY = Backend("numpy", np)


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover - depends on the machine
        return False


def get_backend(name: str | Backend | None = "numpy") -> Backend:
    """Return the backend called ``name``: ``"numpy"``, ``"cupy"``, or ``"auto"`` (CuPy if usable)."""
    if isinstance(name, Backend):
        return name
    if name is None or name == "numpy":
        return NUMPY
    if name == "auto":
        return Backend("cupy", _cupy) if cupy_available() else NUMPY
    if name == "cupy":
        if not cupy_available():
            raise RuntimeError(
                "backend 'cupy' was requested but CuPy is not installed or sees no CUDA device; "
                "install the `gpu` extra on a machine with an NVIDIA GPU, or use backend='numpy'"
            )
        return Backend("cupy", _cupy)
    raise ValueError(f"unknown backend {name!r}: expected 'numpy', 'cupy' or 'auto'")


# Array types living off the host: type -> (its module, a function copying one to NumPy).
# CuPy's is registered when it imports; tests register a strict stand-in (tests/strict_backend.py).
_DEVICE_ARRAYS: dict[type, tuple[Any, Any]] = {}
if _cupy is not None:
    _DEVICE_ARRAYS[_cupy.ndarray] = (_cupy, _cupy.asnumpy)


def register_array_type(array_type: type, module: Any, to_host: Any) -> None:
    """Teach :func:`array_module` and :func:`to_numpy` another device array type."""
    _DEVICE_ARRAYS[array_type] = (module, to_host)


def array_module(*arrays: Any) -> ModuleType:
    """The module (``numpy``, ``cupy``, ...) that owns ``arrays``; NumPy for plain Python numbers."""
    if _DEVICE_ARRAYS:
        for a in arrays:
            owner = _DEVICE_ARRAYS.get(type(a))
            if owner is not None:
                return owner[0]
    return np


def to_numpy(a: Any) -> np.ndarray:
    """A NumPy copy of a device (CuPy) array, or ``np.asarray(a)`` for anything already on the host."""
    owner = _DEVICE_ARRAYS.get(type(a))
    if owner is not None:
        return owner[1](a)
    return np.asarray(a)


def scatter_add(target: Array, indices: Array, values: Array) -> None:
    """``target[indices] += values`` in place, adding every repeated index (plain ``+=`` keeps one).

    An embedding's weight gradient needs this: a word that appears twice in a batch gets both
    rows' gradients. NumPy has ``np.add.at``, CuPy ``cupyx.scatter_add``; any other array module
    gets a formulation from common operations (a one-hot matrix product), exact up to rounding.
    """
    xp = array_module(target)
    if xp is np:
        np.add.at(target, indices, values)
    elif _cupy is not None and xp is _cupy:  # pragma: no cover - needs a GPU
        import cupyx  # type: ignore[import-not-found]

        cupyx.scatter_add(target, indices, values)
    else:
        flat = indices.reshape(-1)
        one_hot = (flat[:, None] == xp.arange(target.shape[0])[None, :]).astype(target.dtype)
        summed = one_hot.T @ values.reshape(flat.shape[0], -1).astype(target.dtype)
        target += summed.reshape(target.shape)
