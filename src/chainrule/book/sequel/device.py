"""What the sequel's ``GPU = True`` runs on: chainrule's CuPy backend.

The book's ``common/np.py`` imports CuPy *as* ``np`` and its scripts call ``np.random.randn``,
``np.zeros`` and so on, so the served ``common.np`` is the backend's whole array module. Tests,
which have no GPU, set :data:`GPU_BACKEND` to a CuPy-like stand-in (``tests/strict_backend.py``).
"""

from __future__ import annotations

from types import ModuleType

from ...backend import Backend, get_backend

GPU_BACKEND: str | Backend = "cupy"


def gpu_module() -> ModuleType:
    """The array module that ``np`` is in the book's GPU mode (CuPy: an error naming it if absent)."""
    return get_backend(GPU_BACKEND).xp
