"""The datasets chainrule trains on, by name: where their files are read from and how.

``data_dir`` means that folder and nothing else: a folder that lacks a file is an error, never a
quiet fallback to ``$CHAINRULE_DATA``, the cache or a download. Without it the usual lookup
applies (:func:`~chainrule.data.fetch_file`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import DataDirError, DataError
from .fetch import fetch_file
from .mnist import Split, load_idx_dataset
from .sources import FASHION_CLASSES, FASHION_MNIST, MNIST, SPLITS, DatasetSource

SOURCES: dict[str, DatasetSource] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}
CLASS_NAMES: dict[str, list[str]] = {"mnist": [str(d) for d in range(10)], "fashion-mnist": list(FASHION_CLASSES)}


def dataset_source(name: str) -> DatasetSource:
    """The :class:`DatasetSource` called ``name`` (``"mnist"``, ``"fashion-mnist"``)."""
    if name not in SOURCES:
        raise DataError(f"unknown dataset {name!r}: expected one of {', '.join(SOURCES)}")
    return SOURCES[name]


def load_dataset(
    name: str,
    *,
    flatten: bool,
    dtype: Any,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    verify: bool = True,
) -> tuple[Split, Split]:
    """``((x_train, t_train), (x_test, t_test))`` of dataset ``name``, normalised to [0, 1]."""
    source = dataset_source(name)
    if data_dir is not None:
        require_files_in(source, Path(data_dir))
    return load_idx_dataset(source, normalize=True, flatten=flatten, data_dir=data_dir,
                            download=download and data_dir is None, dtype=dtype, verify=verify)


def data_location(name: str, data_dir: str | os.PathLike[str] | None = None) -> str:
    """The folder the dataset's files are read from now (after :func:`load_dataset`), for a header."""
    source = dataset_source(name)
    folders = sorted({str(_local_file(source, key, data_dir).parent) for key in SPLITS})
    return " and ".join(folders)


def _local_file(source: DatasetSource, key: str, data_dir: str | os.PathLike[str] | None) -> Path:
    """Where the lookup finds ``key`` now: never downloads, never hashes (cheap)."""
    return fetch_file(source, key, data_dir=data_dir, download=False, verify=False, progress=False)


def require_files_in(source: DatasetSource, data_dir: Path) -> None:
    """Every file of ``source`` is in ``data_dir`` itself (the lookup would try other places next)."""
    if not data_dir.is_dir():
        raise DataDirError(f"{data_dir}: the data folder does not exist" if not data_dir.exists()
                           else f"{data_dir}: the data folder is a file, not a folder")
    inside = (data_dir, data_dir / source.subdir)
    missing = []
    for key in SPLITS:
        try:
            found = _local_file(source, key, data_dir).parent in inside
        except DataError:
            found = False
        if not found:
            missing.append(source.files[key].name)
    if len(missing) == len(SPLITS):
        raise DataDirError(
            f"{data_dir}: no {source.name} files in it (looked for {missing[0]} and the other "
            f"IDX files, gzip-compressed or not, in {inside[1]} and {inside[0]})"
        )
    if missing:
        raise DataDirError(f"{data_dir}: {source.name} files missing: {', '.join(missing)} "
                        f"(looked in {inside[1]} and {inside[0]})")
