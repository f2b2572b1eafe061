"""Every script of the sequel's chapters 1-6 runs unchanged on chainrule (``python -m chainrule.book``).

Scripts run in place, in the book's read-only tree, where ``sys.path.append('..')`` puts the
book's own ``common/`` on the path: the import hook must win, with the sequel's adapters (the tree
tells which book). Scripts that write beside themselves run in a temporary copy of their chapter
folder, next to links to the book's ``common/`` and ``dataset/``. Long scripts run on a prefix of
PTB (``CHAINRULE_BOOK_PTB_LIMIT``) and, the slowest, for a limited time. Scripts that need no
PTB are also run on the book's own code, and the outputs compared.
Skipped unless the sequel (``CHAINRULE_BOOK2_DIR``) and PTB (``CHAINRULE_DATA``) are available.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from book2_scripts_table import SCRIPTS, Book2Script
from book2_support import BOOK2, HAVE_BOOK2
from book_scripts_table import BookScript
from test_book_scripts import _assert_ran, run_book_script

DATA = os.environ.get("CHAINRULE_DATA")
HAVE_PTB = bool(DATA) and any((Path(DATA) / sub / "ptb.train.txt").is_file() for sub in ("", "ptb"))
pytestmark = pytest.mark.skipif(
    not HAVE_BOOK2 or not HAVE_PTB,
    reason=f"needs the sequel's code at {BOOK2} (CHAINRULE_BOOK2_DIR) and PTB in CHAINRULE_DATA",
)


def run_sequel_script(script: Book2Script, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int | None, str, str]:
    """``python -m chainrule.book SCRIPT`` with the script's PTB limit and time cut (the first
    book's runner, which passes the environment on)."""
    monkeypatch.delenv("CHAINRULE_BOOK_GPU", raising=False)
    if script.ptb_limit:
        monkeypatch.setenv("CHAINRULE_BOOK_PTB_LIMIT", str(script.ptb_limit))
    else:
        monkeypatch.delenv("CHAINRULE_BOOK_PTB_LIMIT", raising=False)
    return run_book_script(BookScript(script.chapter, script.name, seed=script.seed), cwd, seconds=script.smoke_seconds)


def sequel_workdir(script: Book2Script, tmp_path: Path) -> Path:
    """The chapter folder itself, or a writable copy beside links to the book's common/ and dataset/."""
    chapter = BOOK2 / script.chapter
    if not script.writes:
        return chapter
    for package in ("common", "dataset"):
        (tmp_path / package).symlink_to(BOOK2 / package, target_is_directory=True)
    copy = tmp_path / script.chapter
    copy.mkdir()
    for file in chapter.iterdir():
        if file.suffix == ".py":
            (copy / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


def run_books_own_code(script: Book2Script) -> str:
    """The script on the book's own ``common/`` (nothing written: no bytecode, plots not shown)."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    command = [sys.executable, script.name]
    if script.seed is not None:
        command = [sys.executable, "-c", f"import numpy, runpy, sys; numpy.random.seed({script.seed}); "
                   f"sys.argv = [{script.name!r}]; runpy.run_path({script.name!r}, run_name='__main__')"]
    done = subprocess.run(command, cwd=BOOK2 / script.chapter, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the book's own code failed:\n{done.stderr[-2000:]}"
    return done.stdout


def _without_timings(out: str) -> str:
    return re.sub(r"time \d+\[s\]", "time -[s]", out)


def assert_same_output(mode: str, book: str, ours: str) -> None:
    book, ours = _without_timings(book), _without_timings(ours)
    if mode == "exact":
        assert ours == book
    elif mode == "lines":
        assert Counter(ours.splitlines()) == Counter(book.splitlines())
    elif mode == "numbers":  # float16 word vectors, or float32 after 1000 steps: the last digits differ
        number = r"-?\d+\.\d*(?:e-?\d+)?"
        def skeleton(out: str) -> str:  # the words and punctuation, whatever the numbers' widths
            return re.sub(r"\s+", "", re.sub(number, "#", out))

        assert skeleton(ours) == skeleton(book)
        for mine, theirs in zip(re.findall(number, ours), re.findall(number, book)):
            assert float(mine) == pytest.approx(float(theirs), rel=2e-3, abs=1e-3)
    else:
        raise ValueError(mode)


FULL = [s for s in SCRIPTS if not s.long]
LONG = [s for s in SCRIPTS if s.long]


def test_every_script_of_chapters_1_to_6_is_listed() -> None:
    on_disk = sorted(f"{p.parent.name}/{p.name}" for p in BOOK2.glob("ch0[1-6]/*.py"))
    assert on_disk == sorted(f"{s.chapter}/{s.name}" for s in SCRIPTS)


def _check(script: Book2Script, code: int | None, out: str, err: str, workdir: Path) -> None:
    _assert_ran(code, out, err)
    for pattern in script.expect:
        assert re.search(pattern, out), f"{pattern!r} not in the output:\n{out[-3000:]}"
    for written in script.writes:  # the weights it saved load back through the restricted unpickler
        if code == 0 or (workdir / written).exists():
            from chainrule import restricted_pickle

            assert restricted_pickle.load_file(workdir / written) is not None


@pytest.mark.parametrize("script", FULL, ids=lambda s: f"{s.chapter}/{s.name}")
def test_sequel_script_runs_unchanged(script: Book2Script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = sequel_workdir(script, tmp_path)
    code, out, err = run_sequel_script(script, workdir, monkeypatch)
    assert code == 0, err[-3000:]
    _check(script, code, out, err, workdir)
    if script.compare:
        assert_same_output(script.compare, run_books_own_code(script), out)


@pytest.mark.parametrize("script", LONG, ids=lambda s: f"{s.chapter}/{s.name}")
def test_long_sequel_script_smoke(script: Book2Script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The long scripts, unchanged, on a prefix of PTB, the slowest stopped after a few seconds."""
    workdir = sequel_workdir(script, tmp_path)
    code, out, err = run_sequel_script(script, workdir, monkeypatch)
    assert code == 0 or script.smoke_seconds, err[-3000:]
    assert out.strip(), f"nothing printed\n{err[-2000:]}"
    _check(script, code, out, err, workdir)
