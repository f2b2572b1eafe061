"""``chainrule book`` serves the book's packages to the book's scripts only, and runs are private.

A script outside the book that has its own ``common`` package beside it keeps it; two scripts
run in one interpreter each import their own sibling modules (the book has ``two_layer_net.py``
in both ch04 and ch05).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from chainrule.book import run_script


@pytest.fixture
def in_directory():
    cwd = os.getcwd()
    yield os.chdir
    os.chdir(cwd)


def test_a_script_with_its_own_common_package_beside_it_keeps_it(tmp_path: Path, in_directory) -> None:
    project = tmp_path / "project"
    (project / "common").mkdir(parents=True)
    (project / "common" / "__init__.py").write_text("")
    (project / "common" / "layers.py").write_text("WHOSE = 'the project'\n")
    (project / "main.py").write_text("from common.layers import WHOSE\n")
    in_directory(project)
    assert run_script("main.py")["WHOSE"] == "the project"
    assert not any(name == "common" or name.startswith("common.") for name in sys.modules)


def test_two_runs_in_one_interpreter_each_import_their_own_siblings(tmp_path: Path, in_directory) -> None:
    for chapter in ("ch04", "ch05"):
        folder = tmp_path / chapter
        folder.mkdir()
        (folder / "two_layer_net.py").write_text(f"CHAPTER = {chapter!r}\n")
        (folder / "train_neuralnet.py").write_text("from two_layer_net import CHAPTER\n")
    for chapter in ("ch04", "ch05", "ch04"):
        in_directory(tmp_path / chapter)
        assert run_script("train_neuralnet.py")["CHAPTER"] == chapter
    assert "two_layer_net" not in sys.modules


def test_a_module_the_caller_imported_under_a_siblings_name_is_set_aside_and_restored(tmp_path: Path,
                                                                                       in_directory) -> None:
    mine = type(sys)("two_layer_net")
    sys.modules["two_layer_net"] = mine
    try:
        (tmp_path / "two_layer_net.py").write_text("CHAPTER = 'book'\n")
        (tmp_path / "script.py").write_text("from two_layer_net import CHAPTER\n")
        in_directory(tmp_path)
        assert run_script("script.py")["CHAPTER"] == "book"
        assert sys.modules["two_layer_net"] is mine
    finally:
        sys.modules.pop("two_layer_net", None)
