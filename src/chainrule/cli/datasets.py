"""Dataset choice shared by the commands that load data (``train``, ``evaluate``).

``--data-dir`` means that folder and nothing else: a folder that does not exist, or lacks a
file, is an error, never a quiet fallback to ``$CHAINRULE_DATA``, the cache or a download.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..data import FASHION_CLASSES, FASHION_MNIST, MNIST, SPLITS, DatasetSource, fetch_file, load_idx_dataset
from ..errors import DataError, UsageError
from .types import existing_directory

SOURCES: dict[str, DatasetSource] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}
CLASS_NAMES = {"mnist": [str(d) for d in range(10)], "fashion-mnist": list(FASHION_CLASSES)}


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", choices=sorted(SOURCES), default="mnist", help="(default: %(default)s)")
    group.add_argument("--data-dir", type=existing_directory,
                       help="folder with the IDX files, used alone: no fallback, no download "
                       "(default: $CHAINRULE_DATA, then the user cache, then a download)")
    group.add_argument("--no-download", action="store_true", help="fail instead of downloading missing files")
    group.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check of local files (for your own IDX files)")


def load_dataset(name: str, args: argparse.Namespace, *, flatten: bool, dtype: Any) -> Any:
    """``((x_train, t_train), (x_test, t_test))`` of dataset ``name`` as the options ask."""
    source = SOURCES[name]
    if args.data_dir is not None:
        _require_files_in(source, args.data_dir)
    try:
        return load_idx_dataset(
            source, normalize=True, flatten=flatten, data_dir=args.data_dir,
            download=args.data_dir is None and not args.no_download, dtype=dtype, verify=not args.no_verify,
        )
    except DataError as error:
        if args.data_dir is not None:
            raise
        raise DataError(f"{error}\nOn the command line: --data-dir /path/to/folder.") from None


def data_location(name: str, args: argparse.Namespace) -> str:
    """The folder the dataset's files were read from (after :func:`load_dataset`), for the header."""
    folders = sorted({str(_local_file(SOURCES[name], key, args.data_dir).parent) for key in SPLITS})
    return " and ".join(folders)


def _local_file(source: DatasetSource, key: str, data_dir: Path | None) -> Path:
    """Where the lookup finds ``key`` now: never downloads, never hashes (cheap)."""
    return fetch_file(source, key, data_dir=data_dir, download=False, verify=False, progress=False)


def _require_files_in(source: DatasetSource, data_dir: Path) -> None:
    """Every file of ``source`` is in ``data_dir`` itself (the lookup would try other places next)."""
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
        raise UsageError(
            f"--data-dir {data_dir}: no {source.name} files in it (looked for {missing[0]} and the other "
            f"IDX files, gzip-compressed or not, in {inside[1]} and {inside[0]})"
        )
    if missing:
        raise UsageError(f"--data-dir {data_dir}: {source.name} files missing: {', '.join(missing)} "
                         f"(looked in {inside[1]} and {inside[0]})")
