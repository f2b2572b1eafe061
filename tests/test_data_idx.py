"""IDX files: write/read round trips, and every kind of damage reported as a DataError."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule.data import decode_idx, read_idx, write_idx
from chainrule.errors import DataError, DTypeError, ShapeError

DTYPES = ["u1", "i1", ">i2", "<i2", "i4", "f4", ">f8"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (0, 28, 28)])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, shape, name):
    array = (np.arange(np.prod(shape)) - 3).astype(dtype).reshape(shape)
    back = read_idx(write_idx(tmp_path / name, array))
    np.testing.assert_array_equal(back, array)
    assert back.shape == shape
    assert back.dtype == np.dtype(dtype).newbyteorder("=")
    assert back.dtype.isnative and back.flags.writeable


@settings(max_examples=60, deadline=None)
@given(
    array=hnp.arrays(
        dtype=st.sampled_from(DTYPES),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    ),
    compress=st.booleans(),
)
def test_round_trip_property(tmp_path_factory, array, compress):
    path = tmp_path_factory.mktemp("idx") / "a.idx"
    write_idx(path, array, compress=compress)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        with pytest.raises(DataError, match="NaN or infinite"):  # refused at load, by file name
            read_idx(path)
        return
    back = read_idx(path)
    np.testing.assert_array_equal(back, array)
    assert back.shape == array.shape


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    compressed = write_idx(tmp_path / "no-suffix", array, compress=True)
    raw = write_idx(tmp_path / "misleading.gz", array, compress=False)
    assert compressed.read_bytes()[:2] == b"\x1f\x8b"
    assert raw.read_bytes()[:2] == b"\x00\x00"
    np.testing.assert_array_equal(read_idx(compressed), array)
    np.testing.assert_array_equal(read_idx(raw), array)


def test_writes_are_reproducible(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    first = write_idx(tmp_path / "a.gz", array).read_bytes()
    assert write_idx(tmp_path / "b.gz", array).read_bytes() == first


def test_header_is_the_published_layout():
    raw = bytes([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]) + bytes([1, 2, 3, 4])
    np.testing.assert_array_equal(decode_idx(raw), [[[1, 2]], [[3, 4]]])


def header(code: int, *dims: int) -> bytes:
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\x00\x00", "too short for an IDX header: 2 bytes"),
        (b"PK\x03\x04" + bytes(8), "expected the first two bytes to be 0x00 0x00, found 0x50 0x4b"),
        (header(0x0A, 3) + bytes(3), "unknown IDX dtype code 0x0A, expected one of 0x08 (uint8)"),
        (header(0x08), "header says 0 dimensions"),
        (header(0x08, 60000, 28, 28)[:9], "truncated header: 3 dimensions need 16 header bytes"),
        (
            header(0x08, 60000, 28, 28) + bytes(1234),
            "truncated: header says 60000x28x28 uint8 = 47040000 bytes of data, found 1234",
        ),
        (header(0x0D, 3) + bytes(13), "trailing bytes after the data: header says 3 float32"),
        (header(0x0B, 2, 2) + bytes(7), "header says 2x2 int16 = 8 bytes of data, found 7"),
    ],
)
def test_damaged_contents_are_reported(tmp_path, raw, message):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(raw)
    with pytest.raises(DataError, match="train-images-idx3-ubyte: ") as raised:
        read_idx(path)
    assert message in str(raised.value)
    path.write_bytes(gzip.compress(raw))  # the same damage behind a valid gzip stream
    with pytest.raises(DataError) as raised:
        read_idx(path)
    assert message in str(raised.value)


def test_corrupt_gzip_stream_is_a_data_error(tmp_path):
    compressed = bytearray(gzip.compress(header(0x08, 1000) + bytes(range(250)) * 4))
    path = tmp_path / "labels.gz"
    path.write_bytes(compressed[: len(compressed) // 2])  # cut off mid-stream
    with pytest.raises(DataError, match=r"labels\.gz: corrupt gzip stream"):
        read_idx(path)
    compressed[-6] ^= 0xFF  # damage the CRC/length trailer
    path.write_bytes(bytes(compressed))
    with pytest.raises(DataError, match=r"labels\.gz: corrupt gzip stream"):
        read_idx(path)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r"nothing\.idx: cannot read"):
        read_idx(tmp_path / "nothing.idx")


def test_write_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(DTypeError, match="cannot store dtype uint16"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.uint16))
    with pytest.raises(ShapeError, match=r"got shape \(\)"):
        write_idx(tmp_path / "a.idx", np.float32(1.0))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_float_data_is_refused_at_load(tmp_path, bad, dtype):
    array = np.zeros((2, 3, 4), dtype=dtype)
    array[1, 0, 2] = bad
    path = write_idx(tmp_path / "x.idx", array)
    with pytest.raises(DataError, match=r"x.idx: 1 NaN or infinite float(32|64) values \(the first at index \(1, 0, 2\)\)"):
        read_idx(path)
