"""Max pooling's compiled loops give what its array formulation gives, and the right gradients.

The array formulation (what CuPy runs, and NumPy without numba) is the reference: outputs must
be identical, gradients identical where windows do not overlap and equal to rounding where they
do. Small inputs normally stay on the array path; these tests lower the size threshold so the
compiled loops run on every shape, and check them against central differences too.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import jit
from chainrule.layers import Convolution, Pooling
from helpers import check_layer, check_no_mutation, numba_disabled

pytestmark = pytest.mark.skipif(not jit.compiled_available(), reason="numba not installed, or CHAINRULE_NUMBA=0")

# (x shape, pool_h, pool_w, stride, pad): disjoint windows, overlapping ones, padding, odd sizes.
CASES = [
    ((2, 3, 8, 8), 2, 2, 2, 0),
    ((2, 3, 5, 5), 2, 2, 1, 0),
    ((2, 2, 7, 6), 3, 2, 2, 1),
    ((1, 3, 6, 5), 3, 3, 2, 1),
    ((2, 2, 5, 7), 2, 3, 3, 0),
    ((3, 4, 9, 9), 3, 3, 3, 0),
    ((2, 3, 9, 7), 2, 2, 2, 0),  # windows that tile the image, with a row and a column left over
    ((2, 2, 7, 7), 2, 2, 2, 1),
]


@pytest.fixture
def compile_everything(monkeypatch):
    monkeypatch.setattr(jit, "MIN_COMPILED_SIZE", 0)


def with_ties_nan_and_inf(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[0, 0, :3, :3] = 1.0  # a window of equal values: the first one (row-major) must win
    x[-1, -1, 1, 1] = np.nan  # its windows output NaN and pass no gradient
    x[0, -1, :, :2] = -np.inf  # windows that are all -inf still have a winner
    x[-1, 0, -2:, -2:] = [[-np.inf, np.inf], [1.0, np.inf]]  # inf - inf: the one-pass maximum's NaN check
    return x


def both_paths(x, dout_seed, pool_h, pool_w, stride, pad):
    compiled = Pooling(pool_h, pool_w, stride, pad)
    out = compiled.forward(x)
    assert compiled.winner is not None, "the compiled loop did not run"
    dout = np.random.default_rng(dout_seed).standard_normal(out.shape).astype(x.dtype)
    dx = compiled.backward(dout)
    with numba_disabled():
        reference = Pooling(pool_h, pool_w, stride, pad)
        reference_out = reference.forward(x)
        assert reference.winner is None
        reference_dx = reference.backward(dout)
    return (out, dx), (reference_out, reference_dx)


@pytest.mark.usefixtures("compile_everything")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,pool_h,pool_w,stride,pad", CASES)
def test_compiled_pooling_equals_the_array_formulation(shape, pool_h, pool_w, stride, pad, dtype):
    x = with_ties_nan_and_inf(np.random.default_rng(1).standard_normal(shape)).astype(dtype)
    (out, dx), (reference_out, reference_dx) = both_paths(x, 2, pool_h, pool_w, stride, pad)
    assert out.dtype == reference_out.dtype == dtype and dx.dtype == reference_dx.dtype == dtype
    np.testing.assert_array_equal(out, reference_out)  # NaN where the reference has NaN
    if stride >= max(pool_h, pool_w):  # no element in two windows: the very same numbers
        np.testing.assert_array_equal(dx, reference_dx)
    else:
        np.testing.assert_allclose(dx, reference_dx, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-6)


@pytest.mark.usefixtures("compile_everything")
def test_a_window_holding_nan_outputs_nan_and_passes_no_gradient():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    pool = Pooling(2, 2, stride=2)
    out = pool.forward(x)
    assert np.isnan(out[0, 0, 0, 0]) and not np.isnan(out[0, 0, 1:, 1:]).any()
    dx = pool.backward(np.ones_like(out))
    assert not dx[0, 0, :2, :2].any()
    np.testing.assert_array_equal(dx[0, 0, 2:, 2:], [[0, 0], [0, 1]])


@pytest.mark.usefixtures("compile_everything")
@pytest.mark.parametrize("shape,pool_h,pool_w,stride,pad", CASES)
def test_compiled_pooling_gradients_match_numerical_ones(shape, pool_h, pool_w, stride, pad):
    # Distinct values far apart: no tie for h to flip.
    x = np.random.default_rng(3).permutation(np.prod(shape)).reshape(shape) * 0.1
    check_layer(Pooling(pool_h, pool_w, stride, pad), [x])
    check_no_mutation(Pooling(pool_h, pool_w, stride, pad), [x])


@pytest.mark.usefixtures("compile_everything")
def test_a_channel_major_input_gets_its_gradient_back_in_the_same_order():
    # A convolution's output is an (N, C, H, W) view stored channel by channel.
    x = np.random.default_rng(4).standard_normal((3, 5, 8, 8))
    channel_major = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    pool, sample_major_pool = Pooling(2, 2, stride=2), Pooling(2, 2, stride=2)
    out = pool.forward(channel_major)
    np.testing.assert_array_equal(out, sample_major_pool.forward(x))
    assert out.flags.c_contiguous, "the pooled output is sample by sample, whatever the input's order"
    dout = np.random.default_rng(5).standard_normal(out.shape)
    dx = pool.backward(dout)
    assert dx.strides[0] < dx.strides[1]
    np.testing.assert_array_equal(dx, sample_major_pool.backward(dout))
    channel_major_dout = np.ascontiguousarray(dout.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(pool.backward(channel_major_dout), dx)


@pytest.mark.usefixtures("compile_everything")
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(2, 9), w=st.integers(2, 9),
    pool_h=st.integers(1, 3), pool_w=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 2),
    seed=st.integers(0, 2**16), rounded=st.booleans(),
)
def test_compiled_pooling_agrees_with_the_array_formulation_on_any_geometry(n, c, h, w, pool_h, pool_w, stride, pad, seed, rounded):
    pad = min(pad, min(pool_h, pool_w) - 1)
    if pool_h > h + 2 * pad or pool_w > w + 2 * pad:
        return
    x = np.random.default_rng(seed).standard_normal((n, c, h, w))
    if rounded:  # many ties
        x = np.round(x)
    (out, dx), (reference_out, reference_dx) = both_paths(x, seed + 1, pool_h, pool_w, stride, pad)
    np.testing.assert_array_equal(out, reference_out)
    np.testing.assert_allclose(dx, reference_dx, rtol=1e-14, atol=1e-14)


def test_small_inputs_stay_on_the_array_path():
    pool = Pooling(2, 2, stride=2)
    pool.forward(np.zeros((1, 1, 4, 4)))
    assert pool.winner is None


def test_a_channel_major_dout_and_a_sample_major_one_give_the_same_convolution_gradients():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 2, 7, 7))
    layer = Convolution(rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4), stride=1, pad=1)
    out = layer.forward(x)
    assert out.strides[0] < out.strides[1], "the output is expected channel by channel in memory"
    dout = rng.standard_normal(out.shape)  # sample by sample
    dx = layer.backward(dout)
    grads = {k: v.copy() for k, v in layer.grads.items()}
    dx_channel_major = layer.backward(np.ascontiguousarray(dout.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3))
    np.testing.assert_allclose(dx_channel_major, dx, rtol=1e-14, atol=1e-14)
    for key in grads:
        np.testing.assert_allclose(layer.grads[key], grads[key], rtol=1e-14, atol=1e-14)
        assert layer.grads[key].flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simple_conv_net_gradients_are_the_same_with_and_without_the_compiled_pooling(dtype):
    # The benchmark's geometry at batch 8: the convolution's output (8x30x24x24) is large enough
    # for the compiled loops without lowering the threshold. Disjoint 2x2 windows: bit for bit.
    from chainrule.nets import SimpleConvNet

    rng = np.random.default_rng(7)
    x = rng.standard_normal((8, 1, 28, 28)).astype(dtype)
    t = rng.integers(0, 10, 8)
    net = SimpleConvNet(rng=0, dtype=dtype)
    grads = {key: grad.copy() for key, grad in net.gradient(x, t).items()}
    assert net.layers["Pool1"].winner is not None, "the compiled loop did not run"
    loss = float(net.last_loss)
    with numba_disabled():
        reference = net.gradient(x, t)
        assert net.layers["Pool1"].winner is None
    assert float(net.last_loss) == loss
    for key, grad in grads.items():
        np.testing.assert_array_equal(grad, reference[key], err_msg=key)
