"""The IDX file format that MNIST and Fashion-MNIST are published in.

Layout: two zero bytes, a dtype code, the number of dimensions, one big-endian uint32 per
dimension, then the data in C order, big-endian. Files are usually gzip-compressed; we tell by
the gzip magic bytes rather than the name, since people rename and decompress files. A gzip
file is decompressed as a stream that stops where the header says the data ends: a gzip bomb
(gigabytes of zeros after a small header) costs one byte past the data, not its full size.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError, DTypeError, ShapeError

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20

# IDX dtype code -> (big-endian dtype as stored, name used in messages).
_DTYPES: dict[int, tuple[np.dtype, str]] = {
    0x08: (np.dtype("u1"), "uint8"),
    0x09: (np.dtype("i1"), "int8"),
    0x0B: (np.dtype(">i2"), "int16"),
    0x0C: (np.dtype(">i4"), "int32"),
    0x0D: (np.dtype(">f4"), "float32"),
    0x0E: (np.dtype(">f8"), "float64"),
}
_CODES = {(dtype.kind, dtype.itemsize): code for code, (dtype, _) in _DTYPES.items()}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw, into a native-endian NumPy array.

    Every size in the header is checked against the data actually present, so a truncated
    download or a file with trailing garbage is reported instead of silently reshaped.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            if handle.read(2) != GZIP_MAGIC:
                handle.seek(0)
                return decode_idx(handle.read(), name=str(path))
            handle.seek(0)
            try:
                with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
                    return _read_gzip_idx(stream, str(path))
            except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
                reason = str(exc) or type(exc).__name__
                raise DataError(f"{path}: corrupt gzip stream ({reason})") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _read_gzip_idx(stream: gzip.GzipFile, name: str) -> np.ndarray:
    """Decompress the header, then exactly the data it declares, then one byte to be sure the
    stream ends there (reading the end also checks the gzip CRC)."""
    header = _read_up_to(stream, 4)
    if len(header) == 4:
        header += _read_up_to(stream, 4 * header[3])
    dims, dtype, _ = _parse_header(header, name, complete=False)
    expected = math.prod(dims) * dtype.itemsize
    data = _read_up_to(stream, expected)
    if len(data) == expected and stream.read(1):
        raise DataError(
            f"{name}: trailing bytes after the data: header says {'x'.join(map(str, dims))} "
            f"{_DTYPES[header[2]][1]} = {expected} bytes of data, found more"
        )
    return decode_idx(header + data, name=name)


def _read_up_to(stream: gzip.GzipFile, size: int) -> bytes:
    """``size`` bytes, or fewer where the stream ends; allocates only what really arrives."""
    parts = []
    while size > 0:
        part = stream.read(min(size, _CHUNK))
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def decode_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the (uncompressed) bytes of an IDX file; ``name`` appears in error messages."""
    dims, dtype, header_size = _parse_header(raw, name, complete=True)
    dtype_name = _DTYPES[raw[2]][1]
    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(dims)
    data = data.astype(dtype.newbyteorder("="))  # a writable, native-endian copy
    if data.dtype.kind == "f":
        # Found here, NaN is blamed on the file; found in training, it would be blamed on the
        # learning rate.
        finite = np.isfinite(data)
        if not finite.all():
            first = np.unravel_index(int(np.argmin(finite)), data.shape)
            raise DataError(
                f"{name}: {int(data.size - finite.sum())} NaN or infinite {dtype_name} values "
                f"(the first at index {tuple(int(i) for i in first)}); expected finite numbers"
            )
    return data


def _parse_header(raw: bytes, name: str, *, complete: bool) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(dims, stored dtype, header size)`` from the start of ``raw``; with ``complete``, ``raw`` is
    the whole file and its length must be exactly what the header declares."""
    if len(raw) < 4:
        raise DataError(f"{name}: too short for an IDX header: {len(raw)} bytes, expected >= 4")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"{name}: not an IDX file: expected the first two bytes to be 0x00 0x00, "
            f"found 0x{raw[0]:02x} 0x{raw[1]:02x}"
        )
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X} ({n})" for c, (_, n) in _DTYPES.items())
        raise DataError(f"{name}: unknown IDX dtype code 0x{code:02X}, expected one of {known}")
    if ndim < 1:
        raise DataError(f"{name}: IDX header says 0 dimensions, expected at least 1")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(
            f"{name}: truncated header: {ndim} dimensions need {header_size} header bytes, "
            f"found {len(raw)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype, dtype_name = _DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    found = len(raw) - header_size
    if complete and found != expected:
        problem = "truncated" if found < expected else "trailing bytes after the data"
        shape = "x".join(map(str, dims))
        raise DataError(
            f"{name}: {problem}: header says {shape} {dtype_name} = {expected} bytes of data, "
            f"found {found}"
        )
    return dims, dtype, header_size


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, compress: bool | None = None
) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed when ``compress`` is true, or, when it is
    None, when the name ends in ``.gz``. Returns the path.

    The gzip timestamp is fixed at 0 so the same array always gives the same bytes (and digest).
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        names = ", ".join(name for _, name in _DTYPES.values())
        raise DTypeError(
            f"write_idx: IDX cannot store dtype {array.dtype}, expected one of {names}"
        )
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise ShapeError(
            f"write_idx: IDX stores 1 to 255 dimensions of fewer than 2**32 entries each, "
            f"got shape {array.shape}"
        )
    stored_dtype = _DTYPES[code][0]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    raw = header + np.ascontiguousarray(array, dtype=stored_dtype).tobytes()
    if compress if compress is not None else path.name.endswith(".gz"):
        raw = gzip.compress(raw, mtime=0)
    path.write_bytes(raw)
    return path
