"""Which of the two books a script belongs to, told from the tree it sits in.

*Deep Learning from Scratch* and its sequel (natural language processing) both have a
``common/`` and a ``dataset/`` beside their chapter folders, with different contents: the sequel's
layers keep ``params``/``grads`` as lists, its ``common/np.py`` picks NumPy or CuPy by
``common/config.py``'s ``GPU``, and it has ``common/time_layers.py``. A script is one of the
sequel's when the folder its ``os.pardir`` names (or its own folder) holds those files; anything
else gets the first book's modules, as before there were two.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

_HERE = Path(__file__).resolve().parent

# The sequel's ``common/config.py`` says ``GPU = True`` to run on CuPy; this overrides it
# (``1``/``0``), so a read-only copy of the book can run either way.
GPU_VARIABLE = "CHAINRULE_BOOK_GPU"


@dataclass(frozen=True)
class BookTree:
    """``book`` 1 or 2; ``root`` the folder holding the book's ``common/`` (None outside a book);
    ``adapters`` the folder whose ``common``/``dataset`` packages chainrule serves for it."""

    book: int
    root: Path | None
    adapters: Path


def _is_sequel(folder: Path) -> bool:
    common = folder / "common"
    return (common / "time_layers.py").is_file() or ((common / "np.py").is_file() and (common / "config.py").is_file())


def _is_first_book(folder: Path) -> bool:
    return (folder / "common" / "layers.py").is_file()


def book_tree(script: str | os.PathLike[str]) -> BookTree:
    """The book whose tree holds ``script``: its chapter folder's parent, or its own folder."""
    folder = Path(script).resolve().parent
    for candidate in (folder.parent, folder):
        if _is_sequel(candidate):
            return BookTree(2, candidate, _HERE / "sequel")
        if _is_first_book(candidate):
            return BookTree(1, candidate, _HERE)
    return BookTree(1, None, _HERE)


def sequel_gpu_flag(root: Path | None) -> bool:
    """``GPU`` of the sequel's ``common/config.py`` under ``root`` (read, never run), unless
    ``CHAINRULE_BOOK_GPU`` says otherwise; False outside a book."""
    override = os.environ.get(GPU_VARIABLE, "").strip()
    if override:
        if override not in ("0", "1"):
            raise ConfigError(f"{GPU_VARIABLE} must be 1 (run on CuPy) or 0 (NumPy), got {override!r}")
        return override == "1"
    config = root / "common" / "config.py" if root is not None else None
    if config is None or not config.is_file():
        return False
    for node in ast.parse(config.read_text(encoding="utf-8"), str(config)).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "GPU" for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, bool):
                return node.value.value
            raise ConfigError(f"{config}: GPU must be set to True or False, got {ast.unparse(node.value)}")
    return False
