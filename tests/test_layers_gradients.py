"""Every layer's backward against central differences in float64, on several shapes and seeds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import (
    AddLayer,
    Affine,
    LeakyRelu,
    MeanSquaredError,
    MulLayer,
    Relu,
    Sigmoid,
    Softmax,
    SoftmaxWithLoss,
    Tanh,
)
from helpers import away_from_zero, check_layer

SHAPES = [(1, 1), (2, 3), (4, 7), (3, 2, 5)]
SEEDS = [0, 1, 2]
ELEMENTWISE = [Relu, lambda: LeakyRelu(0.1), Sigmoid, Tanh, Softmax]


@pytest.mark.parametrize("make_layer", ELEMENTWISE, ids=["Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_elementwise_layers(make_layer, shape, seed):
    x = away_from_zero(np.random.default_rng(seed), shape)
    check_layer(make_layer(), [x], seed=seed)


@pytest.mark.parametrize("x_shape", [(1, 4), (5, 4), (3, 2, 2), (2, 1, 2, 2)])
@pytest.mark.parametrize("seed", SEEDS)
def test_affine(x_shape, seed):
    rng = np.random.default_rng(seed)
    W, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    check_layer(Affine(W, b), [rng.standard_normal(x_shape)], seed=seed)


@pytest.mark.parametrize(
    "x_shape, y_shape", [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((4, 3), ())]
)
@pytest.mark.parametrize("layer_cls", [MulLayer, AddLayer])
def test_arithmetic_with_broadcasting(layer_cls, x_shape, y_shape):
    rng = np.random.default_rng(0)
    x, y = np.asarray(rng.standard_normal(x_shape)), np.asarray(rng.standard_normal(y_shape))
    check_layer(layer_cls(), [x, y])


@pytest.mark.parametrize("n, classes", [(1, 2), (4, 3), (10, 10)])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("one_hot", [False, True])
def test_softmax_with_loss(n, classes, seed, one_hot):
    rng = np.random.default_rng(seed)
    x = 3 * rng.standard_normal((n, classes))
    t = rng.integers(0, classes, size=n)
    if one_hot:
        t = np.eye(classes)[t]
    check_layer(SoftmaxWithLoss(), [x, t])


def test_softmax_with_loss_soft_targets():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 4))
    t = rng.random((5, 4))
    t /= t.sum(axis=1, keepdims=True)
    check_layer(SoftmaxWithLoss(), [x, t], wrt=[0])


@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (2, 3, 2)])
def test_mean_squared_error(shape):
    rng = np.random.default_rng(0)
    check_layer(MeanSquaredError(), [rng.standard_normal(shape), rng.standard_normal(shape)], wrt=[0])


def test_loss_layers_honour_dout():
    """The textbook's SoftmaxWithLoss.backward ignores dout; ours scales by it."""
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])
    for layer, target in ((SoftmaxWithLoss(), t), (MeanSquaredError(), rng.standard_normal((4, 3)))):
        layer.forward(x, target)
        np.testing.assert_allclose(layer.backward(2.5), 2.5 * layer.backward(1), rtol=1e-15)


# -- property-based: any small shape, any seed --------------------------------------------------

dims = st.integers(min_value=1, max_value=5)


@settings(max_examples=40, deadline=None)
@given(n=dims, d=dims, seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax"]))
def test_property_elementwise(n, d, seed, kind):
    make = dict(zip(["Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax"], ELEMENTWISE))[kind]
    check_layer(make(), [away_from_zero(np.random.default_rng(seed), (n, d))], seed=seed % 1000)


@settings(max_examples=40, deadline=None)
@given(n=dims, d_in=dims, d_out=dims, seed=st.integers(0, 2**32 - 1))
def test_property_affine(n, d_in, d_out, seed):
    rng = np.random.default_rng(seed)
    layer = Affine(rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out))
    check_layer(layer, [rng.standard_normal((n, d_in))])


@settings(max_examples=40, deadline=None)
@given(n=dims, classes=st.integers(2, 6), scale=st.floats(0.1, 20), seed=st.integers(0, 2**32 - 1))
def test_property_softmax_with_loss(n, classes, scale, seed):
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((n, classes))
    # A saturated softmax has gradients near 1e-5: helpers.ATOL covers the numerical side there.
    check_layer(SoftmaxWithLoss(), [x, rng.integers(0, classes, size=n)])
