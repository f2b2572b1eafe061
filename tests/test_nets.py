"""Networks: backprop matches numerical gradients, the textbook loop trains, state round-trips."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import (
    Affine,
    CheckpointError,
    MeanSquaredError,
    Relu,
    Sequential,
    ShapeError,
    Sigmoid,
    SoftmaxWithLoss,
    Tanh,
    TwoLayerNet,
    gradcheck,
    numerical_gradient,
)


def batch(rng, n=5, d=6, classes=3):
    return rng.standard_normal((n, d)), rng.integers(0, classes, size=n)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("sizes", [(6, 4, 3), (6, 10, 2), (3, 1, 5)])
def test_two_layer_net_gradients_match_numerical(seed, sizes):
    rng = np.random.default_rng(seed)
    net = TwoLayerNet(*sizes, weight_init_std=0.5, rng=seed)
    x, t = batch(rng, d=sizes[0], classes=sizes[2])
    report = gradcheck(net, x, t, h=1e-6)
    assert [d.name for d in report.differences] == ["W1", "b1", "W2", "b2"]
    assert report.passed(rtol=1e-7, atol=1e-10), str(report)


def test_sequential_with_other_layers_and_weight_decay():
    rng = np.random.default_rng(0)
    net = Sequential(
        [
            Affine(rng.standard_normal((6, 5)), rng.standard_normal(5)),
            Tanh(),
            Affine(rng.standard_normal((5, 4)), rng.standard_normal(4)),
            Sigmoid(),
            Affine(rng.standard_normal((4, 3)), rng.standard_normal(3)),
        ],
        SoftmaxWithLoss(),
        weight_decay_lambda=0.1,
    )
    assert list(net.layers) == ["Affine1", "Tanh1", "Affine2", "Sigmoid1", "Affine3"]
    assert list(net.params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    x, t = batch(rng)
    assert gradcheck(net, x, t, h=1e-6).passed(rtol=1e-7, atol=1e-10)


def test_sequential_regression_with_mse():
    rng = np.random.default_rng(0)
    net = Sequential([Affine(rng.standard_normal((3, 2)), np.zeros(2))], MeanSquaredError())
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    assert gradcheck(net, x, y, h=1e-6).passed(rtol=1e-7, atol=1e-10)


def test_textbook_training_loop_trains_and_params_are_the_layers_arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    t = (x[:, 0] * x[:, 1] > 0).astype(int)  # XOR-like: needs the hidden layer
    net = TwoLayerNet(2, 16, 2, weight_init_std=1.0, rng=0)
    assert net.params["W1"] is net.layers["Affine1"].W
    first = float(net.loss(x, t))
    for _ in range(300):
        grads = net.gradient(x, t)
        for key in ("W1", "b1", "W2", "b2"):
            net.params[key] -= 0.5 * grads[key]
    assert net.params["W1"] is net.layers["Affine1"].W
    assert float(net.loss(x, t)) < 0.5 * first
    assert net.accuracy(x, t) > 0.9


def test_assigning_a_new_array_reaches_the_layer():
    net = TwoLayerNet(3, 2, 2, rng=0)
    new = np.zeros((3, 2))
    net.params["W1"] = new
    assert net.layers["Affine1"].W is new
    with pytest.raises(ShapeError, match=r"params\['W1'\]: expected shape \(3, 2\), got \(2, 2\)"):
        net.params["W1"] = np.zeros((2, 2))
    with pytest.raises(KeyError):
        net.params["W9"] = new


def test_state_dict_round_trip_and_copies():
    a, b = TwoLayerNet(4, 3, 2, rng=0), TwoLayerNet(4, 3, 2, rng=1)
    state = a.state_dict()
    state["W1"][0, 0] = 123.0  # a copy: editing it does not touch the net
    assert a.params["W1"][0, 0] != 123.0
    W1 = b.params["W1"]
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.params["W1"] is W1  # loaded in place, aliases kept
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])


def test_load_state_dict_errors():
    net = TwoLayerNet(4, 3, 2, rng=0)
    state = net.state_dict()
    del state["b2"]
    state["extra"] = np.zeros(1)
    with pytest.raises(CheckpointError, match=r"missing keys \['b2'\], unexpected keys \['extra'\]"):
        net.load_state_dict(state)
    assert net.load_state_dict(state, strict=False) == (["b2"], ["extra"])
    with pytest.raises(CheckpointError, match=r"W1: expected shape \(4, 3\), got \(3, 4\)"):
        net.load_state_dict({**net.state_dict(), "W1": np.zeros((3, 4))})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_net_keeps_its_dtype(dtype):
    net = TwoLayerNet(4, 3, 2, rng=0, dtype=dtype)
    x = np.random.default_rng(0).random((5, 4))  # float64 input is cast to the net's dtype
    assert net.predict(x).dtype == dtype
    grads = net.gradient(x, np.array([0, 1, 0, 1, 1]))
    assert all(g.dtype == dtype for g in grads.values())
    assert net.predict(np.zeros((2, 4), dtype=np.uint8)).dtype == dtype


def test_accuracy_with_labels_one_hot_and_batches():
    net = TwoLayerNet(4, 3, 2, rng=0)
    x = np.random.default_rng(1).random((7, 4))
    t = net.predict(x).argmax(axis=1)
    assert net.accuracy(x, t) == 1.0
    assert net.accuracy(x, np.eye(2)[t], batch_size=3) == 1.0
    assert net.accuracy(x, 1 - t) == 0.0


def test_same_seed_same_weights():
    a, b = TwoLayerNet(5, 4, 3, rng=42), TwoLayerNet(5, 4, 3, rng=42)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])


def test_train_eval_modes():
    net = TwoLayerNet(4, 3, 2, rng=0)
    assert net.training and all(layer.training for layer in net.layers.values())
    net.eval()
    assert not net.training and not any(layer.training for layer in net.layers.values())
    net.train()
    net.predict(np.zeros((1, 4)))
    assert net.training  # predict runs in inference mode and restores the mode it found


def test_numerical_gradient_restores_x_and_accepts_textbook_style():
    x = np.array([3.0, 4.0])
    grad = numerical_gradient(lambda v: (v**2).sum(), x)
    np.testing.assert_allclose(grad, [6.0, 8.0], rtol=1e-9)
    np.testing.assert_array_equal(x, [3.0, 4.0])
    W = np.array([[1.0, 2.0]])
    grad = numerical_gradient(lambda _: float((W * W).sum()), W)  # f reads W through a closure
    np.testing.assert_allclose(grad, [[2.0, 4.0]], rtol=1e-9)


def test_bad_sizes():
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        TwoLayerNet(4, 0, 2)
    with pytest.raises(ValueError, match="unique"):
        Sequential([("a", Relu()), ("a", Relu())])
    with pytest.raises(TypeError, match="no forward/backward"):
        Sequential([object()])


def test_parameters_and_repr():
    net = TwoLayerNet(4, 3, 2, rng=0)
    assert list(net.parameters()) == ["W1", "b1", "W2", "b2"]
    assert net.parameters()["W1"] is net.layers["Affine1"].W
    assert "Affine1" in repr(net) and "SoftmaxWithLoss" in repr(net)


def test_multi_layer_net_init_follows_activation_and_extend_options():
    from chainrule.nets import MultiLayerNet

    relu = MultiLayerNet(400, [300], 10, rng=0)
    sigmoid = MultiLayerNet(400, [300], 10, activation="sigmoid", rng=0)
    assert relu.params["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)  # He
    assert sigmoid.params["W1"].std() == pytest.approx(np.sqrt(1 / 400), rel=0.02)  # Xavier
    net = MultiLayerNet(6, [5, 4], 3, dropout_ratio=0.2, use_batchnorm=True, rng=0)
    assert list(net.layers) == [
        "Affine1", "BatchNorm1", "Activation_function1", "Dropout1",
        "Affine2", "BatchNorm2", "Activation_function2", "Dropout2", "Affine3",
    ]
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    rng = np.random.default_rng(0)
    net.layers["Dropout1"].fixed_mask = rng.random((7, 5)) > 0.2  # a fixed mask makes dropout differentiable
    net.layers["Dropout2"].fixed_mask = rng.random((7, 4)) > 0.2
    assert gradcheck(net, rng.standard_normal((7, 6)), rng.integers(0, 3, size=7), h=1e-6).passed(rtol=1e-6, atol=1e-9)
