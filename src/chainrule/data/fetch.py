"""Finding a dataset file: local folders first, then the cache, then a download into the cache.

Lookup order: ``data_dir=``, ``$CHAINRULE_DATA``, any folders the caller adds (``also_look_in``),
the cache (:func:`default_cache_dir`), then the mirrors. In each folder D the file may be
``D/<subdir>/<name>`` (e.g. ``D/mnist/train-images-idx3-ubyte.gz``) or ``D/<name>``,
gzip-compressed or not (the name without ``.gz``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError, UnverifiedDataWarning
from .checksums import verify_file
from .download import URLOpener, default_cache_dir, download_file
from .sources import FASHION_MNIST, MNIST, RemoteDataset, RemoteFile

# Datasets whose files may be mistaken for each other: MNIST and Fashion-MNIST share file names.
KNOWN_SOURCES = (MNIST, FASHION_MNIST)

DATA_ENV = "CHAINRULE_DATA"


def fetch_file(
    source: RemoteDataset,
    key: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    also_look_in: Sequence[tuple[str, Path | None]] = (),
    download: bool = True,
    verify: bool = True,
    urlopen: URLOpener | None = None,
    progress: bool = True,
) -> Path:
    """The path of ``source.files[key]`` (e.g. ``"train_images"`` for MNIST, ``"train"`` for PTB).

    ``also_look_in`` lists ``(label, folder)`` pairs searched after ``$CHAINRULE_DATA`` (a folder
    of None is reported as not given), e.g. the book's own ``dataset/`` folder.

    With ``verify=True`` a file found under its published name is checked against the published
    size and digest, and a decompressed copy against the size and SHA-256 of the decompressed
    archive (``RemoteFile.raw_size``/``raw_sha256``); where that digest is not recorded, an
    :class:`~chainrule.errors.UnverifiedDataWarning` says so. Downloads are always checked, so
    nothing unchecked ever enters the cache.
    """
    remote = source.files.get(key) if isinstance(key, str) else None
    if remote is None:
        keys = ", ".join(map(repr, source.files))
        raise DataError(f"fetch_file: {source.name} has no file {key!r}; its keys are {keys}")
    names = [remote.name]
    if remote.name.endswith(".gz"):
        names.append(remote.name[: -len(".gz")])
    looked = []
    for label, directory in _search_dirs(data_dir, also_look_in):
        if directory is None:
            looked.append(f"  {label}: not given")
            continue
        # The dataset's own subfolder first: a flat folder may hold another dataset's files
        # under the same names (MNIST and Fashion-MNIST share them).
        for folder in (directory / source.subdir, directory):
            for name in names:
                path = folder / name
                if path.is_file():
                    if verify:
                        _verify_local(path, remote if name == remote.name else remote.decompressed(), source)
                    return path
        looked.append(f"  {label}: {directory / source.subdir} and {directory}")
    if download:
        dest = default_cache_dir() / source.subdir / remote.name
        try:
            return download_file(remote, source.mirrors, dest, urlopen=urlopen, progress=progress)
        except DataError as exc:
            download_note = str(exc)
    else:
        download_note = "download=False, so no download was tried"
    raise DataError(
        f"{source.name} file {' / '.join(names)} not found. Looked in:\n"
        + "\n".join(looked)
        + f"\n{download_note}\n"
        f"To use local copies, set {DATA_ENV}=/path/to/folder or name the folder (--data-dir on the command "
        f"line, data_dir= in Python); it may hold the files directly or in a '{source.subdir}' subfolder."
    )


def _verify_local(path: Path, expected: RemoteFile, source: RemoteDataset) -> None:
    try:
        verify_file(path, expected)
    except DataError:
        owner = _dataset_owning(path, expected.name, source)
        if owner is None:
            raise
        raise DataError(f"{path} is {owner.name}'s {expected.name}, not {source.name}'s: the two datasets use the "
                        f"same file names; keep {source.name}'s files in a '{source.subdir}' subfolder or a folder "
                        "of their own") from None
    if expected.digest is None:
        warnings.warn(
            f"{path}: no digest of {expected.name} is recorded, so its contents cannot be verified "
            f"(only its size{'' if expected.size is not None else ', which is unknown too'}); "
            "keep the published .gz file instead, which is checked",
            UnverifiedDataWarning,
            stacklevel=4,
        )


def _dataset_owning(path: Path, name: str, wanted: RemoteDataset) -> RemoteDataset | None:
    """Another known dataset whose file ``name`` this file is (checked by size, then digest)."""
    for other in KNOWN_SOURCES:
        if other is wanted:
            continue
        for remote in other.files.values():
            for candidate in (remote, remote.decompressed()) if remote.name.endswith(".gz") else (remote,):
                if candidate.name != name or candidate.digest is None:
                    continue
                try:
                    verify_file(path, candidate)
                except DataError:
                    continue
                return other
    return None


def _search_dirs(
    data_dir: str | os.PathLike[str] | None, also_look_in: Sequence[tuple[str, Path | None]]
) -> list[tuple[str, Path | None]]:
    env = os.environ.get(DATA_ENV)
    return [
        ("data_dir", Path(data_dir).expanduser() if data_dir is not None else None),
        (f"${DATA_ENV}", Path(env).expanduser() if env else None),
        *also_look_in,
        ("cache", default_cache_dir()),
    ]
