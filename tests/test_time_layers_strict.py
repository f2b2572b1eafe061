"""The sequence layers on device-like arrays (the strict CuPy stand-in, and CuPy where present)
give the NumPy backend's results; a NumPy-only call in them fails here."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.backend import NUMPY, array_module, cupy_available, get_backend, scatter_add, to_numpy
from chainrule.clipping import clip_grads
from chainrule.layers import (
    GRU,
    RNN,
    Attention,
    AttentionWeight,
    Embedding,
    EmbeddingDot,
    NegativeSamplingLoss,
    TimeAffine,
    TimeAttention,
    TimeBiLSTM,
    TimeDropout,
    TimeEmbedding,
    TimeGRU,
    TimeLSTM,
    TimeRNN,
    TimeSigmoidWithLoss,
    TimeSoftmaxWithLoss,
    WeightSum,
)
from strict_backend import STRICT

BACKENDS = [pytest.param(STRICT, id="strict")] + ([pytest.param("cupy", id="cupy")] if cupy_available() else [])
# The embeddings' row sums are formed another way off NumPy (scatter_add): equal up to rounding.
SCATTERED = {"Embedding", "TimeEmbedding", "EmbeddingDot", "NegativeSamplingLoss"}


@pytest.fixture(params=BACKENDS)
def backend(request):
    return get_backend(request.param)


def assert_same(device_value, host_value, exact, what):
    got = to_numpy(device_value)
    if exact:
        np.testing.assert_array_equal(got, host_value, err_msg=what)
    else:
        np.testing.assert_allclose(got, host_value, rtol=1e-12, atol=1e-14, err_msg=what)


def _cases(rng):
    """name -> (make(to_device), inputs, dout or None for a loss) with host float64 arrays."""
    f = rng.standard_normal
    ids = rng.integers(0, 5, (3, 4))
    recurrent = {g: [f(s) for s in [(4, g * 3), (3, g * 3), (g * 3,)]] for g in (1, 3, 4)}
    lstm2 = [f(s) for s in [(4, 12), (3, 12), (12,)]]
    W5, b5 = f((5, 4)), f(5)
    return {
        "Embedding": (lambda to: Embedding(to(W5)), [ids], f((3, 4, 4))),
        "TimeEmbedding": (lambda to: TimeEmbedding(to(W5)), [ids], f((3, 4, 4))),
        "EmbeddingDot": (lambda to: EmbeddingDot(to(W5)), [f((3, 4)), ids], f((3, 4))),
        "RNN": (lambda to: RNN(*map(to, recurrent[1])), [f((3, 4)), f((3, 3))], f((3, 3))),
        "GRU": (lambda to: GRU(*map(to, recurrent[3])), [f((3, 4)), f((3, 3))], f((3, 3))),
        "TimeRNN": (lambda to: TimeRNN(*map(to, recurrent[1])), [f((3, 4, 4))], f((3, 4, 3))),
        "TimeGRU": (lambda to: TimeGRU(*map(to, recurrent[3])), [f((3, 4, 4))], f((3, 4, 3))),
        "TimeLSTM": (lambda to: TimeLSTM(*map(to, recurrent[4])), [f((3, 4, 4))], f((3, 4, 3))),
        "TimeBiLSTM": (lambda to: TimeBiLSTM(*map(to, recurrent[4] + lstm2)), [f((3, 4, 4))], f((3, 4, 6))),
        "TimeAffine": (lambda to: TimeAffine(to(W5.T.copy()), to(b5)), [f((3, 4, 4))], f((3, 4, 5))),
        "TimeDropout": (lambda to: TimeDropout(0.3, rng=7), [f((3, 4, 4))], f((3, 4, 4))),
        "AttentionWeight": (lambda to: AttentionWeight(), [f((3, 4, 2)), f((3, 2))], f((3, 4))),
        "WeightSum": (lambda to: WeightSum(), [f((3, 4, 2)), f((3, 4))], f((3, 2))),
        "Attention": (lambda to: Attention(), [f((3, 4, 2)), f((3, 2))], f((3, 2))),
        "TimeAttention": (lambda to: TimeAttention(), [f((3, 4, 2)), f((3, 5, 2))], f((3, 5, 2))),
        "TimeSoftmaxWithLoss": (lambda to: TimeSoftmaxWithLoss(), [f((3, 4, 5)), ids - (ids == 4)], None),
        "TimeSoftmaxWithLoss-one-hot": (lambda to: TimeSoftmaxWithLoss(), [f((3, 4, 5)), np.eye(5)[ids]], None),
        "TimeSigmoidWithLoss": (lambda to: TimeSigmoidWithLoss(), [f((3, 4)), ids % 2], None),
        "NegativeSamplingLoss": (lambda to: NegativeSamplingLoss(to(W5), np.arange(5), sample_size=2, rng=3),
                                 [f((3, 4)), ids[:, 0]], None),
    }


NAMES = list(_cases(np.random.default_rng(0)))


@pytest.mark.parametrize("name", NAMES)
def test_sequence_layers_match_numpy(name, backend):
    make, inputs, dout = _cases(np.random.default_rng(0))[name]
    exact = backend.name == "strict" and name not in SCATTERED
    host, device = make(NUMPY.asarray), make(backend.asarray)
    device_inputs = [backend.asarray(a) for a in inputs]
    assert_same(device.forward(*device_inputs), host.forward(*inputs), exact, f"{name} forward")
    if dout is None:
        device_grads, host_grads = device.backward(), host.backward()
    else:
        device_grads, host_grads = device.backward(backend.asarray(dout)), host.backward(dout)
    if not isinstance(host_grads, tuple):
        device_grads, host_grads = (device_grads,), (host_grads,)
    for device_grad, host_grad in zip(device_grads, host_grads):
        if host_grad is not None:
            assert_same(device_grad, host_grad, exact, f"{name} backward")
    for key in host.grads:
        assert array_module(device.grads[key]) is backend.xp, f"{name}.grads[{key}] left the device"
        assert_same(device.grads[key], host.grads[key], exact, f"{name}.grads[{key}]")


def test_stateful_windows_and_set_state_on_the_device(backend):
    rng = np.random.default_rng(1)
    params = [rng.standard_normal(s) for s in [(2, 12), (3, 12), (12,)]]
    host, device = TimeLSTM(*params, stateful=True), TimeLSTM(*map(backend.asarray, params), stateful=True)
    h = rng.standard_normal((2, 3))
    host.set_state(h)
    device.set_state(backend.asarray(h))
    for _ in range(2):
        xs = rng.standard_normal((2, 3, 2))
        assert_same(device.forward(backend.asarray(xs)), host.forward(xs), backend.name == "strict", "window")


def test_scatter_add_adds_repeated_rows(backend):
    rng = np.random.default_rng(0)
    values, indices = rng.standard_normal((6, 3)), np.array([0, 2, 0, 0, 3, 2])
    host = np.zeros((4, 3))
    np.add.at(host, indices, values)
    device = backend.xp.zeros((4, 3))
    scatter_add(device, backend.asarray(indices), backend.asarray(values))
    np.testing.assert_allclose(to_numpy(device), host, rtol=1e-14)


def test_clip_grads_on_the_device(backend):
    grads = {"W": backend.asarray(np.array([[3.0, 0.0]])), "b": backend.asarray(np.array([4.0]))}
    assert clip_grads(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(to_numpy(grads["W"]), [[0.6, 0.0]])
    assert array_module(grads["b"]) is backend.xp
