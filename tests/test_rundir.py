"""The run directory: locking, naming, last/best checkpoints, umask, temp cleanup, full disk,
read-only directories, resume options, and a table of bad run directories and checkpoints."""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import subprocess
import sys
import threading
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule.checkpoint import CHECKPOINT, Checkpoint, encode_checkpoint, read_checkpoint, save_checkpoint
from chainrule.cli.main import main
from helpers import train_small_cli
from chainrule.errors import CheckpointError, NonFiniteError, RunDirError
from chainrule.models import build_model, model_config
from chainrule.optimizers import SGD, Adam
from chainrule.rundir import BEST, LAST, RunDir, checkpoint_path
from chainrule.training import History, Trainer, split_validation

CONFIG = {**model_config("mlp", hidden_sizes=[4], dtype="float64"), "dataset": "mnist",
          "training": {"optimizer": "adam", "lr": 0.01, "epochs": 3, "batch_size": 8, "schedule": "constant", "seed": 0}}


def _net_and_optimizer():
    return build_model(CONFIG, rng=0), Adam(0.01)


def _history(*val_losses: float) -> History:
    history = History()
    for epoch, val_loss in enumerate(val_losses, 1):
        history.append(epoch=epoch, train_loss=1.0, train_acc=0.5, val_loss=val_loss, val_acc=0.5, lr=0.01, seconds=0.1)
    return history


def _data(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 784)), rng.integers(0, 10, n)


train = train_small_cli  # the test files' short name for it


# -- the library: Trainer with a RunDir ------------------------------------------------------------


def test_trainer_checkpoints_every_epoch_and_resumes_from_the_run_dir(tmp_path):
    x, t = _data()
    (x_train, t_train), validation = split_validation(x, t, 0.25)
    assert len(x_train) == 30 and len(validation[0]) == 10
    net, optimizer = _net_and_optimizer()
    with RunDir.create(tmp_path / "a", config=CONFIG) as run:
        whole = Trainer(net, optimizer, epochs=3, batch_size=8, verbose=0).fit(x_train, t_train, validation_data=validation, run_dir=run)
    net, optimizer = _net_and_optimizer()
    with RunDir.create(tmp_path / "b", config=CONFIG) as run:
        Trainer(net, optimizer, epochs=1, batch_size=8, verbose=0).fit(x_train, t_train, validation_data=validation, run_dir=run)
    net, optimizer = _net_and_optimizer()  # fresh objects: everything comes back from the checkpoint
    with RunDir.open(tmp_path / "b") as run:
        assert run.epoch == 1 and run.config == CONFIG
        resumed = Trainer(net, optimizer, epochs=3, batch_size=8, verbose=0).fit(x_train, t_train, validation_data=validation, run_dir=run)
    assert resumed.train_loss == whole.train_loss and resumed.val_loss == whole.val_loss
    a, b = read_checkpoint(tmp_path / "a"), read_checkpoint(tmp_path / "b")
    assert a.run["step"] == b.run["step"] == 3 * 4 and a.run["epoch"] == 3
    for key in a.model:
        np.testing.assert_array_equal(a.model[key], b.model[key])
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["epoch"] == [1, 2, 3]


def test_best_checkpoint_keeps_the_lowest_validation_loss(tmp_path):
    net, optimizer = _net_and_optimizer()
    with RunDir.create(tmp_path, config=CONFIG) as run:
        for epoch, losses in enumerate([(0.9,), (0.9, 0.5), (0.9, 0.5, math.nan), (0.9, 0.5, math.nan, 0.7)], 1):
            net.params["W1"][...] = epoch  # marks the weights of each epoch
            run.save(net, optimizer, _history(*losses))
    assert read_checkpoint(tmp_path / BEST).model["W1"].flat[0] == 2  # epoch 2: the lowest, not the NaN one
    assert read_checkpoint(tmp_path / LAST).model["W1"].flat[0] == 4
    assert read_checkpoint(tmp_path / LAST).run["best"]["epoch"] == 2


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    net, optimizer = _net_and_optimizer()
    with RunDir.create(tmp_path, config=CONFIG) as run:
        run.save(net, optimizer, _history(0.5))
        good = (tmp_path / LAST).read_bytes()
        net.params["b1"][0] = np.nan
        with pytest.raises(NonFiniteError, match=r"epoch 2 is not checkpointed: parameter b1 contains NaN or inf; .*checkpoint\.npz keeps epoch 1"):
            run.save(net, optimizer, _history(0.5, 0.4))
    assert (tmp_path / LAST).read_bytes() == good


def test_no_validation_split_no_best_checkpoint(tmp_path):
    net, optimizer = _net_and_optimizer()
    with RunDir.create(tmp_path, config=CONFIG) as run:
        Trainer(net, optimizer, epochs=1, batch_size=8, verbose=0).fit(*_data(), run_dir=run)
    assert not (tmp_path / BEST).exists()
    with pytest.raises(CheckpointError, match="no best.npz .* without a validation split"):
        checkpoint_path(tmp_path, "best")


def test_default_names_are_claimed_atomically(tmp_path):
    claimed: list[Path] = []

    def claim():
        run = RunDir.create(config=CONFIG, root=tmp_path, name="mnist-mlp")
        claimed.append(run.path)
        run.close()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p.name for p in claimed) == sorted(["mnist-mlp"] + [f"mnist-mlp-{n}" for n in range(2, 9)])


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path):
    with RunDir.create(tmp_path / "run", config=CONFIG):
        with pytest.raises(RunDirError, match=rf"{tmp_path / 'run'} is in use by another chainrule process \(pid {os.getpid()}\)"):
            RunDir.create(tmp_path / "run", config=CONFIG)
    RunDir.create(tmp_path / "run", config=CONFIG).close()  # released on close


def test_two_concurrent_cli_writers(data_dir, tmp_path):
    """A second `chainrule train` on a directory another one is writing stops at once, saying who holds it."""
    source = str(Path(chainrule.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p),
           "CHAINRULE_FAULT_PAUSE": "0.2"}  # slow writes keep the first one busy
    command = [sys.executable, "-u", "-m", "chainrule.cli.main", "train", "--data-dir", str(data_dir), "--no-verify",
               "--no-download", "--output-dir", str(tmp_path / "run"), "--hidden-sizes", "8", "--epochs", "3", "-v", "2"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert any(line.startswith("training:") for line in first.stdout)  # it holds the lock and trains
        second = subprocess.run([*command, "--resume"], capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 1
        assert f"is in use by another chainrule process (pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1
    finally:
        first.kill()
        first.wait()
        first.stdout.close()
        first.stderr.close()


# -- files: umask, temporary files, derived files ----------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        net, optimizer = _net_and_optimizer()
        with RunDir.create(tmp_path / "run", config=CONFIG) as run:
            run.save(net, optimizer, _history(0.5))
    finally:
        os.umask(old)
    for name in (LAST, BEST, "config.json", "metrics.json", "metrics.csv"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_temporary_files_of_a_killed_write_are_removed_at_the_next_start(tmp_path):
    net, optimizer = _net_and_optimizer()
    with RunDir.create(tmp_path, config=CONFIG) as run:
        run.save(net, optimizer, _history(0.5))
    leftovers = [tmp_path / ".checkpoint.npz.k1ll3d0.chainrule.tmp", tmp_path / ".metrics.json.x.chainrule.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a file")
    users = [tmp_path / "notes.tmp", tmp_path / ".notes.tmp", tmp_path / ".draft.txt.tmp"]
    for path in users:
        path.write_text("the user's own file")
    RunDir.open(tmp_path).close()
    assert not any(path.exists() for path in leftovers) and all(path.exists() for path in users)


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
def test_metrics_json_does_not_matter_for_resume(tmp_path, damage):
    net, optimizer = _net_and_optimizer()
    with RunDir.create(tmp_path, config=CONFIG) as run:
        run.save(net, optimizer, _history(0.5, 0.4))
    metrics = tmp_path / "metrics.json"
    if damage == "delete":
        metrics.unlink()
    elif damage == "truncate":
        metrics.write_text(metrics.read_text()[:20])
    else:
        metrics.write_text("{]")
    with RunDir.open(tmp_path) as run:
        assert run.epoch == 2
        assert len(run.restore(*_net_and_optimizer())) == 2
    assert json.loads(metrics.read_text())["epoch"] == [1, 2]  # re-derived from the checkpoint


# -- environment errors: full disk, read-only directory, a file in the way ------------------------


def _mount_tmpfs(path: Path, options: str) -> bool:
    """Mount a small tmpfs at ``path`` where this process may (root in a container usually can)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs, or (where mounting is not allowed) a plain folder: then the tests inject ENOSPC."""
    path = tmp_path / "disk"
    mounted = _mount_tmpfs(path, "size=1m")
    yield path, mounted
    if mounted:
        subprocess.run(["umount", str(path)], check=True)


def _fill(path: Path, leave: int) -> None:
    free = shutil.disk_usage(path).free
    with open(path / "filler", "wb") as f:
        f.write(b"\0" * max(free - leave, 0))


def test_a_full_disk_mid_run_keeps_the_previous_checkpoint(small_disk, monkeypatch):
    disk, mounted = small_disk
    net, optimizer = _net_and_optimizer()
    run = RunDir.create(disk / "run", config=CONFIG)
    run.save(net, optimizer, _history(0.5))
    before = (disk / "run" / LAST).read_bytes()
    if mounted:
        _fill(disk, leave=4096)  # a real ENOSPC from the kernel
    else:
        def full(fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "fsync", full)
    net.params["W1"][...] = 7.0
    with pytest.raises(RunDirError, match=r"cannot write .*(best|checkpoint)\.npz: the disk is full; the .* is intact"):
        run.save(net, optimizer, _history(0.5, 0.4))
    run.close()
    monkeypatch.undo()
    assert (disk / "run" / LAST).read_bytes() == before
    assert read_checkpoint(disk / "run").run["epoch"] == 1
    assert not list((disk / "run").glob(".*.tmp"))


def test_a_full_disk_is_found_before_training(small_disk, data_dir, capsys, monkeypatch):
    disk, mounted = small_disk
    if mounted:
        _fill(disk, leave=64 * 1024)
    else:
        monkeypatch.setattr(shutil, "disk_usage", lambda path: namedtuple("usage", "total used free")(1 << 20, 1 << 20, 1024))
    assert train(data_dir, disk / "run", "--epochs", "1", "--hidden-sizes", "64") == 1
    captured = capsys.readouterr()
    assert "error: not enough free space in" in captured.err and "MiB free" in captured.err
    assert "epoch 1/1" not in captured.out  # found before any training


def test_a_read_only_directory_is_found_before_loading_data(tmp_path, capsys, monkeypatch):
    read_only = tmp_path / "ro"
    mounted = _mount_tmpfs(read_only, "ro,size=64k")
    try:
        if not mounted and os.geteuid() != 0:
            read_only.chmod(0o555)
        elif not mounted:  # root without mount: permissions do not stop root, so inject the kernel's answer
            real_open = os.open

            def refuse(path, flags, *args, **kwargs):
                if str(path).startswith(str(read_only)) and flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
                    raise OSError(errno.EROFS, "Read-only file system", str(path))
                return real_open(path, flags, *args, **kwargs)

            monkeypatch.setattr(os, "open", refuse)
        # The data directory holds no data: the run directory's error must come first.
        (tmp_path / "no-data").mkdir()
        code = main(["train", "--data-dir", str(tmp_path / "no-data"), "--no-download", "--output-dir", str(read_only)])
        err = capsys.readouterr().err
        assert code == 1 and f"cannot write in {read_only}" in err and ("read-only" in err or "permission denied" in err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    finally:
        monkeypatch.undo()
        if mounted:
            subprocess.run(["umount", str(read_only)], check=True)
        else:
            read_only.chmod(0o755)


def test_an_output_dir_below_a_regular_file(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["train", "--data-dir", str(tmp_path), "--no-download", "--output-dir", str(tmp_path / "file" / "run")]) == 1
    assert f"{tmp_path / 'file'} is a file, not a directory" in capsys.readouterr().err


# -- --resume: what may change and what may not ----------------------------------------------------


@pytest.mark.parametrize(
    "option, message",
    [
        (["--batch-size", "32"], "--batch-size cannot change when resuming: the run in {run} was trained with --batch-size 16, got --batch-size 32"),
        (["--seed", "3"], "with --seed 0, got --seed 3"),
        (["--model", "two-layer"], "with --model mlp, got --model two-layer"),
        (["--hidden-sizes", "9"], "with --hidden-sizes 8, got --hidden-sizes 9"),
        (["--dtype", "float64"], "with --dtype float32, got --dtype float64"),
        (["--optimizer", "sgd"], "with --optimizer adam, got --optimizer sgd"),
        (["--schedule", "step"], "with --schedule cosine, got --schedule step"),
        (["--dataset", "fashion-mnist"], "with --dataset mnist, got --dataset fashion-mnist"),
        (["--limit", "10"], "without --limit, got --limit 10"),
        (["--validation-split", "0.2"], "with --validation-split 0.1, got --validation-split 0.2"),
        (["--weight-decay", "0.1"], "with --weight-decay 0.0, got --weight-decay 0.1"),
        (["--dropout", "0.3"], "without --dropout, got --dropout 0.3"),
        (["--batchnorm"], "without --batchnorm, got --batchnorm"),
        (["--activation", "tanh"], "without --activation, got --activation tanh"),
        (["--weight-init", "0.1"], "without --weight-init, got --weight-init 0.1"),
    ],
)
def test_resume_refuses_options_it_cannot_honour(data_dir, tmp_path, capsys, option, message):
    run_dir = tmp_path / "run"
    train(data_dir, run_dir, "--epochs", "1")
    capsys.readouterr()
    assert train(data_dir, run_dir, "--epochs", "2", "--resume", *option) == 2
    err = capsys.readouterr().err
    assert message.format(run=run_dir) in err and "Traceback" not in err
    assert read_checkpoint(run_dir).run["epoch"] == 1  # nothing trained


@pytest.mark.parametrize(
    "first, option, message",
    [  # given explicitly with the parser's default value, on a run trained otherwise
        (["--seed", "5"], ["--seed", "0"], "with --seed 5, got --seed 0"),
        (["--dtype", "float64"], ["--dtype", "float32"], "with --dtype float64, got --dtype float32"),
        (["--validation-split", "0.2"], ["--validation-split", "0.1"], "with --validation-split 0.2, got --validation-split 0.1"),
    ],
)
def test_resume_refuses_an_explicit_default_that_differs_from_the_run(data_dir, tmp_path, capsys, first, option, message):
    run_dir = tmp_path / "run"
    train(data_dir, run_dir, "--epochs", "1", *first)
    capsys.readouterr()
    assert train(data_dir, run_dir, "--epochs", "2", "--resume", *option) == 2
    assert message in capsys.readouterr().err


def test_resume_applies_and_prints_epochs_and_lr(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train(data_dir, run_dir, "--epochs", "2", "--schedule", "constant")
    capsys.readouterr()
    assert train(data_dir, run_dir, "--resume", "--epochs", "3", "--lr", "0.0005", "--batch-size", "16") == 0
    out = capsys.readouterr().out
    assert "resume: epochs 2 -> 3; lr 0.002 -> 0.0005" in out
    checkpoint = read_checkpoint(run_dir)
    assert checkpoint.config["training"]["lr"] == 0.0005 and checkpoint.run["history"]["lr"] == [0.002, 0.002, 0.0005]


def test_extending_a_finished_cosine_run_says_the_rate_rises(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train(data_dir, run_dir, "--epochs", "2")
    capsys.readouterr()
    assert train(data_dir, run_dir, "--resume", "--epochs", "4") == 0
    out = capsys.readouterr().out
    # re-planned over 4 epochs: epoch 2 ran at 0.001 (cos over 2), epoch 3 runs at 0.001 (cos over 4) ...
    rates = read_checkpoint(run_dir).run["history"]["lr"]
    assert rates[:2] == [0.002, pytest.approx(0.001)] and rates[2:] == [pytest.approx(0.001), pytest.approx(0.002 * 0.5 * (1 + math.cos(math.pi * 3 / 4)))]
    assert "resume: epochs 2 -> 4" in out
    run_dir = tmp_path / "finished"
    train(data_dir, run_dir, "--epochs", "4")
    capsys.readouterr()
    assert train(data_dir, run_dir, "--resume", "--epochs", "8") == 0
    out = capsys.readouterr().out
    assert "the cosine schedule is re-planned over 8 epochs, so the learning rate rises from 0.000293 (epoch 4) to 0.001 (epoch 5)" in out


def test_resume_without_a_checkpoint_and_evaluate_best(data_dir, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert train(data_dir, tmp_path / "empty", "--resume") == 1
    assert f"no checkpoint at {tmp_path / 'empty' / CHECKPOINT}" in capsys.readouterr().err
    train(data_dir, tmp_path / "run", "--epochs", "2")
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--checkpoint", "best", "--data-dir", str(data_dir), "--no-verify", "--no-download"]) == 0
    assert "(best checkpoint," in capsys.readouterr().out
    assert train(data_dir, tmp_path / "run", "--epochs", "2") == 1  # without --resume: never overwrite a run
    assert "already holds a run" in capsys.readouterr().err


# -- bad run directories and checkpoints: one table ---------------------------------------------------


def _valid_bytes(**changes) -> bytes:
    net, optimizer = _net_and_optimizer()
    checkpoint = Checkpoint(net.state_dict(), optimizer.state_dict(), CONFIG,
                            {"format": 1, "epoch": 1, "step": 0, "history": json.loads(_history(0.5).to_json()), "best": None})
    for key, value in changes.items():
        setattr(checkpoint, key, value)
    return encode_checkpoint(checkpoint)


def _npz(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _json_bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)


def _write(run_dir: Path, data: bytes, name: str = CHECKPOINT) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / name).write_bytes(data)
    return run_dir


def _mkdir(d: Path) -> Path:
    d.mkdir(parents=True)
    return d


def _weights(value) -> dict:
    net, _ = _net_and_optimizer()
    state = net.state_dict()
    state["W1"] = value(state["W1"])
    return state


def _locked_open(d: Path):
    with RunDir.create(d, config=CONFIG):
        RunDir.open(d)


def _restore_into(d: Path, net, optimizer):
    _write(d, _valid_bytes())
    with RunDir.open(d) as run:
        run.restore(net, optimizer)


Case = namedtuple("Case", "name action error pattern")
BAD_RUN_DIRS = [
    Case("missing directory", lambda d: read_checkpoint(d / "nope"), CheckpointError, r"no checkpoint at .*nope/checkpoint\.npz"),
    Case("empty directory", lambda d: read_checkpoint(_mkdir(d)), CheckpointError, r"no checkpoint at .*run/checkpoint\.npz: train first"),
    Case("not a zip", lambda d: read_checkpoint(_write(d, b"not a zip file")), CheckpointError, r"checkpoint\.npz is not a readable checkpoint"),
    Case("truncated", lambda d: read_checkpoint(_write(d, _valid_bytes()[:300])), CheckpointError, r"checkpoint\.npz is not a readable checkpoint"),
    Case("empty file", lambda d: read_checkpoint(_write(d, b"")), CheckpointError, r"checkpoint\.npz is not a readable checkpoint"),
    Case("pickled object array", lambda d: read_checkpoint(_write(d, _npz(**{"model/W1": np.array([{}], dtype=object), "__config__": _json_bytes("{}")}))),
         CheckpointError, "not a readable checkpoint"),
    Case("no config", lambda d: read_checkpoint(_write(d, _npz(**{"model/W1": np.ones(2)}))), CheckpointError, "has no embedded config; it was not written by chainrule"),
    Case("config not JSON", lambda d: read_checkpoint(_write(d, _npz(__config__=_json_bytes("{model")))), CheckpointError, "the embedded config is corrupt"),
    Case("config a list", lambda d: read_checkpoint(_write(d, _npz(__config__=_json_bytes("[1]")))), CheckpointError, "must be JSON objects"),
    Case("config of floats", lambda d: read_checkpoint(_write(d, _npz(__config__=np.ones(3)))), CheckpointError, "the embedded config should be UTF-8 bytes, got a float64 array"),
    Case("config not UTF-8", lambda d: read_checkpoint(_write(d, _npz(__config__=np.array([255, 254], dtype=np.uint8)))), CheckpointError, "the embedded config is corrupt"),
    Case("run state corrupt", lambda d: read_checkpoint(_write(d, _npz(__config__=_json_bytes("{}"), __run__=_json_bytes("{epoch")))), CheckpointError, "the embedded run state is corrupt"),
    Case("NaN weight", lambda d: read_checkpoint(_write(d, _valid_bytes(model=_weights(lambda w: w * np.nan)))), CheckpointError, "parameter W1 contains NaN or inf"),
    Case("inf weight", lambda d: read_checkpoint(_write(d, _valid_bytes(model=_weights(lambda w: w + np.inf)))), CheckpointError, "parameter W1 contains NaN or inf"),
    Case("integer weight", lambda d: read_checkpoint(_write(d, _valid_bytes(model=_weights(lambda w: w.astype(np.int64))))), CheckpointError, "parameter W1 has dtype int64, expected floating point"),
    Case("open: missing", lambda d: RunDir.open(d / "nope"), RunDirError, r"nope is not a run directory: it does not exist"),
    Case("open: a file", lambda d: RunDir.open(_write(d, b"x", "f") / "f"), RunDirError, r"/f is not a run directory: it is a file"),
    Case("open: no checkpoint", lambda d: RunDir.open(_mkdir(d)), CheckpointError, r"no checkpoint at .*checkpoint\.npz"),
    Case("open: weights only", lambda d: RunDir.open(save_checkpoint(d, build_model(CONFIG).state_dict(), {}, CONFIG).parent),
         CheckpointError, "holds weights but no run state .* cannot be resumed, only evaluated"),
    Case("open: epoch disagrees", lambda d: RunDir.open(_write(d, _valid_bytes(run={"epoch": 3, "history": json.loads(_history(0.5).to_json())}))),
         CheckpointError, r"run state in the checkpoint is inconsistent \(epoch 3 but 1 rows of history\)"),
    Case("open: no history", lambda d: RunDir.open(_write(d, _valid_bytes(run={"epoch": 1}))), CheckpointError, r"inconsistent \('history' is missing\)"),
    Case("open: locked", _locked_open, RunDirError, r"is in use by another chainrule process \(pid \d+\)"),
    Case("create: over a run", lambda d: RunDir.create(_write(d, _valid_bytes()), config=CONFIG), RunDirError, "already holds a run .*--resume"),
    Case("create: below a file", lambda d: RunDir.create(_write(d, b"x", "f") / "f" / "run", config=CONFIG), RunDirError, r"/f is a file, not a directory"),
    Case("restore: other shapes", lambda d: _restore_into(d, build_model({**CONFIG, "hidden_sizes": [5]}), Adam()), CheckpointError, "W1"),
    Case("restore: other optimizer", lambda d: _restore_into(d, build_model(CONFIG), SGD()), CheckpointError, "saved by optimizer 'Adam', not 'SGD'"),
    Case("which checkpoint", lambda d: checkpoint_path(d, "middle"), ValueError, "expected 'last' or 'best', got 'middle'"),
    Case("validation split 1", lambda d: split_validation(*_data(), 1.0), ValueError, r"expected a fraction in \[0, 1\), got 1.0"),
    Case("validation split < 0", lambda d: split_validation(*_data(), -0.1), ValueError, r"expected a fraction in \[0, 1\), got -0.1"),
    Case("validation split too big", lambda d: split_validation(*_data(1), 0.5), ValueError, "split 0.5 of 1 samples leaves 0 for training and 1 for validation; both need at least one"),
]


@pytest.mark.parametrize("case", BAD_RUN_DIRS, ids=[case.name for case in BAD_RUN_DIRS])
def test_bad_run_directories_and_checkpoints(tmp_path, case):
    with pytest.raises(case.error, match=case.pattern):
        case.action(tmp_path / "run")


@pytest.mark.parametrize("argv, message", [
    (["train", "--validation-split", "1"], "argument --validation-split: expected a fraction in [0, 1)"),
    (["train", "--validation-split", "-0.5"], "argument --validation-split: expected a fraction in [0, 1)"),
    (["train", "--validation-split", "half"], "argument --validation-split: expected a fraction in [0, 1)"),
    (["evaluate", "somewhere", "--checkpoint", "middle"], "argument --checkpoint: invalid choice: 'middle'"),
])
def test_run_dir_options_are_checked_when_parsed(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("damage, message", [
    (None, "no checkpoint at {run}/checkpoint.npz"),
    (b"", "{run}/checkpoint.npz is not a readable checkpoint"),
    (b"PK\x03\x04 truncated", "{run}/checkpoint.npz is not a readable checkpoint"),
])
@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_cli_on_a_missing_or_corrupt_checkpoint_says_which_file(tmp_path, capsys, damage, message, command):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    if damage is not None:
        (run_dir / CHECKPOINT).write_bytes(damage)
    argv = (["evaluate", str(run_dir)] if command == "evaluate"
            else ["train", "--resume", "--output-dir", str(run_dir), "--data-dir", str(tmp_path), "--no-download"])
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message.format(run=run_dir) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
