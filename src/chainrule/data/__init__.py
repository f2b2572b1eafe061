"""Datasets: MNIST and Fashion-MNIST from their original IDX files, local or downloaded."""

from .checksums import file_digest, verify_file
from .idx import decode_idx, read_idx, write_idx
from .sources import FASHION_CLASSES, FASHION_MNIST, MNIST, SPLITS, DatasetSource, RemoteFile

__all__ = [
    "FASHION_CLASSES",
    "FASHION_MNIST",
    "MNIST",
    "SPLITS",
    "DatasetSource",
    "RemoteFile",
    "decode_idx",
    "file_digest",
    "read_idx",
    "verify_file",
    "write_idx",
]
