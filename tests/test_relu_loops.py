"""ReLU's compiled loops give what its array formulation gives, bit for bit, and the right gradients.

The array formulation (what CuPy runs, and NumPy without numba) is the reference. Small inputs
normally stay on the array path; these tests lower the size threshold so the loops run on every
shape, and check that they did run.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule import jit
from chainrule.layers import Relu, activations
from helpers import check_layer, check_no_mutation, numba_disabled

pytestmark = [
    pytest.mark.skipif(not jit.compiled_available(), reason="numba not installed, or CHAINRULE_NUMBA=0"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),  # the reference's inf * 0
]

SPECIAL = [np.nan, -np.inf, np.inf, -0.0, 0.0, 1.0, -1.0]


@pytest.fixture
def compile_everything(monkeypatch):
    monkeypatch.setattr(jit, "MIN_COMPILED_SIZE", 0)


@pytest.fixture
def loop_calls(monkeypatch):
    """Counts of the compiled loops' calls, so a test knows which path ran."""
    calls = {"forward": 0, "backward": 0}
    forward, backward = activations.relu_forward, activations.relu_backward

    def counted_forward(*args):
        calls["forward"] += 1
        return forward(*args)

    def counted_backward(*args):
        calls["backward"] += 1
        return backward(*args)

    monkeypatch.setattr(activations, "relu_forward", counted_forward)
    monkeypatch.setattr(activations, "relu_backward", counted_backward)
    return calls


def both_paths(x, dout):
    compiled = Relu()
    out, dx = compiled.forward(x), compiled.backward(dout).copy()
    with numba_disabled():
        reference = Relu()
        reference_out, reference_dx = reference.forward(x), reference.backward(dout).copy()
    np.testing.assert_array_equal(compiled.mask, reference.mask)
    return (out, dx), (reference_out, reference_dx)


def assert_same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes(), f"{a.ravel()[:8]} != {b.ravel()[:8]}"  # NaN, -0.0 and all


def with_specials(a: np.ndarray, seed: int) -> np.ndarray:
    a = a.copy()
    flat = a.reshape(-1)
    where = np.random.default_rng(seed).choice(flat.size, size=min(flat.size, len(SPECIAL)), replace=False)
    flat[where] = SPECIAL[: len(where)]
    return a


@pytest.mark.usefixtures("compile_everything")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (256, 33), (2, 3, 4, 5)])
def test_compiled_relu_equals_the_array_formulation_bit_for_bit(shape, dtype, loop_calls):
    rng = np.random.default_rng(0)
    x = with_specials(rng.standard_normal(shape), 1).astype(dtype)
    dout = with_specials(rng.standard_normal(shape), 2).astype(dtype)
    (out, dx), (reference_out, reference_dx) = both_paths(x, dout)
    assert loop_calls == {"forward": 1, "backward": 1}, "the compiled loops did not run"
    assert_same_bits(out, reference_out)
    assert_same_bits(dx, reference_dx)


@pytest.mark.usefixtures("compile_everything")
@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float32, hnp.array_shapes(max_dims=3, max_side=9), elements=st.floats(width=32, allow_subnormal=True)),
    seed=st.integers(0, 2**32 - 1),
)
def test_compiled_relu_equals_the_array_formulation_on_any_float32(x, seed):
    dout = np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32)
    if dout.size:
        dout.reshape(-1)[0] = np.inf  # where x <= 0 this gives NaN on both paths
    (out, dx), (reference_out, reference_dx) = both_paths(x, dout)
    assert_same_bits(out, reference_out)
    assert_same_bits(dx, reference_dx)


@pytest.mark.usefixtures("compile_everything")
def test_strided_and_mixed_dtype_inputs_take_the_array_path_and_stay_right(loop_calls):
    x = np.random.default_rng(0).standard_normal((6, 8)).T  # not C-contiguous
    layer = Relu()
    np.testing.assert_array_equal(layer.forward(x), np.maximum(x, 0))
    dout = np.ones((8, 6), dtype=np.float32)[:, ::-1]
    np.testing.assert_array_equal(layer.backward(dout), x > 0)
    assert loop_calls == {"forward": 0, "backward": 0}
    layer.forward(np.ascontiguousarray(x, dtype=np.float32))  # mask from the loop, dout float64
    dx = layer.backward(np.ones((8, 6)))
    assert dx.dtype == np.float64 and loop_calls == {"forward": 1, "backward": 1}
    np.testing.assert_array_equal(dx, x > 0)


@pytest.mark.usefixtures("compile_everything")
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 4)])
def test_compiled_relu_gradients_match_central_differences(shape, loop_calls):
    x = np.random.default_rng(3).standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kink, where the derivative does not exist
    check_layer(Relu(), [x])
    check_no_mutation(Relu(), [x], np.random.default_rng(4).standard_normal(shape))
    assert loop_calls["forward"] > 0 and loop_calls["backward"] > 0


def test_large_arrays_take_the_compiled_loops_without_lowering_the_threshold(loop_calls):
    x = np.random.default_rng(0).standard_normal((256, 1024)).astype(np.float32)
    layer = Relu()
    layer.forward(x)
    layer.backward(np.ones_like(x))
    assert loop_calls == {"forward": 1, "backward": 1}
    small = Relu()
    small.forward(x[:4])
    small.backward(np.ones_like(x[:4]))
    assert loop_calls == {"forward": 1, "backward": 1}, "a small array should stay on the array path"
