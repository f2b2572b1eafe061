"""The restricted unpickler: no file runs code, crashes the interpreter, reads memory or hangs it.

The payloads that crashed (or leaked heap memory into the weights) before issue 18 run in a
child process, so a regression kills the child, not pytest; the child must report a refusal.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import pickle_crafting as craft
from pickle_fuzz import book_pickles
from chainrule import restricted_pickle
from chainrule.errors import CheckpointError, UnsafePickleError

ROOT = Path(__file__).resolve().parents[1]
BOOK_PICKLES = book_pickles()


def run_child(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that imports this worktree's chainrule and the tests."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


# -- the severe cases: each loader refuses them, in a child process --------------------------------

_EVERY_LOADER = """
    import pickle, sys
    from pathlib import Path
    import pickle_crafting
    from chainrule import TwoLayerNet, restricted_pickle
    from chainrule.book import run_script
    from chainrule.errors import UnsafePickleError

    path = Path(sys.argv[2])
    path.write_bytes(pickle_crafting.SEVERE[sys.argv[1]]())
    script = path.with_name("load.py")
    script.write_text("import pickle, sys\\npickle.load(open(sys.argv[1], 'rb'))\\n")
    loaders = {
        "load_file": lambda: restricted_pickle.load_file(path),
        "loads": lambda: restricted_pickle.loads(path.read_bytes()),
        "load_params": lambda: TwoLayerNet(1, 1, 1).load_params(path),
        "book": lambda: run_script(script, [str(path)]),
    }
    for name, load in loaders.items():
        try:
            result = load()
        except UnsafePickleError as error:
            print(name, "refused:", error)
        else:
            print(name, "LOADED", repr(result)[:200])
"""


@pytest.mark.parametrize("payload", sorted(craft.SEVERE))
def test_payloads_that_crashed_numpy_are_refused_by_every_loader(payload: str, tmp_path: Path) -> None:
    done = run_child(_EVERY_LOADER, payload, str(tmp_path / "params.pkl"))
    assert done.returncode == 0, f"the child died with {done.returncode}:\n{done.stdout}\n{done.stderr[-2000:]}"
    lines = done.stdout.splitlines()
    assert len(lines) == 4 and all(" refused: " in line for line in lines), done.stdout
    assert all("dtype 'O8'" in line or "dtype 'V" in line for line in lines), done.stdout


def test_the_three_payloads_are_small_files() -> None:
    """What the issue reported: a few hundred bytes is all it takes (so a fuzzer can find them)."""
    assert all(len(make()) < 400 for make in craft.SEVERE.values())


# -- arrays are made only from plain dtypes, exact shapes and exact byte counts ----------------------

f8 = craft.dtype("f8", craft.plain_state("<"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (craft.array((2,), craft.dtype("f8", craft.plain_state("<", flags=1)), b"\0" * 16), "flags"),
        (craft.array((2,), craft.dtype("f8", (3, "<", None, ("a",), {}, -1, -1, 0)), b"\0" * 16), "fields"),
        (craft.array((2,), craft.dtype("f8", (3, "<", None, None, None, 4, -1, 0)), b"\0" * 16), "size"),
        (craft.array((2,), craft.dtype("f8", craft.plain_state("|")), b"\0" * 16), "no byte order"),
        (craft.array((2,), craft.dtype("U4", craft.plain_state("<")), b"\0" * 32), "'U4'"),
        (craft.array((2,), craft.dtype("M8", craft.plain_state("<")), b"\0" * 16), "'M8'"),
        (craft.array((2,), f8, b"\0" * 8), "needs 16 bytes, the file gives 8"),
        (craft.array((2,), f8, b"\0" * 24), "needs 16 bytes, the file gives 24"),
        (craft.array((-1,), f8, b""), "shape"),
        (craft.array((2**62, 2**62, 0), f8, b""), "shape"),
        (craft.array((2.0,), f8, b"\0" * 16), "shape"),
        (craft.array((2,), "f8", b"\0" * 16), "not a dtype"),
        (craft.array((2,), f8, [1.0, 2.0]), "not bytes"),
        (craft.Reduce(craft._reconstruct, (np.ndarray, (5,), b"b"), (1, (1,), f8, False, b"\0" * 8)), "never writes"),
        (craft.Reduce(craft._reconstruct, (np.ndarray, (0,), b"b")), "never given"),
    ],
)
def test_arrays_are_refused_unless_plain_and_exact(value: object, message: str) -> None:
    with pytest.raises(UnsafePickleError, match=message) as refusal:
        restricted_pickle.loads(craft.weights(value))
    assert "\n" not in str(refusal.value)


def test_numpy_constructors_named_by_the_file_are_never_called() -> None:
    """``numpy.ndarray(shape, dtype, buffer)`` called directly: the name is a marker, not the class."""
    with pytest.raises(CheckpointError, match="not callable"):
        restricted_pickle.loads(craft.weights(craft.Reduce(np.ndarray, ((1,), np.dtype("f8"), b"\0" * 8))))


def test_a_state_can_be_set_only_on_arrays_and_dtypes_and_only_once() -> None:
    with pytest.raises(UnsafePickleError, match="state of a OrderedDict"):
        restricted_pickle.loads(craft.weights(craft.Reduce(OrderedDict, (), {"x": 1})))
    def state(byte_order: str) -> bytes:
        return (pickle.MARK + craft.binint(3) + craft.unicode(byte_order) + pickle.NONE * 3
                + craft.binint(-1) + craft.binint(-1) + craft.binint(0) + pickle.TUPLE)

    twice = craft.ops(craft.global_("numpy", "dtype"), craft.unicode("f8"), pickle.TUPLE1, pickle.REDUCE,
                      state("<"), pickle.BUILD, state(">"), pickle.BUILD)
    with pytest.raises(UnsafePickleError, match="state twice"):
        restricted_pickle.loads(twice)


def test_a_container_that_contains_itself_is_refused() -> None:
    looped: list = []
    looped.append(looped)
    with pytest.raises(UnsafePickleError, match="contains itself"):
        restricted_pickle.loads(pickle.dumps({"W1": looped}))


# -- what real weight files hold loads exactly --------------------------------------------------------


@pytest.mark.parametrize("protocol", range(6))
def test_every_allowed_dtype_loads_bit_for_bit_under_every_protocol(protocol: int) -> None:
    rng = np.random.default_rng(protocol)
    weights = {
        code: (rng.standard_normal((3, 4)) * 100).astype(code)
        for code in ("<f2", "<f4", "<f8", "<i4", "<i8", "|u1", "|b1", ">f4", ">f8", ">i8")
    }
    weights["fortran"] = np.asfortranarray(rng.standard_normal((2, 5)))
    weights["empty"] = np.zeros((0, 3), dtype=np.float32)
    weights["scalar"] = np.float64(2.5)
    weights["nested"] = [OrderedDict(b=np.int64(3)), (1, "x", None, b"raw"), {1, "two"}]
    loaded = restricted_pickle.loads(pickle.dumps(weights, protocol=protocol))
    for name, expected in weights.items():
        if isinstance(expected, np.ndarray):
            got = loaded[name]
            assert (got.dtype.str, got.shape, got.tobytes()) == (expected.dtype.str, expected.shape, expected.tobytes())
            assert got.flags.owndata and got.flags.writeable
    assert loaded["fortran"].flags.f_contiguous
    assert loaded["scalar"] == 2.5 and loaded["nested"] == weights["nested"]


def test_a_protocol_2_pickle_of_an_empty_array_loads() -> None:
    """Protocol 2 writes ``b''`` as ``__builtin__.bytes()``: that was refused before issue 18."""
    loaded = restricted_pickle.loads(pickle.dumps({"W": np.zeros(0)}, protocol=2))
    assert loaded["W"].shape == (0,) and loaded["W"].dtype == np.float64


@pytest.mark.skipif(not BOOK_PICKLES, reason="the books' weight files are not in shared/")
@pytest.mark.parametrize("path", BOOK_PICKLES, ids=lambda path: f"{path.parent.parent.name}/{path.parent.name}/{path.name}")
def test_the_books_weight_files_load_as_pickle_loads_them(path: Path) -> None:
    def same(ours: object, theirs: object) -> bool:
        if isinstance(theirs, np.ndarray):
            return (ours.dtype.str, ours.shape, ours.tobytes()) == (theirs.dtype.str, theirs.shape, theirs.tobytes())
        if isinstance(theirs, dict):
            return ours.keys() == theirs.keys() and all(same(ours[key], theirs[key]) for key in theirs)
        if isinstance(theirs, (list, tuple)):
            return len(ours) == len(theirs) and all(same(a, b) for a, b in zip(ours, theirs))
        return type(ours) is type(theirs) and ours == theirs

    with open(path, "rb") as handle:
        expected = pickle.load(handle)  # noqa: S301 - the books' own files, the reference
    assert same(restricted_pickle.load_file(path), expected)


# -- bounded time and memory per byte of input ------------------------------------------------------


def test_only_the_latin1_codec_is_accepted() -> None:
    punycode = craft.ops(craft.global_("_codecs", "encode"), craft.unicode("\u4e00" * 20_000),
                         craft.unicode("punycode"), pickle.TUPLE2, pickle.REDUCE)
    started = time.perf_counter()
    with pytest.raises(UnsafePickleError, match="codec 'punycode'"):
        restricted_pickle.loads(punycode)
    assert time.perf_counter() - started < 1


def test_a_dict_keyed_by_deeply_nested_tuples_is_refused_not_hashed() -> None:
    """Hashing a million nested tuples overflows C's stack (plain pickle segfaults on this file)."""
    done = run_child("""
        import pickle
        from chainrule import restricted_pickle
        from chainrule.errors import UnsafePickleError
        data = b'\\x80\\x02}' + b'N' + b'\\x85' * 1_000_000 + b'K\\x01s.'
        try:
            restricted_pickle.loads(data)
        except UnsafePickleError as error:
            print("refused:", error)
    """)
    assert done.returncode == 0 and "refused: pickle: refused to load: a dictionary key" in done.stdout, done


def test_integer_keys_that_collide_in_the_hash_are_refused() -> None:
    """Multiples of 2**61 - 1 share one hash: 20,000 of them would make the dict quadratic."""
    keys = [craft.long1(k * (2**61 - 1)) + pickle.NONE for k in range(1, 20_000)]
    colliding = craft.ops(pickle.EMPTY_DICT, pickle.MARK, *keys, pickle.SETITEMS)
    started = time.perf_counter()
    with pytest.raises(UnsafePickleError, match="int out of range"):
        restricted_pickle.loads(colliding)
    assert time.perf_counter() - started < 2


def test_memo_references_cannot_multiply_allocations() -> None:
    """One 100 kB text decoded a thousand times through the memo would be 100 MB from 110 kB."""
    call = pickle.BINGET + b"\x00" + pickle.BINGET + b"\x01" + pickle.REDUCE + pickle.APPEND
    amplified = craft.ops(
        pickle.EMPTY_LIST, craft.global_("_codecs", "encode"), pickle.BINPUT + b"\x00",
        craft.unicode("x" * 100_000), craft.unicode("latin1"), pickle.TUPLE2, pickle.BINPUT + b"\x01",
        pickle.REDUCE, pickle.APPEND, call * 1000,
    )
    tracemalloc.start()
    try:
        with pytest.raises(UnsafePickleError, match="more memory than its"):
            restricted_pickle.loads(amplified)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


@pytest.mark.parametrize("opcode", [pickle.BINBYTES8, pickle.BYTEARRAY8, pickle.BINUNICODE8, pickle.FRAME])
def test_a_declared_length_allocates_nothing_before_the_bytes_arrive(opcode: bytes, tmp_path: Path) -> None:
    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.PROTO + b"\x05" + opcode + (2**62).to_bytes(8, "little") + b"\0" * 100)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"params\.pkl"):
            restricted_pickle.load_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_a_truncated_file_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.dumps({"W1": np.ones(100)})[:-50])
    with pytest.raises(CheckpointError, match=r"params\.pkl: (the pickle ends early|not a readable pickle)") as error:
        restricted_pickle.load_file(path)
    assert "\n" not in str(error.value)
