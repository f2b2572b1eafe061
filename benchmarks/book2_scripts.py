"""Run the sequel's chapters 1-6 scripts on chainrule at full length: time, and what each printed.

    CHAINRULE_DATA=... python benchmarks/book2_scripts.py [--book DIR] [--only ch06/eval.py ...] [--short]

Prints a Markdown table (script, the book's result, chainrule's result, seconds) for
``docs/book2.md``. Scripts that write beside themselves run in a temporary copy of their chapter
(beside links to the book's ``common/`` and ``dataset/``). ``--short`` leaves out the scripts
marked long (minutes to hours at full length). Times are wall-clock seconds of one run each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the scripts' table of expected output is test data

from book2_scripts_table import SCRIPTS, Book2Script  # noqa: E402
from book2_support import BOOK2  # noqa: E402


def run_one(script: Book2Script, book: Path, scratch: Path) -> tuple[str, float, int]:
    """(what it printed, in the summary's words; seconds; exit code)."""
    cwd = book / script.chapter
    if script.writes:
        for package in ("common", "dataset"):
            if not (scratch / package).exists():
                (scratch / package).symlink_to(book / package, target_is_directory=True)
        cwd = scratch / script.chapter
        cwd.mkdir(exist_ok=True)
        for file in (book / script.chapter).glob("*.py"):
            (cwd / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    env.pop("CHAINRULE_BOOK_PTB_LIMIT", None)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "chainrule.book", script.name], cwd=cwd, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    result = script.summary(done.stdout) if done.returncode == 0 else "FAILED: " + done.stderr.strip()[-300:]
    return result, seconds, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=BOOK2, help="the sequel's folder (default: %(default)s)")
    parser.add_argument("--only", nargs="*", default=[], help="chapter/script.py to run (default: all)")
    parser.add_argument("--short", action="store_true", help="leave out the long scripts")
    args = parser.parse_args()
    chosen = [s for s in SCRIPTS if (not args.only or f"{s.chapter}/{s.name}" in args.only) and not (args.short and s.long)]
    failed = 0
    print("| script | the book's code | chainrule (`chainrule book`) | seconds |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for script in chosen:
            result, seconds, code = run_one(script, args.book, Path(scratch))
            failed += code != 0
            print(f"| {script.chapter}/{script.name} | {script.book_result} | {result} | {seconds:.1f} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
