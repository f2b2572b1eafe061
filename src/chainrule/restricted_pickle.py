"""Load weight pickles without running their code: NumPy arrays, dtypes and plain containers only.

A pickle is a program: ``pickle.load`` calls whatever callables the file names, so a weight file
from the internet can run ``os.system``. The book's weight files (``params.pkl``) are pickles of
a dict of arrays, and that needs only a handful of NumPy reconstructors. :class:`RestrictedUnpickler`
resolves those and nothing else, as ``torch.load(weights_only=True)`` does; any other global is
refused with :class:`~chainrule.errors.UnsafePickleError` *before* it is called.
"""

from __future__ import annotations

import io
import os
import pickle
from typing import IO, Any

from .errors import UnsafePickleError

# (module, name) pairs a pickle of NumPy arrays needs. numpy.core was renamed numpy._core in
# NumPy 2; files written by either spelling load under both.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        (module, name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")
    }
    | {
        (module, "_frombuffer")  # protocol 5 out-of-band arrays
        for module in ("numpy.core.numeric", "numpy._core.numeric")
    }
    | {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # Python 2 era pickles store array bytes as latin-1 text
        ("collections", "OrderedDict"),
    }
    # Protocol 0-2 pickles spell builtins the Python 2 way.
    | {(module, name) for module in ("builtins", "__builtin__") for name in ("set", "frozenset", "complex", "slice")}
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file: IO[bytes], *, source: str = "pickle") -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"{self.source}: refused to load: the pickle asks for {module}.{name}, but only NumPy "
            "arrays, dtypes and plain containers are allowed (a pickle that calls other code "
            "could run anything; nothing from it was executed)"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self.source}: refused to load: the pickle uses persistent ids")


def load(file: IO[bytes], **_: Any) -> Any:
    """``pickle.load`` restricted to arrays and containers (extra keywords are accepted and ignored)."""
    return RestrictedUnpickler(file, source=getattr(file, "name", "pickle")).load()


def loads(data: bytes, **_: Any) -> Any:
    """``pickle.loads`` restricted to arrays and containers."""
    return RestrictedUnpickler(io.BytesIO(data)).load()


def load_file(path: str | os.PathLike[str]) -> Any:
    """Open ``path`` and :func:`load` it."""
    with open(path, "rb") as handle:
        return RestrictedUnpickler(handle, source=os.fspath(path)).load()
