"""Many arrays laid end to end in one contiguous vector, so one MPI call moves them all.

One large message is far cheaper than one per parameter: every MPI call pays a latency of
microseconds (more on a network) however small it is, and a ring allreduce only reaches the
link's bandwidth on large messages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..backend import Array, array_module
from ..errors import ShapeError


class FlatBuffer:
    """A vector with a named, shaped view for each array, plus ``extra`` trailing slots.

    ``pack`` copies arrays in (optionally scaled), ``views`` gives them back without a copy.
    The trailing slots carry a few numbers in the same message (e.g. how many samples a rank's
    gradient stands for), so they need no call of their own.
    """

    def __init__(self, shapes: Mapping[str, tuple[int, ...]], dtype: Any, xp: Any = np, extra: int = 0) -> None:
        self.shapes = {key: tuple(shape) for key, shape in shapes.items()}
        self.offsets: dict[str, tuple[int, int]] = {}
        offset = 0
        for key, shape in self.shapes.items():
            size = math.prod(shape)
            self.offsets[key] = (offset, offset + size)
            offset += size
        self.size = offset
        self.data: Array = xp.zeros(offset + extra, dtype=dtype)

    @classmethod
    def like(cls, arrays: Mapping[str, Array], dtype: Any = None, extra: int = 0) -> "FlatBuffer":
        """A buffer shaped for ``arrays`` (dtype: the first array's, unless given)."""
        first = next(iter(arrays.values()), None)
        xp = array_module(first) if first is not None else np
        dtype = dtype if dtype is not None else (first.dtype if first is not None else np.float64)
        return cls({key: tuple(a.shape) for key, a in arrays.items()}, dtype, xp, extra)

    def matches(self, arrays: Mapping[str, Array], dtype: Any) -> bool:
        return self.data.dtype == dtype and self.shapes == {key: tuple(a.shape) for key, a in arrays.items()}

    @property
    def extra(self) -> Array:
        """The trailing slots (a view)."""
        return self.data[self.size :]

    def pack(self, arrays: Mapping[str, Array], scale: float = 1.0) -> None:
        """Copy every array in, times ``scale``; a missing mapping (``None``) packs zeros."""
        if arrays is None:
            self.data[: self.size] = 0
            return
        missing = [key for key in self.offsets if key not in arrays]
        if missing or len(arrays) != len(self.offsets):
            raise ValueError(f"FlatBuffer.pack: expected arrays {list(self.offsets)}, got {list(arrays)}")
        for key, (start, stop) in self.offsets.items():
            if tuple(arrays[key].shape) != self.shapes[key]:
                raise ShapeError(f"FlatBuffer.pack: {key!r} has shape {tuple(arrays[key].shape)}, expected {self.shapes[key]}")
            target = self.data[start:stop]
            source = arrays[key].reshape(-1)
            if scale == 1.0:
                target[...] = source
            else:
                array_module(target).multiply(source, scale, out=target, casting="unsafe")

    def views(self) -> dict[str, Array]:
        """Name -> a view of the buffer with that array's shape (no copy)."""
        return {key: self.data[start:stop].reshape(self.shapes[key]) for key, (start, stop) in self.offsets.items()}

    def unpack_into(self, arrays: Mapping[str, Array]) -> None:
        """Copy the buffer back into ``arrays`` in place (their dtypes are kept)."""
        for key, view in self.views().items():
            arrays[key][...] = view
