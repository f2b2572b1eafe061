"""The run directory: where a training run lives, as one transaction that survives any crash.

``checkpoint.npz`` is the run: weights, optimizer state (with its step counter), the config, the
epoch, the step and the whole history, written atomically and durably after every epoch (see
:mod:`chainrule.checkpoint`). Everything else is derived from it and rewritten whenever the run is
opened: ``config.json``, ``metrics.json``, ``metrics.csv`` (and the figures the CLI draws), so a
kill between two file writes, or a lost ``metrics.json``, never changes where a resume starts.
``best.npz`` is the checkpoint of the epoch with the lowest validation loss, kept beside the last
one so that a diverged epoch never overwrites the only good weights. Random numbers need no saved
state: the trainer seeds every epoch's shuffle and dropout masks from ``(seed, epoch)``.

One process writes a run directory at a time: :class:`RunDir` holds an exclusive lock on
``.lock`` (``flock``, released by the kernel even on SIGKILL) from opening to closing.

    with RunDir.create("runs/exp", config=config) as run:     # or RunDir.open(path) to resume
        history = Trainer(net, optimizer, epochs=5).fit(x, t, validation_data=(xv, tv), run_dir=run)
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import CHECKPOINT, TEMP_SUFFIX, Checkpoint, atomic_write_bytes, encode_checkpoint, read_checkpoint
from .errors import CheckpointError, NonFiniteError, RunDirError
from .history import History

LAST = CHECKPOINT
BEST = "best.npz"
LOCK = ".lock"
RUN_FORMAT = 1  # version of the ``__run__`` record inside a checkpoint


class RunDir:
    """An open, locked run directory. Make one with :meth:`create` (a new run) or :meth:`open` (resume).

    ``config`` is the JSON-friendly description of the run (model config plus ``dataset`` and
    ``training``); it is saved in every checkpoint, and a resume may change it (``epochs``, ``lr``).
    """

    def __init__(self, path: Path, config: dict[str, Any], lock_fd: int) -> None:
        self.path, self.config, self._lock_fd = path, config, lock_fd
        self.best: dict[str, Any] = {}  # {"epoch", "val_loss", "val_acc"} of best.npz
        self.epoch = 0  # epochs completed in the last checkpoint
        self.is_new = False  # made by create(): nothing of it predates this process
        self.created = False  # create() made the folder itself

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike | None = None, *, config: dict[str, Any], root: str | os.PathLike = "runs",
               name: str = "run") -> "RunDir":
        """Start a new run in ``path``, or in the first free ``root/name``, ``root/name-2``, ... .

        The default name is claimed with an atomic ``mkdir``, so two runs started at once never share
        a directory. An explicit ``path`` may exist if it holds no checkpoint yet; one that holds a
        run is refused (resume it with :meth:`open`). ``config.json`` is written at once, so an
        unwritable directory is found before any data is loaded.
        """
        if path is None:
            target, created = _claim_free_name(Path(root), name), True
        else:
            target, created = Path(path), not Path(path).exists()
            _make_directory(target, exist_ok=True)
        run = cls._lock(target, config)
        run.is_new, run.created = True, created
        try:
            if (target / LAST).exists():
                raise RunDirError(f"{target} already holds a run ({LAST}); resume it "
                                  "(--resume) or choose another directory")
            run._write_config()
        except BaseException:
            run.close()
            raise
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDir":
        """Open the run in ``path`` to continue it: lock, clean up, read and check its last checkpoint."""
        target = Path(path)
        if not target.is_dir():
            raise RunDirError(f"{target} is not a run directory: it does not exist" if not target.exists()
                              else f"{target} is not a run directory: it is a file")
        run = cls._lock(target, {})
        try:
            checkpoint = run.checkpoint()
            if not checkpoint.run:
                raise CheckpointError(f"{target / LAST} holds weights but no run state (epoch, history); "
                                      "it cannot be resumed, only evaluated")
            history = _history_from(checkpoint)
            run.config, run.best, run.epoch = checkpoint.config, dict(checkpoint.run.get("best") or {}), len(history)
            run.write_derived(history)
        except BaseException:
            run.close()
            raise
        return run

    @staticmethod
    def latest(root: str | os.PathLike, name: str) -> Path | None:
        """The most recently checkpointed run ``root/name`` or ``root/name-N``, if any."""
        root = Path(root)
        runs = [p for p in root.glob(f"{name}*") if (p / LAST).is_file()
                and (p.name == name or p.name[len(name) + 1:].isdigit() and p.name[len(name)] == "-")]
        return max(runs, key=lambda p: (p / LAST).stat().st_mtime) if runs else None

    @classmethod
    def _lock(cls, target: Path, config: dict[str, Any]) -> "RunDir":
        lock_path = target / LOCK
        try:
            # O_NOFOLLOW: a .lock that is a symlink would have its target truncated and overwritten.
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise RunDirError(f"{lock_path} is a symbolic link; chainrule writes its pid only into a file of "
                                  "its own (remove the link)") from None
            raise _io_error(error, f"cannot write in {target}") from None
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
            os.close(fd)
            raise RunDirError(f"{lock_path} is not a plain file of its own (a hard link or a special file); "
                              "chainrule will not write into it (remove it)")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise RunDirError(f"{target} is in use by another chainrule process"
                              + (f" (pid {holder})" if holder.isdigit() else "")
                              + ": one run directory has one writer; wait for it or choose another directory") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        run = cls(target, config, fd)
        run._remove_temporary_files()
        return run

    def _remove_temporary_files(self) -> None:
        """Delete what a write killed midway left behind: only ours, ``.<name>.<random>.chainrule.tmp``
        (with ``--output-dir .`` this is the user's own folder)."""
        for leftover in self.path.glob(f".*{TEMP_SUFFIX}"):
            if leftover.is_file() and not leftover.is_symlink():
                leftover.unlink(missing_ok=True)

    def close(self) -> None:
        """Release the lock (the kernel also releases it if the process dies)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- reading --------------------------------------------------------------------------------

    def checkpoint(self, which: str = "last") -> Checkpoint:
        """The ``"last"`` or ``"best"`` checkpoint, read and checked."""
        return read_checkpoint(checkpoint_path(self.path, which))

    def has_checkpoint(self) -> bool:
        return (self.path / LAST).is_file()

    def restore(self, net: Any, optimizer: Any) -> History:
        """Load the last checkpoint into ``net`` and ``optimizer``; return its history (empty if none)."""
        if not self.has_checkpoint():
            return History()
        checkpoint = self.checkpoint()
        net.load_state_dict(checkpoint.model)
        optimizer.load_state_dict(checkpoint.optimizer, params=net.params)
        history = _history_from(checkpoint)
        self.best, self.epoch = dict(checkpoint.run.get("best") or {}), len(history)
        return history

    # -- writing --------------------------------------------------------------------------------

    def save(self, net: Any, optimizer: Any, history: History) -> None:
        """Checkpoint the run after ``len(history)`` epochs: ``best.npz`` first if this epoch is the
        best so far, then ``checkpoint.npz`` (the commit point), then the derived files."""
        epoch = len(history)
        model_state = net.state_dict()
        for name, value in model_state.items():
            if not np.isfinite(value).all():
                raise NonFiniteError(f"epoch {epoch} is not checkpointed: parameter {name} contains NaN or inf; "
                                     f"{self.path / LAST} keeps epoch {self.epoch}")
        val_loss = history.val_loss[-1] if epoch else math.nan
        improved = math.isfinite(val_loss) and (not self.best or val_loss < self.best["val_loss"])
        best = {"epoch": epoch, "val_loss": val_loss, "val_acc": history.val_acc[-1]} if improved else self.best
        run_state = {"format": RUN_FORMAT, "epoch": epoch, "step": int(optimizer.iterations),
                     "history": json.loads(history.to_json()), "best": best or None}
        data = encode_checkpoint(Checkpoint(model_state, optimizer.state_dict(), self.config, run_state))
        if improved:
            # Written before the last checkpoint: a kill in between re-runs this epoch, which writes it again.
            self._write(BEST, data, f"the best checkpoint so far (epoch {self.best.get('epoch')}) is intact")
        self._write(LAST, data, "the previous checkpoint is intact")
        self.best, self.epoch = best, epoch
        self.write_derived(history)

    def prepare(self, net: Any, optimizer: Any, history: History) -> None:
        """Before the first epoch: refuse a disk too full for a checkpoint, and write a new run's
        epoch-0 checkpoint, so that an unwritable directory shows before any training."""
        self.check_free_space(estimated_checkpoint_bytes(net, optimizer))
        if not self.has_checkpoint():
            self.save(net, optimizer, history)

    def discard_if_untrained(self) -> None:
        """Remove what a new run wrote if it stopped before its first epoch was checkpointed.

        A run that failed before training (a bad option found late, missing data) leaves no
        folder holding only ``config.json``, nor an untrained checkpoint that would later be
        evaluated as if it had been trained. A folder the user gave is kept, emptied of our files.
        """
        if not self.is_new or self.epoch > 0 or self._lock_fd is None:
            return
        for name in (LAST, BEST, "config.json", "metrics.json", "metrics.csv"):
            (self.path / name).unlink(missing_ok=True)
        if self.created:
            (self.path / LOCK).unlink(missing_ok=True)
            try:
                self.path.rmdir()
            except OSError:  # something else is in it: keep it
                pass

    def check_free_space(self, nbytes: int) -> None:
        """Refuse to start when the disk cannot hold a checkpoint of ``nbytes`` plus its temporary copy."""
        free = shutil.disk_usage(self.path).free
        if free < 2 * nbytes:
            raise RunDirError(f"not enough free space in {self.path}: {free / 2**20:.1f} MiB free, a checkpoint "
                              f"needs about {nbytes / 2**20:.1f} MiB (twice that while it is replaced)")

    def write_derived(self, history: History) -> None:
        """Rewrite the files a person reads (``config.json``, ``metrics.json``, ``metrics.csv``)."""
        self._write_config()
        self._write("metrics.json", (history.to_json() + "\n").encode("utf-8"), durable=False)
        self._write("metrics.csv", history.to_csv().encode("utf-8"), durable=False)

    def _write_config(self) -> None:
        self._write("config.json", (json.dumps(self.config, indent=2, sort_keys=True) + "\n").encode("utf-8"), durable=False)

    def _write(self, name: str, data: bytes, survivor: str = "", *, durable: bool = True) -> None:
        _fault_injection_pause()
        try:
            atomic_write_bytes(self.path / name, data, durable=durable, before_rename=_fault_injection_pause)
        except OSError as error:
            raise _io_error(error, f"cannot write {self.path / name}", survivor) from None


def checkpoint_path(run_dir: str | os.PathLike, which: str = "last") -> Path:
    """``run_dir/checkpoint.npz`` (``which="last"``) or ``run_dir/best.npz`` (``"best"``)."""
    names = {"last": LAST, "best": BEST}
    if which not in names:
        raise ValueError(f"checkpoint: expected 'last' or 'best', got {which!r}")
    path = Path(run_dir) / names[which]
    if which == "best" and not path.is_file() and (Path(run_dir) / LAST).is_file():
        raise CheckpointError(f"no {BEST} in {run_dir}: the run was trained without a validation split")
    return path


def estimated_checkpoint_bytes(net: Any, optimizer: Any) -> int:
    """Weights plus one copy per optimizer slot (Adam keeps two), whose state appears after step 1."""
    weights = sum(int(np.prod(p.shape)) * p.dtype.itemsize for p in net.params.values())
    return weights * (1 + len(getattr(optimizer, "slot_names", ()))) + (1 << 16)


def _history_from(checkpoint: Checkpoint) -> History:
    run = checkpoint.run
    try:
        history = History.from_dict(run["history"])
        if run["epoch"] != len(history) or any(len(column) != len(history) for column in history.as_dict().values()):
            raise ValueError(f"epoch {run['epoch']} but {len(history)} rows of history")
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"the run state in the checkpoint is inconsistent ({error})") from None
    return history


def _claim_free_name(root: Path, name: str) -> Path:
    _make_directory(root, exist_ok=True)
    for number in range(1, 100_000):
        candidate = root / (name if number == 1 else f"{name}-{number}")
        try:
            candidate.mkdir()  # atomic: exactly one process creates it
            return candidate
        except FileExistsError:
            continue
        except OSError as error:
            raise _io_error(error, f"cannot create {candidate}") from None
    raise RunDirError(f"no free run directory name under {root}/{name}-N")


def _make_directory(path: Path, *, exist_ok: bool) -> None:
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            raise RunDirError(f"cannot create the run directory {path}: {parent} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except OSError as error:
        raise _io_error(error, f"cannot create the run directory {path}") from None


def _io_error(error: OSError, what: str, survivor: str = "") -> RunDirError:
    """One line for an I/O failure: what failed, why in words, and what is still safe."""
    reasons = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
               errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied"}
    reason = reasons.get(error.errno, error.strerror or str(error))
    return RunDirError(f"{what}: {reason}" + (f"; {survivor}" if survivor else ""))


def _fault_injection_pause() -> None:
    """Sleep before each write and before each rename when ``CHAINRULE_FAULT_PAUSE`` (seconds) is
    set, so that the kill/resume tests can SIGKILL a run inside its checkpoint writes and between
    them. Unset, it costs one dictionary lookup per file written."""
    pause = os.environ.get("CHAINRULE_FAULT_PAUSE")
    if pause:
        import time

        time.sleep(float(pause))
