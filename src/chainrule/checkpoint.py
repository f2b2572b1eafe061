"""Checkpoints: weights and optimizer state as ``.npz`` (no pickle), the config as JSON.

Everything lives in one ``checkpoint.npz`` written atomically (a temporary file in the same
folder, flushed to disk, then renamed over the old one), so a crash mid-write leaves the previous
checkpoint intact. ``config.json`` beside it is a human-readable copy of the embedded config.
Loading uses ``allow_pickle=False`` and checks every array against the model it is loaded into.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError

CHECKPOINT = "checkpoint.npz"
_CONFIG_KEY = "__config__"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the new one, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_checkpoint(
    run_dir: str | os.PathLike, model_state: dict[str, np.ndarray], optimizer_state: dict[str, Any], config: dict[str, Any]
) -> Path:
    """Save ``model/<name>`` and ``optimizer/<name>`` arrays plus ``config`` into ``run_dir``."""
    run_dir = Path(run_dir)
    arrays = {f"model/{k}": np.asarray(v) for k, v in model_state.items()}
    arrays.update({f"optimizer/{k}": np.asarray(v) for k, v in optimizer_state.items()})
    config_text = json.dumps(config, indent=2, sort_keys=True)
    arrays[_CONFIG_KEY] = np.frombuffer(config_text.encode("utf-8"), dtype=np.uint8)
    tmp = tempfile.SpooledTemporaryFile(max_size=1 << 30)
    np.savez(tmp, **arrays)
    tmp.seek(0)
    atomic_write_bytes(run_dir / CHECKPOINT, tmp.read())
    atomic_write_text(run_dir / "config.json", config_text + "\n")
    return run_dir / CHECKPOINT


def load_checkpoint(run_dir: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    """Return ``(model_state, optimizer_state, config)`` from ``run_dir/checkpoint.npz``."""
    path = Path(run_dir)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train first (`chainrule train --output-dir {path.parent}`)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise CheckpointError(f"{path} is not a readable checkpoint ({error})") from None
    if _CONFIG_KEY not in arrays:
        raise CheckpointError(f"{path} has no embedded config; it was not written by chainrule")
    try:
        config = json.loads(arrays.pop(_CONFIG_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: the embedded config is corrupt ({error})") from None
    model = {k.removeprefix("model/"): v for k, v in arrays.items() if k.startswith("model/")}
    optimizer = {k.removeprefix("optimizer/"): v for k, v in arrays.items() if k.startswith("optimizer/")}
    for name, value in model.items():
        if value.dtype.kind != "f":
            raise CheckpointError(f"{path}: parameter {name} has dtype {value.dtype}, expected floating point")
        if not np.isfinite(value).all():
            raise CheckpointError(f"{path}: parameter {name} contains NaN or inf")
    return model, optimizer, config
