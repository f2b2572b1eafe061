"""Load weight pickles without running their code and without letting the file steer NumPy.

A pickle is a program: ``pickle.load`` calls whatever callables the file names, so a weight file
from the internet can run ``os.system``. Refusing every global but NumPy's reconstructors is not
enough either: NumPy trusts its pickles, and a file that may call ``numpy.dtype`` and
``ndarray.__setstate__`` can hand NumPy a dtype whose internal flags turn raw bytes into object
pointers (a crash), or whose stated size is smaller than its layout (an array of heap memory).

So no NumPy constructor ever sees state from the file. The names a weight pickle uses
(``_reconstruct``, ``ndarray``, ``dtype``, ``scalar``, ``_frombuffer``, ``_codecs.encode``, ...)
resolve to stand-ins that only record plain values; when the pickle is read, each recorded array
is checked (a dtype from :data:`ALLOWED_DTYPES`, a shape of non-negative integers, exactly
``prod(shape) * itemsize`` bytes) and made with ``np.frombuffer(...).copy()``. Anything else is
refused with :class:`~chainrule.errors.UnsafePickleError`, and nothing the file names is called.

The pickle machine itself is Python's own (the pure-Python ``pickle._Unpickler``), with the
opcodes that could crash, hang or exhaust memory on hostile input narrowed: dictionary keys and
set members are strings, bytes or small integers (hashing a million nested tuples overflows C's
stack; integers that collide in the hash make a dict quadratic), a declared length allocates
nothing before the bytes arrive, and what the stand-ins allocate is bounded by the file's size.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
from collections import OrderedDict
from typing import IO, Any, Callable

import numpy as np

from .errors import ChainruleError, CheckpointError, UnsafePickleError

# Type codes an array or scalar may have; the byte order comes from the pickle ('<', '>', '|').
ALLOWED_DTYPES: frozenset[str] = frozenset({"f2", "f4", "f8", "i4", "i8", "u1", "b1"})

_NUMPY_CORES = ("numpy.core", "numpy._core")  # NumPy 2 renamed numpy.core; files use either
_BUILTINS = ("builtins", "__builtin__")  # protocol 0-2 pickles spell builtins the Python 2 way

# Hashing only these cannot recurse or collide on purpose (str and bytes hashes are salted).
_KEY_TYPES = (str, bytes, bool, type(None))
_KEY_INT_LIMIT = 2**60
_DATA_TYPES = (str, bytes, bytearray, bool, int, float, type(None))

_MAX_NDIM = 32
_MAX_DIM = 2**40
_MAX_MEMO_INDEX = 2**32
_READ_CHUNK = 1 << 20
# What the stand-ins may allocate: twice the bytes read (a protocol-2 array is decoded from its
# text, then copied into the array) plus a little for the empty arrays a small file may hold.
_ALLOCATION_SLACK = 1 << 20


class _Refused(Exception):
    """Raised inside the unpickler; :meth:`RestrictedUnpickler.load` adds the file name."""


def _refuse(message: str) -> Any:
    raise _Refused(message)


def _check_key(key: Any) -> None:
    if type(key) in _KEY_TYPES:
        return
    if type(key) is int and -_KEY_INT_LIMIT <= key <= _KEY_INT_LIMIT:
        return
    _refuse(
        f"a dictionary key or set member is {type(key).__name__}"
        + (" out of range" if type(key) is int else "")
        + "; a weight file's keys are strings, bytes or integers below 2**60"
    )


class _NDArrayName:
    """What ``numpy.ndarray`` resolves to: a marker ``_reconstruct`` expects, never callable."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "numpy.ndarray"


_NDARRAY = _NDArrayName()


class _DTypeRecord:
    """``numpy.dtype(code, align, copy)`` and its BUILD state, recorded as plain values."""

    __slots__ = ("code", "byte_order", "has_state")

    def __init__(self, code: str) -> None:
        self.code = code
        self.byte_order = "="
        self.has_state = False

    def set_state(self, state: Any) -> None:
        if self.has_state:
            _refuse(f"dtype {self.code} is given its state twice")
        self.has_state = True
        if type(state) is not tuple or len(state) not in (8, 9):
            _refuse(f"dtype {self.code} has a state that is not a plain dtype's")
        version, byte_order, subarray, names, fields, elsize, alignment, flags = state[:8]
        metadata = state[8] if len(state) == 9 else None
        plain = (
            version in (3, 4)
            and byte_order in ("<", ">", "|", "=")
            and subarray is None
            and names is None
            and fields is None
            and metadata is None
            and (elsize, alignment, flags) == (-1, -1, 0)
        )
        if not plain:
            _refuse(
                f"dtype {self.code} carries fields, a sub-array, flags or a size of its own; "
                "only plain numeric dtypes are accepted"
            )
        if self.code[1:] != "1" and byte_order == "|":
            _refuse(f"dtype {self.code} has no byte order")
        self.byte_order = byte_order

    def resolve(self) -> np.dtype:
        if self.code[1:] == "1":
            return np.dtype("|" + self.code)
        return np.dtype(self.byte_order + self.code)


class _ArrayRecord:
    """An array as the pickle describes it: shape, dtype, layout and bytes; made at the end."""

    __slots__ = ("shape", "dtype", "fortran", "raw", "scalar", "awaits_state")

    def __init__(self) -> None:
        self.shape: Any = None
        self.dtype: Any = None
        self.fortran: Any = False
        self.raw: Any = None
        self.scalar = False
        self.awaits_state = True

    def set_state(self, state: Any) -> None:
        """``ndarray.__setstate__``'s argument: ``(version, shape, dtype, is_fortran, rawdata)``."""
        if not self.awaits_state:
            _refuse("an array is given its state twice")
        self.awaits_state = False
        if type(state) is not tuple or len(state) not in (4, 5):
            _refuse("an array's state is not (version, shape, dtype, is_fortran, data)")
        if len(state) == 5:
            if state[0] != 1 or type(state[0]) is not int:
                _refuse(f"an array's state has version {state[0]!r}, not 1")
            state = state[1:]
        self.shape, self.dtype, self.fortran, self.raw = state

    def build(self, charge: Callable[[int], None]) -> Any:
        if self.awaits_state:
            _refuse("an array was never given its shape, dtype and data")
        if type(self.dtype) is not _DTypeRecord:
            _refuse(f"an array's dtype is a {type(self.dtype).__name__}, not a dtype")
        dtype = self.dtype.resolve()
        shape = self.shape
        if type(shape) is not tuple or len(shape) > _MAX_NDIM:
            _refuse(f"an array's shape is not a tuple of at most {_MAX_NDIM} integers")
        for dim in shape:
            if type(dim) is not int or not 0 <= dim <= _MAX_DIM:
                _refuse(f"an array's shape {_short(shape)} is not made of integers 0..2**40")
        if self.fortran not in (0, 1) or type(self.fortran) not in (bool, int):
            _refuse("an array's is_fortran flag is not a boolean")
        raw = self.raw
        if type(raw) is str:
            try:
                raw = raw.encode("latin1")
            except UnicodeEncodeError:
                _refuse("an array's data is text that is not latin-1")
        if type(raw) is memoryview:
            raw = raw.cast("B") if raw.c_contiguous else _refuse("an array's buffer is not contiguous")
        if type(raw) not in (bytes, bytearray, memoryview):
            _refuse(f"an array's data is a {type(raw).__name__}, not bytes")
        expected = math.prod(shape) * dtype.itemsize
        if len(raw) != expected:
            _refuse(
                f"an array of shape {_short(shape)} and dtype {dtype.str} needs {expected} bytes, "
                f"the file gives {len(raw)}"
            )
        charge(expected)
        values = np.frombuffer(raw, dtype=dtype)
        if self.scalar:
            return values[0]
        return values.reshape(shape, order="F" if self.fortran else "C").copy(order="K")


def _short(value: Any) -> str:
    """``repr(value)``, clipped: a refusal names what it saw in one short line."""
    return _clip(repr(value))


def _clip(text: str, limit: int = 60) -> str:
    """``text`` on one short line (a name in the file may hold newlines or control characters)."""
    if not text.isprintable():
        text = repr(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _ChunkedReader:
    """The file, read in chunks: a declared length allocates only the bytes that really follow."""

    def __init__(self, file: IO[bytes]) -> None:
        self._read = file.read
        self._readline = file.readline
        self.bytes_read = 0

    def read(self, size: int) -> bytes:
        if size <= _READ_CHUNK:
            data = self._read(size)
        else:
            parts = []
            while size > 0:
                part = self._read(min(size, _READ_CHUNK))
                if not part:
                    break
                parts.append(part)
                size -= len(part)
            data = b"".join(parts)
        self.bytes_read += len(data)
        return data

    def readline(self) -> bytes:
        line = self._readline()
        self.bytes_read += len(line)
        return line


class RestrictedUnpickler(pickle._Unpickler):
    """An unpickler that builds NumPy arrays, dtypes, scalars and plain containers, nothing else.

    ``find_class`` answers the names a weight pickle uses with stand-ins (see the module's
    docstring); every other name is refused *before* anything is called.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: IO[bytes], *, source: str = "pickle", encoding: str = "ASCII",
                 errors: str = "strict") -> None:
        self._reader = _ChunkedReader(file)
        super().__init__(self._reader, encoding=encoding, errors=errors)
        self.source = source
        self._allocated = 0
        stand_ins: dict[tuple[str, str], Any] = {("numpy", "ndarray"): _NDARRAY,
                                                 ("numpy", "dtype"): self._dtype}
        for core in _NUMPY_CORES:
            stand_ins[(f"{core}.multiarray", "_reconstruct")] = self._reconstruct
            stand_ins[(f"{core}.multiarray", "scalar")] = self._scalar
            stand_ins[(f"{core}.numeric", "_frombuffer")] = self._frombuffer
        stand_ins[("_codecs", "encode")] = self._encode
        stand_ins[("collections", "OrderedDict")] = self._ordered_dict
        for builtins in _BUILTINS:
            stand_ins[(builtins, "bytes")] = self._bytes
            stand_ins[(builtins, "set")] = self._set
            stand_ins[(builtins, "frozenset")] = self._frozenset
        self._stand_ins = stand_ins

    # -- what the file may name --------------------------------------------------------------

    def find_class(self, module: str, name: str) -> Any:
        stand_in = self._stand_ins.get((module, name))
        if stand_in is None:
            raise UnsafePickleError(
                f"{self.source}: refused to load: the pickle asks for {_clip(module)}.{_clip(name)}, "
                "but only NumPy arrays, dtypes and plain containers are allowed (a pickle that "
                "calls other code could run anything; nothing from it was executed)"
            )
        return stand_in

    def persistent_load(self, pid: Any) -> Any:
        _refuse("the pickle uses persistent ids")

    def _charge(self, size: int) -> None:
        """Count ``size`` bytes about to be allocated; refuse past what the file could hold."""
        self._allocated += size
        if self._allocated > 2 * self._reader.bytes_read + _ALLOCATION_SLACK:
            _refuse(f"the pickle asks for more memory than its {self._reader.bytes_read} bytes hold")

    def _dtype(self, code: Any = None, align: Any = False, copy: Any = True) -> _DTypeRecord:
        if type(code) is not str or code not in ALLOWED_DTYPES:
            _refuse(
                f"dtype {_short(code)} is not one of {', '.join(sorted(ALLOWED_DTYPES))} "
                "(objects, strings, records and sub-arrays are not weights)"
            )
        if align not in (0, 1) or copy not in (0, 1):
            _refuse(f"dtype {code} is asked for with align={_short(align)}, copy={_short(copy)}")
        return _DTypeRecord(code)

    def _reconstruct(self, cls: Any = None, shape: Any = None, typecode: Any = None) -> _ArrayRecord:
        if cls is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
            _refuse("_reconstruct is called with arguments NumPy never writes")
        return _ArrayRecord()

    def _frombuffer(self, buffer: Any = None, dtype: Any = None, shape: Any = None,
                    order: Any = "C") -> _ArrayRecord:
        """Protocol 5's ``numpy.core.numeric._frombuffer(buffer, dtype, shape, order)``."""
        if order not in ("C", "F"):
            _refuse(f"_frombuffer is asked for order {_short(order)}")
        array = _ArrayRecord()
        array.set_state((1, shape, dtype, order == "F", buffer))
        return array

    def _scalar(self, dtype: Any = None, raw: Any = None) -> _ArrayRecord:
        scalar = _ArrayRecord()
        scalar.set_state((1, (1,), dtype, False, raw))
        scalar.scalar = True
        return scalar

    def _encode(self, text: Any = None, encoding: Any = None) -> bytes:
        """``_codecs.encode(text, 'latin1')``: how protocols 0-2 store bytes. No other codec."""
        if type(text) is not str or encoding not in ("latin1", "latin-1"):
            _refuse(f"_codecs.encode is asked for codec {_short(encoding)}; only latin1 is allowed")
        self._charge(len(text))
        return text.encode("latin1")

    def _bytes(self, *args: Any) -> bytes:
        if args:
            _refuse("bytes() is called with arguments; pickles write only bytes() for b''")
        return b""

    def _members(self, items: Any) -> list:
        if type(items) not in (list, tuple, set, frozenset):
            _refuse(f"a set is made from a {type(items).__name__}")
        self._charge(len(items))
        for item in items:
            _check_key(item)
        return list(items)

    def _set(self, items: Any = ()) -> set:
        return set(self._members(items))

    def _frozenset(self, items: Any = ()) -> frozenset:
        return frozenset(self._members(items))

    def _ordered_dict(self, items: Any = ()) -> OrderedDict:
        if type(items) not in (list, tuple):
            _refuse(f"an OrderedDict is made from a {type(items).__name__}")
        self._charge(len(items))
        for pair in items:
            if type(pair) not in (list, tuple) or len(pair) != 2:
                _refuse("an OrderedDict is made from something other than (key, value) pairs")
            _check_key(pair[0])
        return OrderedDict(items)

    # -- opcodes narrowed --------------------------------------------------------------------

    def _load_build(self) -> None:
        state = self.stack.pop()
        target = self.stack[-1]
        if type(target) not in (_ArrayRecord, _DTypeRecord):
            _refuse(f"the pickle sets the state of a {type(target).__name__}; only arrays and dtypes have one")
        target.set_state(state)

    dispatch[pickle.BUILD[0]] = _load_build

    def _target(self, kinds: tuple[type, ...], what: str) -> Any:
        target = self.stack[-1]
        if type(target) not in kinds:
            _refuse(f"the pickle {what} a {type(target).__name__}")
        return target

    def _load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        _check_key(key)
        self._target((dict, OrderedDict), "sets an item of")[key] = value

    def _load_setitems(self) -> None:
        items = self.pop_mark()
        if len(items) % 2:
            _refuse("SETITEMS has an odd number of items")
        target = self._target((dict, OrderedDict), "sets items of")
        for index in range(0, len(items), 2):
            _check_key(items[index])
            target[items[index]] = items[index + 1]

    def _load_dict(self) -> None:
        items = self.pop_mark()
        if len(items) % 2:
            _refuse("DICT has an odd number of items")
        for key in items[::2]:
            _check_key(key)
        self.append(dict(zip(items[::2], items[1::2])))

    def _load_append(self) -> None:
        value = self.stack.pop()
        self._target((list,), "appends to").append(value)

    def _load_appends(self) -> None:
        items = self.pop_mark()
        self._target((list,), "appends to").extend(items)

    def _load_additems(self) -> None:
        items = self.pop_mark()
        for item in items:
            _check_key(item)
        self._target((set,), "adds to").update(items)

    def _load_frozenset(self) -> None:
        items = self.pop_mark()
        for item in items:
            _check_key(item)
        self.append(frozenset(items))

    def _load_bytearray8(self) -> None:
        (size,) = struct.unpack("<Q", self.read(8))
        data = self.read(size)
        if len(data) != size:
            _refuse(f"a bytearray declares {size} bytes, the file holds {len(data)}")
        self.append(bytearray(data))

    def _load_put(self) -> None:
        index = int(self.readline()[:-1])
        if not 0 <= index < _MAX_MEMO_INDEX:
            _refuse(f"memo index {_short(index)} is out of range")
        self.memo[index] = self.stack[-1]

    for _opcode, _method in (
        (pickle.SETITEM, _load_setitem),
        (pickle.SETITEMS, _load_setitems),
        (pickle.DICT, _load_dict),
        (pickle.APPEND, _load_append),
        (pickle.APPENDS, _load_appends),
        (pickle.ADDITEMS, _load_additems),
        (pickle.FROZENSET, _load_frozenset),
        (pickle.BYTEARRAY8, _load_bytearray8),
        (pickle.PUT, _load_put),
    ):
        dispatch[_opcode[0]] = _method
    del _opcode, _method

    # -- the whole load ----------------------------------------------------------------------

    def load(self) -> Any:
        try:
            return self._materialize(super().load())
        except UnsafePickleError:
            raise
        except _Refused as refusal:
            raise UnsafePickleError(f"{self.source}: refused to load: {refusal}") from None
        except ChainruleError:
            raise
        except EOFError:
            raise CheckpointError(f"{self.source}: the pickle ends early (truncated file?)") from None
        except Exception as error:  # a malformed pickle can fail in any of Python's ways
            reason = str(error).splitlines()[0] if str(error) else ""
            raise CheckpointError(
                f"{self.source}: not a readable pickle ({type(error).__name__}: {_clip(reason, 120)})"
            ) from None

    def _materialize(self, root: Any) -> Any:
        """Replace every recorded array and dtype by the real one, walking without recursion.

        Lists and dicts are updated in place, tuples rebuilt; a container that contains itself
        is refused (weight files are trees), as is any object that is not data.
        """
        made: dict[int, Any] = {}
        keep_alive: list[Any] = []  # ids stay unique while the originals are alive
        on_path: set[int] = set()
        pending: list[tuple[Any, bool]] = [(root, False)]
        while pending:
            obj, children_done = pending.pop()
            key = id(obj)
            if not children_done:
                if key in made:
                    continue
                kind = type(obj)
                if kind in _DATA_TYPES:
                    made[key] = obj
                elif kind is _ArrayRecord:
                    made[key] = obj.build(self._charge)
                elif kind is _DTypeRecord:
                    made[key] = obj.resolve()
                elif kind in (set, frozenset):
                    for member in obj:
                        _check_key(member)
                    made[key] = obj
                elif kind in (list, tuple, dict, OrderedDict):
                    keep_alive.append(obj)
                    on_path.add(key)
                    pending.append((obj, True))
                    for child in obj.values() if kind in (dict, OrderedDict) else obj:
                        if id(child) in on_path:
                            _refuse("a container contains itself; a weight file is a tree")
                        if id(child) not in made:
                            pending.append((child, False))
                else:
                    _refuse(f"the pickle holds a {kind.__name__}, which is not data")
                continue
            on_path.discard(key)
            if type(obj) is tuple:
                items = tuple(made[id(item)] for item in obj)
                changed = any(new is not old for new, old in zip(items, obj))
                made[key] = items if changed else obj
            elif type(obj) is list:
                obj[:] = [made[id(item)] for item in obj]
                made[key] = obj
            else:
                for name, value in list(obj.items()):
                    obj[name] = made[id(value)]
                made[key] = obj
        return made[id(root)]


def load(file: IO[bytes], *, encoding: str = "ASCII", errors: str = "strict", **_: Any) -> Any:
    """``pickle.load`` restricted to arrays and containers (other keywords are accepted and ignored)."""
    source = getattr(file, "name", "pickle")
    return RestrictedUnpickler(file, source=str(source), encoding=encoding, errors=errors).load()


def loads(data: bytes, *, encoding: str = "ASCII", errors: str = "strict", **_: Any) -> Any:
    """``pickle.loads`` restricted to arrays and containers."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'")
    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding, errors=errors).load()


def load_file(path: str | os.PathLike[str]) -> Any:
    """Open ``path`` and :func:`load` it."""
    with open(path, "rb") as handle:
        return RestrictedUnpickler(handle, source=os.fspath(path)).load()

