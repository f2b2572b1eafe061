"""A strict stand-in for CuPy, so that CI (which has no GPU) catches NumPy-only code paths.

``STRICT`` is a :class:`chainrule.backend.Backend` whose arrays wrap NumPy arrays but behave
like CuPy's where CuPy is stricter than NumPy:

- no silent conversion to host NumPy: ``np.asarray(a)``, ``np.array(a)`` and NumPy functions
  without a CuPy counterpart raise (CuPy: "Implicit conversion to a NumPy array is not allowed");
- no mixing with host arrays: an operation between a strict array and a NumPy array raises;
- its module offers only functions CuPy has (an allow-list): ``xp.<anything else>`` raises and
  names the call, so a NumPy-only shortcut fails loudly;
- ``.get()`` and ``chainrule.backend.to_numpy`` are the explicit ways back to the host.

Results are computed by NumPy underneath, so they equal the NumPy backend's bit for bit.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from chainrule.backend import Backend, register_array_type


class NumpyOnlyError(TypeError):
    """Code reached for something a device array library does not offer."""


# Functions both NumPy and CuPy provide with the same meaning (the ones chainrule may use).
ALLOWED_FUNCTIONS = """
abs absolute add all allclose any arange argmax argmin array array_equal asarray ascontiguousarray
broadcast_to ceil clip concatenate copy cumsum divide dot einsum empty empty_like equal exp expm1
eye floor full full_like greater greater_equal isfinite isinf isnan less less_equal linspace log
log1p logical_and logical_not logical_or logical_xor matmul max maximum mean min minimum moveaxis
multiply negative not_equal ones ones_like pad power prod ravel reshape result_type sign sqrt
square stack std subtract sum take tanh tensordot transpose var where zeros zeros_like ndim shape size
log2 fmax
""".split()
ALLOWED_ATTRIBUTES = """
bool_ float16 float32 float64 int8 int16 int32 int64 uint8 intp dtype inf nan pi newaxis e
finfo iinfo ndarray
""".split()
# Ufuncs behind Python operators (``~mask``, ``a & b``, ``a // b``, ``+a``): CuPy has them all.
OPERATOR_UFUNCS = {"bitwise_and", "bitwise_or", "bitwise_xor", "invert", "floor_divide", "remainder", "positive"}
# Host -> device transfers: these accept NumPy arrays (the others refuse them, as CuPy does).
TRANSFERS = {"asarray", "array", "ascontiguousarray"}


def _unwrap(value: Any, allow_host: bool, where: str) -> Any:
    if isinstance(value, StrictArray):
        return value._data
    if isinstance(value, np.ndarray) and not allow_host:
        raise TypeError(f"{where}: a host NumPy array mixed with strict (device) arrays; move it with xp.asarray")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, allow_host, where) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, allow_host, where) for k, v in value.items()}
    return value


def _wrap(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return StrictArray(value)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class StrictArray(NDArrayOperatorsMixin):
    """A NumPy array in disguise that refuses to be treated as one."""

    __slots__ = ("_data",)

    def __init__(self, data: np.ndarray) -> None:
        self._data = data

    # -- the strictness ---------------------------------------------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError("Implicit conversion to a NumPy array is not allowed (strict backend, as CuPy): "
                        "use chainrule.backend.to_numpy or .get()")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        where = f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__
        if ufunc.__name__ not in ALLOWED_FUNCTIONS and ufunc.__name__ not in OPERATOR_UFUNCS:
            raise NumpyOnlyError(f"numpy.{where} is not offered by the strict (CuPy-like) backend")
        raw_inputs = _unwrap(inputs, False, where)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out, False, where)
        result = getattr(ufunc, method)(*raw_inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        name = func.__name__
        if name not in ALLOWED_FUNCTIONS:
            raise NumpyOnlyError(f"numpy.{name} called on a strict (CuPy-like) array: not a CuPy function")
        return getattr(_MODULE, name)(*args, **kwargs)

    def get(self) -> np.ndarray:
        """The explicit copy to the host, as ``cupy.ndarray.get``."""
        return self._data.copy()

    # -- the ndarray interface CuPy shares ---------------------------------------------------------
    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    nbytes = property(lambda self: self._data.nbytes)
    itemsize = property(lambda self: self._data.itemsize)
    strides = property(lambda self: self._data.strides)
    flags = property(lambda self: self._data.flags)
    T = property(lambda self: StrictArray(self._data.T))

    def __repr__(self) -> str:
        return f"strict({self._data!r})"

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Any:
        return (_wrap(v) if isinstance(v, np.ndarray) else StrictArray(np.asarray(v)) for v in self._data)

    def __getitem__(self, index: Any) -> Any:
        result = self._data[_unwrap(index, True, "indexing")]
        return StrictArray(np.asarray(result)) if not isinstance(result, np.ndarray) else StrictArray(result)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._data[_unwrap(index, True, "indexing")] = _unwrap(value, False, "item assignment")

    # Scalars come back explicitly, as from CuPy (a device synchronisation there).
    def __float__(self) -> float:
        return float(self._data)

    def __int__(self) -> int:
        return int(self._data)

    def __bool__(self) -> bool:
        return bool(self._data)

    def __index__(self) -> int:
        return self._data.__index__()

    def item(self) -> Any:
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __copy__(self) -> StrictArray:
        return StrictArray(self._data.copy())

    def __deepcopy__(self, memo: Any) -> StrictArray:
        return StrictArray(self._data.copy())

    def __getattr__(self, name: str) -> Any:
        # Methods (reshape, sum, astype, transpose, copy, argmax, fill, ...): CuPy has NumPy's.
        if name.startswith("__") or name in ("base", "ctypes", "data", "tofile", "tobytes", "dump", "dumps"):
            raise AttributeError(f"strict array has no {name!r}")
        attribute = getattr(self._data, name)
        if not callable(attribute):
            return _wrap(attribute)

        def method(*args: Any, **kwargs: Any) -> Any:
            return _wrap(attribute(*_unwrap(args, False, name), **_unwrap(kwargs, False, name)))

        return method


def _function(name: str) -> Any:
    numpy_function = getattr(np, name)
    allow_host = name in TRANSFERS

    def function(*args: Any, **kwargs: Any) -> Any:
        if allow_host and args and isinstance(args[0], StrictArray):
            args = (args[0]._data, *args[1:])
        return _wrap(numpy_function(*_unwrap(args, allow_host, name), **_unwrap(kwargs, allow_host, name)))

    function.__name__ = name
    if name in ("asarray", "array", "ascontiguousarray"):  # always hand back a device array, even for scalars
        def transfer(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            return result if isinstance(result, StrictArray) else StrictArray(np.asarray(result))

        transfer.__name__ = name
        return transfer
    return function


class _StrictModule(types.ModuleType):
    """``xp`` for strict arrays: the allow-listed functions; anything else names the NumPy-only call."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NumpyOnlyError(f"xp.{name}: numpy.{name} is not offered by the strict (CuPy-like) backend")


_MODULE = _StrictModule("strict_numpy")
for _name in ALLOWED_FUNCTIONS:
    setattr(_MODULE, _name, _function(_name))
for _name in ALLOWED_ATTRIBUTES:
    setattr(_MODULE, _name, getattr(np, _name))
_MODULE.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
    as_strided=lambda x, shape=None, strides=None: StrictArray(np.lib.stride_tricks.as_strided(x._data, shape, strides))
))

register_array_type(StrictArray, _MODULE, lambda a: a.get())
STRICT = Backend("strict", _MODULE)
