"""Checkpoints: round trip, atomic writes, no pickle, clear errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.checkpoint import CHECKPOINT, atomic_write_bytes, load_checkpoint, save_checkpoint
from chainrule.errors import CheckpointError
from chainrule.models import build_model, model_config
from chainrule.optimizers import Adam


def test_round_trip(tmp_path):
    config = model_config("mlp", hidden_sizes=[5], dtype="float64")
    net = build_model(config, rng=0)
    optimizer = Adam()
    optimizer.update(net.params, net.gradient(np.ones((2, 784)), np.array([1, 2])))
    save_checkpoint(tmp_path, net.state_dict(), optimizer.state_dict(), config)
    model, opt_state, loaded_config = load_checkpoint(tmp_path)
    assert loaded_config == config
    rebuilt = build_model(loaded_config, rng=1)
    rebuilt.load_state_dict(model)
    for key in net.params:
        np.testing.assert_array_equal(net.params[key], rebuilt.params[key])
    restored = Adam()
    restored.load_state_dict(opt_state, params=rebuilt.params)
    assert restored.iterations == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz", "config.json"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temporary file left behind


def test_missing_and_corrupt_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path)
    (tmp_path / CHECKPOINT).write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path)


def test_pickled_arrays_are_refused(tmp_path):
    np.savez(tmp_path / CHECKPOINT, **{"model/W1": np.array([{"evil": 1}], dtype=object), "__config__": np.frombuffer(b"{}", np.uint8)})
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path)


def test_foreign_and_non_finite_checkpoints(tmp_path):
    np.savez(tmp_path / CHECKPOINT, **{"model/W1": np.ones(2)})
    with pytest.raises(CheckpointError, match="no embedded config"):
        load_checkpoint(tmp_path)
    save_checkpoint(tmp_path, {"W1": np.array([1.0, np.nan])}, {}, {"model": "mlp"})
    with pytest.raises(CheckpointError, match="W1 contains NaN"):
        load_checkpoint(tmp_path)


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        build_model({"model": "resnet"})
