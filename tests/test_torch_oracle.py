"""Layers against PyTorch in float64: same inputs, same outputs, same input gradients.

One helper (``compare_with_torch``) does the work, so each case is a line. Skipped when PyTorch
is not installed (it is an optional oracle: ``pip install torch==2.13.0``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

from chainrule import Affine, LeakyRelu, MeanSquaredError, Relu, Sigmoid, Softmax, SoftmaxWithLoss, Tanh

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-12, 1e-13


def compare_with_torch(layer: Any, torch_fn: Callable, *inputs: np.ndarray, extra: tuple = ()) -> None:
    """Forward and backward of ``layer`` on ``inputs`` vs ``torch_fn`` with autograd."""
    out = layer.forward(*inputs, *extra)
    dout = np.random.default_rng(1).standard_normal(np.shape(out)) if np.ndim(out) else 1.0
    grads = layer.backward(dout)
    grads = grads if isinstance(grads, tuple) else (grads,)

    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    torch_out = torch_fn(*tensors, *[torch.as_tensor(e) for e in extra])
    torch_out.backward(torch.as_tensor(dout, dtype=torch.float64))
    np.testing.assert_allclose(out, torch_out.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert len(grads) == len(tensors), f"{type(layer).__name__}.backward returned {len(grads)} gradients for {len(tensors)} inputs"
    for mine, tensor in zip(grads, tensors, strict=True):
        np.testing.assert_allclose(mine, tensor.grad.numpy(), rtol=RTOL, atol=ATOL)


rng = np.random.default_rng(0)
X = rng.standard_normal((6, 5))


@pytest.mark.parametrize(
    "layer, torch_fn",
    [
        (Relu(), torch.relu),
        (LeakyRelu(0.1), lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
        (Sigmoid(), torch.sigmoid),
        (Tanh(), torch.tanh),
        (Softmax(), lambda x: torch.softmax(x, dim=-1)),
    ],
    ids=["Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax"],
)
def test_activations(layer, torch_fn):
    compare_with_torch(layer, torch_fn, X)


def test_affine_input_and_parameter_gradients():
    W, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    layer = Affine(W, b)
    Wt, bt = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    compare_with_torch(layer, lambda x: x @ Wt + bt, X)
    np.testing.assert_allclose(layer.dW, Wt.grad.numpy(), rtol=RTOL)
    np.testing.assert_allclose(layer.db, bt.grad.numpy(), rtol=RTOL)


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_softmax_with_loss_labels(scale):
    t = rng.integers(0, 5, size=6)
    compare_with_torch(SoftmaxWithLoss(), lambda x, t: torch.nn.functional.cross_entropy(x, t), scale * X, extra=(t,))


def test_softmax_with_loss_one_hot():
    t = np.eye(5)[rng.integers(0, 5, size=6)]
    compare_with_torch(SoftmaxWithLoss(), lambda x, t: torch.nn.functional.cross_entropy(x, t), X, extra=(t,))


def test_mean_squared_error_matches_half_sum_over_batch():
    y = rng.standard_normal((6, 5))
    compare_with_torch(MeanSquaredError(), lambda x, y: 0.5 * ((x - y) ** 2).sum() / x.shape[0], X, extra=(y,))
