"""Datasets: MNIST and Fashion-MNIST from their original IDX files, local or downloaded.

``load_mnist`` is the entry point most code wants; the rest is for pointing it at other copies
(``DatasetSource``, ``fetch_file``) and for reading or writing IDX files directly.
"""

from .checksums import file_digest, verify_file
from .download import default_cache_dir, download_file
from .fake import write_fake_dataset
from .fetch import DATA_ENV, fetch_file
from .idx import decode_idx, read_idx, write_idx
from .mnist import load_fashion_mnist, load_idx_dataset, load_mnist
from .sources import FASHION_CLASSES, FASHION_MNIST, MNIST, SPLITS, DatasetSource, RemoteFile

__all__ = [
    "DATA_ENV",
    "FASHION_CLASSES",
    "FASHION_MNIST",
    "MNIST",
    "SPLITS",
    "DatasetSource",
    "RemoteFile",
    "decode_idx",
    "default_cache_dir",
    "download_file",
    "fetch_file",
    "file_digest",
    "load_fashion_mnist",
    "load_idx_dataset",
    "load_mnist",
    "read_idx",
    "verify_file",
    "write_fake_dataset",
    "write_idx",
]
