"""Layers, nets, optimizers and the trainer on device-like arrays give the NumPy results.

Each runs on the strict backend (tests/strict_backend.py: arrays that refuse silent conversion
to NumPy and NumPy-only calls, as CuPy's do) and, where an NVIDIA GPU and CuPy are at hand, on
CuPy; results are compared with the NumPy backend's. A NumPy-only shortcut fails here in CI.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import (
    Affine,
    LeakyRelu,
    MeanSquaredError,
    MultiLayerNet,
    Relu,
    Sigmoid,
    Softmax,
    SoftmaxWithLoss,
    Tanh,
    TwoLayerNet,
)
from chainrule.backend import NUMPY, array_module, cupy_available, get_backend, to_numpy
from chainrule.layers import AvgPooling, BatchNormalization, Convolution, Dropout, Flatten, Pooling
from chainrule.nets import DeepConvNet, SimpleConvNet
from chainrule.optimizers import OPTIMIZERS, Adam, make_optimizer
from chainrule.training import Trainer
from strict_backend import STRICT, NumpyOnlyError, StrictArray

BACKENDS = [pytest.param(STRICT, id="strict")] + (
    [pytest.param("cupy", id="cupy")] if cupy_available() else []
)
# Equal bits on the strict backend (NumPy underneath); GPU kernels may round differently.
TOLERANCE = {"strict": dict(rtol=0, atol=0), "cupy": dict(rtol=1e-9, atol=1e-12)}


@pytest.fixture(params=BACKENDS)
def backend(request):
    return get_backend(request.param)


def assert_same(device_value, host_value, backend, what=""):
    got = to_numpy(device_value)
    assert array_module(host_value) is np, what
    if backend.name == "strict":
        np.testing.assert_array_equal(got, host_value, err_msg=what)
    elif got.dtype == np.float32:  # GPU float32 matrix products round differently, and it grows in training
        np.testing.assert_allclose(got, host_value, rtol=1e-4, atol=1e-5, err_msg=what)
    else:
        np.testing.assert_allclose(got, host_value, **TOLERANCE["cupy"], err_msg=what)


# -- the strict backend itself is strict -------------------------------------------------------------


def test_strict_arrays_refuse_what_cupy_refuses():
    xp = STRICT.xp
    a = xp.asarray(np.arange(6.0).reshape(2, 3))
    assert isinstance(a, StrictArray) and array_module(a) is xp
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="host NumPy array"):
        a + np.ones((2, 3))
    with pytest.raises(NumpyOnlyError, match="xp.add_at|numpy.add_at|add_at"):
        xp.add_at  # noqa: B018 - the attribute access is what fails
    with pytest.raises(NumpyOnlyError, match="partition"):
        np.partition(a, 1)
    # What CuPy allows: ufuncs, operators, Python and NumPy scalars, explicit transfers.
    b = np.sqrt(a) * 2.0 + np.float32(1)
    assert isinstance(b, StrictArray)
    np.testing.assert_array_equal(to_numpy(b), np.sqrt(np.arange(6.0).reshape(2, 3)) * 2.0 + 1)
    np.testing.assert_array_equal(a.get(), np.arange(6.0).reshape(2, 3))


# -- layers --------------------------------------------------------------------------------------------


def _layer_cases(rng):
    """name -> (make(params on a backend), inputs, dout) with host float64 arrays."""
    W, b = rng.standard_normal((5, 4)), rng.standard_normal(4)
    filters, bias = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)
    x2, x4 = rng.standard_normal((6, 5)), rng.standard_normal((3, 2, 6, 6))
    return {
        "Relu": (lambda to: Relu(), [x2], rng.standard_normal((6, 5))),
        "LeakyRelu": (lambda to: LeakyRelu(0.1), [x2], rng.standard_normal((6, 5))),
        "Sigmoid": (lambda to: Sigmoid(), [x2], rng.standard_normal((6, 5))),
        "Tanh": (lambda to: Tanh(), [x2], rng.standard_normal((6, 5))),
        "Softmax": (lambda to: Softmax(), [x2], rng.standard_normal((6, 5))),
        "Affine": (lambda to: Affine(to(W), to(b)), [x2], rng.standard_normal((6, 4))),
        "Flatten": (lambda to: Flatten(), [x4], rng.standard_normal((3, 72))),
        "Convolution": (lambda to: Convolution(to(filters), to(bias), stride=1, pad=1), [x4],
                        rng.standard_normal((3, 3, 6, 6))),
        "Convolution-stride": (lambda to: Convolution(to(filters), to(bias), stride=2), [x4],
                               rng.standard_normal((3, 3, 2, 2))),
        "Pooling": (lambda to: Pooling(2, 2, stride=2), [x4], rng.standard_normal((3, 2, 3, 3))),
        "Pooling-overlap": (lambda to: Pooling(3, 3, stride=1, pad=1), [x4], rng.standard_normal((3, 2, 6, 6))),
        "AvgPooling": (lambda to: AvgPooling(2, 2, stride=2), [x4], rng.standard_normal((3, 2, 3, 3))),
        "BatchNormalization": (lambda to: BatchNormalization(to(gamma), to(beta)), [rng.standard_normal((6, 4))],
                               rng.standard_normal((6, 4))),
        "Dropout": (lambda to: Dropout(0.3, rng=7), [x2], rng.standard_normal((6, 5))),
        "SoftmaxWithLoss": (lambda to: SoftmaxWithLoss(), [x2, rng.integers(0, 5, 6)], None),
        "SoftmaxWithLoss-one-hot": (lambda to: SoftmaxWithLoss(), [x2, np.eye(5)[rng.integers(0, 5, 6)]], None),
        "MeanSquaredError": (lambda to: MeanSquaredError(), [x2, rng.standard_normal((6, 5))], None),
    }


LAYER_NAMES = list(_layer_cases(np.random.default_rng(0)))


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_layer_forward_and_backward_match_numpy(name, backend):
    make, inputs, dout = _layer_cases(np.random.default_rng(0))[name]
    host, device = make(NUMPY.asarray), make(backend.asarray)
    device_inputs = [backend.asarray(a) for a in inputs]
    assert_same(device.forward(*device_inputs), host.forward(*inputs), backend, f"{name} forward")
    if dout is None:
        device_grads, host_grads = device.backward(), host.backward()
    else:
        device_grads, host_grads = device.backward(backend.asarray(dout)), host.backward(dout)
    if not isinstance(host_grads, tuple):
        device_grads, host_grads = (device_grads,), (host_grads,)
    for device_grad, host_grad in zip(device_grads, host_grads):
        assert_same(device_grad, host_grad, backend, f"{name} backward")
    for key in host.grads:
        assert array_module(device.grads[key]) is backend.xp, f"{name}.grads[{key}] left the device"
        assert_same(device.grads[key], host.grads[key], backend, f"{name}.grads[{key}]")


# -- nets, optimizers, trainer ------------------------------------------------------------------------------

NETS = {
    "two-layer": (lambda **kw: TwoLayerNet(12, 6, 3, rng=0, **kw), (12,)),
    "mlp-batchnorm-dropout": (
        lambda **kw: MultiLayerNet(12, [8, 6], 3, weight_init_std="he", use_batchnorm=True,
                                   dropout_ratio=0.2, rng=0, **kw), (12,)),
    "simple-cnn": (lambda **kw: SimpleConvNet((1, 8, 8), {"filter_num": 3, "filter_size": 3}, 5, 3,
                                              weight_init_std=0.3, rng=0, **kw), (1, 8, 8)),
    "deep-cnn": (lambda **kw: DeepConvNet((1, 12, 12), **{f"conv_param_{i}": {"filter_num": 2} for i in range(1, 7)},
                                          hidden_size=4, output_size=3, rng=0, **kw), (1, 12, 12)),
}


@pytest.mark.parametrize("name", NETS)
def test_net_gradients_and_predictions_match_numpy(name, backend):
    make, shape = NETS[name]
    host, device = make(), make(backend=backend)
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((4, *shape)), rng.integers(0, 3, 4)
    host_grads, device_grads = host.gradient(x, t), device.gradient(backend.asarray(x), backend.asarray(t))
    for key in host_grads:
        assert array_module(device_grads[key]) is backend.xp
        assert_same(device_grads[key], host_grads[key], backend, key)
    assert_same(device.predict(backend.asarray(x)), host.predict(x), backend, "predict")
    state = device.state_dict()
    assert all(array_module(value) is np for value in state.values())  # checkpoints are host arrays
    host.load_state_dict(state)


@pytest.mark.parametrize("name", [*OPTIMIZERS, "adam-torch", "adam-weight-decay"])
def test_optimizer_updates_match_numpy(name, backend):
    def make():
        if name == "adam-torch":
            return Adam(0.01, torch_compatible=True)
        if name == "adam-weight-decay":
            return Adam(0.01, weight_decay=0.1)
        return make_optimizer(name, 0.01)

    rng = np.random.default_rng(2)
    shapes = {"W": (300, 250), "b": (250,)}  # W is big enough for the compiled path on the host
    host_params = {key: rng.standard_normal(shape) for key, shape in shapes.items()}
    device_params = {key: backend.asarray(value) for key, value in host_params.items()}
    host_optimizer, device_optimizer = make(), make()
    for _ in range(3):
        grads = {key: rng.standard_normal(shape) for key, shape in shapes.items()}
        host_optimizer.update(host_params, grads)
        device_optimizer.update(device_params, {key: backend.asarray(g) for key, g in grads.items()})
    for key in shapes:
        assert array_module(device_params[key]) is backend.xp
        assert_same(device_params[key], host_params[key], backend, key)
    state = device_optimizer.state_dict()
    assert all(not isinstance(v, StrictArray) for v in state.values())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trainer_fits_on_the_device_as_on_the_host(backend, dtype):
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((60, 12)).astype(dtype), rng.integers(0, 3, 60)
    x_test, t_test = rng.standard_normal((20, 12)).astype(dtype), rng.integers(0, 3, 20)
    histories, nets = [], []
    for where in (NUMPY, backend):
        net = MultiLayerNet(12, [8], 3, weight_init_std="he", rng=0, dtype=dtype, backend=where)
        trainer = Trainer(net, Adam(0.01), epochs=2, batch_size=16, seed=0, verbose=0)
        histories.append(trainer.fit(x, t, x_test, t_test))
        nets.append(net)
    host_history, device_history = histories
    for column in ("train_loss", "test_acc"):
        np.testing.assert_allclose(device_history.last()[column], host_history.last()[column], rtol=1e-6)
    for key in nets[0].params:
        assert_same(nets[1].params[key], nets[0].params[key], backend, key)
