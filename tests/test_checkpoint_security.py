"""Checkpoints from someone else: a zip bomb, crafted records, configs JSON cannot hold.

``read_checkpoint`` checks member names and declared sizes before it decompresses anything,
then every field of ``__config__`` and ``__run__`` that chainrule acts on; each failure is one
:class:`CheckpointError` naming the file and the field.
"""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from chainrule.checkpoint import (
    CHECKPOINT, KNOWN_DATASETS, KNOWN_MODELS, Checkpoint, encode_checkpoint, read_checkpoint, save_checkpoint,
)
from chainrule.cli.datasets import CORPORA, SOURCES
from chainrule.cli.main import main
from chainrule.errors import CheckpointError, ConfigTypeError
from chainrule.models import BUILDABLE_MODELS, build_model, model_config
from chainrule.optimizers import Adam
from chainrule.rundir import RunDir

CONFIG = {**model_config("mlp", hidden_sizes=[4], dtype="float64"), "dataset": "mnist",
          "training": {"epochs": 1, "batch_size": 10, "lr": 0.01}}
HISTORY = {"epoch": [1], "train_loss": [0.5], "train_acc": [0.5], "val_loss": [0.4], "val_acc": [0.6],
           "test_loss": [None], "test_acc": [None], "lr": [0.01], "seconds": [1.0]}
RUN = {"format": 1, "epoch": 1, "step": 4, "history": HISTORY, "best": {"epoch": 1, "val_loss": 0.4, "val_acc": 0.6}}


def checkpoint_bytes(config: dict = CONFIG, run: dict | None = RUN) -> bytes:
    net = build_model(model_config("mlp", hidden_sizes=[4], dtype="float64"), rng=0)
    return encode_checkpoint(Checkpoint(net.state_dict(), Adam().state_dict(), config, run or {}))


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / CHECKPOINT
    path.write_bytes(data)
    return path


def with_member(data: bytes, name: str, payload: bytes, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", compression=compression) as archive:
        archive.writestr(name, payload)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_the_name_lists_match_the_models_and_the_clis_datasets() -> None:
    assert KNOWN_MODELS == BUILDABLE_MODELS and set(KNOWN_DATASETS) == set(SOURCES) | set(CORPORA)


# -- the zip bomb --------------------------------------------------------------------------------------


def peak_memory_of(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["extra.npy", "model/W9.npy"])
def test_a_compressed_member_is_refused_before_it_is_decompressed(tmp_path: Path, name: str) -> None:
    """32 MB of zeros deflate to 32 kB; the 4.3 MB file of the issue expanded to 4 GiB the same way."""
    path = write(tmp_path, with_member(checkpoint_bytes(), name, npy(np.zeros(4 << 20))))
    assert path.stat().st_size < 200_000

    def load() -> None:
        with pytest.raises(CheckpointError, match=r"checkpoint\.npz is not a readable checkpoint \((unexpected member|member model/W9)"):
            read_checkpoint(path)

    assert peak_memory_of(load) < 2 << 20


def test_a_declared_size_larger_than_the_file_is_refused_from_the_directory(tmp_path: Path) -> None:
    """The zip's central directory claims 4 GiB for a stored member: nothing is read."""
    data = bytearray(with_member(checkpoint_bytes(), "model/W9.npy", npy(np.zeros(8)), zipfile.ZIP_STORED))
    entry = data.rindex(b"PK\x01\x02")  # the last central-directory entry: model/W9.npy
    data[entry + 20:entry + 28] = struct.pack("<II", 0xF0000000, 0xF0000000)  # compressed, uncompressed size
    path = write(tmp_path, bytes(data))
    with pytest.raises(CheckpointError, match=r"declare \d+ bytes, more than the file's|not a readable checkpoint"):
        read_checkpoint(path)


def test_a_member_whose_header_disagrees_with_its_size_is_refused(tmp_path: Path) -> None:
    member = npy(np.zeros(8))
    lying = member.replace(b"(8,)", b"(9,)")
    path = write(tmp_path, with_member(checkpoint_bytes(), "model/W9.npy", lying, zipfile.ZIP_STORED))
    with pytest.raises(CheckpointError, match=r"member model/W9\.npy declares \d+ bytes, its header \d+"):
        read_checkpoint(path)


# -- crafted records: one CheckpointError naming the file and the field ---------------------------------


@pytest.mark.parametrize(
    ("config", "run", "message"),
    [
        ({k: v for k, v in CONFIG.items() if k != "dataset"}, RUN, "config has no dataset"),
        ({**CONFIG, "model": "evil"}, RUN, "config.model must be one of"),
        ({**CONFIG, "dataset": "../../etc"}, RUN, "config.dataset must be one of"),
        ({**CONFIG, "hidden_sizes": [10**9]}, RUN, "config.hidden_sizes"),
        ({**CONFIG, "hidden_sizes": "4"}, RUN, "config.hidden_sizes"),
        ({**CONFIG, "input_size": 5}, RUN, "config.input_size must be the product"),
        ({**CONFIG, "dtype": "object"}, RUN, "config.dtype"),
        ({**CONFIG, "training": []}, RUN, "config.training"),
        (CONFIG, {**RUN, "best": 5}, "run.best must be null or an object"),
        (CONFIG, {**RUN, "best": {"epoch": 1}}, "run.best.val_loss must be a number"),
        (CONFIG, {**RUN, "best": {"epoch": 7, "val_loss": 0.1, "val_acc": 0.5}}, "run.best.epoch"),
        (CONFIG, {**RUN, "best": {"epoch": 1, "val_loss": "0.1", "val_acc": 0.5}}, "run.best.val_loss must be a number"),
        (CONFIG, {**RUN, "history": "a string"}, "run.history must be an object"),
        (CONFIG, {**RUN, "history": {**HISTORY, "val_loss": ["0.4"]}}, "run.history.val_loss must hold numbers"),
        (CONFIG, {**RUN, "epoch": "1"}, "run.epoch must be a non-negative integer"),
        (CONFIG, {**RUN, "step": -1}, "run.step"),
    ],
)
def test_crafted_records_are_one_error_naming_the_file_and_the_field(tmp_path: Path, config: dict, run: dict,
                                                                     message: str) -> None:
    path = write(tmp_path, checkpoint_bytes(config, run))
    with pytest.raises(CheckpointError, match=message) as error:
        read_checkpoint(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(CheckpointError, match=message):
        RunDir.open(tmp_path).close()


def test_json_nested_a_hundred_thousand_deep_is_refused_without_recursion(tmp_path: Path) -> None:
    data = checkpoint_bytes()
    deep = np.frombuffer(b"[" * 100_000, dtype=np.uint8)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info, npy(deep) if info.filename == "__config__.npy" else source.read(info))
    path = write(tmp_path, buffer.getvalue())
    with pytest.raises(CheckpointError, match="embedded config is nested more than"):
        read_checkpoint(path)


@pytest.mark.parametrize(
    ("config", "message"),
    [({**CONFIG, "model": "evil"}, "config.model"), ({**CONFIG, "dataset": "../../etc"}, "config.dataset"),
     ({k: v for k, v in CONFIG.items() if k != "dataset"}, "config has no dataset")],
)
def test_evaluate_reports_a_crafted_checkpoint_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           config: dict, message: str) -> None:
    write(tmp_path, checkpoint_bytes(config))
    assert main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_legitimate_run_still_resumes(tmp_path: Path) -> None:
    write(tmp_path, checkpoint_bytes())
    with RunDir.open(tmp_path) as run:
        assert run.epoch == 1 and run.best["val_loss"] == 0.4


# -- saving a config that JSON cannot hold --------------------------------------------------------------


def test_save_checkpoint_names_the_field_json_cannot_hold(tmp_path: Path) -> None:
    config = {**CONFIG, "training": {"lr": np.float32(0.1)}}
    with pytest.raises(ConfigTypeError, match=r"config\['training'\]\['lr'\] is a float32, which JSON cannot hold"):
        save_checkpoint(tmp_path, {"W1": np.ones(2)}, {}, config)
    assert not (tmp_path / CHECKPOINT).exists()
    with pytest.raises(ConfigTypeError, match=r"config\['shape'\]\[1\] is a object"):
        save_checkpoint(tmp_path, {"W1": np.ones(2)}, {}, {**CONFIG, "shape": [1, object()]})


def test_evaluate_asks_for_a_dataset_when_a_bare_weights_file_names_none(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = model_config("mlp", hidden_sizes=[4], dtype="float64")
    save_checkpoint(tmp_path, build_model(config, rng=0).state_dict(), {}, config)
    assert main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "names no dataset; pass --dataset" in err and "Traceback" not in err
