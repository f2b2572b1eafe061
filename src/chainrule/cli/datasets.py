"""Dataset choice shared by the commands that load data (``train``, ``evaluate``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..data import FASHION_CLASSES, load_fashion_mnist, load_mnist
from ..errors import DataError

DATASETS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
CLASS_NAMES = {"mnist": [str(d) for d in range(10)], "fashion-mnist": list(FASHION_CLASSES)}


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", choices=sorted(DATASETS), default="mnist", help="(default: %(default)s)")
    group.add_argument("--data-dir", type=Path, help="folder with the IDX files (default: $CHAINRULE_DATA, then the user cache)")
    group.add_argument("--no-download", action="store_true", help="fail instead of downloading missing files")
    group.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check of local files (for your own IDX files)")


def load_dataset(name: str, args: argparse.Namespace, *, flatten: bool, dtype: Any) -> Any:
    try:
        return DATASETS[name](
            normalize=True, flatten=flatten, data_dir=args.data_dir, download=not args.no_download,
            dtype=dtype, verify=not args.no_verify,
        )
    except DataError as error:
        raise DataError(f"{error}\nOn the command line: --data-dir /path/to/folder.") from None
