"""The import hook that serves the book's ``common`` and ``dataset`` packages from chainrule.

The book's scripts run ``sys.path.append(os.pardir)`` and then ``from common.layers import *``.
A finder placed first on ``sys.meta_path`` answers for the two top-level names before the path
finder can find the book's own folders; their submodules then resolve inside chainrule's
packages (their ``__path__``), so none of the book's files is ever imported. Nothing named
``common`` or ``dataset`` is installed: the names exist only while the hook is in place.

The book's scripts find those packages one folder up (``os.pardir``); a script that has its own
``common`` beside it is not one of the book's, and its own package is left to it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

SERVED_PACKAGES = ("common", "dataset")
_HERE = str(Path(__file__).resolve().parent)


class BookFinder(importlib.abc.MetaPathFinder):
    """Finds ``common`` and ``dataset`` (the packages) in ``chainrule/book/``; nothing else.

    ``script_dir``: the running script's folder; a package of the same name there is the
    script's own, and is not replaced. ``adapters``: the folder to serve them from instead (the
    sequel's are in ``book/sequel/``).
    """

    def __init__(self, script_dir: Path | None = None, *, adapters: str | Path | None = None) -> None:
        self.script_dir = script_dir
        self.adapters = str(adapters) if adapters is not None else _HERE

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in SERVED_PACKAGES or self._beside_script(fullname):
            return None  # submodules are found through the served package's __path__
        return importlib.machinery.PathFinder.find_spec(fullname, [self.adapters])

    def _beside_script(self, name: str) -> bool:
        if self.script_dir is None:
            return False
        return (self.script_dir / name).is_dir() or (self.script_dir / f"{name}.py").is_file()


def _served(name: str) -> bool:
    return name.split(".", 1)[0] in SERVED_PACKAGES


@contextmanager
def book_imports(script_dir: str | Path | None = None, *, adapters: str | Path | None = None) -> Iterator[BookFinder]:
    """Serve the book's packages from chainrule inside the ``with`` block, then undo it.

    Modules already imported under those names (e.g. the book's own, from an earlier import) are
    set aside for the duration and put back afterwards. ``script_dir``, ``adapters``: see
    :class:`BookFinder`.
    """
    finder = BookFinder(Path(script_dir) if script_dir is not None else None, adapters=adapters)
    set_aside = {name: module for name, module in sys.modules.items() if _served(name)}
    for name in set_aside:
        del sys.modules[name]
    sys.meta_path.insert(0, finder)
    try:
        yield finder
    finally:
        if finder in (sys.meta_path or ()):  # sys.meta_path is None during interpreter shutdown
            sys.meta_path.remove(finder)
        for name in [name for name in sys.modules if _served(name)]:
            del sys.modules[name]
        sys.modules.update(set_aside)

