"""Checkpoint files: weights and optimizer state as ``.npz`` (no pickle), JSON beside them.

This is the file format and its safe reader; :mod:`chainrule.rundir` decides what goes into a
run directory and when. A checkpoint holds ``model/<name>`` and ``optimizer/<name>`` arrays,
the model config as JSON (``__config__``) and, for a resumable run, the run's progress as JSON
(``__run__``: epoch, step, history, best epoch). Writes are atomic and durable: a temporary file
in the same folder, fsynced, renamed over the old one, then the folder itself fsynced, so a
crash at any instant leaves either the old checkpoint or the new one, whole.

Loading trusts nothing in the file. Member names and declared sizes are checked from the zip's
directory before anything is decompressed: only ``model/``, ``optimizer/``, ``__config__`` and
``__run__`` members, stored (chainrule never compresses, so a member cannot expand beyond the
file: no zip bomb), each exactly as large as its ``.npy`` header says, no object arrays. The
JSON records are then checked field by field (:func:`check_config`, :func:`check_run_state`), so
a crafted checkpoint is one :class:`~chainrule.errors.CheckpointError` naming the file and the
field, never a traceback deep in the code that trusted it.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import CheckpointError, ConfigTypeError

CHECKPOINT = "checkpoint.npz"
# What a write killed midway leaves behind: ``.<name>.<random>.chainrule.tmp``, a name only
# chainrule makes, so cleaning up never deletes a user's own ``.notes.tmp``.
TEMP_SUFFIX = ".chainrule.tmp"
_CONFIG_KEY = "__config__"
_RUN_KEY = "__run__"
_MEMBER_NAME = re.compile(r"(?:model/[A-Za-z0-9_.-]{1,100}|optimizer/[A-Za-z0-9_.-]{1,100}(?:/[A-Za-z0-9_.-]{1,100})?"
                          r"|__config__|__run__)\.npy")
_ARRAY_KINDS = "fiubU"  # numbers, booleans and the optimizer's name; never objects
_MAX_JSON_BYTES = 16 << 20  # a config and a history of 100,000 epochs fit many times over
_MAX_JSON_DEPTH = 20
KNOWN_MODELS = ("two-layer", "mlp", "cnn", "deep-cnn", "rnnlm", "better-rnnlm", "sequential")  # chainrule.models.BUILDABLE_MODELS (a test checks)
KNOWN_DATASETS = ("mnist", "fashion-mnist", "ptb")  # the CLI's --dataset choices, checked by a test
_MAX_SIZE = 1 << 20  # a layer, image side or class count beyond this is not a config, it is an attack


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
        arrays[_RUN_KEY] = _json_array(checkpoint.run, "run state")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _json_array(value: Any, what: str = "config") -> np.ndarray:
    try:
        text = json.dumps(value, indent=2, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ConfigTypeError(f"the {what} cannot be saved in a checkpoint: {_unjsonable(value, what) or error}") from None
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _unjsonable(value: Any, where: str) -> str | None:
    """Where in ``value`` JSON fails, e.g. ``config['training']['lr'] is a ndarray``."""
    pending = [(value, where, 0)]
    while pending:
        item, place, depth = pending.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    return f"{place} has a key of type {type(key).__name__}"
                pending.append((child, f"{place}[{key!r}]", depth + 1))
        elif isinstance(item, (list, tuple)):
            pending.extend((child, f"{place}[{index}]", depth + 1) for index, child in enumerate(item))
        elif not isinstance(item, (str, int, float, bool)) and item is not None:
            return f"{place} is a {type(item).__name__}, which JSON cannot hold (use plain numbers, strings, lists, dicts)"
        if depth > 100:
            return f"{place} is nested too deep"
    return None


def save_checkpoint(
    run_dir: str | os.PathLike, model_state: dict[str, np.ndarray], optimizer_state: dict[str, Any], config: dict[str, Any]
) -> Path:
    """Save weights, optimizer state and ``config`` as ``run_dir/checkpoint.npz`` (plus ``config.json``).

    A bare weights file: to save a run that can be resumed, use :class:`chainrule.rundir.RunDir`.
    """
    run_dir = Path(run_dir)
    data = encode_checkpoint(Checkpoint(model_state, optimizer_state, config))  # a bad config fails first
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(run_dir / CHECKPOINT, data)
    atomic_write_text(run_dir / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    return run_dir / CHECKPOINT


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and check ``path`` (a checkpoint file, or a run directory holding ``checkpoint.npz``)."""
    path = Path(path)
    if path.is_dir() or (not path.exists() and path.suffix != ".npz"):  # a run directory, maybe missing
        path = path / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train first (`chainrule train --output-dir {path.parent}`)")
    arrays = _read_members(path)
    if _CONFIG_KEY not in arrays:
        raise CheckpointError(f"{path} has no embedded config; it was not written by chainrule")
    config = _json_value(path, arrays.pop(_CONFIG_KEY), "config")
    run = _json_value(path, arrays.pop(_RUN_KEY), "run state") if _RUN_KEY in arrays else {}
    if not isinstance(config, dict) or not isinstance(run, dict):
        raise CheckpointError(f"{path}: the embedded config and run state must be JSON objects")
    check_config(config, path)
    if run:
        check_run_state(run, path)
        if "dataset" not in config:
            raise CheckpointError(f"{path}: config has no dataset; a run's checkpoint always names one")
    model = {k.removeprefix("model/"): v for k, v in arrays.items() if k.startswith("model/")}
    optimizer = {k.removeprefix("optimizer/"): v for k, v in arrays.items() if k.startswith("optimizer/")}
    for name, value in model.items():
        if value.dtype.kind != "f":
            raise CheckpointError(f"{path}: parameter {name} has dtype {value.dtype}, expected floating point")
        if not np.isfinite(value).all():
            raise CheckpointError(f"{path}: parameter {name} contains NaN or inf")
    return Checkpoint(model, optimizer, config, run)


def _read_members(path: Path) -> dict[str, np.ndarray]:
    """The archive's arrays, each checked from the zip directory and its header before it is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_directory(path, infos)
            return {info.filename.removesuffix(".npy"): _read_member(path, archive, info) for info in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"{path} is not a readable checkpoint ({error})") from None


def _unreadable(path: Path, reason: str) -> CheckpointError:
    return CheckpointError(f"{path} is not a readable checkpoint ({reason})")


def _check_directory(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Names, compression and sizes as the zip's directory declares them; nothing decompressed yet."""
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise _unreadable(path, f"a member name appears twice in the archive")
    declared = 0
    for info in infos:
        if not _MEMBER_NAME.fullmatch(info.filename):
            raise _unreadable(path, f"unexpected member {info.filename[:80]!r}; a chainrule checkpoint holds "
                                  "only model/, optimizer/, __config__ and __run__ arrays")
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise _unreadable(path, f"member {info.filename} is compressed ({info.file_size} bytes declared); "
                                  "chainrule writes checkpoints uncompressed and reads no other kind")
        declared += info.file_size
    if declared > path.stat().st_size:
        raise _unreadable(path, f"its members declare {declared} bytes, more than the file's {path.stat().st_size}")


def _read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member: its header must account for exactly the member's declared size."""
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise _unreadable(path, f"member {info.filename} has .npy format {version}")
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise _unreadable(path, f"member {info.filename} has dtype {dtype}; only numbers are read")
        nbytes = math.prod(shape) * dtype.itemsize
        if stream.tell() + nbytes != info.file_size:
            raise _unreadable(path, f"member {info.filename} declares {info.file_size} bytes, its header "
                                  f"{stream.tell() + nbytes} (shape {shape}, {dtype})")
        if info.filename in (_CONFIG_KEY + ".npy", _RUN_KEY + ".npy") and nbytes > _MAX_JSON_BYTES:
            raise _unreadable(path, f"member {info.filename} is {nbytes} bytes, more than a record needs")
        array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        view = memoryview(array.reshape(-1, order="A")).cast("B") if nbytes else memoryview(b"")
        done = 0
        while done < nbytes:
            count = stream.readinto(view[done:])
            if not count:
                raise _unreadable(path, f"member {info.filename} ends early")
            done += count
        return array


def _json_value(path: Path, array: np.ndarray, what: str) -> Any:
    if array.dtype != np.uint8 or array.ndim != 1:
        raise CheckpointError(f"{path}: the embedded {what} should be UTF-8 bytes, got a {array.dtype} array of shape {array.shape}")
    text = array.tobytes().decode("utf-8", errors="replace")
    depth = 0
    for depth_change in re.finditer(r"[\[\]{}]", text):  # an over-estimate (brackets in strings count too)
        depth += 1 if depth_change.group() in "[{" else -1
        if depth > _MAX_JSON_DEPTH:
            raise CheckpointError(f"{path}: the embedded {what} is nested more than {_MAX_JSON_DEPTH} deep")
    try:
        return json.loads(array.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise CheckpointError(f"{path}: the embedded {what} is corrupt ({str(error)[:200]})") from None


# -- what the JSON records may hold -------------------------------------------------------------------


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown[:60] + "..." if len(shown) > 60 else shown


def _field_error(path: Path | str, field_name: str, expected: str, value: Any) -> CheckpointError:
    return CheckpointError(f"{path}: {field_name} must be {expected}, not {_shown(value)}")


def _is_size(value: Any) -> bool:
    return type(value) is int and 1 <= value <= _MAX_SIZE


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def check_config(config: dict[str, Any], path: Path | str = "checkpoint") -> None:
    """The config fields chainrule acts on, each of the type and range it must be."""
    model = config.get("model")
    if model not in KNOWN_MODELS:
        raise _field_error(path, "config.model", f"one of {', '.join(KNOWN_MODELS)}", model)
    if "dataset" in config and config["dataset"] not in KNOWN_DATASETS:
        raise _field_error(path, "config.dataset", f"one of {', '.join(KNOWN_DATASETS)}", config["dataset"])
    if config.get("dtype", "float32") not in ("float32", "float64"):
        raise _field_error(path, "config.dtype", "float32 or float64", config.get("dtype"))
    for name in ("input_size", "output_size", "vocab_size", "wordvec_size", "hidden_size"):
        if name in config and not _is_size(config[name]):
            raise _field_error(path, f"config.{name}", f"an integer from 1 to {_MAX_SIZE}", config[name])
    hidden = config.get("hidden_sizes", [1])
    fewest = 0 if model == "sequential" else 1  # an imported stack may have no hidden layer (one Affine)
    if not isinstance(hidden, list) or not fewest <= len(hidden) <= 100 or not all(_is_size(size) for size in hidden):
        raise _field_error(path, "config.hidden_sizes", f"a list of {fewest} to 100 integers from 1 to {_MAX_SIZE}", hidden)
    shape = config.get("input_shape", [1])
    if not isinstance(shape, list) or not 1 <= len(shape) <= 3 or not all(_is_size(side) for side in shape):
        raise _field_error(path, "config.input_shape", "a list of 1 to 3 positive integers", shape)
    if "input_size" in config and "input_shape" in config and math.prod(shape) != config["input_size"]:
        raise _field_error(path, "config.input_size", f"the product of input_shape {shape}", config["input_size"])
    if "training" in config and not isinstance(config["training"], dict):
        raise _field_error(path, "config.training", "an object", config["training"])


def check_run_state(run: dict[str, Any], path: Path | str = "checkpoint") -> None:
    """``__run__``: epoch, step, history (columns of numbers or null, one row per epoch) and best."""

    def inconsistent(detail: str) -> CheckpointError:
        return CheckpointError(f"{path}: the run state in the checkpoint is inconsistent ({detail})")

    epoch = run.get("epoch")
    if type(epoch) is not int or epoch < 0:
        raise inconsistent(f"run.epoch must be a non-negative integer, not {_shown(epoch)}")
    if "step" in run and (type(run["step"]) is not int or run["step"] < 0):
        raise inconsistent(f"run.step must be a non-negative integer, not {_shown(run['step'])}")
    if "history" not in run:
        raise inconsistent("'history' is missing")
    history = run["history"]
    if not isinstance(history, dict):
        raise inconsistent(f"run.history must be an object of metric columns, not {_shown(history)}")
    for name, column in history.items():
        if not isinstance(column, list):
            raise inconsistent(f"run.history.{name} must be a list, not {_shown(column)}")
        if len(column) != epoch:
            raise inconsistent(f"epoch {epoch} but {len(column)} rows of history")
        if not all(value is None or _is_number(value) for value in column):
            raise inconsistent(f"run.history.{name} must hold numbers or null")
    best = run.get("best")
    if best is None:
        return
    if not isinstance(best, dict):
        raise inconsistent(f"run.best must be null or an object with epoch, val_loss and val_acc, not {_shown(best)}")
    if type(best.get("epoch")) is not int or not 1 <= best["epoch"] <= epoch:
        raise inconsistent(f"run.best.epoch must be an epoch from 1 to {epoch}, not {_shown(best.get('epoch'))}")
    for name in ("val_loss", "val_acc"):
        if not _is_number(best.get(name)):
            raise inconsistent(f"run.best.{name} must be a number, not {_shown(best.get(name))}")


def load_checkpoint(run_dir: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    """Return ``(model_state, optimizer_state, config)`` from ``run_dir/checkpoint.npz``."""
    checkpoint = read_checkpoint(run_dir)
    return checkpoint.model, checkpoint.optimizer, checkpoint.config
