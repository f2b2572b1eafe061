"""Structure-aware fuzzing of :mod:`chainrule.restricted_pickle` (run as a script, in a child).

Seeds are weight pickles as the book writes them (dicts of arrays, protocols 0-5) and the books'
own ``.pkl`` files when present. Each case mutates one seed along its opcodes: an argument
replaced (dtype codes such as ``O8``/``V16``, byte orders, flags, shapes, codec and module
names), a length that lies, an opcode deleted, repeated or inserted, a splice from another seed,
a few flipped bytes. Every outcome must be a loaded value or a one-line chainrule error; a loaded
array must be one of the allowed dtypes, own its memory, and hold exactly bytes that the file
spells out. A crash kills this process (the parent test sees the signal and the case number); a
case over ``--case-seconds`` is reported as a hang.

    PYTHONPATH=src:tests python tests/pickle_fuzz.py --cases 4000 --seed 0 [--start N] [--seconds 45]

(``--start`` resumes after a case that crashed an older loader; PYTHONPATH picks the chainrule.)
"""

from __future__ import annotations

import argparse
import glob
import os
import pickle
import pickletools
import random
import signal
import struct
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

_ALLOWED = {"<f2", "<f4", "<f8", "<i4", "<i8", "|u1", "|b1", ">f2", ">f4", ">f8", ">i4", ">i8"}
_DTYPE_CODES = ["f8", "f4", "f2", "i4", "i8", "u1", "b1", "O8", "O", "V8", "V16", "U4", "S4", "M8", "m8",
                "c16", "f16", "i2", "u8", "<f8", ">f8", "", "f", "d", "float64", "V0", "O16", "V-1"]
_WORDS = ["<", ">", "|", "=", "C", "F", "A", "latin1", "punycode", "utf-16", "rot13", "b", "W1",
          "numpy", "dtype", "ndarray", "numpy.core.multiarray", "numpy._core.multiarray", "_reconstruct",
          "scalar", "numpy._core.numeric", "_frombuffer", "_codecs", "encode", "builtins", "__builtin__",
          "bytes", "set", "frozenset", "collections", "OrderedDict", "os", "system", "eval", "getattr",
          "numpy.lib.format", "read_array", "hex", "x" * 300]
_INTS = [0, 1, -1, 2, 3, 4, 7, 8, 16, 27, 61, 63, 255, 256, 2**15, 2**31 - 1, -(2**31), 2**32, 2**40, 2**61 - 1,
         2**62, 2**63, 2**64 + 1, -(2**63), 10**30]
_INSERTIONS = [pickle.BUILD, pickle.DUP, pickle.POP, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3, pickle.REDUCE,
               pickle.MARK, pickle.TUPLE, pickle.EMPTY_TUPLE, pickle.EMPTY_DICT, pickle.EMPTY_LIST, pickle.EMPTY_SET,
               pickle.NONE, pickle.NEWTRUE, pickle.NEWFALSE, pickle.STOP, pickle.APPEND, pickle.APPENDS,
               pickle.SETITEM, pickle.SETITEMS, pickle.ADDITEMS, pickle.FROZENSET, pickle.MEMOIZE,
               pickle.BINGET + b"\x00", pickle.BINGET + b"\x03", pickle.BINGET + b"\x07", pickle.NEWOBJ,
               pickle.OBJ, pickle.LIST, pickle.DICT, pickle.READONLY_BUFFER, pickle.NEXT_BUFFER,
               pickle.BINPERSID, pickle.EXT1 + b"\x01", pickle.LONG_BINGET + b"\xff\xff\xff\xff",
               pickle.BINPUT + b"\x02", pickle.GLOBAL + b"numpy\nndarray\n",
               pickle.GLOBAL + b"numpy\ndtype\n", pickle.GLOBAL + b"_codecs\nencode\n"]


# -- seeds -----------------------------------------------------------------------------------------


def seeds(rng: random.Random, include_books: bool) -> list[bytes]:
    """Small weight pickles under every protocol, plus the books' files when they are found."""
    np_rng = np.random.default_rng(0)
    values: list[Any] = [
        {"W1": np_rng.standard_normal((3, 2)), "b1": np.zeros(2)},
        {"W1": np_rng.standard_normal((2, 2)).astype(np.float32), "b1": np.ones(2, dtype=np.float32)},
        {"W": np.arange(6, dtype=">f4").reshape(2, 3), "F": np.asfortranarray(np.arange(6.0).reshape(2, 3))},
        {"x": np.arange(4, dtype=np.uint8), "t": np.array([True, False]), "h": np.ones(3, dtype=np.float16)},
        [np.arange(3, dtype=np.int64), np.int32(7), np.float64(1.5), OrderedDict(a=np.zeros(0))],
        {"word_to_id": {"you": 0, "say": 1}, "id_to_word": {0: "you", 1: "say"}, "params": [np.ones((2, 2))]},
        {"tags": {"a", "b"}, "frozen": frozenset({1, 2}), "empty": np.zeros((0, 3))},
    ]
    found = [pickle.dumps(value, protocol=protocol) for value in values for protocol in range(6)]
    if include_books:
        found += [path.read_bytes() for path in book_pickles()]
    return found


def book_pickles() -> list[Path]:
    """The books' ``ch*/*.pkl`` files: beside ``$CHAINRULE_BOOK_DIR``, else in ``shared/`` next to
    the checkout or its folder of worktrees (as ``tests/book_support.py`` finds the book)."""
    root = Path(__file__).resolve().parents[1]
    places = [root.parents[0] / "shared", root.parents[1] / "shared"]
    if os.environ.get("CHAINRULE_BOOK_DIR"):
        places.insert(0, Path(os.environ["CHAINRULE_BOOK_DIR"]).parent)
    for shared in places:
        found = sorted(Path(path) for path in glob.glob(str(shared / "dlfs-book*" / "ch*" / "*.pkl")))
        if found:
            return found
    return []


# -- mutations along the opcodes -------------------------------------------------------------------


def _ops(data: bytes) -> list[tuple[Any, Any, int, int]]:
    """``(opcode, argument, start, end)`` of each opcode; FRAME opcodes are kept as they are."""
    parsed = list(pickletools.genops(data))
    return [(op, arg, pos, parsed[i + 1][2] if i + 1 < len(parsed) else len(data)) for i, (op, arg, pos) in enumerate(parsed)]


def _unframed(data: bytes) -> bytes:
    """The pickle without FRAME opcodes (a mutation inside a frame would otherwise only break it)."""
    return b"".join(data[start:end] for op, _, start, end in _ops(data) if op.name != "FRAME")


def _encode_int(value: int, rng: random.Random) -> bytes:
    if 0 <= value < 256 and rng.random() < 0.5:
        return pickle.BININT1 + bytes([value])
    if -(2**31) <= value < 2**31 and rng.random() < 0.7:
        return pickle.BININT + struct.pack("<i", value)
    body = value.to_bytes((value.bit_length() + 8) // 8 or 1, "little", signed=True)
    return pickle.LONG1 + bytes([len(body)]) + body


def _encode_text(text: str) -> bytes:
    body = text.encode("utf-8", "surrogatepass")
    if len(body) < 256:
        return pickle.SHORT_BINUNICODE + bytes([len(body)]) + body
    return pickle.BINUNICODE + struct.pack("<I", len(body)) + body


def _encode_bytes(body: bytes, declared: int) -> bytes:
    if declared < 256 and len(body) < 256:
        return pickle.SHORT_BINBYTES + bytes([declared]) + body
    return pickle.BINBYTES + struct.pack("<I", declared % 2**32) + body


_PARSED_SEEDS: dict[int, tuple[bytes, list]] = {}  # id of a large seed -> its unframed bytes and opcodes


def remember_large_seeds(pool: list[bytes]) -> None:
    for data in pool:
        if len(data) >= 10_000:
            unframed = _unframed(data)
            _PARSED_SEEDS[id(data)] = (unframed, _ops(unframed))


def mutate(data: bytes, pool: list[bytes], rng: random.Random) -> tuple[bytes, str]:
    """One structure-aware mutation of ``data``; returns the new pickle and what was done."""
    try:
        if id(data) in _PARSED_SEEDS:  # a book's file: parsing megabytes once is enough
            data, ops = _PARSED_SEEDS[id(data)]
        else:
            if rng.random() < 0.9:
                data = _unframed(data)
            ops = _ops(data)
    except Exception:  # an earlier mutation left no opcode structure: mutate the bytes
        return _flip_bytes(data, rng), "random bytes (no structure left)"
    index = rng.randrange(len(ops))
    op, arg, start, end = ops[index]
    choice = rng.random()
    if isinstance(arg, int) and not isinstance(arg, bool) and choice < 0.6:
        value = rng.choice(_INTS + [arg + rng.choice((-1, 1)), arg * 2, -arg])
        return data[:start] + _encode_int(value, rng) + data[end:], f"int@{start} {arg}->{value}"
    if isinstance(arg, str) and choice < 0.6:
        text = rng.choice(_DTYPE_CODES + _WORDS) if rng.random() < 0.8 else arg[: rng.randrange(len(arg) + 1)]
        if op.name == "GLOBAL" or op.name == "INST":
            module, _, name = arg.partition(" ")
            text = f"{rng.choice(_WORDS)}\n{name}" if rng.random() < 0.5 else f"{module}\n{rng.choice(_WORDS)}"
            return data[:start] + op.code.encode("latin1") + text.encode() + b"\n" + data[end:], f"global@{start}->{text!r}"
        return data[:start] + _encode_text(text) + data[end:], f"text@{start} {arg[:20]!r}->{text[:20]!r}"
    if isinstance(arg, (bytes, bytearray)) and choice < 0.6:
        body = bytes(arg)
        kind = rng.randrange(4)
        if kind == 0:  # shorter or longer than the array needs, header honest
            body = body[: rng.randrange(len(body) + 1)] if body and rng.random() < 0.5 else body + b"\x00" * rng.choice((1, 8, 64))
            return data[:start] + _encode_bytes(body, len(body)) + data[end:], f"bytes@{start} len->{len(body)}"
        if kind == 1:  # a header that lies about the length
            declared = max(0, len(body) + rng.choice((-8, -1, 1, 8, 2**20, 2**31)))
            return data[:start] + _encode_bytes(body, declared) + data[end:], f"bytes@{start} declared {declared}"
        if kind == 2:
            return data[:start] + _encode_text(body.decode("latin1")) + data[end:], f"bytes@{start} as text"
        flipped = bytearray(body or b"\x00")
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        return data[:start] + _encode_bytes(bytes(flipped), len(flipped)) + data[end:], f"bytes@{start} bit flip"
    if choice < 0.7:
        return data[:start] + data[end:], f"delete {op.name}@{start}"
    if choice < 0.78:
        return data[:end] + data[start:end] + data[end:], f"repeat {op.name}@{start}"
    if choice < 0.88:
        inserted = rng.choice(_INSERTIONS)
        return data[:start] + inserted + data[start:], f"insert {inserted[:8]!r}@{start}"
    if choice < 0.94:
        other = _unframed(rng.choice(small_seeds(pool)))
        other_ops = _ops(other)
        first = rng.randrange(1, len(other_ops))
        last = min(len(other_ops) - 1, first + rng.randrange(1, 12))
        piece = other[other_ops[first][2]:other_ops[last][2]]
        return data[:start] + piece + data[start:], f"splice {len(piece)} bytes@{start}"
    return _flip_bytes(data, rng), "random bytes"


def _flip_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data or rng.random() < 0.2:
        return data[: rng.randrange(len(data) + 1)]
    flipped = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        flipped[rng.randrange(len(flipped))] = rng.randrange(256)
    return bytes(flipped)


def small_seeds(pool: list[bytes]) -> list[bytes]:
    return [data for data in pool if len(data) < 10_000]


# -- the oracle ------------------------------------------------------------------------------------


def _spelled_bytes(data: bytes) -> set[bytes] | None:
    """Every byte string the pickle spells out (bytes arguments, and text as latin-1 bytes)."""
    spelled: set[bytes] = {b""}
    try:
        for _, arg, _ in pickletools.genops(data):
            if isinstance(arg, (bytes, bytearray)):
                spelled.add(bytes(arg))
            elif isinstance(arg, str):
                try:
                    spelled.add(arg.encode("latin1"))
                except UnicodeEncodeError:
                    pass
    except Exception:  # pickletools is stricter than the loader about what follows STOP
        return None
    return spelled


def check_result(value: Any, data: bytes) -> str | None:
    """Why ``value`` is not what ``data`` says, or None: arrays are plain, own their memory and
    hold exactly bytes the file spells out."""
    spelled = _spelled_bytes(data)
    seen: set[int] = set()
    pending = [value]
    total = 0
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (np.ndarray, np.generic)):
            array = np.asarray(item)
            if array.dtype.str not in _ALLOWED:
                return f"an array of dtype {array.dtype.str}"
            if isinstance(item, np.ndarray) and (not item.flags.owndata or item.base is not None):
                return "an array that does not own its memory"
            raw = array.tobytes(order="A")
            if spelled is not None and raw not in spelled:
                return f"an array whose {len(raw)} bytes the file does not spell out"
            if spelled is None and raw not in data and raw.decode("latin1").encode("utf-8") not in data:
                return f"an array whose {len(raw)} bytes are not in the file"
            total += array.nbytes
        elif isinstance(item, np.dtype):
            if item.str not in _ALLOWED:
                return f"a dtype {item.str}"
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
        elif not isinstance(item, (str, bytes, bytearray, bool, int, float, type(None))):
            return f"a {type(item).__name__}, which is not data"
    if total > 2 * len(data) + 2**20:
        return f"{total} bytes of arrays from {len(data)} bytes of file"
    return None


# -- the run ---------------------------------------------------------------------------------------


class _Hang(BaseException):
    """Raised by the alarm; not an Exception, so the loader's own error handling cannot hide it."""


def _alarm(signum: int, frame: Any) -> None:
    raise _Hang


def _describe(error: BaseException) -> str:
    try:
        return f"{type(error).__name__}: {str(error)[:200]}"
    except Exception:  # noqa: BLE001 - an argument that cannot be printed (an int of 10**5000 digits)
        return type(error).__name__


def run(cases: int, seed: int, start: int, seconds: float, case_seconds: float, include_books: bool) -> int:
    from chainrule.errors import ChainruleError
    from chainrule.restricted_pickle import loads

    pool = seeds(random.Random(seed), include_books)
    small = small_seeds(pool)
    remember_large_seeds(pool)
    signal.signal(signal.SIGALRM, _alarm)
    started = time.monotonic()
    failures = 0
    ran = 0
    for case in range(start, cases):
        if time.monotonic() - started > seconds:
            break
        rng = random.Random(f"{seed}:{case}")
        large = rng.random() < 0.003 and len(pool) > len(small)  # the books' files: slow to load
        base = rng.choice([data for data in pool if len(data) >= 10_000]) if large else rng.choice(small)
        data, what = base, "seed"
        for _ in range(1 if large else rng.choice((1, 1, 1, 2, 3))):
            data, what = mutate(data, pool, rng)
        print(f"case {case}: {what}", flush=True)
        outcome: Any
        try:
            signal.setitimer(signal.ITIMER_REAL, case_seconds)
            try:
                outcome = loads(data)
            except BaseException as error:  # noqa: BLE001 - sorted out below, alarm off
                outcome = error
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Hang as hang:  # fired between the call's end and the alarm's end
            outcome = hang
        problem = None
        if isinstance(outcome, _Hang):
            problem = f"took over {case_seconds} s"
        elif isinstance(outcome, ChainruleError):
            if "\n" in str(outcome):
                problem = f"a multi-line error: {_describe(outcome)}"
        elif isinstance(outcome, BaseException):
            problem = _describe(outcome)
        else:
            problem = check_result(outcome, data)
        ran += 1
        if problem:
            failures += 1
            print(f"FAIL case {case}: {what}: {problem} (pickle {data[:200].hex()})", flush=True)
    print(f"ran {ran} cases, {failures} failures", flush=True)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=45.0, help="stop starting new cases after this")
    parser.add_argument("--case-seconds", type=float, default=5.0)
    parser.add_argument("--no-books", action="store_true")
    args = parser.parse_args(argv)
    return run(args.cases, args.seed, args.start, args.seconds, args.case_seconds, not args.no_books)


if __name__ == "__main__":
    sys.exit(main())
