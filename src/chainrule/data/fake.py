"""Tiny random stand-ins for datasets, for tests and offline demos.

They have the real file names and format, so every code path that loads MNIST (lookup,
download from a ``file://`` mirror, checksum, IDX parsing) runs on them without a network;
:func:`describe_local_files` does the same for any dataset whose small files a test wrote.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from .checksums import file_digest
from .idx import write_idx
from .sources import MNIST, DatasetSource, RemoteDataset, RemoteFile


def write_fake_dataset(
    directory: str | os.PathLike[str],
    source: DatasetSource = MNIST,
    *,
    train_size: int = 20,
    test_size: int = 10,
    seed: int = 0,
) -> DatasetSource:
    """Write random images and labels shaped like ``source`` into ``directory``.

    Returns a copy of ``source`` that describes the written files (their sizes and SHA-256) and
    has ``directory`` as its only mirror, as a ``file://`` URL.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    image_shape = source.image_shape
    arrays = {
        "train_images": rng.integers(0, 256, (train_size, *image_shape), dtype=np.uint8),
        "train_labels": rng.integers(0, source.num_classes, train_size, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (test_size, *image_shape), dtype=np.uint8),
        "test_labels": rng.integers(0, source.num_classes, test_size, dtype=np.uint8),
    }
    files = {}
    for key, array in arrays.items():
        path = write_idx(directory / source.files[key].name, array)
        raw = write_idx(directory / "raw.tmp", array, compress=False)
        raw_size, raw_sha256 = raw.stat().st_size, file_digest(raw)
        raw.unlink()
        files[key] = RemoteFile(
            path.name, path.stat().st_size, sha256=file_digest(path), raw_size=raw_size, raw_sha256=raw_sha256
        )
    return replace(
        source,
        name=f"fake {source.name}",
        files=files,
        mirrors=(directory.resolve().as_uri() + "/",),
    )


def describe_local_files(source: RemoteDataset, directory: str | os.PathLike[str]) -> RemoteDataset:
    """A copy of ``source`` describing the files of the same names in ``directory``.

    Each file present gets its size and SHA-256 (a missing one keeps only its name), and
    ``directory``, as a ``file://`` URL, becomes the only mirror.
    """
    directory = Path(directory)
    files = {}
    for key, remote in source.files.items():
        path = directory / remote.name
        files[key] = (
            RemoteFile(remote.name, path.stat().st_size, sha256=file_digest(path))
            if path.is_file()
            else RemoteFile(remote.name)
        )
    return replace(source, name=f"fake {source.name}", files=files, mirrors=(directory.resolve().as_uri() + "/",))
