"""load_mnist on small generated IDX files: lookup order, textbook semantics, consistency checks."""

from __future__ import annotations

import gzip
import urllib.request

import numpy as np
import pytest

from chainrule.data import (
    FASHION_MNIST,
    MNIST,
    load_fashion_mnist,
    load_idx_dataset,
    load_mnist,
    read_idx,
    write_fake_dataset,
    write_idx,
)
from chainrule.errors import DataError, DTypeError


@pytest.fixture(autouse=True)
def offline_and_isolated(tmp_path, monkeypatch):
    """A private cache, no CHAINRULE_DATA from the caller, and no network."""
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def refuse(url, *args, **kwargs):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def fake(tmp_path):
    """A 20/10-image fake MNIST written flat into tmp_path/data."""
    return write_fake_dataset(tmp_path / "data", train_size=20, test_size=10)


def raw_arrays(folder):
    return {key: read_idx(folder / remote.name) for key, remote in MNIST.files.items()}


def test_default_is_normalized_flat_with_integer_labels(tmp_path, fake):
    raw = raw_arrays(tmp_path / "data")
    (x_train, t_train), (x_test, t_test) = load_idx_dataset(fake, data_dir=tmp_path / "data")
    assert x_train.shape == (20, 784) and x_test.shape == (10, 784)
    assert x_train.dtype == np.float32
    np.testing.assert_allclose(x_train, raw["train_images"].reshape(20, 784) / 255, rtol=1e-6)
    assert x_test.min() >= 0.0 and x_test.max() <= 1.0
    assert t_train.dtype == np.int64 and t_train.shape == (20,)
    np.testing.assert_array_equal(t_test, raw["test_labels"])


def test_unnormalized_unflattened_one_hot(tmp_path, fake):
    raw = raw_arrays(tmp_path / "data")
    (x_train, t_train), _ = load_idx_dataset(
        fake, normalize=False, flatten=False, one_hot_label=True, data_dir=tmp_path / "data"
    )
    assert x_train.shape == (20, 1, 28, 28) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train[:, 0], raw["train_images"])
    assert t_train.shape == (20, 10) and t_train.dtype == np.float32
    np.testing.assert_array_equal(t_train.sum(axis=1), 1)
    np.testing.assert_array_equal(t_train.argmax(axis=1), raw["train_labels"])


def test_dtype_applies_to_images_and_one_hot_labels(tmp_path, fake):
    (x_train, t_train), _ = load_idx_dataset(
        fake, one_hot_label=True, dtype=np.float64, data_dir=tmp_path / "data"
    )
    assert x_train.dtype == t_train.dtype == np.float64
    with pytest.raises(DTypeError, match="dtype must be a floating type, got int32"):
        load_idx_dataset(fake, dtype=np.int32, data_dir=tmp_path / "data")


def test_load_mnist_reads_local_files_without_verification(tmp_path, fake):
    (x_train, _), (x_test, _) = load_mnist(data_dir=tmp_path / "data", verify=False)
    assert x_train.shape == (20, 784) and x_test.shape == (10, 784)


def test_load_mnist_verifies_files_under_published_names(tmp_path, fake):
    with pytest.raises(DataError) as raised:
        load_mnist(data_dir=tmp_path / "data")
    message = str(raised.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert "wrong size" in message and "expected 9912422 bytes" in message
    data = tmp_path / "data" / "train-images-idx3-ubyte.gz"
    data.write_bytes(data.read_bytes().ljust(9_912_422, b"\0"))  # right size, wrong content
    with pytest.raises(DataError, match=r"sha256 mismatch .* expected 440fcabf"):
        load_mnist(data_dir=tmp_path / "data")


def test_env_variable_and_dataset_subfolder(tmp_path, monkeypatch):
    fake = write_fake_dataset(tmp_path / "shared" / "mnist")
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "shared"))
    (x_train, _), _ = load_idx_dataset(fake)
    assert x_train.shape == (20, 784)


def test_data_dir_comes_before_env_variable(tmp_path, monkeypatch):
    write_fake_dataset(tmp_path / "env", train_size=5, test_size=5)
    fake = write_fake_dataset(tmp_path / "explicit", train_size=7, test_size=3)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "env"))
    (x_train, _), _ = load_idx_dataset(fake, data_dir=tmp_path / "explicit")
    assert len(x_train) == 7


def decompress_into(folder, source_dir, source):
    folder.mkdir(parents=True, exist_ok=True)
    for remote in source.files.values():
        (folder / remote.decompressed_name).write_bytes(gzip.decompress((source_dir / remote.name).read_bytes()))


def test_uncompressed_files_are_accepted_and_verified(tmp_path, fake):
    decompress_into(tmp_path / "plain" / "mnist", tmp_path / "data", fake)
    (x_train, _), _ = load_idx_dataset(fake, data_dir=tmp_path / "plain", download=False)
    assert x_train.shape == (20, 784)


def test_a_changed_label_in_a_decompressed_file_is_caught(tmp_path, fake):
    folder = tmp_path / "plain" / "mnist"
    decompress_into(folder, tmp_path / "data", fake)
    labels = folder / "train-labels-idx1-ubyte"
    raw = bytearray(labels.read_bytes())
    raw[-1] = (raw[-1] + 1) % 10  # still a valid label: only the digest can tell
    labels.write_bytes(bytes(raw))
    expected = fake.files["train_labels"].raw_sha256
    with pytest.raises(DataError, match=rf"train-labels-idx1-ubyte: sha256 mismatch.*expected {expected}, found [0-9a-f]{{64}}"):
        load_idx_dataset(fake, data_dir=tmp_path / "plain", download=False)
    load_idx_dataset(fake, data_dir=tmp_path / "plain", download=False, verify=False)  # opting out still works


def test_decompressed_files_that_are_not_mnist_fail_the_size_check(tmp_path, fake):
    decompress_into(tmp_path / "plain" / "mnist", tmp_path / "data", fake)
    with pytest.raises(DataError, match=r"wrong size for train-images-idx3-ubyte: expected 47040016 bytes, found 15696"):
        load_mnist(data_dir=tmp_path / "plain", download=False)


def test_a_decompressed_file_without_a_recorded_digest_is_loaded_with_a_warning(tmp_path):
    from dataclasses import replace

    from chainrule.errors import UnverifiedDataWarning

    fake = write_fake_dataset(tmp_path / "data", train_size=3, test_size=2)
    decompress_into(tmp_path / "plain", tmp_path / "data", fake)
    files = dict(fake.files)
    files["test_images"] = replace(files["test_images"], raw_sha256=None)
    with pytest.warns(UnverifiedDataWarning, match=r"t10k-images-idx3-ubyte: no digest of t10k-images-idx3-ubyte is recorded"):
        load_idx_dataset(replace(fake, files=files), data_dir=tmp_path / "plain", download=False)


def test_every_published_file_has_its_decompressed_size_and_mnist_its_digest():
    for source in (MNIST, FASHION_MNIST):
        for remote in source.files.values():
            assert remote.raw_size is not None, remote.name
    assert all(remote.raw_sha256 for remote in MNIST.files.values())
    # Fashion-MNIST's image archives were not at hand to derive a digest from: say so, never invent one.
    assert FASHION_MNIST.files["train_images"].raw_sha256 is None


def test_fashion_mnist_looks_in_its_own_subfolder(tmp_path):
    write_fake_dataset(tmp_path / "data" / "fashion-mnist", FASHION_MNIST, train_size=4)
    write_fake_dataset(tmp_path / "data", MNIST, train_size=6)  # same names, flat: not Fashion
    (x_train, _), _ = load_fashion_mnist(data_dir=tmp_path / "data", verify=False)
    assert len(x_train) == 4


def test_not_found_lists_every_place_and_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "env"))
    with pytest.raises(DataError) as raised:
        load_mnist(data_dir=tmp_path / "given", download=False)
    message = str(raised.value)
    for place in ["given/mnist", "given", "env/mnist", "cache/mnist"]:
        assert str(tmp_path / place) in message
    assert "train-images-idx3-ubyte.gz / train-images-idx3-ubyte not found" in message
    assert "download=False" in message
    assert "data_dir=" in message and "CHAINRULE_DATA=" in message


@pytest.mark.parametrize(
    "key, array, message",
    [
        (
            "train_labels",
            np.zeros(19, np.uint8),
            "19 labels, but train-images-idx3-ubyte.gz has 20",
        ),
        ("test_labels", np.full(10, 10, np.uint8), "labels must be in 0..9, found values from 10"),
        ("test_labels", np.zeros((10, 1), np.uint8), "labels as integers of shape (N,)"),
        ("train_images", np.zeros((20, 27, 28), np.uint8), "shape (N, 28, 28), found uint8 of"),
        ("train_images", np.zeros((20, 28, 28), np.float32), "found float32 of shape (20, 28"),
    ],
)
def test_inconsistent_files_are_reported(tmp_path, key, array, message):
    write_fake_dataset(tmp_path / "data")
    write_idx(tmp_path / "data" / MNIST.files[key].name, array)
    with pytest.raises(DataError) as raised:
        load_mnist(data_dir=tmp_path / "data", verify=False)
    assert MNIST.files[key].name in str(raised.value)
    assert message in str(raised.value)
