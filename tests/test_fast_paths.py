"""The shortcuts taken for speed give the results the plain paths give.

``Sequential.gradient`` stops the backward pass at the first layer with parameters; optimizers
split large arrays across threads; the loss layer checks labels with one reduction. Each is
compared here with the straightforward computation it replaces, to the bit where it should be.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle

import numpy as np
import pytest

from chainrule import Affine, LabelError, MultiLayerNet, Relu, Sequential, Sigmoid, SoftmaxWithLoss, TwoLayerNet
from chainrule.optimizers import PARALLEL_MIN_SIZE, SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop


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


# -- optimizers: slices on threads give the bits of one call -------------------------------------

OPTIMIZERS = {
    "sgd": lambda: SGD(0.1),
    "momentum": lambda: Momentum(0.1),
    "nesterov": lambda: Nesterov(0.1),
    "adagrad": lambda: AdaGrad(0.1),
    "rmsprop": lambda: RMSprop(0.01),
    "adam": lambda: Adam(0.01),
    "adam-torch": lambda: Adam(0.01, torch_compatible=True),
    "adam-decay": lambda: Adam(0.01, weight_decay=0.1),
}
BIG = (3 * PARALLEL_MIN_SIZE // 500 + 1, 500)  # three slices' worth, not a multiple of three


def run_steps(optimizer, params, seed, steps=3, make_grad=None):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        grads = {key: (make_grad or (lambda p: rng.standard_normal(p.shape).astype(p.dtype)))(p) for key, p in params.items()}
        optimizer.update(params, grads)
    return params


def big_params(dtype=np.float32, order="C"):
    rng = np.random.default_rng(4)
    return {
        "W1": np.asarray(rng.standard_normal(BIG), dtype=dtype, order=order),
        "b1": rng.standard_normal(BIG[1]).astype(dtype),
    }


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("threads", [2, 3])
def test_updates_on_threads_equal_one_thread_to_the_bit(name, threads):
    single, split = OPTIMIZERS[name](), OPTIMIZERS[name]()
    single.threads, split.threads = 1, threads
    expected = run_steps(single, big_params(), seed=5)
    got = run_steps(split, big_params(), seed=5)
    assert split._executor_key[1] == threads - 1  # the slices really did go to other threads
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])
    for key in single.state:
        for slot in single.state[key]:
            np.testing.assert_array_equal(split.state[key][slot], single.state[key][slot])


def test_non_contiguous_parameters_are_updated_in_one_call():
    single, split = Adam(0.01), Adam(0.01)
    single.threads, split.threads = 1, 2
    expected = run_steps(single, big_params(np.float64), seed=6)
    got = run_steps(split, big_params(np.float64, order="F"), seed=6)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])


def test_strided_gradients_are_read_correctly_by_the_slices():
    single, split = Momentum(0.1), Momentum(0.1)
    single.threads, split.threads = 1, 2
    transposed = lambda p: np.asfortranarray(np.random.default_rng(7).standard_normal(p.shape[::-1]).T).astype(p.dtype)
    expected = run_steps(single, big_params(), seed=7, make_grad=lambda p: np.ascontiguousarray(transposed(p)))
    got = run_steps(split, big_params(), seed=7, make_grad=transposed)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))])
def test_an_optimizer_that_used_threads_can_be_copied_and_continues_alike(duplicate):
    optimizer = Adam(0.01)
    optimizer.threads = 2
    params = run_steps(optimizer, big_params(), seed=8, steps=1)
    twin, twin_params = duplicate(optimizer), {key: p.copy() for key, p in params.items()}
    run_steps(optimizer, params, seed=9, steps=2)
    run_steps(twin, twin_params, seed=9, steps=2)
    for key in params:
        np.testing.assert_array_equal(twin_params[key], params[key])


def _update_in_child(optimizer, params, expected):
    run_steps(optimizer, params, seed=12, steps=1)
    ok = all(np.array_equal(params[key], expected[key]) for key in params)
    raise SystemExit(0 if ok else 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_threads():
    optimizer = Adam(0.01)
    optimizer.threads = 2
    params = run_steps(optimizer, big_params(), seed=11, steps=1)  # the parent's threads exist now
    reference = copy.deepcopy(optimizer)
    expected = run_steps(reference, {key: p.copy() for key, p in params.items()}, seed=12, steps=1)
    child = multiprocessing.get_context("fork").Process(target=_update_in_child, args=(optimizer, params, expected))
    child.start()
    child.join(timeout=60)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0


def test_threads_default_follows_the_blas_thread_variables(monkeypatch):
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    unlimited = SGD().threads
    assert unlimited >= 1
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert SGD().threads == 1
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "not a number")
    assert SGD().threads == unlimited


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
