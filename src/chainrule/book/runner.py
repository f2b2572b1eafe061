"""Run one of the book's scripts as ``python SCRIPT ARGS`` would, with chainrule underneath.

Inside the run: the book's ``common``/``dataset`` imports are served by chainrule
(:func:`~chainrule.book.importer.book_imports`), and ``pickle.load``/``pickle.loads`` are
chainrule's restricted versions, so the book's ``load_params`` reads its weight files without
being able to run code from them. Everything is put back when the script ends, including
the modules the script imported from its own folder: the book has a ``two_layer_net.py`` in
both ch04 and ch05, and a second script run in the same interpreter must get its own.
"""

from __future__ import annotations

import os
import pickle
import runpy
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .. import restricted_pickle
from ..errors import UsageError
from .importer import book_imports
from .trees import book_tree


@contextmanager
def restricted_pickle_loads() -> Iterator[None]:
    """``pickle.load`` and ``pickle.loads`` admit only arrays and containers inside the block."""
    saved = pickle.load, pickle.loads
    pickle.load, pickle.loads = restricted_pickle.load, restricted_pickle.loads
    try:
        yield
    finally:
        pickle.load, pickle.loads = saved


@contextmanager
def _script_process_state(script: Path, args: Sequence[str]) -> Iterator[None]:
    """``sys.argv`` and ``sys.path[0]`` as ``python SCRIPT`` sets them; restored afterwards.

    Modules of the script's folder are private to the run: one already imported under the name of
    a sibling file is set aside, and what the run imported from the folder is forgotten after it.
    """
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    folder = script.parent
    siblings = _sibling_names(folder)
    set_aside = {name: module for name, module in list(sys.modules.items())
                 if name.split(".", 1)[0] in siblings or _loaded_from(module, folder)}
    for name in set_aside:
        del sys.modules[name]
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path
        for name in [name for name, module in list(sys.modules.items()) if _loaded_from(module, folder)]:
            del sys.modules[name]
        sys.modules.update(set_aside)


def _sibling_names(folder: Path) -> set[str]:
    """Top-level module names a script in ``folder`` imports from there (``x.py``, ``x/``)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return set()
    return {entry.stem if entry.suffix == ".py" else entry.name for entry in entries
            if entry.suffix == ".py" or (entry.is_dir() and entry.name.isidentifier())}


def _loaded_from(module: object, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    if not file:
        return False
    try:
        return Path(file).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


MAX_SEED = 2**32 - 1  # what np.random.seed accepts


def run_script(script: str | os.PathLike[str], args: Sequence[str] = (), *, seed: int | None = None) -> dict:
    """Run ``script`` as ``__main__`` with the book's modules served by chainrule; return its globals.

    Relative paths in the script (``params.pkl``, ``../dataset/lena_gray.png``) are read from
    the current directory, as with ``python``: run it from the script's chapter folder.
    ``seed``: ``np.random.seed(seed)`` just before the script starts. The book draws its weights
    from NumPy's global generator, so the book's own code seeded the same way starts from the
    same weights, bit for bit: a run on chainrule and one on the book's code can be compared.
    """
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED):
        raise UsageError(f"book: seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    path = Path(script)
    if not path.is_file():
        raise UsageError(f"no such script: {script} (run from the book's chapter folder, e.g. ch05)")
    adapters = book_tree(path).adapters  # the first book's modules, or the sequel's
    with book_imports(path.resolve().parent, adapters=adapters), restricted_pickle_loads(), \
            _script_process_state(path.resolve(), args):
        if seed is not None:
            np.random.seed(seed)
        return runpy.run_path(str(path), run_name="__main__")
