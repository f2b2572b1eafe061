"""The datasets chainrule trains on, by name: where their files are read from and how.

``data_dir`` means that folder and nothing else: a folder that lacks a file is an error, never a
quiet fallback to ``$CHAINRULE_DATA``, the cache or a download. Without it the usual lookup
applies (:func:`~chainrule.data.fetch_file`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import DataDirError, DataError
from .fetch import fetch_file
from .mnist import Split, load_idx_dataset
from .ptb import load_ptb
from .sources import FASHION_CLASSES, FASHION_MNIST, MNIST, PTB, DatasetSource, RemoteDataset

SOURCES: dict[str, DatasetSource] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}
CLASS_NAMES: dict[str, list[str]] = {"mnist": [str(d) for d in range(10)], "fashion-mnist": list(FASHION_CLASSES)}
# Text corpora, for the language models.
CORPORA: dict[str, RemoteDataset] = {"ptb": PTB}


class Corpus(NamedTuple):
    """A text corpus as word ids: its training, validation and test texts and their one vocabulary."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    word_to_id: dict[str, int]
    id_to_word: dict[int, str]


def dataset_source(name: str) -> DatasetSource:
    """The :class:`DatasetSource` called ``name`` (``"mnist"``, ``"fashion-mnist"``)."""
    if name not in SOURCES:
        raise DataError(f"unknown dataset {name!r}: expected one of {', '.join(SOURCES)}")
    return SOURCES[name]


def _any_source(name: str) -> RemoteDataset:
    if name in CORPORA:
        return CORPORA[name]
    return dataset_source(name)


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


def load_corpus(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    verify: bool = True,
    progress: bool = True,
) -> Corpus:
    """The texts of corpus ``name`` (``"ptb"``) as word ids, numbered by the training text's vocabulary."""
    if name not in CORPORA:
        raise DataError(f"unknown corpus {name!r}: expected one of {', '.join(CORPORA)}")
    if data_dir is not None:
        require_files_in(CORPORA[name], Path(data_dir))
    options = dict(data_dir=data_dir, download=download and data_dir is None, verify=verify, progress=progress)
    train, word_to_id, id_to_word = load_ptb("train", **options)
    return Corpus(train, load_ptb("val", **options)[0], load_ptb("test", **options)[0], word_to_id, id_to_word)


def data_location(name: str, data_dir: str | os.PathLike[str] | None = None) -> str:
    """The folder the dataset's files are read from now (after :func:`load_dataset`), for a header."""
    source = _any_source(name)
    folders = sorted({str(_local_file(source, key, data_dir).parent) for key in source.files})
    return " and ".join(folders)


def _local_file(source: RemoteDataset, key: str, data_dir: str | os.PathLike[str] | None) -> Path:
    """Where the lookup finds ``key`` now: never downloads, never hashes (cheap)."""
    return fetch_file(source, key, data_dir=data_dir, download=False, verify=False, progress=False)


def require_files_in(source: RemoteDataset, data_dir: Path) -> None:
    """Every file of ``source`` is in ``data_dir`` itself (the lookup would try other places next)."""
    if not data_dir.is_dir():
        raise DataDirError(f"{data_dir}: the data folder does not exist" if not data_dir.exists()
                           else f"{data_dir}: the data folder is a file, not a folder")
    inside = (data_dir, data_dir / source.subdir)
    missing = []
    for key in source.files:
        try:
            found = _local_file(source, key, data_dir).parent in inside
        except DataError:
            found = False
        if not found:
            missing.append(source.files[key].name)
    if len(missing) == len(source.files):
        kind = "IDX files, gzip-compressed or not" if isinstance(source, DatasetSource) else f"{source.name} files"
        raise DataDirError(
            f"{data_dir}: no {source.name} files in it (looked for {missing[0]} and the other "
            f"{kind}, in {inside[1]} and {inside[0]})"
        )
    if missing:
        raise DataDirError(f"{data_dir}: {source.name} files missing: {', '.join(missing)} "
                        f"(looked in {inside[1]} and {inside[0]})")
