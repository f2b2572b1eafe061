"""Where the book's companion code and MNIST are, for the tests that run the book's scripts.

``CHAINRULE_BOOK_DIR`` names the book's folder; by default it is ``shared/dlfs-book`` beside the
repository (or beside the folder of worktrees), as ``.ci/run`` finds ``shared/datasets``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def book_dir() -> Path:
    if os.environ.get("CHAINRULE_BOOK_DIR"):
        return Path(os.environ["CHAINRULE_BOOK_DIR"])
    candidates = [parent / "shared" / "dlfs-book" for parent in ROOT.parents[:2]]
    return next((path for path in candidates if path.is_dir()), candidates[0])


BOOK = book_dir()
HAVE_BOOK = (BOOK / "common" / "layers.py").is_file()
