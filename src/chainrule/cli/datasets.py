"""The data options shared by the commands that load data (``train``, ``evaluate``).

``--data-dir`` means that folder and nothing else (see :mod:`chainrule.data.catalog`).
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from typing import Any, Iterator

from ..data.catalog import CORPORA, SOURCES, Corpus, load_corpus, load_dataset as load_named_dataset
from ..errors import DataDirError, UsageError
from .types import existing_directory


def add_data_arguments(parser: argparse.ArgumentParser, *, dataset_help: str = "(default: mnist)") -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", choices=sorted([*SOURCES, *CORPORA]), help=dataset_help)
    group.add_argument("--data-dir", type=existing_directory,
                       help="folder with the dataset's files (IDX files; ptb.*.txt for ptb), used alone: no fallback, no download "
                       "(default: $CHAINRULE_DATA, then the user cache, then a download)")
    group.add_argument("--no-download", action="store_true", help="fail instead of downloading missing files")
    group.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check of local files (for your own IDX files)")


def data_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The options of :func:`chainrule.data.catalog.load_dataset` and :func:`chainrule.train` as given."""
    return {"data_dir": args.data_dir, "download": not args.no_download, "verify": not args.no_verify}


def load_dataset(name: str, args: argparse.Namespace, *, flatten: bool, dtype: Any) -> Any:
    """``((x_train, t_train), (x_test, t_test))`` of dataset ``name`` as the options ask."""
    with data_dir_errors_as_usage():
        return load_named_dataset(name, flatten=flatten, dtype=dtype, **data_arguments(args))


def load_text_corpus(name: str, args: argparse.Namespace) -> Corpus:
    """The texts and vocabulary of corpus ``name`` as the options ask."""
    with data_dir_errors_as_usage():
        return load_corpus(name, **data_arguments(args))


@contextmanager
def data_dir_errors_as_usage() -> Iterator[None]:
    """A ``--data-dir`` without the dataset's files is a mistake in the options (exit status 2)."""
    try:
        yield
    except DataDirError as error:
        raise UsageError(f"--data-dir {error}") from None
