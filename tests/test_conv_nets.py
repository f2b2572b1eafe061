"""SimpleConvNet and DeepConvNet: the book's layouts, backprop vs numerical gradients, state dicts."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Sequential, gradcheck
from chainrule.layers import Affine, BatchNormalization, Convolution, Dropout, Flatten, Pooling, Relu
from chainrule.nets import DeepConvNet, SimpleConvNet

from helpers import ATOL

TINY_DEEP = {f"conv_param_{i}": {"filter_num": 2} for i in range(1, 7)}


def images(seed, n=3, shape=(1, 8, 8), classes=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *shape)), rng.integers(0, classes, size=n)


def test_simple_conv_net_has_the_books_layers_and_parameter_names():
    net = SimpleConvNet(rng=0)
    # The book's Conv -> ReLU -> Pool, held as Conv -> Pool -> ReLU (the same function, see below).
    assert list(net.layers) == ["Conv1", "Pool1", "Relu1", "Affine1", "Relu2", "Affine2"]
    shapes = {key: net.params[key].shape for key in net.params}
    assert shapes == {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)}
    assert net.params["W1"] is net.layers["Conv1"].W
    assert net.forward(np.zeros((2, 1, 28, 28))).shape == (2, 10)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    "input_dim, conv_param",
    [((1, 8, 8), {"filter_num": 3, "filter_size": 3}), ((2, 7, 9), {"filter_num": 2, "filter_size": 2, "pad": 1, "stride": 2})],
)
def test_simple_conv_net_gradients_match_numerical(seed, input_dim, conv_param):
    net = SimpleConvNet(input_dim, conv_param, hidden_size=5, output_size=3, weight_init_std=0.5, rng=seed)
    x, t = images(seed, shape=input_dim)
    report = gradcheck(net, x, t, h=1e-6)
    assert [d.name for d in report.differences] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert report.passed(rtol=1e-7, atol=1e-10), str(report)


def test_simple_conv_net_he_init_and_float32():
    net = SimpleConvNet((1, 8, 8), {"filter_num": 4, "filter_size": 3}, 6, 3, weight_init_std="he", rng=0, dtype=np.float32)
    assert abs(net.params["W1"].std() - np.sqrt(2 / 9)) < 0.15
    x, t = images(0)
    grads = net.gradient(x, t)
    assert net.predict(x).dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())


def book_order(net):
    """The same layer objects, with every Pool moved back behind the ReLU before it (the book's order)."""
    names = list(net.layers)
    for index, name in enumerate(names[:-1]):
        if name.startswith("Pool") and names[index + 1].startswith("Relu"):
            names[index], names[index + 1] = names[index + 1], names[index]
    return Sequential([(name, net.layers[name]) for name in names], net.last_layer)


@pytest.mark.parametrize("make", [
    lambda: SimpleConvNet((2, 8, 8), {"filter_num": 3, "filter_size": 3}, 5, 3, weight_init_std=0.5, rng=0),
    lambda: DeepConvNet((1, 12, 12), **TINY_DEEP, hidden_size=4, output_size=3, rng=0, dropout_ratio=0.0),
], ids=["simple", "deep"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pooling_before_relu_gives_the_books_order_results_bit_for_bit(make, dtype):
    net = make()
    assert any(a.startswith("Pool") and b.startswith("Relu") for a, b in zip(net.layers, list(net.layers)[1:]))
    book = book_order(net)
    rng = np.random.default_rng(3)
    shape = net.layers["Conv1"].W.shape[1:2] + ((8, 8) if isinstance(net, SimpleConvNet) else (12, 12))
    # Small integers make ties and exact zeros common, where an argmax or a mask could disagree.
    for x in (rng.integers(-2, 3, (6, *shape)).astype(dtype), rng.standard_normal((6, *shape)).astype(dtype)):
        t = rng.integers(0, 3, 6)
        grads = {key: g.copy() for key, g in net.gradient(x, t).items()}
        loss = net.last_loss
        book_grads = book.gradient(x, t)
        assert book.last_loss == loss
        for key in grads:
            np.testing.assert_array_equal(grads[key], book_grads[key], err_msg=key)
        np.testing.assert_array_equal(net.predict(x), book.predict(x))


def test_deep_conv_net_has_the_books_layout():
    net = DeepConvNet(rng=0)
    convs = [layer for layer in net.layers.values() if isinstance(layer, Convolution)]
    assert [c.W.shape[0] for c in convs] == [16, 16, 32, 32, 64, 64]
    assert [c.pad for c in convs] == [1, 1, 1, 2, 1, 1]
    assert net.params["W7"].shape == (64 * 4 * 4, 50) and net.params["W8"].shape == (50, 10)
    assert list(net.layers)[-5:] == ["Affine1", "Relu7", "Dropout1", "Affine2", "Dropout2"]
    assert abs(net.params["W2"].std() - np.sqrt(2 / (16 * 9))) < 0.01  # He initialisation


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deep_conv_net_gradients_match_numerical_with_fixed_dropout_masks(seed):
    net = DeepConvNet((1, 8, 8), **TINY_DEEP, hidden_size=4, output_size=3, rng=seed)
    # Zero biases put ReLU exactly on its kink wherever a window sees only zeros (the padded
    # corners of the pad-2 conv): nudge them off it so central differences are meaningful.
    for key in net.params:
        if key.startswith("b"):
            net.params[key] += 0.1
    x, t = images(seed)
    net.loss(x, t)
    for layer in net.layers.values():
        if isinstance(layer, Dropout):
            layer.fixed_mask = layer.mask
    report = gradcheck(net, x, t, h=1e-6)
    assert [d.name for d in report.differences] == [f"{p}{i}" for i in range(1, 9) for p in "Wb"]
    # Deep and narrow, so some gradients are ~1e-5: round-off in the O(1) loss over 2h is ~1e-10.
    assert report.passed(rtol=1e-7, atol=5e-10), str(report)


def test_deep_conv_net_dropout_is_seeded_and_off_in_predict():
    a, b = DeepConvNet((1, 8, 8), **TINY_DEEP, rng=3), DeepConvNet((1, 8, 8), **TINY_DEEP, rng=3)
    x, _ = images(1)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    np.testing.assert_array_equal(a.predict(x), a.predict(x))


def test_state_dict_round_trip_includes_batch_norm_buffers():
    rng = np.random.default_rng(0)

    def make():
        return Sequential(
            [
                Convolution(rng.standard_normal((2, 1, 3, 3)), np.zeros(2)),
                BatchNormalization(np.ones(2), np.zeros(2)),
                Relu(),
                Pooling(2, 2, stride=2),
                Flatten(),
                Affine(rng.standard_normal((8, 3)), np.zeros(3)),
            ]
        )

    a, b = make(), make()
    assert list(a.state_dict()) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "running_mean1", "running_var1"]
    x, t = images(0, n=4, shape=(1, 6, 6))
    a.loss(x, t)  # training mode: moves the running statistics
    result = b.load_state_dict(a.state_dict())
    assert result == ([], [])
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[key])
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    # b1 feeds batch norm, which cancels it: its true gradient is 0, and the numerical side reads
    # one rounding step of the loss over 2h (2.2e-10 here): the noise floor helpers.ATOL allows for.
    assert gradcheck(a, x, t, h=1e-6).passed(rtol=1e-7, atol=ATOL)


def test_conv_nets_round_trip_their_state():
    for make in (lambda seed: SimpleConvNet((1, 8, 8), {"filter_num": 2}, 4, 3, rng=seed),
                 lambda seed: DeepConvNet((1, 8, 8), **TINY_DEEP, rng=seed)):
        a, b = make(0), make(1)
        b.load_state_dict(a.state_dict())
        x, _ = images(0)
        np.testing.assert_array_equal(a.predict(x), b.predict(x))


def test_bad_configurations_are_explained():
    with pytest.raises(ValueError, match=r"SimpleConvNet: input_dim must be three positive integers \(C, H, W\)"):
        SimpleConvNet((28, 28))
    with pytest.raises(ValueError, match=r"SimpleConvNet: a 5x5 filter does not fit the 4x4 input with pad=0"):
        SimpleConvNet((1, 4, 4))
    with pytest.raises(ValueError, match=r"unknown conv_param keys \['filters'\]"):
        SimpleConvNet(conv_param={"filters": 3})
    with pytest.raises(ValueError, match=r"conv_param\['stride'\] must be a positive integer, got 0"):
        SimpleConvNet(conv_param={"stride": 0})
    with pytest.raises(ValueError, match=r"DeepConvNet: the input is too small: 2x2 pooling would get a 1x1 map"):
        DeepConvNet((1, 3, 3))
