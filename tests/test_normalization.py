"""BatchNormalization: gradients in both modes, running statistics, per-channel images, PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.errors import NotForwardedError, ShapeError
from chainrule.layers import BatchNormalization
from helpers import check_layer, check_no_mutation

SHAPES = [(4, 3), (1, 5), (3, 2, 4, 5), (3, 3, 1, 1)]


def batch_norm(features, seed=0, dtype=np.float64, **kwargs):
    rng = np.random.default_rng(seed)
    gamma = (1 + 0.5 * rng.standard_normal(features)).astype(dtype)
    return BatchNormalization(gamma, rng.standard_normal(features).astype(dtype), **kwargs)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("seed", [0, 1])
def test_gradients(shape, training, seed):
    rng = np.random.default_rng(seed)
    layer = batch_norm(shape[1], seed)
    layer.buffers["running_mean"][...] = rng.standard_normal(shape[1])
    layer.buffers["running_var"][...] = rng.random(shape[1]) + 0.5
    layer.train(training)
    x = 2 + 3 * rng.standard_normal(shape)
    if training and x.size // shape[1] < 2:  # one value per feature has no batch statistics
        with pytest.raises(ShapeError, match=r"more than 1 value per feature.*\(1, 5\)"):
            layer.forward(x)
        return
    check_layer(layer, [x], seed=seed)


@pytest.mark.parametrize("shape", [(0, 3), (1, 3), (1, 3, 1, 1), (0, 3, 2, 2)])
def test_training_without_batch_statistics_raises_and_keeps_running_stats(shape):
    layer = batch_norm(3)
    before = {name: array.copy() for name, array in layer.buffers.items()}
    with pytest.raises(ShapeError, match="BatchNormalization.forward: training mode needs more than 1"):
        layer.forward(np.ones(shape))
    for name, array in layer.buffers.items():
        np.testing.assert_array_equal(array, before[name])
    assert layer.eval().forward(np.ones(shape)).shape == shape  # eval mode needs no batch statistics


def test_images_are_normalised_per_channel_not_per_position():
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 5)) * [[[[1.0]], [[10.0]], [[0.1]]]]
    out = BatchNormalization(np.ones(3), np.zeros(3)).forward(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-4)
    assert np.abs(out.mean(axis=0)).max() > 0.1  # positions are not each centred


def test_running_statistics_are_updated_in_training_only_and_used_in_eval():
    layer = batch_norm(3, momentum=0.8)
    running_mean = layer.running_mean
    x = np.random.default_rng(0).standard_normal((6, 3)) + 2
    layer.forward(x)
    np.testing.assert_allclose(layer.running_mean, 0.2 * x.mean(axis=0))
    np.testing.assert_allclose(layer.running_var, 0.8 + 0.2 * x.var(axis=0))
    assert layer.running_mean is running_mean  # updated in place: the buffer a net saved stays live
    layer.eval()
    before = layer.running_mean.copy()
    out = layer.forward(x)
    np.testing.assert_array_equal(layer.running_mean, before)
    expected = layer.gamma * (x - layer.running_mean) / np.sqrt(layer.running_var + layer.eps) + layer.beta
    np.testing.assert_allclose(out, expected)


def test_textbook_signature_and_attributes():
    gamma, beta, mean, var = np.ones(2), np.zeros(2), np.full(2, 3.0), np.full(2, 4.0)
    layer = BatchNormalization(gamma, beta, 0.9, mean, var)
    assert layer.gamma is gamma and layer.beta is beta and layer.running_mean is mean and layer.running_var is var
    assert layer.momentum == 0.9 and layer.eps == 1e-6  # the book's 10e-7
    assert list(layer.params) == ["gamma", "beta"] and list(layer.buffers) == ["running_mean", "running_var"]
    layer.forward(np.ones((2, 2)))
    layer.backward(np.ones((2, 2)))
    assert layer.dgamma is layer.grads["gamma"] and layer.dbeta is layer.grads["beta"]


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2, 3)])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_matches_pytorch(shape, training):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    layer = batch_norm(3, momentum=0.9, eps=1e-5)
    layer.buffers["running_var"][...] = rng.random(3) + 0.5
    layer.train(training)
    x, running_mean, running_var = rng.standard_normal(shape), layer.running_mean.copy(), layer.running_var.copy()
    out = layer.forward(x)
    dout = rng.standard_normal(shape)
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, layer.gamma, layer.beta)]
    torch_mean, torch_var = torch.tensor(running_mean), torch.tensor(running_var)
    expected = torch.nn.functional.batch_norm(
        tensors[0], torch_mean, torch_var, tensors[1], tensors[2], training=training, momentum=0.1, eps=1e-5
    )
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.backward(dout), tensors[0].grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.dgamma, tensors[1].grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.dbeta, tensors[2].grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, torch_mean.numpy(), rtol=1e-12)  # PyTorch's momentum is 1 - ours


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4, 4)])
def test_no_mutation_and_float32(shape):
    layer = batch_norm(3, dtype=np.float32)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for training in (True, False):
        layer.train(training)
        out = layer.forward(x)
        assert out.dtype == np.float32 and layer.running_var.dtype == np.float32
        assert layer.backward(np.ones_like(out)).dtype == np.float32
        assert all(grad.dtype == np.float32 for grad in layer.grads.values())
        check_no_mutation(layer, [x], dout=np.ones_like(out))


def test_errors():
    layer = batch_norm(3)
    with pytest.raises(NotForwardedError, match=r"BatchNormalization.backward\(\) was called before"):
        layer.backward(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=r"expected \(N, 3\) or \(N, 3, H, W\) to match gamma of shape \(3,\), got \(2, 4\)"):
        layer.forward(np.zeros((2, 4)))
    with pytest.raises(ShapeError, match=r"got \(2, 3, 4\)"):
        layer.forward(np.zeros((2, 3, 4)))
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=r"dout must have the shape of the forward output \(2, 3\)"):
        layer.backward(np.zeros((3, 3)))
    with pytest.raises(ShapeError, match=r"gamma must be 1-D"):
        BatchNormalization(np.ones((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ShapeError, match=r"running_var must have the shape of gamma \(2,\), got \(3,\)"):
        BatchNormalization(np.ones(2), np.zeros(2), running_var=np.ones(3))
    with pytest.raises(ValueError, match="momentum must be in"):
        BatchNormalization(np.ones(2), np.zeros(2), momentum=1.5)
