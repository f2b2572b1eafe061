"""benchmarks/rnnlm_epoch.py times like with like: its PyTorch twin takes chainrule's steps.

No timing is asserted: from the same weights on the same windows, the twin's losses follow
chainrule's Rnnlm step for step (forward, backward, clip, SGD at 20 and the carried state).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "rnnlm_epoch.py"


def test_the_pytorch_twin_follows_chainrules_steps():
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("bench_rnnlm_epoch", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    words = np.random.default_rng(1).integers(0, bench.V, 4 * bench.BATCH * bench.TIME + 1)
    ours, _ = bench.chainrule_step(words)
    twin, _ = bench.torch_step(words)
    ours_losses = [ours() for _ in range(4)]
    twin_losses = [twin() for _ in range(4)]
    assert ours_losses[1] != ours_losses[0]  # the weights moved
    np.testing.assert_allclose(twin_losses, ours_losses, rtol=1e-5)


@pytest.mark.parametrize(
    "script, arguments, message",
    [("rnnlm_epoch.py", ["--threads", "0"], "--threads must be a positive integer, got 0"),
     ("rnnlm_epoch.py", ["--blocks", "-1"], "--blocks must be a positive integer, got -1"),
     ("rnnlm_epoch.py", ["--warmup", "-2"], "--warmup must be 0 or more, got -2"),
     ("book2_rnnlm.py", ["--threads", "0"], "--threads must be a positive integer, got 0"),
     ("book2_rnnlm.py", ["--seed", "-1"], "--seed must be 0 or more, got -1"),
     ("book2_rnnlm.py", ["--limit", "-5"], "--limit must be 0 or more, got -5")],
)
def test_the_benchmarks_refuse_bad_counts_in_one_line(script, arguments, message):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(Path(__file__).parent.parent / "benchmarks" / script), *arguments],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
