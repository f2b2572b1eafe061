"""Small heat maps of arrays, as PNG data URIs a page can carry inline (no matplotlib, no files).

A network's edges hold arrays of thousands of numbers; a reader needs their pattern, not their
digits. Each array is reduced to a few hundred cells and coloured on a diverging scale (blue
negative, white zero, red positive) symmetric about zero, so a gradient's sign reads at a glance.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import to_numpy

MAX_ROWS, MAX_COLUMNS = 16, 50
MAX_TILES, TILES_PER_ROW, MAX_TILE_SIDE = 8, 4, 32  # 4-D arrays: up to 8 maps, 4 to a row
NEGATIVE, ZERO, POSITIVE = (33, 102, 172), (255, 255, 255), (178, 24, 43)
GAP = (140, 140, 140)  # the grey line between tiles (NaN cells)


@dataclass
class HeatMap:
    """A PNG of ``cells`` and what it shows: ``how`` says how the array was reduced."""

    src: str  # data:image/png;base64,...
    rows: int
    columns: int
    scale: float  # the largest |value| drawn: full colour
    how: str  # "image" (sample 0 as a square picture), "blocks" (block means), "full", or for 4-D arrays
    # "channels" (sample 0's first channels), "samples" (channel 0 of the first samples), "filters"
    tiles: int = 0  # 4-D: how many maps are drawn, of ``of``
    of: int = 0
    zoom: int = 0  # 4-D: screen pixels per cell that make a map about 84 px wide (0: the page decides)


def _block_means(matrix: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Average ``matrix`` over a grid of at most ``rows`` × ``columns`` near-equal blocks."""
    row_edges = np.linspace(0, matrix.shape[0], min(rows, matrix.shape[0]) + 1).astype(int)
    column_edges = np.linspace(0, matrix.shape[1], min(columns, matrix.shape[1]) + 1).astype(int)
    return np.array(
        [
            [matrix[r0:r1, c0:c1].mean() for c0, c1 in zip(column_edges[:-1], column_edges[1:])]
            for r0, r1 in zip(row_edges[:-1], row_edges[1:])
        ]
    )


def tiles(values: np.ndarray, *, filters: bool = False) -> tuple[np.ndarray, str, int, int]:
    """A 4-D array's first few 2-D maps side by side, rows of 4, a NaN line between them.

    Feature maps ``(N, C, H, W)``: sample 0's first channels, or with one channel the first
    samples; filters ``(FN, C, FH, FW)``: the first filters' input channel 0. Maps larger than
    32 × 32 are averaged down to it. Returns the grid, how, the maps drawn and how many there are.
    """
    if filters or values.shape[1] == 1:
        maps, how = values[:, 0], "filters" if filters else "samples"
    else:
        maps, how = values[0], "channels"
    count = min(len(maps), MAX_TILES)
    shown = [_block_means(m, MAX_TILE_SIDE, MAX_TILE_SIDE) if max(m.shape) > MAX_TILE_SIDE else m for m in maps[:count]]
    height, width = shown[0].shape
    per_row = min(count, TILES_PER_ROW)
    rows = -(-count // per_row)
    grid = np.full((rows * (height + 1) - 1, per_row * (width + 1) - 1), np.nan)
    for i, tile in enumerate(shown):
        top, left = (i // per_row) * (height + 1), (i % per_row) * (width + 1)
        grid[top : top + height, left : left + width] = tile
    return grid, how, count, len(maps)


def cells(array: Any, *, image: bool = True) -> tuple[np.ndarray, str]:
    """The grid a heat map draws, and how it came from ``array``.

    A batch whose rows are square images (784 = 28²) shows its first sample as that image (unless
    ``image`` is False: a hidden layer's 784 units, or flattened feature maps, are no picture);
    a 4-D array its first maps side by side (:func:`tiles`); anything else is flattened to
    (first axis, rest) and averaged into at most 16 × 50 blocks.
    """
    values = to_numpy(array).astype(float)
    if values.ndim == 4:
        grid, how, _, _ = tiles(values)
        return grid, how
    if values.ndim == 1:
        values = values[None, :]
    elif values.ndim > 2:
        values = values.reshape(values.shape[0], -1)
    side = math.isqrt(values.shape[1])
    if image and side >= 8 and side * side == values.shape[1]:
        return values[0].reshape(side, side), "image"
    if values.shape[0] <= MAX_ROWS and values.shape[1] <= MAX_COLUMNS:
        return values, "full"
    return _block_means(values, MAX_ROWS, MAX_COLUMNS), "blocks"


def _colour(value: float, scale: float) -> tuple[int, int, int]:
    if math.isnan(value):
        return GAP
    t = 0.0 if scale == 0 or not math.isfinite(value) else max(-1.0, min(1.0, value / scale))
    end = POSITIVE if t > 0 else NEGATIVE
    return tuple(round(z + abs(t) * (e - z)) for z, e in zip(ZERO, end))  # type: ignore[return-value]


def png(grid: np.ndarray, scale: float) -> bytes:
    """An RGB PNG with one pixel per cell (the page scales it up without smoothing)."""
    height, width = grid.shape
    raw = b"".join(
        b"\x00" + bytes(channel for value in row for channel in _colour(float(value), scale)) for row in grid
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def heat_map(array: Any, *, filters: bool = False, image: bool = True) -> HeatMap:
    """``filters``: a 4-D array is a convolution's weights ``(FN, C, FH, FW)``, drawn filter by filter;
    ``image``: a 2-D batch of square rows may be a batch of images (see :func:`cells`)."""
    values = to_numpy(array).astype(float)
    count = of = zoom = 0
    if values.ndim == 4:
        grid, how, count, of = tiles(values, filters=filters)
        side = max(min(values.shape[2], MAX_TILE_SIDE), min(values.shape[3], MAX_TILE_SIDE))
        zoom = max(3, min(16, round(84 / side)))
    else:
        grid, how = cells(values, image=image)
    finite = np.abs(grid[np.isfinite(grid)])
    scale = float(finite.max()) if finite.size else 0.0
    src = "data:image/png;base64," + base64.b64encode(png(grid, scale)).decode("ascii")
    return HeatMap(src, grid.shape[0], grid.shape[1], scale, how, count, of, zoom)
