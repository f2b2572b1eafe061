"""The package's floor plan: imports point down, and no import comes back round in a loop.

Floors, bottom up: layers and functions; nets, optimizers, data; training and run directories;
graph drawing, the explainer, the book adapters, interop; the CLI on top.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_loops_in_the_floor_plan():
    """``../shared/tools/import-loops.py`` exits 0 when the package has no import loop."""
    root = ROOT
    tool = root.parent / "shared" / "tools" / "import-loops.py"
    if not tool.is_file():
        pytest.skip(f"{tool} is not beside the checkout")
    done = subprocess.run([sys.executable, str(tool), str(root / "src" / "chainrule")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_top_level_module_says_what_it_is_for():
    """A reader can tell each room's purpose from its name and its docstring's first line."""
    import ast

    package = ROOT / "src" / "chainrule"
    rooms = [*package.glob("*.py"), *(p / "__init__.py" for p in package.iterdir() if (p / "__init__.py").is_file())]
    for path in rooms:
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert docstring and len(docstring.splitlines()[0]) > 10, f"{path.relative_to(package)} has no docstring"
