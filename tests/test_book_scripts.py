"""Every script of the book's chapters 5-8 runs unchanged on chainrule (``python -m chainrule.book``).

Scripts run in place, in the book's read-only tree, where ``sys.path.append(os.pardir)`` puts the
book's own ``common/`` on the path: the import hook must win. Scripts that write beside
themselves run in a temporary copy of their chapter folder. Long scripts (minutes at full length,
see ``benchmarks/book_scripts.py``) run as smoke tests: on a slice of MNIST
(``CHAINRULE_BOOK_MNIST_LIMIT``) or for a limited time, checking what they printed so far.
Skipped unless the book (``CHAINRULE_BOOK_DIR``) and MNIST (``CHAINRULE_DATA``) are available.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from book_scripts_table import SCRIPTS, BookScript, gradient_diffs

from book_support import BOOK, HAVE_BOOK, ROOT

DATA = os.environ.get("CHAINRULE_DATA")
pytestmark = pytest.mark.skipif(
    not HAVE_BOOK or not DATA or not Path(DATA).is_dir(),
    reason=f"needs the book's code at {BOOK} (CHAINRULE_BOOK_DIR) and MNIST in CHAINRULE_DATA",
)


def run_book_script(script: BookScript, cwd: Path, *, limit: str = "", seconds: float = 0) -> tuple[int | None, str, str]:
    """Run ``script`` from ``cwd``; return (exit code, or None if stopped), stdout, stderr.

    With ``seconds``, the script is stopped that long after its first line of output (so a busy
    machine's slow start does not eat the budget; at most 10 minutes of waiting for it), or
    simply after ``seconds`` if it only prints at the end (``prints_early=False``).
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    env.pop("CHAINRULE_BOOK_MNIST_LIMIT", None)
    if limit:
        env["CHAINRULE_BOOK_MNIST_LIMIT"] = limit
    command = [sys.executable, "-m", "chainrule.book", script.name]
    if script.seed is not None:  # the same command, after seeding NumPy's global generator
        command[1:] = ["-c", f"import numpy, sys; numpy.random.seed({script.seed}); from chainrule.book.__main__ import main; "
                             f"sys.exit(main([{script.name!r}]))"]
    if not seconds:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
        return done.returncode, done.stdout, done.stderr
    with tempfile.TemporaryFile("w+") as err_file:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err_file, text=True)
        lines: list[str] = []
        first_line = threading.Event()

        def read() -> None:
            for line in process.stdout:
                lines.append(line)
                first_line.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        if script.prints_early:
            first_line.wait(timeout=600)
        try:
            code: int | None = process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
        reader.join(timeout=10)
        err_file.seek(0)
        return code, "".join(lines), err_file.read()


def _workdir(script: BookScript, tmp_path: Path) -> Path:
    """The chapter folder itself, or a copy of it when the script writes files beside itself."""
    chapter = BOOK / script.chapter
    if not script.writes:
        return chapter
    copy = tmp_path / script.chapter
    shutil.copytree(chapter, copy)
    return copy


def _assert_ran(code: int | None, out: str, err: str) -> None:
    assert "Traceback" not in err, err[-3000:]
    assert code in (0, None), f"exit code {code}\n{err[-3000:]}"
    assert code == 0 or "Error" not in err, err[-3000:]


FULL = [s for s in SCRIPTS if not s.long]
LONG = [s for s in SCRIPTS if s.long]


def test_every_script_of_chapters_5_to_8_is_listed() -> None:
    on_disk = sorted(f"{p.parent.name}/{p.name}" for p in BOOK.glob("ch0[5-8]/*.py"))
    assert on_disk == sorted(f"{s.chapter}/{s.name}" for s in SCRIPTS)


@pytest.mark.parametrize("script", FULL, ids=lambda s: f"{s.chapter}/{s.name}")
def test_book_script_runs_unchanged(script: BookScript, tmp_path: Path) -> None:
    code, out, err = run_book_script(script, _workdir(script, tmp_path))
    _assert_ran(code, out, err)
    assert code == 0
    for pattern in script.expect:
        assert re.search(pattern, out), f"{pattern!r} not in the output:\n{out[-3000:]}"
    if script.max_gradient_diff:  # ch05: the book's text reports 1e-13..1e-10
        diffs = gradient_diffs(out)
        assert diffs and max(diffs.values()) < script.max_gradient_diff, out


@pytest.mark.parametrize("script", LONG, ids=lambda s: f"{s.chapter}/{s.name}")
def test_long_book_script_smoke(script: BookScript, tmp_path: Path) -> None:
    """The long scripts, unchanged, on a slice of MNIST or stopped after a few seconds."""
    workdir = _workdir(script, tmp_path)
    code, out, err = run_book_script(script, workdir, limit=script.smoke_limit, seconds=script.smoke_seconds)
    _assert_ran(code, out, err)
    if script.prints_early:
        assert out.strip(), f"nothing printed before the limit\n{err[-2000:]}"
    if script.smoke_limit:
        assert "CHAINRULE_BOOK_MNIST_LIMIT serves the first" in err
    for pattern in script.expect:
        assert re.search(pattern, out), f"{pattern!r} not in what it printed:\n{out[-3000:]}"
    for written in script.writes:  # the weights the script saved load back through chainrule
        from chainrule import DeepConvNet, SimpleConvNet

        net = SimpleConvNet() if written == "params.pkl" else DeepConvNet()
        net.load_params(workdir / written)

