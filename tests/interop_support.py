"""What the interop tests share: real MNIST images when present, the networks, and the ONNX runners.

onnxruntime's CPU kernels have no float64 ``Conv``, ``AveragePool`` or ``LeakyRelu``; a float64 graph
holding one runs in onnx's reference evaluator (NumPy, ONNX's own semantics) instead.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from chainrule.layers import (
    Affine, AvgPooling, BatchNormalization, Convolution, Dropout, Flatten, LeakyRelu, Pooling, Relu, Sigmoid, Tanh,
)
from chainrule.nets import DeepConvNet, MultiLayerNet, Sequential, SimpleConvNet, TwoLayerNet

DATA = os.environ.get("CHAINRULE_DATA")
HAVE_MNIST = bool(DATA) and (Path(DATA) / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
NO_DOUBLE_IN_ORT = {"Conv", "AveragePool", "LeakyRelu"}


def mnist_images(count: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``count`` real MNIST test images ``(N, 1, 28, 28)`` in [0, 1] with labels, or random ones without the files."""
    x, t = _first_test_images()
    return x[:count].copy(), t[:count].copy()


@lru_cache(maxsize=1)
def _first_test_images(count: int = 512) -> tuple[np.ndarray, np.ndarray]:
    if HAVE_MNIST:
        from chainrule.data import load_mnist

        _, (x, t) = load_mnist(flatten=False, dtype=np.float64, download=False)
        return x[:count], t[:count]
    rng = np.random.default_rng(0)
    return rng.random((count, 1, 28, 28)), rng.integers(0, 10, count)


def small_stack(dtype: Any) -> Sequential:
    """A Sequential of every exportable layer, with the geometry the standard nets leave out:
    a strided, padded convolution, padded max and average pooling, a per-channel batch norm,
    leaky ReLU, tanh, sigmoid and the book's (scaling) dropout."""
    rng = np.random.default_rng(3)
    w = lambda *shape: (rng.standard_normal(shape) * 0.3).astype(dtype)
    layers = [
        ("Conv1", Convolution(w(4, 1, 3, 3), w(4), stride=2, pad=1)),                     # 28 -> 14
        ("BatchNorm1", BatchNormalization(1 + w(4), w(4), running_mean=w(4), running_var=1 + np.abs(w(4)))),
        ("LeakyRelu1", LeakyRelu(0.125)),  # ONNX keeps alpha as a float32 attribute: 0.125 is exact
        ("Pool1", Pooling(3, 3, stride=2, pad=1)),                                          # 14 -> 7
        ("AvgPool1", AvgPooling(2, 2, stride=1, pad=1)),                                    # 7 -> 8
        ("Tanh1", Tanh()),
        ("Flatten1", Flatten()),
        ("Affine1", Affine(w(4 * 8 * 8, 16), w(16))),
        ("Sigmoid1", Sigmoid()),
        ("Dropout1", Dropout(0.25, inverted=False, rng=0)),
        ("Affine2", Affine(w(16, 10), w(10))),
        ("Relu1", Relu()),
    ]
    return Sequential(layers)


# name -> (factory(dtype), takes images)
NETWORKS: dict[str, tuple[Callable[[Any], Sequential], bool]] = {
    "two-layer": (lambda dtype: TwoLayerNet(784, 20, 10, weight_init_std="he", rng=0, dtype=dtype), False),
    "mlp": (lambda dtype: MultiLayerNet(784, [32, 16], 10, activation="tanh", rng=0, dtype=dtype), False),
    "mlp-bn-dropout": (lambda dtype: MultiLayerNet(784, [32, 16], 10, dropout_ratio=0.3, use_batchnorm=True, rng=0,
                                                   dtype=dtype), False),
    "cnn": (lambda dtype: SimpleConvNet((1, 28, 28), {"filter_num": 6}, 20, 10, "he", rng=0, dtype=dtype), True),
    "deep-cnn": (lambda dtype: DeepConvNet(hidden_size=20, rng=0, dtype=dtype), True),
    "stack": (small_stack, True),
}


def make_network(name: str, dtype: Any, trained: bool) -> tuple[Sequential, np.ndarray]:
    """The network ``name`` and a batch of real digits in the shape it takes (briefly trained if asked)."""
    factory, images = NETWORKS[name]
    net = factory(np.dtype(dtype))
    x, t = mnist_images(64)
    x = x.astype(dtype) if images else x.reshape(len(x), -1).astype(dtype)
    if trained:  # a few Adam steps: weights move off their initial values, batch norm statistics too
        from chainrule.optimizers import Adam

        optimizer = Adam(0.01)
        net.train()
        for step in range(4):
            batch = slice(16 * step, 16 * step + 16)
            optimizer.update(net.params, net.gradient(x[batch], t[batch]))
    return net.eval(), x


def run_onnx(model: Any, x: np.ndarray) -> np.ndarray:
    """The graph's output for ``x``: onnxruntime, or onnx's reference evaluator where ORT lacks a float64 kernel."""
    feeds = {model.graph.input[0].name: x}
    if x.dtype == np.float64 and {node.op_type for node in model.graph.node} & NO_DOUBLE_IN_ORT:
        from onnx import version_converter
        from onnx.reference import ReferenceEvaluator

        # The evaluator's BatchNormalization before opset 14 computes training mode; opset 15's
        # is the same inference operator, which the converter only renumbers.
        if model.opset_import[0].version < 15:
            model = version_converter.convert_version(model, 15)
        return ReferenceEvaluator(model).run(None, feeds)[0]
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # ORT's warnings about unused initializers are not ours to print
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def max_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max())
