"""numba, when it is installed and wanted: the one place that decides whether loops get compiled.

A few hot spots run as compiled loops on NumPy arrays: the optimizers' update rules
(:mod:`chainrule.optimizers.compiled`), max pooling (:mod:`chainrule.layers.pool_loops`) and ReLU
(:mod:`chainrule.layers.relu_loops`). Each keeps its
array formulation as the reference, which CuPy runs, and which NumPy runs when numba is missing
or ``CHAINRULE_NUMBA=0``; tests check that both paths agree.

numba is imported the first time a loop is needed, never at ``import chainrule``: it costs
about half a second, which a learner running ``chainrule demo apple`` should not pay. Every
compiled loop runs on one thread: a second (OpenMP) thread pool left spinning beside
OpenBLAS's made the next matrix products 20x slower on two cores.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

__all__ = ["MIN_COMPILED_SIZE", "compiled_available", "numba_module", "use_compiled"]

# Below this many elements an array stays in cache and NumPy's passes over it cost microseconds:
# not worth the compilation (about a second per loop and dtype, in every new process).
MIN_COMPILED_SIZE = 1 << 16

_numba: Any = None  # the module, once imported; False when unavailable or disabled
_lock = threading.Lock()


def numba_module() -> Any:
    """The numba module, or ``False`` when it is not installed, fails to import, or is disabled."""
    global _numba
    if _numba is None:
        with _lock:
            if _numba is None:
                if os.environ.get("CHAINRULE_NUMBA", "1").strip().lower() in ("0", "false", "no", "off"):
                    _numba = False
                else:
                    try:
                        import numba
                    except Exception:  # not installed, or an incompatible NumPy
                        _numba = False
                    else:
                        _numba = numba
    return _numba


def compiled_available() -> bool:
    """True when numba is installed and not disabled: large NumPy arrays then go through compiled loops."""
    return bool(numba_module())


def use_compiled(first: Any, *others: Any) -> bool:
    """Whether a compiled loop should handle these arrays: all NumPy, ``first`` large enough, numba usable."""
    return (
        type(first) is np.ndarray
        and first.size >= MIN_COMPILED_SIZE
        and all(type(a) is np.ndarray for a in others)
        and compiled_available()
    )
