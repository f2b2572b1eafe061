"""Fault injection: SIGKILL ``chainrule train`` at random instants, resume, and get the same bits.

Each trial starts the CLI in a subprocess on tiny generated data and kills it at a random instant
of its training, of its start-up, or at the first checkpoint write after a random instant (its
temporary file written, not yet renamed). ``CHAINRULE_FAULT_PAUSE`` makes every file write pause
before it starts and before its rename, so most instants fall inside a write or between two. The next trial resumes (or restarts, if no checkpoint was written
yet); when a run completes, its final checkpoint must equal an uninterrupted run's bit for bit,
and a fresh sequence begins, until at least ``KILLS`` kills have been made.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule.checkpoint import read_checkpoint
from chainrule.data import write_fake_dataset

KILLS = 21
EPOCHS = 6
PAUSE = 0.03  # seconds before each file write and before each rename
SEED = int(os.environ.get("CHAINRULE_KILL_SEED", "20261125"))


def _command(data_dir: Path, run_dir: Path) -> list[str]:
    command = [sys.executable, "-u", "-m", "chainrule.cli.main", "train", "--data-dir", str(data_dir), "--no-verify",
               "--no-download", "--output-dir", str(run_dir), "--hidden-sizes", "8", "--batch-size", "16",
               "--epochs", str(EPOCHS), "--dropout", "0.2", "-v", "2"]
    return command + (["--resume"] if (run_dir / "checkpoint.npz").exists() else [])


def _environment() -> dict[str, str]:
    source = str(Path(chainrule.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    # No plots: matplotlib's import would dominate each run; the learning curve is not under test.
    return {**os.environ, "PYTHONPATH": path, "CHAINRULE_FAULT_PAUSE": str(PAUSE), "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _start(data_dir: Path, run_dir: Path) -> tuple[subprocess.Popen, float]:
    """Start a run; return it and its start time."""
    started = time.monotonic()
    process = subprocess.Popen(_command(data_dir, run_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=_environment())
    return process, started


def _wait_for_header(process: subprocess.Popen) -> float | None:
    """When the run printed its header (data loaded, training starts), or None if it ended first."""
    for line in process.stdout:
        if line.startswith(("training:", "resuming at epoch")):
            return time.monotonic()
    return None


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("data")
    write_fake_dataset(directory, train_size=200, test_size=20)
    return directory


def _wait_for_checkpoint_write(process: subprocess.Popen, run_dir: Path) -> None:
    """Return as soon as a checkpoint's temporary file exists (written, not yet renamed), or the run ended."""
    while process.poll() is None:
        if any(run_dir.glob(".checkpoint.npz.*.tmp")) or any(run_dir.glob(".best.npz.*.tmp")):
            return
        time.sleep(0.002)


def _epochs_done(run_dir: Path) -> int:
    return read_checkpoint(run_dir).run["epoch"] if (run_dir / "checkpoint.npz").exists() else 0


def test_sigkill_at_random_instants_then_resume_is_bit_identical(data_dir, tmp_path):
    reference_dir = tmp_path / "reference"
    process, _ = _start(data_dir, reference_dir)
    header = _wait_for_header(process)
    assert header is not None, process.stderr.read()
    for line in process.stdout:  # the summary line comes after the last checkpoint, before the plots
        if line.startswith("test accuracy"):
            break
    seconds_per_epoch = (time.monotonic() - header) / EPOCHS
    assert process.wait(timeout=120) == 0, process.stderr.read()
    reference = read_checkpoint(reference_dir)
    reference_best = read_checkpoint(reference_dir / "best.npz")

    rng = random.Random(SEED)
    kills = inside_a_write = inside_a_checkpoint = sequences = 0
    outcomes: list[str] = []
    while kills < KILLS:
        sequences += 1
        run_dir = tmp_path / f"run-{sequences}"
        for _ in range(50):
            remaining = EPOCHS - _epochs_done(run_dir)
            if remaining == 0:
                break
            process, started = _start(data_dir, run_dir)
            kind = rng.choices(["start-up", "checkpoint write", "any"], weights=[1, 3, 6])[0]
            if kind == "start-up":  # after the directory is created, before training
                time.sleep(rng.uniform(0.0, 1.0))
            else:  # an instant of the training still to do ...
                header = _wait_for_header(process)
                if header is not None:
                    time.sleep(max(0.0, rng.uniform(0.0, 0.7 * remaining * seconds_per_epoch) - (time.monotonic() - header)))
                if kind == "checkpoint write":  # ... then the next instant a checkpoint is half written
                    _wait_for_checkpoint_write(process, run_dir)
            killed = process.poll() is None
            if killed:
                process.send_signal(signal.SIGKILL)
            code = process.wait(timeout=120)
            errors = process.stderr.read()
            process.stdout.close()
            process.stderr.close()
            if not killed:
                assert code == 0, errors
                continue
            kills += 1
            left = sorted(p.name for p in run_dir.glob(".*.tmp")) if run_dir.exists() else []
            inside_a_write += bool(left)
            inside_a_checkpoint += any(name.startswith((".checkpoint.npz.", ".best.npz.")) for name in left)
            outcomes.append(f"killed after {time.monotonic() - started:.2f}s" + (f" inside a write ({left[0]})" if left else ""))
        else:
            pytest.fail(f"run {run_dir} never completed: {outcomes}")
        if killed:  # killed after its last checkpoint: one more start says "already has" and re-derives
            finish = subprocess.run(_command(data_dir, run_dir), capture_output=True, text=True, env=_environment())
            assert finish.returncode == 0 and "already has" in finish.stderr, finish.stderr
        final = read_checkpoint(run_dir)
        for key, value in reference.model.items():
            np.testing.assert_array_equal(final.model[key], value, err_msg=f"{run_dir}: weight {key} differs")
        for key, value in reference.optimizer.items():
            np.testing.assert_array_equal(final.optimizer[key], value, err_msg=f"{run_dir}: optimizer {key} differs")
        assert final.run["step"] == reference.run["step"] and final.run["best"] == reference.run["best"]
        for column in ("epoch", "train_loss", "val_loss", "val_acc", "lr"):
            assert final.run["history"][column] == reference.run["history"][column], column
        best = read_checkpoint(run_dir / "best.npz")
        for key, value in reference_best.model.items():
            np.testing.assert_array_equal(best.model[key], value)
    # The last run of each sequence opened the directory after a kill: it cleaned up and re-derived.
    for run_dir in tmp_path.glob("run-*"):
        assert not list(run_dir.glob(".*.tmp")), f"{run_dir}: a temporary file survived the next start"
        assert json.loads((run_dir / "metrics.json").read_text())["epoch"] == list(range(1, EPOCHS + 1))
    print(f"{kills} kills in {sequences} sequences, {inside_a_write} inside a file write "
          f"({inside_a_checkpoint} inside a checkpoint write); every resumed run bit-identical to the "
          f"uninterrupted one (seed {SEED})")
    assert inside_a_checkpoint >= 1, outcomes
