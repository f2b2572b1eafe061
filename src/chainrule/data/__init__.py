"""Datasets from their original files, local or downloaded and checked: MNIST and Fashion-MNIST
(IDX), and the second book's Penn Treebank and sequence-to-sequence texts.

``load_mnist``, ``load_ptb`` and ``load_sequence`` are the entry points most code wants; the rest
is for pointing them at other copies (``DatasetSource``, ``RemoteDataset``, ``fetch_file``) and for
reading or writing IDX files directly.
"""

from .checksums import file_digest, verify_file
from .download import default_cache_dir, download_file
from .fake import describe_local_files, write_fake_dataset
from .fetch import DATA_ENV, fetch_file
from .idx import decode_idx, read_idx, write_idx
from .mnist import load_fashion_mnist, load_idx_dataset, load_mnist
from .ptb import load_ptb
from .sequence import BOOK2_ENV, load_sequence, load_sequence_file
from .sources import (
    FASHION_CLASSES,
    FASHION_MNIST,
    MNIST,
    PTB,
    SEQUENCE,
    SPLITS,
    DatasetSource,
    RemoteDataset,
    RemoteFile,
)

__all__ = [
    "BOOK2_ENV",
    "DATA_ENV",
    "FASHION_CLASSES",
    "FASHION_MNIST",
    "MNIST",
    "PTB",
    "SEQUENCE",
    "SPLITS",
    "DatasetSource",
    "RemoteDataset",
    "RemoteFile",
    "decode_idx",
    "describe_local_files",
    "default_cache_dir",
    "download_file",
    "fetch_file",
    "file_digest",
    "load_fashion_mnist",
    "load_idx_dataset",
    "load_mnist",
    "load_ptb",
    "load_sequence",
    "load_sequence_file",
    "read_idx",
    "verify_file",
    "write_fake_dataset",
    "write_idx",
]
