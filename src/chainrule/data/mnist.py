"""``load_mnist`` with the textbook's arguments and return value, and Fashion-MNIST alike.

Returns ``((x_train, t_train), (x_test, t_test))``. Files are read from IDX (never pickle: a
pickle can run arbitrary code when loaded, and the IDX files are what the publishers checksum).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from ..errors import DataError, DTypeError
from .download import URLOpener
from .fetch import fetch_file
from .idx import read_idx
from .sources import FASHION_MNIST, MNIST, SPLITS, DatasetSource

Split = tuple[np.ndarray, np.ndarray]


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    dtype: DTypeLike = np.float32,
    verify: bool = True,
) -> tuple[Split, Split]:
    """MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels.

    normalize: pixels as ``dtype`` in [0, 1] (x / 255); else uint8 in 0..255.
    flatten: images as (N, 784); else (N, 1, 28, 28), the layout convolution layers take.
    one_hot_label: labels as (N, 10) one-hot rows of ``dtype``; else int64 of shape (N,).
    Files are looked for in ``data_dir``, ``$CHAINRULE_DATA``, the cache, and else downloaded
    (``download=True``); ``verify`` checks local files against the published digests.
    """
    return load_idx_dataset(
        MNIST,
        normalize,
        flatten,
        one_hot_label,
        data_dir=data_dir,
        download=download,
        dtype=dtype,
        verify=verify,
    )


def load_fashion_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    dtype: DTypeLike = np.float32,
    verify: bool = True,
) -> tuple[Split, Split]:
    """Fashion-MNIST: MNIST's format and sizes, but ten kinds of clothing (see ``FASHION_CLASSES``).

    Arguments as for :func:`load_mnist`; a local folder may hold the files in ``fashion-mnist/``.
    """
    return load_idx_dataset(
        FASHION_MNIST,
        normalize,
        flatten,
        one_hot_label,
        data_dir=data_dir,
        download=download,
        dtype=dtype,
        verify=verify,
    )


def load_idx_dataset(
    source: DatasetSource,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    dtype: DTypeLike = np.float32,
    verify: bool = True,
    urlopen: URLOpener | None = None,
    progress: bool = True,
) -> tuple[Split, Split]:
    """:func:`load_mnist` for any dataset described by a :class:`DatasetSource`.

    ``urlopen`` replaces urllib's opener and ``progress=False`` hides the download bar.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise DTypeError(f"load {source.name}: dtype must be a floating type, got {dtype}")
    paths = {
        key: fetch_file(
            source,
            key,
            data_dir=data_dir,
            download=download,
            verify=verify,
            urlopen=urlopen,
            progress=progress,
        )
        for key in SPLITS
    }
    splits = []
    for prefix in ("train", "test"):
        images_path, labels_path = paths[f"{prefix}_images"], paths[f"{prefix}_labels"]
        images, labels = read_idx(images_path), read_idx(labels_path)
        _check_images(source, images, images_path)
        _check_labels(source, labels, labels_path, len(images), images_path)
        splits.append(
            (
                _prepare_images(images, normalize, flatten, dtype),
                _prepare_labels(labels, one_hot_label, source.num_classes, dtype),
            )
        )
    return splits[0], splits[1]


def _check_images(source: DatasetSource, images: np.ndarray, path: Path) -> None:
    expected = source.image_shape
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != expected:
        raise DataError(
            f"{path}: expected {source.name} images as uint8 of shape (N, {expected[0]}, "
            f"{expected[1]}), found {images.dtype} of shape {images.shape}"
        )


def _check_labels(
    source: DatasetSource, labels: np.ndarray, path: Path, n_images: int, images_path: Path
) -> None:
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            f"{path}: expected {source.name} labels as integers of shape (N,), "
            f"found {labels.dtype} of shape {labels.shape}"
        )
    if len(labels) != n_images:
        raise DataError(
            f"{path}: {len(labels)} labels, but {images_path.name} has {n_images} images"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= source.num_classes):
        raise DataError(
            f"{path}: labels must be in 0..{source.num_classes - 1}, "
            f"found values from {labels.min()} to {labels.max()}"
        )


def _prepare_images(
    images: np.ndarray, normalize: bool, flatten: bool, dtype: np.dtype
) -> np.ndarray:
    shape = (len(images), -1) if flatten else (len(images), 1, *images.shape[1:])
    images = images.reshape(shape)
    if not normalize:
        return images
    scaled = images.astype(dtype)
    scaled /= 255  # in place: the float copy of the training set is the big allocation
    return scaled


def _prepare_labels(
    labels: np.ndarray, one_hot: bool, num_classes: int, dtype: np.dtype
) -> np.ndarray:
    labels = labels.astype(np.int64)
    if not one_hot:
        return labels
    encoded = np.zeros((len(labels), num_classes), dtype=dtype)
    encoded[np.arange(len(labels)), labels] = 1
    return encoded
