"""Where the second book's companion code is, and running it, for tests that compare with it.

``CHAINRULE_BOOK2_DIR`` names the book's folder (the one holding ``common/`` and ``dataset/``);
by default it is ``shared/dlfs-book2`` beside the repository (or beside the folder of worktrees).
Its code runs in a subprocess, so its ``common``/``dataset`` packages and global state never mix
with the test's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def book2_dir() -> Path:
    if os.environ.get("CHAINRULE_BOOK2_DIR"):
        return Path(os.environ["CHAINRULE_BOOK2_DIR"])
    candidates = [parent / "shared" / "dlfs-book2" for parent in ROOT.parents[:2]]
    return next((path for path in candidates if path.is_dir()), candidates[0])


BOOK2 = book2_dir()
HAVE_BOOK2 = (BOOK2 / "common" / "util.py").is_file() and (BOOK2 / "dataset" / "ptb.py").is_file()


def run_book2(code: str, cwd: Path, timeout: float = 300) -> str:
    """Run ``code`` with the book's folder first on ``sys.path``; return its stdout."""
    program = f"import sys\nsys.path.insert(0, {str(BOOK2)!r})\n" + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"the book's code failed:\n{done.stderr}"
    return done.stdout
