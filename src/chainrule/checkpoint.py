"""Checkpoint files: weights and optimizer state as ``.npz`` (no pickle), JSON beside them.

This is the file format and its safe reader; :mod:`chainrule.rundir` decides what goes into a
run directory and when. A checkpoint holds ``model/<name>`` and ``optimizer/<name>`` arrays,
the model config as JSON (``__config__``) and, for a resumable run, the run's progress as JSON
(``__run__``: epoch, step, history, best epoch). Writes are atomic and durable: a temporary file
in the same folder, fsynced, renamed over the old one, then the folder itself fsynced, so a
crash at any instant leaves either the old checkpoint or the new one, whole. Loading uses
``allow_pickle=False`` and checks every array.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import CheckpointError

CHECKPOINT = "checkpoint.npz"
TEMP_SUFFIX = ".tmp"  # what a write killed midway leaves behind: ``.<name>.<random>.tmp``
_CONFIG_KEY = "__config__"
_RUN_KEY = "__run__"


@dataclass
class Checkpoint:
    """What one checkpoint file holds. ``run`` is empty for a bare weights file."""

    model: dict[str, np.ndarray]
    optimizer: dict[str, Any]
    config: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_directory(directory: str | os.PathLike) -> None:
    """Make a rename inside ``directory`` durable (POSIX keeps names in the directory's own blocks)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # a platform without directory handles: the rename is as durable as it gets
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the data itself was fsynced
    finally:
        os.close(fd)


def atomic_write_bytes(
    path: str | os.PathLike, data: bytes, *, durable: bool = True, before_rename: Callable[[], None] | None = None
) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the new one, whole.

    The file gets the permissions of any file the user creates (``0o666`` less the umask), not
    ``mkstemp``'s private ``0o600``. With ``durable`` the data and the rename reach the disk
    before this returns. ``before_rename`` runs between the two (the fault-injection tests use it).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_directory(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str, *, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    """The ``.npz`` bytes of ``checkpoint`` (built in memory, so the file is written in one go)."""
    arrays = {f"model/{k}": np.asarray(v) for k, v in checkpoint.model.items()}
    arrays.update({f"optimizer/{k}": np.asarray(v) for k, v in checkpoint.optimizer.items()})
    arrays[_CONFIG_KEY] = _json_array(checkpoint.config)
    if checkpoint.run:
        arrays[_RUN_KEY] = _json_array(checkpoint.run)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _json_array(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, indent=2, sort_keys=True).encode("utf-8"), dtype=np.uint8)


def save_checkpoint(
    run_dir: str | os.PathLike, model_state: dict[str, np.ndarray], optimizer_state: dict[str, Any], config: dict[str, Any]
) -> Path:
    """Save weights, optimizer state and ``config`` as ``run_dir/checkpoint.npz`` (plus ``config.json``).

    A bare weights file: to save a run that can be resumed, use :class:`chainrule.rundir.RunDir`.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(run_dir / CHECKPOINT, encode_checkpoint(Checkpoint(model_state, optimizer_state, config)))
    atomic_write_text(run_dir / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    return run_dir / CHECKPOINT


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check ``path`` (a checkpoint file, or a run directory holding ``checkpoint.npz``)."""
    path = Path(path)
    if path.is_dir() or (not path.exists() and path.suffix != ".npz"):  # a run directory, maybe missing
        path = path / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train first (`chainrule train --output-dir {path.parent}`)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise CheckpointError(f"{path} is not a readable checkpoint ({error})") from None
    if _CONFIG_KEY not in arrays:
        raise CheckpointError(f"{path} has no embedded config; it was not written by chainrule")
    config = _json_value(path, arrays.pop(_CONFIG_KEY), "config")
    run = _json_value(path, arrays.pop(_RUN_KEY), "run state") if _RUN_KEY in arrays else {}
    if not isinstance(config, dict) or not isinstance(run, dict):
        raise CheckpointError(f"{path}: the embedded config and run state must be JSON objects")
    model = {k.removeprefix("model/"): v for k, v in arrays.items() if k.startswith("model/")}
    optimizer = {k.removeprefix("optimizer/"): v for k, v in arrays.items() if k.startswith("optimizer/")}
    for name, value in model.items():
        if value.dtype.kind != "f":
            raise CheckpointError(f"{path}: parameter {name} has dtype {value.dtype}, expected floating point")
        if not np.isfinite(value).all():
            raise CheckpointError(f"{path}: parameter {name} contains NaN or inf")
    return Checkpoint(model, optimizer, config, run)


def _json_value(path: Path, array: np.ndarray, what: str) -> Any:
    if array.dtype != np.uint8 or array.ndim != 1:
        raise CheckpointError(f"{path}: the embedded {what} should be UTF-8 bytes, got a {array.dtype} array of shape {array.shape}")
    try:
        return json.loads(array.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: the embedded {what} is corrupt ({error})") from None


def load_checkpoint(run_dir: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    """Return ``(model_state, optimizer_state, config)`` from ``run_dir/checkpoint.npz``."""
    checkpoint = read_checkpoint(run_dir)
    return checkpoint.model, checkpoint.optimizer, checkpoint.config
