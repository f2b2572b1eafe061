"""Run one of the book's scripts as ``python SCRIPT ARGS`` would, with chainrule underneath.

Inside the run: the book's ``common``/``dataset`` imports are served by chainrule
(:func:`~chainrule.book.importer.book_imports`), and ``pickle.load``/``pickle.loads`` are
chainrule's restricted versions, so the book's ``load_params`` reads its weight files without
being able to run code from them. Everything is put back when the script ends.
"""

from __future__ import annotations

import os
import pickle
import runpy
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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
    """``sys.argv`` and ``sys.path[0]`` as ``python SCRIPT`` sets them; restored afterwards."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.parent))
    try:
        yield
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path


def run_script(script: str | os.PathLike[str], args: Sequence[str] = ()) -> dict:
    """Run ``script`` as ``__main__`` with the book's modules served by chainrule; return its globals.

    Relative paths in the script (``params.pkl``, ``../dataset/lena_gray.png``) are read from
    the current directory, as with ``python``: run it from the script's chapter folder.
    """
    path = Path(script)
    if not path.is_file():
        raise UsageError(f"no such script: {script} (run from the book's chapter folder, e.g. ch05)")
    adapters = book_tree(path).adapters  # the first book's modules, or the sequel's
    with book_imports(adapters=adapters), restricted_pickle_loads(), _script_process_state(path.resolve(), args):
        return runpy.run_path(str(path), run_name="__main__")
