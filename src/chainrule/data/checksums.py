"""Checking a dataset file against the size and digest its publisher gives.

A wrong file would otherwise surface much later as a puzzling accuracy, or not at all.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import DataError
from .sources import RemoteFile

_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks so large files need little memory."""
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def verify_file(path: str | os.PathLike[str], expected: RemoteFile) -> None:
    """Raise :class:`DataError` unless ``path`` has the size and digest ``expected`` lists.

    Checks only what is known: a file with neither size nor digest passes.
    """
    path = Path(path)
    check_size(str(path), expected, path.stat().st_size)
    if expected.digest is not None:
        check_digest(str(path), expected, file_digest(path, expected.digest[0]))


def check_size(name: str, expected: RemoteFile, actual_size: int) -> None:
    """Raise :class:`DataError` if a known size differs from ``actual_size``."""
    if expected.size is not None and actual_size != expected.size:
        raise DataError(
            f"{name}: wrong size for {expected.name}: expected {expected.size} bytes, "
            f"found {actual_size}"
        )


def check_digest(name: str, expected: RemoteFile, actual_hex: str) -> None:
    """Raise :class:`DataError` if a known digest differs from ``actual_hex``, which must be
    computed with the algorithm ``expected.digest`` names."""
    if expected.digest is None:
        return
    algorithm, expected_hex = expected.digest
    if actual_hex.lower() != expected_hex:
        raise DataError(
            f"{name}: {algorithm} mismatch for {expected.name}: expected {expected_hex}, "
            f"found {actual_hex.lower()}"
        )
