"""Fuzzing the restricted unpickler in CI: thousands of mutated weight pickles, in a child process.

The cases are drawn by ``tests/pickle_fuzz.py`` (see its docstring for the mutations and the
oracle). 10,000 cases take about 10 s; the child stops starting new ones after
``CHAINRULE_FUZZ_SECONDS`` (40 by default) so the run stays near a minute on a slow machine;
``CHAINRULE_FUZZ_CASES`` raises the count locally.
A crash is a negative return code: the last case the child printed is the one that crashed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CASES = int(os.environ.get("CHAINRULE_FUZZ_CASES", "10000"))
SECONDS = float(os.environ.get("CHAINRULE_FUZZ_SECONDS", "40"))


def test_mutated_weight_pickles_never_crash_hang_or_load_what_the_bytes_do_not_say() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent / "src"), str(TESTS)])}
    command = [sys.executable, str(TESTS / "pickle_fuzz.py"), "--cases", str(CASES), "--seconds", str(SECONDS)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=SECONDS + 120)
    cases = [line for line in done.stdout.splitlines() if line.startswith("case ")]
    failures = [line for line in done.stdout.splitlines() if line.startswith("FAIL ")]
    assert done.returncode >= 0, f"the loader crashed (signal {-done.returncode}) at {cases[-1] if cases else '?'}"
    assert not failures, "\n".join(failures[:20])
    summary = re.search(r"ran (\d+) cases, 0 failures", done.stdout)
    assert done.returncode == 0 and summary, done.stdout[-2000:] + done.stderr[-2000:]
    assert int(summary.group(1)) >= min(CASES, 1000), f"only {summary.group(1)} cases ran in {SECONDS} s"
