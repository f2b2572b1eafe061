"""A run directory someone else prepared: a ``.lock`` that points elsewhere, files that look temporary.

Opening a run writes exactly two kinds of thing: its own pid into ``.lock`` (never through a
link) and, at start-up, it deletes only the temporary names chainrule itself makes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chainrule.checkpoint import atomic_write_bytes
from chainrule.errors import RunDirError
from chainrule.models import model_config
from chainrule.rundir import LOCK, RunDir

CONFIG = {**model_config("mlp", hidden_sizes=[4], dtype="float64"), "dataset": "mnist"}


def test_a_symlinked_lock_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's thesis\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / LOCK).symlink_to(precious)
    with pytest.raises(RunDirError, match=r"\.lock is a symbolic link") as error:
        RunDir.create(run_dir, config=CONFIG)
    assert "\n" not in str(error.value)
    assert precious.read_text() == "the user's thesis\n"


def test_a_dangling_symlinked_lock_creates_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / LOCK).symlink_to(tmp_path / "created-through-the-link")
    with pytest.raises(RunDirError, match="symbolic link"):
        RunDir.create(run_dir, config=CONFIG)
    assert not (tmp_path / "created-through-the-link").exists()


def test_a_hard_linked_lock_is_refused_and_its_other_name_untouched(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    os.link(precious, run_dir / LOCK)
    with pytest.raises(RunDirError, match="not a plain file of its own"):
        RunDir.create(run_dir, config=CONFIG)
    assert precious.read_text() == "keep me\n"


def test_start_up_clean_up_deletes_only_chainrules_own_temporary_files(tmp_path: Path) -> None:
    """With ``--output-dir .`` the run directory is the user's working directory."""
    users = [".notes.tmp", ".draft.md.tmp", "notes.tmp", ".checkpoint.npz.tmp", ".x.tmp.chainrule"]
    for name in users:
        (tmp_path / name).write_text("mine")
    ours = tmp_path / ".checkpoint.npz.ab12cd34.chainrule.tmp"
    ours.write_bytes(b"half a checkpoint")
    with RunDir.create(tmp_path, config=CONFIG):
        pass
    assert not ours.exists()
    assert sorted(name for name in users if (tmp_path / name).exists()) == sorted(users)


def test_the_temporary_name_of_a_write_is_one_the_clean_up_recognises(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real_replace = os.replace

    def spy(source: str, target: str) -> None:
        seen.append(Path(source).name)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_bytes(tmp_path / "checkpoint.npz", b"data")
    assert len(seen) == 1 and seen[0].startswith(".checkpoint.npz.") and seen[0].endswith(".chainrule.tmp")
