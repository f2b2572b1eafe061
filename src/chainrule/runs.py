"""Run directories: where ``chainrule train`` writes and ``evaluate``/``--resume`` read.

A run directory holds ``checkpoint.npz`` (weights, optimizer state and the config, atomic),
``config.json``, ``metrics.json``/``metrics.csv`` (the history), and PNG figures.
"""

from __future__ import annotations

import json
from pathlib import Path

from .checkpoint import CHECKPOINT, atomic_write_text
from .training.history import History


def fresh_run_dir(root: str | Path, name: str) -> Path:
    """``root/name``, or ``root/name-2``, ``-3`` ... if taken: a new run never overwrites an old one."""
    root = Path(root)
    candidate, n = root / name, 1
    while candidate.exists() and any(candidate.iterdir()):
        n += 1
        candidate = root / f"{name}-{n}"
    return candidate


def latest_run_dir(root: str | Path, name: str) -> Path | None:
    """The most recently written run called ``name`` (or ``name-N``) under ``root`` that has a checkpoint."""
    root = Path(root)
    runs = [p for p in root.glob(f"{name}*") if (p / CHECKPOINT).is_file() and (p.name == name or p.name[len(name) + 1 :].isdigit())]
    return max(runs, key=lambda p: (p / CHECKPOINT).stat().st_mtime) if runs else None


def save_history(run_dir: Path, history: History) -> None:
    atomic_write_text(run_dir / "metrics.json", history.to_json() + "\n")
    atomic_write_text(run_dir / "metrics.csv", history.to_csv())


def load_history(run_dir: Path) -> History:
    path = Path(run_dir) / "metrics.json"
    return History.from_dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else History()
