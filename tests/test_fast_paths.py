"""The shortcuts taken for speed give the results the plain paths give.

``Sequential.gradient`` stops the backward pass at the first layer with parameters, and the loss
layer computes softmax with classes along the first axis and checks labels with one reduction.
Each is compared here with the straightforward computation it replaces, to the bit where it should be.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Affine, LabelError, MultiLayerNet, Relu, Sequential, Sigmoid, SoftmaxWithLoss, TwoLayerNet


def full_backward_grads(net, x, t):
    """Gradients the long way: the loss, then ``backward`` through every layer down to the input."""
    net.loss(x, t)
    net.backward(1)
    return {key: layer.grads[name].copy() for key, (layer, name) in net._param_index.items()}


def random_affine(rng, fan_in, fan_out):
    return Affine(rng.standard_normal((fan_in, fan_out)), rng.standard_normal(fan_out))


NETS = {
    "two-layer": lambda rng: TwoLayerNet(6, 5, 3, rng=0),
    "multi-layer": lambda rng: MultiLayerNet(6, [5, 4], 3, activation="sigmoid", rng=0),
    "relu-first": lambda rng: Sequential([Relu(), random_affine(rng, 6, 4), Sigmoid(), random_affine(rng, 4, 3)]),
}


@pytest.mark.parametrize("name", NETS)
def test_gradient_equals_a_full_backward_pass(name):
    rng = np.random.default_rng(0)
    net = NETS[name](rng)
    x, t = rng.standard_normal((7, 6)), rng.integers(0, 3, size=7)
    expected = full_backward_grads(net, x, t)
    grads = net.gradient(x, t)
    assert list(grads) == list(expected)
    for key in grads:
        np.testing.assert_array_equal(grads[key], expected[key])


def test_backward_still_returns_the_input_gradient():
    rng = np.random.default_rng(1)
    net = TwoLayerNet(6, 5, 3, rng=0)
    x, t = rng.standard_normal((4, 6)), rng.integers(0, 3, size=4)
    net.gradient(x, t)
    net.loss(x, t)
    dx = net.backward()
    hidden_grad = net.layers["Relu1"].backward(net.layers["Affine2"].backward(net.last_layer.backward(1)))
    np.testing.assert_array_equal(dx, hidden_grad @ net.params["W1"].T)


def test_affine_backward_params_fills_what_backward_fills_and_returns_nothing():
    rng = np.random.default_rng(2)
    layer = random_affine(rng, 5, 3)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    layer.forward(x)
    layer.backward(dout)
    expected = {name: grad.copy() for name, grad in layer.grads.items()}
    layer.grads.clear()
    assert layer.backward_params(dout) is None
    for name in expected:
        np.testing.assert_array_equal(layer.grads[name], expected[name])


def test_a_first_layer_without_backward_params_is_run_backward():
    class Scale:  # duck-typed: forward/backward and params, nothing inherited
        def __init__(self):
            self.params, self.grads = {"W": np.array([[2.0]])}, {}

        def forward(self, x):
            self.x = x
            return x * self.params["W"][0, 0]

        def backward(self, dout):
            self.grads["W"] = np.array([[(dout * self.x).sum()]])
            return dout * self.params["W"][0, 0]

    rng = np.random.default_rng(3)
    net = Sequential([Scale(), random_affine(rng, 4, 3)])
    x, t = rng.standard_normal((5, 4)), rng.integers(0, 3, size=5)
    grads = net.gradient(x, t)
    expected = full_backward_grads(net, x, t)
    for key in expected:
        np.testing.assert_array_equal(grads[key], expected[key])


# -- the loss layer's label check ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64])
def test_label_range_check_for_every_integer_width(dtype):
    scores = np.zeros((3, 4))
    assert float(SoftmaxWithLoss().forward(scores, np.array([0, 3, 1], dtype=dtype))) == pytest.approx(np.log(4))
    with pytest.raises(LabelError, match=r"labels must lie in \[0, 3\] for 4 classes, got values from 0 to 4"):
        SoftmaxWithLoss().forward(scores, np.array([0, 4, 1], dtype=dtype))
    if np.dtype(dtype).kind == "i":
        with pytest.raises(LabelError, match=r"got values from -1 to 1"):
            SoftmaxWithLoss().forward(scores, np.array([0, -1, 1], dtype=dtype))


def test_label_check_on_a_strided_view():
    labels = np.array([0, 9, 2, 9, 1])[::2]
    assert float(SoftmaxWithLoss().forward(np.zeros((3, 3)), labels)) == pytest.approx(np.log(3))


def test_loss_and_softmax_equal_the_textbook_formulas():
    rng = np.random.default_rng(10)
    x, t = rng.standard_normal((6, 5)) * 30, rng.integers(0, 5, size=6)
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(loss, -log_probs[np.arange(6), t].mean(), rtol=1e-14)
    np.testing.assert_allclose(layer.y, np.exp(log_probs), rtol=1e-14, atol=1e-300)
    x32 = x.astype(np.float32)
    assert layer.forward(x32, t).dtype == np.float32 and layer.y.dtype == np.float32
    assert layer.backward().dtype == np.float32


def test_first_convolution_skips_only_the_input_gradient():
    """SimpleConvNet.gradient (which skips conv1's dx) equals a full backward pass's grads."""
    import numpy as np

    from chainrule.nets import SimpleConvNet

    rng = np.random.default_rng(0)
    x, t = rng.random((4, 1, 10, 10)), rng.integers(0, 10, size=4)
    net = SimpleConvNet((1, 10, 10), {"filter_num": 3, "filter_size": 3}, 8, rng=0)
    fast = {k: v.copy() for k, v in net.gradient(x, t).items()}
    net.loss(x, t)
    net.backward(1)
    for key, (layer, name) in net._param_index.items():
        np.testing.assert_array_equal(fast[key], layer.grads[name])


def test_relu_backward_reuses_its_own_buffer_and_never_writes_into_dout():
    rng = np.random.default_rng(5)
    layer = Relu()
    x, dout = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    dout_before = dout.copy()
    layer.forward(x)
    first = layer.backward(dout)
    np.testing.assert_array_equal(first, dout * (x > 0))
    np.testing.assert_array_equal(dout, dout_before)
    layer.forward(-x)
    second = layer.backward(dout)
    assert second is first  # the layer's buffer, written again: no fresh array per step
    np.testing.assert_array_equal(second, dout * (-x > 0))
    assert layer.backward(dout.astype(np.float32)).dtype == np.float32  # a new dtype, a new buffer
