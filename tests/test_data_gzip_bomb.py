"""A gzip bomb behind an IDX header: reading stops where the header says the data ends.

``--no-verify`` skips the digest that would have caught a replaced file, so the reader itself
must not decompress gigabytes to find out that they do not belong (it used to decompress 4.4 GB).
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import read_idx, write_idx
from chainrule.errors import DataError


def bomb(path: Path, header_and_data: bytes, zeros: int) -> Path:
    """A gzip file: ``header_and_data`` then ``zeros`` zero bytes, compressed as one stream."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    parts = [compressor.compress(header_and_data)]
    block = bytes(1 << 20)
    for _ in range(zeros >> 20):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    path.write_bytes(b"".join(parts))
    return path


def test_a_gzip_bomb_after_the_data_is_refused_after_one_extra_byte(tmp_path: Path) -> None:
    labels = np.arange(100, dtype=np.uint8)
    raw = write_idx(tmp_path / "labels", labels).read_bytes()
    path = bomb(tmp_path / "train-labels-idx1-ubyte.gz", raw, 64 << 20)  # 64 MB of zeros in ~64 kB
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"trailing bytes after the data: header says 100 uint8 = 100 bytes of data, found more"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_a_header_that_promises_more_than_arrives_allocates_only_what_arrives(tmp_path: Path) -> None:
    header = bytes([0, 0, 0x08, 3]) + np.asarray([60000, 28, 28], dtype=">u4").tobytes()
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(header + bytes(1234)))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="truncated: header says 60000x28x28 uint8 = 47040000 bytes of data, found 1234"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_a_good_gzip_file_still_reads(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (30, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "images.gz", images)), images)
