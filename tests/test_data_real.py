"""The real MNIST and Fashion-MNIST label files, when $CHAINRULE_DATA points at them.

Skipped otherwise, e.g. ``CHAINRULE_DATA=/path/to/datasets python -m pytest tests``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import FASHION_MNIST, MNIST, fetch_file, load_mnist, read_idx
from chainrule.errors import DataError

DATA = os.environ.get("CHAINRULE_DATA")


def has_files(subdir: str, keys: list[str], source) -> bool:
    if not DATA:
        return False
    return all((Path(DATA) / subdir / source.files[key].name).is_file() for key in keys)


needs_mnist = pytest.mark.skipif(
    not has_files("mnist", list(MNIST.files), MNIST),
    reason="set CHAINRULE_DATA to a folder with mnist/*.gz to run",
)
needs_fashion_labels = pytest.mark.skipif(
    not has_files("fashion-mnist", ["train_labels", "test_labels"], FASHION_MNIST),
    reason="set CHAINRULE_DATA to a folder with fashion-mnist/*-labels-*.gz to run",
)


@needs_mnist
def test_real_mnist():
    (x_train, t_train), (x_test, t_test) = load_mnist(download=False, verify=True)
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.float32
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    np.testing.assert_array_equal(t_train[:5], [5, 0, 4, 1, 9])  # the famous first digits
    np.testing.assert_array_equal(t_test[:5], [7, 2, 1, 0, 4])
    train_counts, test_counts = np.bincount(t_train), np.bincount(t_test)
    assert train_counts.sum() == 60000 and test_counts.sum() == 10000
    assert train_counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test_counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@needs_fashion_labels
@pytest.mark.parametrize("key, per_class", [("train_labels", 6000), ("test_labels", 1000)])
def test_real_fashion_mnist_labels(key, per_class):
    labels = read_idx(fetch_file(FASHION_MNIST, key, download=False, verify=True))
    assert labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [per_class] * 10


@needs_mnist
@pytest.mark.parametrize("source, keys", [(MNIST, list(MNIST.files)), (FASHION_MNIST, ["train_labels", "test_labels"])])
def test_recorded_decompressed_digests_follow_from_the_verified_archives(source, keys):
    for key in keys:
        remote = source.files[key]
        raw = gzip.decompress((Path(DATA) / source.subdir / remote.name).read_bytes())
        assert len(raw) == remote.raw_size and hashlib.sha256(raw).hexdigest() == remote.raw_sha256, key


@needs_mnist
def test_a_user_s_decompressed_copy_with_one_label_changed_fails_by_name(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for remote in MNIST.files.values():
        if "labels" in remote.name:
            raw = bytearray(gzip.decompress((Path(DATA) / "mnist" / remote.name).read_bytes()))
            if remote.name.startswith("t10k"):
                raw[8] = 3 if raw[8] != 3 else 4  # the first test label, 7 in the original
            (folder / remote.decompressed_name).write_bytes(bytes(raw))
        else:
            (folder / remote.name).symlink_to(Path(DATA) / "mnist" / remote.name)
    expected = MNIST.files["test_labels"].raw_sha256
    with pytest.raises(DataError, match=rf"t10k-labels-idx1-ubyte: sha256 mismatch for t10k-labels-idx1-ubyte: expected {expected}, found "):
        load_mnist(data_dir=tmp_path, download=False)
