"""Training-step speed: chainrule against PyTorch CPU and a naive float64 NumPy net, same run.

Usage:  python benchmarks/steps.py [--json out.json] [--quick] [--threads N] [--runs N] [--spread-runs N]
                                  [--cases ...] [--impls ...] [--malloc high|default] [--contention [CASES]]
                                  [--fixed-threads] [--blas-wait spin|sleep] [--no-epoch] [--backend numpy|cupy]

What is measured (see benchmarks/README.md for how to read it):

  gemm    The GEMM peak: float32 matrix products through NumPy (2048^3 and the large MLP's own
          sizes) with the same threads, in a process of their own; median and best of each.
  steps   One training step = forward + backward + optimizer update on a mini-batch already in
          memory. Models: mlp-small (the textbook TwoLayerNet 784-50-10, batch 100, SGD lr 0.1),
          mlp-large (784-1024-1024-10, He init, batch 256, Adam lr 0.001), mlp-medium
          (784-512-256-10, He init, batch 32, Adam lr 0.001) and, when chainrule.nets.SimpleConvNet
          exists, cnn (SimpleConvNet, batch 100, Adam lr 0.001); gradient-f64 is the large MLP in
          float64, chainrule's net.gradient alone against PyTorch's forward + backward.
          Each is run by chainrule (float32), by PyTorch CPU (float32, the same initial weights
          and optimizer; Adam cases also with fused=True, "pytorch-fused") and by a textbook-style
          float64 NumPy net written below (the naive baseline).
          Every implementation runs in processes of its own (chainrule's never imports torch),
          --runs per implementation, taking turns; each process reports the median of its timed
          blocks and the losses of its first three steps, which the parent compares.
          For the MLPs, chainrule's and PyTorch's processes also time the step's matrix products
          alone (in each framework's own layout and BLAS), by turns with the steps: the rest of
          the step is what a faster CPU does not shrink as much. With the GEMM peak, the table
          then gives each step's time if the products ran at --project-peak GFLOP/s (a model).
  contention  (--contention) chainrule's step alone and beside one other CPU-bound process.
  epoch   One MNIST epoch through chainrule's Trainer (and the same loop in PyTorch), in its own
          process, with its wall time and peak resident memory. Data from $CHAINRULE_DATA.

Threads: the parent sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS to --threads
(default: the CPUs this process may run on) for the child processes that measure, before NumPy
loads; the children call chainrule.threads.set_threads and torch.set_num_threads with the same
number. Before starting, the parent watches /proc/stat for --load-check seconds and warns when
other work keeps those CPUs busy.

Idle BLAS threads spin between products, the libraries' default; --blas-wait sleep sets
chainrule.threads.SLEEP_BETWEEN_PRODUCTS in every child (they sleep at once: the same numbers,
a wake-up per product), which with --contention --fixed-threads shows that wait policy.

Allocator: the children run with a high glibc mmap threshold (MALLOC_HIGH below; --malloc default
for glibc's own), so that no framework pays page faults on every step for want of one early free.

--backend cupy runs chainrule on CuPy and PyTorch on CUDA (no naive baseline, no GEMM peak).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Iterator, NamedTuple

CASES = ("mlp-small", "mlp-large", "mlp-medium", "cnn")
ADAM_CASES = ("mlp-large", "mlp-medium", "cnn")
GRADIENT_CASE = "gradient-f64"  # the large MLP in float64: chainrule's net.gradient vs PyTorch's forward+backward
IMPLEMENTATIONS = ("chainrule", "pytorch", "pytorch-fused", "naive-f64")
# glibc serves every allocation above M_MMAP_THRESHOLD (128 KiB until the first large free) with a
# fresh mmap and gives it back with munmap, so each step pays page faults; a free of such a block
# raises the threshold to its size (at most 32 MiB) and the trim threshold to twice that. NumPy
# frees large blocks early, a process running only PyTorch may never be raised: its fused Adam step
# on the large MLP paid ~2,000-2,700 page faults. Every child gets the most that glibc's own
# adjustment reaches, 32 MiB and 64 MiB: every array of a step is under it (the largest, the float64
# large MLP's 8 MiB weights), while dataset-sized arrays are still mapped and given back when freed,
# so memory stays as with the defaults (at 256 MiB an MNIST epoch of the large MLP peaked at 511
# MiB instead of 423). The trim threshold must rise too: setting the mmap threshold switches glibc's
# adjustment off, and with the trim threshold left at 128 KiB the freed top of the heap goes back
# to the system after each step (~240 faults per step of the large MLP).
MALLOC_HIGH = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20)}
EPOCH_MODELS = ("mlp-small", "mlp-large")
SEED = 0
TORCH_MISSING = "PyTorch not installed (pip install torch==2.13.0): comparison skipped"

FLOP_FORMULA = (
    "matmul FLOPs per step = sum over Affine/Convolution layers of 2*N*in*out (conv: in = C*FH*FW, "
    "out = FN, N = batch*OH*OW) times 3 (forward, weight gradient, input gradient), except the first "
    "layer: times 2, as its input gradient is not needed (PyTorch and chainrule skip it; the naive "
    "net computes it anyway). Element-wise work is not counted."
)


# -- the naive baseline: the textbook's code, float64, written out here -------------------------
#
# Deliberately plain: np.dot, fresh arrays everywhere, Relu.backward writing into dout, im2col
# with a Python loop over the filter, as "Deep Learning from Scratch" prints them.


def _naive_softmax(x):
    import numpy as np

    x = x.T
    x = x - np.max(x, axis=0)
    y = np.exp(x) / np.sum(np.exp(x), axis=0)
    return y.T


def _naive_im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    import numpy as np

    N, C, H, W = input_data.shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w))
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def _naive_col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    import numpy as np

    N, C, H, W = input_shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1))
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]
    return img[:, :, pad : H + pad, pad : W + pad]


class NaiveAffine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        import numpy as np

        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout):
        import numpy as np

        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


class NaiveRelu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class NaiveConvolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        import numpy as np

        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = 1 + (H + 2 * self.pad - FH) // self.stride
        out_w = 1 + (W + 2 * self.pad - FW) // self.stride
        self.x, self.col = x, _naive_im2col(x, FH, FW, self.stride, self.pad)
        self.col_W = self.W.reshape(FN, -1).T
        out = np.dot(self.col, self.col_W) + self.b
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        import numpy as np

        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = np.dot(dout, self.col_W.T)
        return _naive_col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class NaivePooling:
    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad

    def forward(self, x):
        import numpy as np

        N, C, H, W = x.shape
        out_h = 1 + (H - self.pool_h) // self.stride
        out_w = 1 + (W - self.pool_w) // self.stride
        col = _naive_im2col(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(-1, self.pool_h * self.pool_w)
        self.x, self.arg_max = x, np.argmax(col, axis=1)
        return np.max(col, axis=1).reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)

    def backward(self, dout):
        import numpy as np

        dout = dout.transpose(0, 2, 3, 1)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size))
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dmax = dmax.reshape(dout.shape + (pool_size,))
        dcol = dmax.reshape(dmax.shape[0] * dmax.shape[1] * dmax.shape[2], -1)
        return _naive_col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)


class NaiveSoftmaxWithLoss:
    def forward(self, x, t):
        import numpy as np

        self.t, self.y = t, _naive_softmax(x)
        batch_size = self.y.shape[0]
        return -np.sum(np.log(self.y[np.arange(batch_size), t] + 1e-7)) / batch_size

    def backward(self, dout=1):
        import numpy as np

        batch_size = self.t.shape[0]
        dx = self.y.copy()
        dx[np.arange(batch_size), self.t] -= 1
        return dx / batch_size


class NaiveNet:
    """The textbook's network class: a ``params`` dict, a list of layers, ``gradient(x, t)``."""

    def __init__(self, layers):
        self.layers, self.last_layer, self.params = layers, NaiveSoftmaxWithLoss(), {}
        weighted = [layer for layer in layers if hasattr(layer, "W")]
        for number, layer in enumerate(weighted, start=1):
            self.params[f"W{number}"], self.params[f"b{number}"] = layer.W, layer.b
        self.weighted = weighted

    def loss(self, x, t):
        for layer in self.layers:
            x = layer.forward(x)
        return self.last_layer.forward(x, t)

    def gradient(self, x, t):
        self.loss_value = self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        grads = {}
        for number, layer in enumerate(self.weighted, start=1):
            grads[f"W{number}"], grads[f"b{number}"] = layer.dW, layer.db
        return grads


class NaiveSGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for key in params.keys():
            params[key] -= self.lr * grads[key]


class NaiveAdam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2, self.iter, self.m, self.v = lr, beta1, beta2, 0, None, None

    def update(self, params, grads):
        import numpy as np

        if self.m is None:
            self.m, self.v = {}, {}
            for key, val in params.items():
                self.m[key], self.v[key] = np.zeros_like(val), np.zeros_like(val)
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)


def naive_twin(net) -> NaiveNet:
    """The naive float64 net with a copy of ``net``'s initial weights, layer for layer."""
    import numpy as np

    layers = []
    for layer in net.layers.values():
        kind = type(layer).__name__
        params = {key: np.array(value, dtype=np.float64) for key, value in getattr(layer, "params", {}).items()}
        if kind == "Affine":
            layers.append(NaiveAffine(params["W"], params["b"]))
        elif kind == "Convolution":
            layers.append(NaiveConvolution(params["W"], params["b"], layer.stride, layer.pad))
        elif kind == "Relu":
            layers.append(NaiveRelu())
        elif kind == "Pooling":
            layers.append(NaivePooling(layer.pool_h, layer.pool_w, layer.stride, layer.pad))
        else:
            raise ValueError(f"the naive baseline has no {kind} layer")
    return NaiveNet(layers)


def _book_order(layers: list[Any]) -> list[Any]:
    """chainrule holds "max pool, then ReLU" (the same function, cheaper); PyTorch gets the book's
    ReLU, then max pool, as a PyTorch user would write it."""
    layers = list(layers)
    for index in range(len(layers) - 1):
        if type(layers[index]).__name__ == "Pooling" and type(layers[index + 1]).__name__ == "Relu":
            layers[index], layers[index + 1] = layers[index + 1], layers[index]
    return layers


def torch_layers(net) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The PyTorch twin of ``net`` as data: its layers in order, and its initial weights in
    PyTorch's layouts, keyed ``"<module index>.weight"``/``".bias"`` (NumPy arrays, no torch)."""
    import numpy as np

    layers: list[dict[str, Any]] = []
    weights: dict[str, Any] = {}
    for layer in _book_order(list(net.layers.values())):
        kind = type(layer).__name__
        if kind == "Affine":
            if any(spec["kind"] == "conv" for spec in layers) and not any(spec["kind"] == "flatten" for spec in layers):
                layers.append({"kind": "flatten"})  # chainrule's Affine flattens (N, C, H, W) itself
            W = layer.params["W"]
            weight = W.T  # chainrule keeps (in, out), torch (out, in)
            layers.append({"kind": "linear", "in": int(W.shape[0]), "out": int(W.shape[1])})
        elif kind == "Convolution":
            weight = W = layer.params["W"]
            layers.append({"kind": "conv", "in": int(W.shape[1]), "out": int(W.shape[0]),
                           "size": [int(W.shape[2]), int(W.shape[3])], "stride": layer.stride, "pad": layer.pad})
        elif kind == "Relu":
            layers.append({"kind": "relu"})
            continue
        elif kind == "Pooling":
            layers.append({"kind": "maxpool", "size": [layer.pool_h, layer.pool_w], "stride": layer.stride,
                           "pad": layer.pad})
            continue
        else:
            raise ValueError(f"no PyTorch counterpart for {kind}")
        index = len(layers) - 1
        weights[f"{index}.weight"] = np.ascontiguousarray(weight)
        weights[f"{index}.bias"] = np.ascontiguousarray(layer.params["b"])
    return layers, weights


def torch_model(layers: list[dict[str, Any]], weights: dict[str, Any]):
    """``torch.nn.Sequential`` from :func:`torch_layers`' description; ``weights`` are copied in
    (NumPy arrays or tensors; their dtype is the model's)."""
    import torch

    modules: list[Any] = []
    for index, spec in enumerate(layers):
        kind = spec["kind"]
        if kind in ("linear", "conv"):
            weight = torch.as_tensor(weights[f"{index}.weight"])
            if kind == "linear":
                module = torch.nn.Linear(spec["in"], spec["out"], dtype=weight.dtype)
            else:
                module = torch.nn.Conv2d(spec["in"], spec["out"], tuple(spec["size"]), stride=spec["stride"],
                                         padding=spec["pad"], dtype=weight.dtype)
            with torch.no_grad():
                module.weight.copy_(weight)
                module.bias.copy_(torch.as_tensor(weights[f"{index}.bias"]))
        elif kind == "relu":
            module = torch.nn.ReLU()
        elif kind == "maxpool":
            module = torch.nn.MaxPool2d(tuple(spec["size"]), spec["stride"], spec["pad"])
        elif kind == "flatten":
            module = torch.nn.Flatten()
        else:
            raise ValueError(f"no PyTorch module for {kind!r}")
        modules.append(module)
    return torch.nn.Sequential(*modules)


def torch_twin(net):
    """The same network in PyTorch (in ``net``'s dtype), with a copy of ``net``'s initial weights."""
    return torch_model(*torch_layers(net))


# -- the models ---------------------------------------------------------------------------------


class Case(NamedTuple):
    """A model to time: chainrule's net and optimizer, and how to build the others' optimizers."""

    net: Any
    optimizer: Any
    batch: int
    sample_shape: tuple[int, ...]
    naive_optimizer: Callable[[], Any]


def build_case(case: str, backend: str = "numpy") -> Case:
    import numpy as np

    from chainrule.optimizers import SGD, Adam

    if case == "mlp-small":
        from chainrule.nets import TwoLayerNet

        net = TwoLayerNet(784, 50, 10, rng=SEED, dtype=np.float32, backend=backend)
        return Case(net, SGD(0.1), 100, (784,), lambda: NaiveSGD(0.1))
    if case == GRADIENT_CASE:  # the large MLP in float64; only net.gradient is timed, no optimizer
        from chainrule.nets import MultiLayerNet

        net = MultiLayerNet(784, [1024, 1024], 10, weight_init_std="he", rng=SEED, dtype=np.float64, backend=backend)
        return Case(net, None, 256, (784,), lambda: None)
    if case in ("mlp-large", "mlp-medium"):
        from chainrule.nets import MultiLayerNet

        hidden, batch, shape = ([1024, 1024], 256, (784,)) if case == "mlp-large" else ([512, 256], 32, (784,))
        net = MultiLayerNet(784, hidden, 10, weight_init_std="he", rng=SEED, dtype=np.float32, backend=backend)
    elif case == "cnn":
        from chainrule.nets import SimpleConvNet  # ImportError: no convolution yet

        net = SimpleConvNet(rng=SEED, dtype=np.float32, backend=backend)
        batch, shape = 100, (1, 28, 28)
    else:
        raise ValueError(f"unknown case {case!r}")
    # torch_compatible: the very update rule torch.optim.Adam applies, so both do the same work.
    return Case(net, Adam(0.001, torch_compatible=True), batch, shape, lambda: NaiveAdam(0.001))


def _torch():
    import torch

    return torch


def matmul_flops(net, batch: int) -> tuple[int, int]:
    """``(forward, step)`` matmul FLOPs of ``net`` on a batch, by :data:`FLOP_FORMULA`.

    Convolutions need ``out_hw`` from a forward pass (see :func:`_flops_of`).
    """
    forward = step = 0
    for layer in net.layers.values():
        kind = type(layer).__name__
        if kind == "Affine":
            rows, (fan_in, fan_out) = batch, layer.params["W"].shape
        elif kind == "Convolution":
            filters, channels, filter_h, filter_w = layer.params["W"].shape
            out_h, out_w = layer.out_hw
            rows, fan_in, fan_out = batch * out_h * out_w, channels * filter_h * filter_w, filters
        else:
            continue
        flops = 2 * rows * fan_in * fan_out
        step += flops * (2 if forward == 0 else 3)
        forward += flops
    return forward, step


Product = tuple[tuple[int, int], tuple[int, int], bool, bool]  # (a shape, b shape, a transposed, b transposed)


def step_products(layers: list[dict[str, Any]], batch: int, layout: str) -> list[Product] | None:
    """The matrix products of an MLP's training step as one framework lays them out (a list of
    ``a @ b``, shapes as stored), or None for a net with convolutions (PyTorch runs those as
    convolutions, not as these products). ``layers`` is :func:`torch_layers`' description.

    chainrule keeps ``W`` as (in, out): forward ``x @ W``, weight gradient ``x.T @ dout``, input
    gradient ``dout @ W.T``; PyTorch keeps it as (out, in): ``x @ W.T``, ``dout.T @ x``,
    ``dout @ W``. Both skip the first layer's input gradient, so the FLOPs are :func:`matmul_flops`'.
    """
    if any(spec["kind"] not in ("linear", "relu") for spec in layers):
        return None
    products: list[Product] = []
    for number, spec in enumerate(spec for spec in layers if spec["kind"] == "linear"):
        fan_in, fan_out = spec["in"], spec["out"]
        if layout == "chainrule":
            products += [((batch, fan_in), (fan_in, fan_out), False, False), ((batch, fan_in), (batch, fan_out), True, False)]
            products += [((batch, fan_out), (fan_in, fan_out), False, True)] if number else []
        else:
            products += [((batch, fan_in), (fan_out, fan_in), False, True), ((batch, fan_out), (batch, fan_in), True, False)]
            products += [((batch, fan_out), (fan_out, fan_in), False, False)] if number else []
    return products


def products_step(products: list[Product], array: Callable[[tuple[int, int]], Any],
                  matmul: Callable[[Any, Any], Any]) -> Callable[[], None]:
    """One step's worth of ``products``, on arrays made by ``array(shape)``, multiplied by ``matmul``."""
    pairs = []
    for a_shape, b_shape, a_transposed, b_transposed in products:
        a, b = array(a_shape), array(b_shape)
        pairs.append((a.T if a_transposed else a, b.T if b_transposed else b))

    def step() -> None:
        for a, b in pairs:
            matmul(a, b)

    return step


# -- measuring ----------------------------------------------------------------------------------


class Contender:
    """One thing to time: ``step()`` runs one unit of work."""

    def __init__(self, name: str, step: Callable[[], Any], flops: int = 0, samples: int = 0,
                 sync: Callable[[], Any] = lambda: None):
        self.name, self.step, self.flops, self.samples = name, step, flops, samples
        self.sync = sync  # waits for queued GPU work, so that a block's time includes all of it
        self.block = 1
        self.seconds: list[float] = []
        # Per step in each block, from getrusage: page faults (the allocator's cost, which other load
        # does not change) and system CPU seconds (the kernel's share: faults, munmap, spinning).
        self.faults: list[float] = []
        self.system_seconds: list[float] = []


def measure(contenders: list[Contender], reps: int, block_seconds: float) -> None:
    """Warm up, then time ``reps`` rounds; each round runs a block of steps of every contender.

    The order rotates from round to round so that no contender always follows the same one.
    Before a block, one untimed step. (Frameworks are never timed in one process: see steps_child.)
    """
    for contender in contenders:  # warm-up: caches, allocator, lazy state, thread pools
        started, count = time.perf_counter(), 0
        while count < 3 or time.perf_counter() - started < 0.2:
            contender.step()
            count += 1
        contender.sync()
        per_step = (time.perf_counter() - started) / count
        contender.block = max(2, round(block_seconds / per_step))
    for rep in range(reps):
        shift = rep % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            contender.step()
            contender.sync()
            usage, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            for _ in range(contender.block):
                contender.step()
            contender.sync()
            contender.seconds.append((time.perf_counter() - started) / contender.block)
            after = resource.getrusage(resource.RUSAGE_SELF)
            contender.faults.append((after.ru_minflt + after.ru_majflt - usage.ru_minflt - usage.ru_majflt)
                                    / contender.block)
            contender.system_seconds.append((after.ru_stime - usage.ru_stime) / contender.block)


def summary(contender: Contender) -> dict[str, Any]:
    seconds = sorted(contender.seconds)
    median = statistics.median(seconds)
    quartiles = statistics.quantiles(seconds, n=4) if len(seconds) > 1 else [median, median, median]
    result = {"median_s": median, "q1_s": quartiles[0], "q3_s": quartiles[2], "block": contender.block,
              "reps": len(seconds), "all_s": contender.seconds}
    if contender.faults:
        result["faults_per_step"] = statistics.median(contender.faults)
        result["system_s_per_step"] = statistics.median(contender.system_seconds)
    if contender.flops:
        result["gflops"] = contender.flops / median / 1e9
    if contender.samples:
        result["samples_per_s"] = contender.samples / median
    return result


# The GEMM peak: a large square product, and the large MLP's own products (forward x@W, backward
# dout@W.T, x.T@dout), each in NumPy's float32 matmul with the threads the steps get.
GEMM_SIZES = ((2048, 2048, 2048), (256, 784, 1024), (256, 1024, 1024), (784, 256, 1024), (1024, 256, 1024))


def gemm_child(args: argparse.Namespace) -> dict[str, Any]:
    """Time float32 matrix products through NumPy (in a process of their own, like every step)."""
    import numpy as np

    _set_threads(args.threads)
    rng = np.random.default_rng(SEED)
    contenders = []
    for m, k, n in GEMM_SIZES:
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        out = np.empty((m, n), dtype=np.float32)
        contenders.append(Contender(f"{m}x{k}x{n}", lambda a=a, b=b, out=out: np.matmul(a, b, out=out),
                                    flops=2 * m * k * n))
    measure(contenders, args.reps, args.block)
    results = {}
    for contender in contenders:
        results[contender.name] = summary(contender)
        results[contender.name]["best_gflops"] = contender.flops / min(contender.seconds) / 1e9
    return {"gemm": results, "torch_imported": "torch" in sys.modules}


def gemm_peak(gemm: dict[str, Any]) -> float | None:
    """The GEMM peak: the highest median GFLOP/s among the sizes timed (None if none was)."""
    rates = [result["gflops"] for result in gemm.get("gemm", {}).values()]
    return max(rates) if rates else None


def _set_threads(count: int) -> None:
    try:
        from chainrule.threads import set_threads
    except ImportError:  # an older chainrule, measured as a baseline: the environment variables only
        return
    set_threads(count)


def case_batches(case: Case) -> list[tuple[Any, Any]]:
    """The eight mini-batches every implementation of a case cycles through (NumPy, the net's dtype)."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    return [(rng.random((case.batch, *case.sample_shape), dtype=np.float32).astype(case.net.dtype, copy=False),
             rng.integers(0, 10, case.batch)) for _ in range(8)]


def torch_optimizer(case: str, parameters: list[Any], fused: bool = False):
    """The case's optimizer in PyTorch, as build_case's in chainrule (None: gradient only)."""
    import torch

    if case == GRADIENT_CASE:
        return None
    if case == "mlp-small":
        return torch.optim.SGD(parameters, lr=0.1)
    return torch.optim.Adam(parameters, lr=0.001, fused=True if fused else None)


def prepare_torch_case(case: str, folder: str) -> str | None:
    """Write what PyTorch's processes need into ``folder``: the layers, the initial weights, the
    batches and the FLOP counts. None, or why the case cannot run.

    A PyTorch process reads them instead of building chainrule's net: that would allocate and free
    large NumPy arrays, and glibc's first large free raises its mmap threshold, which a process
    running only PyTorch never gets (--malloc default is meant to show that process).
    """
    import numpy as np

    try:
        built = build_case(case)
    except ImportError as error:
        return f"not available in this chainrule ({error})"
    batches = case_batches(built)
    forward_flops, step_flops = _flops_of(built.net, built.batch, built.sample_shape)
    layers, weights = torch_layers(built.net)
    os.makedirs(folder, exist_ok=True)
    for key, value in weights.items():
        np.save(os.path.join(folder, f"weight {key}.npy"), value)
    for number, (x, t) in enumerate(batches):
        np.save(os.path.join(folder, f"x {number}.npy"), x)
        np.save(os.path.join(folder, f"t {number}.npy"), t)
    with open(os.path.join(folder, "case.json"), "w") as out:
        json.dump({"layers": layers, "weights": sorted(weights), "batches": len(batches), "batch": built.batch,
                   "forward_flops": forward_flops, "step_flops": step_flops}, out)
    return None


def torch_child(case: str, implementation: str, args: argparse.Namespace) -> dict[str, Any]:
    """Time PyTorch (``pytorch`` or ``pytorch-fused``) on a case that :func:`prepare_torch_case`
    wrote, alone in this process: no chainrule, no NumPy arithmetic."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    folder = os.path.join(args.case_dir, case)
    with open(os.path.join(folder, "case.json")) as source:
        spec = json.load(source)
    # Every array read stays alive until the process ends: freeing one would raise glibc's mmap
    # threshold as NumPy does (see MALLOC_HIGH), which a PyTorch-only process would not have.
    loaded = {name: np.load(os.path.join(folder, name + ".npy"))
              for name in [f"weight {key}" for key in spec["weights"]]
              + [f"{kind} {number}" for number in range(spec["batches"]) for kind in "xt"]}
    gpu = args.backend == "cupy"
    device = "cuda" if gpu else "cpu"
    model = torch_model(spec["layers"], {key: loaded[f"weight {key}"] for key in spec["weights"]}).to(device)
    parameters = list(model.parameters())
    optimizer = torch_optimizer(case, parameters, fused=implementation == "pytorch-fused")
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = [(torch.from_numpy(loaded[f"x {n}"]).to(device), torch.from_numpy(loaded[f"t {n}"]).to(device))
               for n in range(spec["batches"])]

    def step(data=itertools.cycle(batches)):
        x, t = next(data)
        if optimizer is None:  # forward + backward only, as net.gradient does
            for parameter in parameters:
                parameter.grad = None
        else:
            optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), t)
        loss.backward()
        if optimizer is not None:
            optimizer.step()
        return loss.detach()

    products = None if gpu else step_products(spec["layers"], spec["batch"], "pytorch")
    if products:
        dtype = parameters[0].dtype
        products = products_step(products, lambda shape: torch.rand(shape, dtype=dtype), torch.mm)
    return time_steps(case, implementation, step, spec, args, torch.cuda.synchronize if gpu else lambda: None,
                      products)


def steps_child(case: str, implementation: str, args: argparse.Namespace) -> dict[str, Any]:
    """Time chainrule or the naive net on one case, alone in this process.

    Users never run chainrule and PyTorch in one process; sharing one lets PyTorch's spinning
    OpenMP workers starve OpenBLAS's threads (a batch-32 step read 1.2 ms or 8.3 ms by turns).
    These processes never import torch (``torch_imported`` says so).
    """
    import numpy as np

    if implementation.startswith("pytorch"):
        return torch_child(case, implementation, args)
    _set_threads(args.threads)
    gpu = args.backend == "cupy" and implementation == "chainrule"
    try:
        built = build_case(case, args.backend if gpu else "numpy")
    except ImportError as error:
        return {"skipped": f"not available in this chainrule ({error})"}
    net, optimizer = built.net, built.optimizer
    gradient_only = case == GRADIENT_CASE
    host_batches = case_batches(built)
    forward_flops, step_flops = _flops_of(net, built.batch, built.sample_shape)
    spec = {"batch": built.batch, "forward_flops": forward_flops, "step_flops": step_flops}
    sync: Callable[[], Any] = lambda: None
    if implementation == "chainrule":
        batches = host_batches
        if gpu:
            import cupy

            batches = [(cupy.asarray(x), cupy.asarray(t)) for x, t in host_batches]
            sync = cupy.cuda.Device().synchronize

        load_aware = _load_aware(args.threads) if args.load_aware else None

        def step(data=itertools.cycle(batches)):
            if load_aware is not None:  # as chainrule.train(threads="auto")'s trainers do
                load_aware.tick()
            x, t = next(data)
            grads = net.gradient(x, t)
            if not gradient_only:
                optimizer.update(net.params, grads)
            return net.last_loss

        products = None if gpu or args.no_products else step_products(torch_layers(net)[0], built.batch, "chainrule")
        if products:
            rng = np.random.default_rng(SEED)
            return time_steps(case, implementation, step, spec, args, sync,
                              products_step(products, lambda shape: rng.random(shape).astype(net.dtype), np.matmul))
    elif implementation == "naive-f64":
        naive, naive_optimizer = naive_twin(net), built.naive_optimizer()

        def step(data=itertools.cycle([(x.astype(np.float64), t) for x, t in host_batches])):
            x, t = next(data)
            naive_optimizer.update(naive.params, naive.gradient(x, t))
            return naive.loss_value
    else:
        raise ValueError(f"unknown implementation {implementation!r}")
    return time_steps(case, implementation, step, spec, args, sync)


def _load_aware(most: int) -> Any:
    """chainrule's load-aware thread policy (``chainrule.train(threads="auto")``), if it has one."""
    try:
        from chainrule.threads import LoadAwareThreads
    except ImportError:  # an older chainrule, measured as a baseline: fixed threads
        return None
    return LoadAwareThreads(most=most)


def time_steps(case: str, implementation: str, step: Callable[[], Any], spec: dict[str, Any],
               args: argparse.Namespace, sync: Callable[[], Any],
               products: Callable[[], None] | None = None) -> dict[str, Any]:
    """A child's measurement: the losses of the first three steps (the parent compares them across
    processes, or the timings would compare different work), then the timed blocks; with
    ``products`` (the step's matrix products alone), blocks of those by turns with the steps."""
    losses = [float(step()) for _ in range(3)]
    contender = Contender(implementation, step, spec["step_flops"], spec["batch"], sync)
    alone = [Contender("products", products, spec["step_flops"])] if products else []
    measure([contender, *alone], args.reps, args.block)
    measured = {"case": case, "implementation": implementation, "batch": spec["batch"],
                "forward_flops": spec["forward_flops"], "step_flops": spec["step_flops"], "losses_first_3_steps": losses,
                "result": summary(contender), "torch_imported": "torch" in sys.modules, "backend": args.backend}
    if alone:
        measured["result"]["products_s"] = summary(alone[0])["median_s"]
    return measured


def spin_child(kind: str) -> None:
    """A CPU-bound competitor on one core, until killed: pure Python, or one-thread NumPy products."""
    if kind == "numpy":
        import numpy as np

        a = np.random.default_rng(SEED).random((512, 512))
        while True:
            a @ a
    count = 0
    while True:
        count += 1


def _flops_of(net, batch: int, sample_shape: tuple[int, ...]) -> tuple[int, int]:
    """Run one forward pass (to learn the convolution output sizes), then count."""
    import numpy as np

    from chainrule.backend import array_module

    xp = array_module(*net.params.values())
    net.predict(xp.zeros((batch, *sample_shape), dtype=net.dtype))
    return matmul_flops(net, batch)


# -- a whole MNIST epoch --------------------------------------------------------------------------


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _page_faults() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt + usage.ru_majflt


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def epoch_child(framework: str, case: str, args: argparse.Namespace) -> dict[str, Any]:
    """One epoch of MNIST (train, then evaluate the test set) with ``case``'s model and optimizer."""
    import numpy as np

    from chainrule.data import load_mnist

    net, optimizer, batch, _, _ = build_case(case)
    model_bytes = sum(int(net.params[key].nbytes) for key in net.params)
    if framework == "pytorch":
        torch = _torch()
        torch.set_num_threads(args.threads)
        model = torch_twin(net)
        optimizer_torch = torch_optimizer(case, list(model.parameters()))
        del net
    rss_before_data = current_rss_bytes()
    (x, t), (x_test, t_test) = load_mnist()
    dataset_bytes = x.nbytes + t.nbytes + x_test.nbytes + t_test.nbytes
    faults_before = _page_faults()
    started = time.perf_counter()
    if framework == "chainrule":
        from chainrule.training import Trainer

        history = Trainer(net, optimizer, epochs=1, batch_size=batch, seed=SEED, verbose=0).fit(x, t, x_test, t_test)
        accuracy = history.last()["test_acc"]
    else:
        x_torch, t_torch = torch.from_numpy(x), torch.from_numpy(t)
        loss_fn = torch.nn.CrossEntropyLoss()
        order = torch.from_numpy(np.random.default_rng([SEED, 0]).permutation(len(x)))  # the Trainer's order
        model.train()
        for start in range(0, len(x), batch):
            index = order[start : start + batch]
            optimizer_torch.zero_grad(set_to_none=True)
            loss_fn(model(x_torch[index]), t_torch[index]).backward()
            optimizer_torch.step()
        model.eval()
        with torch.no_grad():
            hits = sum(int((model(torch.from_numpy(x_test[i : i + 1000])).argmax(1).numpy() == t_test[i : i + 1000]).sum())
                       for i in range(0, len(x_test), 1000))
        accuracy = hits / len(x_test)
    seconds = time.perf_counter() - started
    return {"framework": framework, "case": case, "seconds": seconds, "test_accuracy": accuracy,
            "page_faults": _page_faults() - faults_before,
            "peak_rss_bytes": peak_rss_bytes(), "rss_before_data_bytes": rss_before_data,
            "dataset_bytes": dataset_bytes, "model_bytes": model_bytes}


# -- the parent: run the children, print the table -------------------------------------------------


def child_env(args: argparse.Namespace) -> dict[str, str]:
    """The children's environment: thread counts set before NumPy loads, and the allocator setting."""
    env = dict(os.environ)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(args.threads)
    for variable in MALLOC_HIGH:
        env.pop(variable, None)
    if args.malloc == "high":
        env.update(MALLOC_HIGH)
    for variable in args.sleep_environment:
        env.pop(variable, None)  # spin: the libraries' own default, whatever this shell had set
    if args.blas_wait == "sleep":
        env.update(args.sleep_environment)
    return env


def run_child(kind: str, names: list[str], args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, *names, "--threads", str(args.threads),
               "--reps", str(args.reps), "--block", str(args.block), "--backend", args.backend]
    if args.case_dir:
        command += ["--case-dir", args.case_dir]
    if getattr(args, "load_aware", False):
        command += ["--load-aware"]
    if getattr(args, "no_products", False):
        command += ["--no-products"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def competitor(kind: str, env: dict[str, str]) -> Iterator[None]:
    """One other CPU-bound process (one thread), running from before the block until after it."""
    env = dict(env, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", "spin", kind], env=env,
                               stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)  # started and busy (the NumPy one has imported NumPy)
        yield
    finally:
        process.kill()
        process.wait()


def implementations(case: str, args: argparse.Namespace, with_torch: bool) -> list[str]:
    """What runs ``case``: chainrule, PyTorch (and fused Adam), the naive net; as ``--impls`` allows."""
    names = ["chainrule", "pytorch"]
    if case != GRADIENT_CASE:
        names += (["pytorch-fused"] if case in ADAM_CASES else []) + ["naive-f64"]
    if args.backend == "cupy":
        names = [name for name in names if name != "naive-f64"]
    if not with_torch:
        names = [name for name in names if not name.startswith("pytorch")]
    return [name for name in names if name in args.impls]


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One implementation measured in several processes: the first process's details, the median of
    the processes' medians (``median_s``) and their ``spread`` = max / min."""
    good = [run for run in runs if "result" in run]
    if not good:
        return {key: runs[0][key] for key in ("skipped", "error") if key in runs[0]} if runs else {"error": "no run"}
    medians = [run["result"]["median_s"] for run in good]
    merged = dict(good[0]["result"])
    median = statistics.median(medians)
    merged.update(median_s=median, spread=max(medians) / min(medians), process_medians_s=medians,
                  processes=len(good), failed_processes=len(runs) - len(good),
                  gflops=good[0]["step_flops"] / median / 1e9, samples_per_s=good[0]["batch"] / median,
                  losses_first_3_steps=good[0]["losses_first_3_steps"],
                  torch_imported=any(run.get("torch_imported") for run in good))
    for key in ("faults_per_step", "system_s_per_step", "products_s"):
        if all(key in run["result"] for run in good):
            merged[key] = statistics.median(run["result"][key] for run in good)
    return merged


def combine(processes: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A case's table entry from its processes, by implementation; failures kept under ``problems``."""
    data: dict[str, Any] = {"results": {}, "problems": {}}
    for name, runs in processes.items():
        merged = aggregate(runs)
        if "median_s" in merged:
            data["results"][name] = merged
        else:
            data["problems"][name] = merged
        for run in runs:
            if "result" in run:
                data.update({key: run[key] for key in ("batch", "forward_flops", "step_flops")})
                break
    if "chainrule" not in data["results"] and "chainrule" in data["problems"]:
        data.update(data["problems"]["chainrule"])  # skipped or error: the case is not measured
    return data


def measure_case(case: str, args: argparse.Namespace, env: dict[str, str], with_torch: bool) -> dict[str, Any]:
    """Each implementation in its own processes, taking turns (chainrule 1, pytorch 1, ...,
    chainrule 2, ...) so that a slow drift of the machine hits all alike."""
    names = implementations(case, args, with_torch)
    processes: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    if any(name.startswith("pytorch") for name in names):
        problem = prepare_torch_case(case, os.path.join(args.case_dir, case))
        if problem:
            for name in names:
                if name.startswith("pytorch"):
                    processes[name].append({"skipped": problem})
            names = [name for name in names if not name.startswith("pytorch")]
    for run in range(max(args.runs, args.spread_runs)):
        for name in names:
            if run < args.runs or name == "chainrule":
                processes[name].append(run_child("steps", [case, name], args, env))
    return combine(processes)


def measure_contention(case: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """chainrule's step alone and beside one CPU-bound process, each in its own process, by turns."""
    alone, contended = [], []
    # Only the step's slowdown is wanted here: no blocks of the products alone between its blocks.
    args = argparse.Namespace(**{**vars(args), "load_aware": not args.fixed_threads, "no_products": True})
    for _ in range(args.runs):
        alone.append(run_child("steps", [case, "chainrule"], args, env))
        with competitor(args.competitor, env):
            contended.append(run_child("steps", [case, "chainrule"], args, env))
    row = {"alone": aggregate(alone), "contended": aggregate(contended), "competitor": args.competitor,
           "fixed_threads": args.fixed_threads, "blas_wait": args.blas_wait}
    if "median_s" in row["alone"] and "median_s" in row["contended"]:
        row["slowdown"] = row["contended"]["median_s"] / row["alone"]["median_s"]
    return row


def cpu_busy_fraction(seconds: float, cpus: set[int]) -> float | None:
    """How busy ``cpus`` were over the next ``seconds``, from /proc/stat (0 idle .. 1 fully busy).

    The load average lags by minutes; two readings of the kernel's per-CPU counters do not.
    None where /proc/stat is missing (not Linux).
    """
    def read() -> dict[int, tuple[int, int]]:
        counters = {}
        with open("/proc/stat") as stat:
            for line in stat:
                name, *fields = line.split()
                if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                    values = [int(v) for v in fields]
                    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
                    counters[int(name[3:])] = (sum(values[:8]), idle)
        return counters

    try:
        before = read()
        time.sleep(seconds)
        after = read()
    except OSError:
        return None
    total = sum(after[c][0] - before[c][0] for c in after if c in before)
    idle = sum(after[c][1] - before[c][1] for c in after if c in before)
    return None if total <= 0 else 1 - idle / total


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.3f}"


def _usable_cpus() -> set[int]:
    """The CPUs this process may run on (``taskset`` narrows them), else all of them."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def print_gemm(gemm: dict[str, Any], threads: int) -> None:
    if "gemm" not in gemm:
        print(f"\nGEMM peak: {gemm.get('skipped') or 'failed: ' + gemm.get('error', '?')}")
        return
    print(f"\nGEMM (NumPy float32 matmul, {threads} threads, its own process), GFLOP/s median (best):  "
          + ",  ".join(f"{size} {r['gflops']:.1f} ({r['best_gflops']:.1f})" for size, r in gemm["gemm"].items()))
    print(f"GEMM peak = the highest median: {gemm_peak(gemm):.1f} GFLOP/s (`% peak` below is against it)")


def around_the_products(results: dict[str, Any], speed_up: float | None) -> dict[str, dict[str, float]]:
    """Per implementation with its products timed alone: the step's time in them, the time around
    them (the step less the products), and, given ``speed_up``, the step's time if the products
    ran that many times faster and the rest did not change (a faster CPU's GEMMs: a model, not a
    measurement; the rest would shrink too, so it favours whoever spends less time around them)."""
    split = {}
    for name, result in results.items():
        if "products_s" in result:
            products, around = result["products_s"], result["median_s"] - result["products_s"]
            split[name] = {"products_s": products, "around_s": around}
            if speed_up:
                split[name]["projected_s"] = products / speed_up + around
    return split


def print_around_the_products(split: dict[str, dict[str, float]], peak: float | None, projected_peak: float) -> None:
    if "chainrule" not in split:
        return
    print(f"{'':<12} the products alone / the rest of the step: " + ", ".join(
        f"{name} {_ms(times['products_s']).strip()} / {_ms(times['around_s']).strip()} ms" for name, times in split.items()))
    if peak and "projected_s" in split["chainrule"]:
        mine = split["chainrule"]["projected_s"]
        print(f"{'':<12} with products {projected_peak / peak:.1f}x faster ({projected_peak:g} GFLOP/s) and the rest "
              "unchanged: " + ", ".join(f"{name} / chainrule {times['projected_s'] / mine:.2f}x"
                                        for name, times in split.items() if name != "chainrule"))


def print_steps(report: dict[str, Any], peak: float | None, projected_peak: float = 0.0) -> None:
    print(f"\n{'case':<12} {'framework':<13} {'step ms':>9} {'(q1-q3)':>17} {'max/min':>7} {'samples/s':>10} "
          f"{'GFLOP/s':>8} {'% peak':>7} {'faults':>7}  chainrule speed-up")
    for case, data in report["steps"].items():
        if "skipped" in data or "error" in data:
            print(f"{case:<12} {data.get('skipped') or 'failed: ' + data['error']}")
            continue
        results = data["results"]
        mine = results["chainrule"]["median_s"]
        for name in IMPLEMENTATIONS:
            if name in data["problems"]:
                problem = data["problems"][name]
                print(f"{case:<12} {name:<13} {problem.get('skipped') or 'failed: ' + problem.get('error', '?')}")
            if name not in results:
                continue
            r = results[name]
            spread = f"({r['q1_s'] * 1e3:.3f}-{r['q3_s'] * 1e3:.3f})"
            share = f"{100 * r['gflops'] / peak:6.1f}%" if peak else "    n/a"
            ratio = "" if name == "chainrule" else f"{r['median_s'] / mine:5.2f}x  ({name} time / chainrule time)"
            faults = f"{r['faults_per_step']:7.0f}" if "faults_per_step" in r else f"{'-':>7}"
            print(f"{case:<12} {name:<13} {_ms(r['median_s'])} {spread:>17} {r['spread']:7.2f} "
                  f"{r['samples_per_s']:10.0f} {r['gflops']:8.1f} {share} {faults}  {ratio}")
        losses = {name: r["losses_first_3_steps"] for name, r in results.items()}
        differences = ", ".join(
            f"{name} {max(abs(a - b) / abs(b) for a, b in zip(losses[name], losses['chainrule'])):.0e}"
            for name in losses if name != "chainrule")
        print(f"{'':<12} same work? largest relative difference from chainrule's first 3 losses: {differences or '-'}")
        data["around_the_products"] = around_the_products(results, projected_peak / peak if peak and projected_peak else None)
        print_around_the_products(data["around_the_products"], peak, projected_peak)
        leaked = [name for name in ("chainrule", "naive-f64") if results.get(name, {}).get("torch_imported")]
        if leaked:
            print(f"{'':<12} WARNING: torch was imported in the {' and '.join(leaked)} process(es)")
    print("step ms: median over the processes' medians; (q1-q3): the blocks of the first process; "
          "max/min: slowest / fastest process median; faults: page faults per step (getrusage; the allocator's "
          "cost, unchanged by other load)")
    if GRADIENT_CASE in report["steps"]:
        print(f"{GRADIENT_CASE}: the large MLP in float64, chainrule's net.gradient(x, t) against PyTorch's "
              "forward + loss.backward() (no optimizer step)")


def print_contention(contention: dict[str, Any], threads: int) -> None:
    first = next(iter(contention.values()), {})
    kind = first.get("competitor", "?")
    policy = ("threads fixed" if first.get("fixed_threads") else
              "chainrule's --threads auto policy, LoadAwareThreads, ticked every step")
    policy += f", idle BLAS threads {'sleep' if first.get('blas_wait') == 'sleep' else 'spin'}"
    print(f"\ncontention: chainrule's step alone and beside one CPU-bound process ({kind}, one thread), "
          f"at most {threads} threads, {policy}")
    print(f"{'case':<12} {'alone ms':>9} {'contended':>9} {'slowdown':>9}  (goal <= {CONTENTION_GOAL:g}x)")
    for case, row in contention.items():
        if "slowdown" not in row:
            problem = row["alone"] if "median_s" not in row["alone"] else row["contended"]
            print(f"{case:<12} {problem.get('skipped') or 'failed: ' + problem.get('error', '?')}")
            continue
        print(f"{case:<12} {_ms(row['alone']['median_s'])} {_ms(row['contended']['median_s'])} "
              f"{row['slowdown']:8.2f}x")


def print_epochs(epochs: list[dict[str, Any]]) -> None:
    print(f"\n{'MNIST epoch':<22} {'seconds':>8} {'test acc':>9} {'peak RSS':>10} {'before data':>12} "
          f"{'budget':>10} {'faults':>8}  (budget = 2 x dataset float32 + model; faults: page faults while training)")
    for run in epochs:
        if "error" in run or "skipped" in run:
            print(f"{run.get('label', '?'):<22} {run.get('skipped') or 'failed: ' + run['error']}")
            continue
        budget = 2 * run["dataset_bytes"] + run["model_bytes"]
        print(f"{run['framework'] + ' ' + run['case']:<22} {run['seconds']:8.2f} {100 * run['test_accuracy']:8.2f}% "
              f"{run['peak_rss_bytes'] / 2**20:7.0f} MiB {run['rss_before_data_bytes'] / 2**20:8.0f} MiB "
              f"{budget / 2**20:6.0f} MiB {run.get('page_faults', 0):8d}")


# Issue 21's goals: PyTorch time / chainrule time at least this much, float32.
SPEED_GOALS = (("mlp-small", "pytorch", 1.5), ("mlp-large", "pytorch", 1.15), ("mlp-large", "pytorch-fused", 1.05),
               ("mlp-medium", "pytorch", 1.2), ("mlp-medium", "pytorch-fused", 1.0), ("cnn", "pytorch", 1.2),
               ("cnn", "pytorch-fused", 1.0))
GRADIENT_GOAL = 0.9  # chainrule's float64 net.gradient / PyTorch's forward+backward, at most
PEAK_GOAL = 0.75  # chainrule's GFLOP/s on the large MLP / the GEMM peak, at least
SPREAD_GOAL = 1.10  # chainrule's slowest / fastest process median, at most
CONTENTION_GOAL = 2.0  # chainrule's step beside one CPU-bound process / alone, at most
GPU_GOAL = 0.8  # with --backend cupy: PyTorch CUDA time / chainrule time on the large MLP, at least


def targets(report: dict[str, Any], peak: float | None) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met."""
    rows = []
    steps = report["steps"]

    def time_of(case: str, name: str) -> float | None:
        return steps.get(case, {}).get("results", {}).get(name, {}).get("median_s")

    def ratio(case: str, numerator: str, denominator: str) -> float | None:
        top, bottom = time_of(case, numerator), time_of(case, denominator)
        return None if top is None or bottom is None else top / bottom

    gpu = report.get("backend") == "cupy"
    for case, other, threshold in ([("mlp-large", "pytorch", GPU_GOAL)] if gpu else SPEED_GOALS):
        rows.append({"target": f"{case}: {other} time / chainrule time >= {threshold}",
                     "value": ratio(case, other, "chainrule"), "threshold": threshold})
    if not gpu:
        rows.append({"target": f"{GRADIENT_CASE}: chainrule net.gradient time / PyTorch forward+backward time "
                               f"<= {GRADIENT_GOAL}",
                     "value": ratio(GRADIENT_CASE, "chainrule", "pytorch"), "threshold": GRADIENT_GOAL,
                     "at_most": True})
        large = steps.get("mlp-large", {}).get("results", {}).get("chainrule")
        rows.append({"target": f"mlp-large: chainrule GFLOP/s >= {PEAK_GOAL:.0%} of the GEMM peak",
                     "value": large["gflops"] / peak if large and peak else None, "threshold": PEAK_GOAL})
    for case, data in steps.items():
        mine = data.get("results", {}).get("chainrule", {})
        if mine.get("processes", 0) > 1:
            rows.append({"target": f"{case}: chainrule max/min step time over {mine['processes']} processes "
                                   f"<= {SPREAD_GOAL}",
                         "value": mine["spread"], "threshold": SPREAD_GOAL, "at_most": True})
    for case, row in report.get("contention", {}).items():
        rows.append({"target": f"{case}: chainrule step beside one CPU-bound process / alone <= {CONTENTION_GOAL}",
                     "value": row.get("slowdown"), "threshold": CONTENTION_GOAL, "at_most": True})
    for row in rows:
        value, threshold = row["value"], row["threshold"]
        if value is None:
            row["met"] = None
        elif row.get("at_most"):
            row["met"] = value <= threshold
        else:
            row["met"] = value >= threshold
    return rows


def _comma_list(text: str, allowed: tuple[str, ...], option: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"{option}: unknown {', '.join(unknown)} (choose from {','.join(allowed)})")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    all_cases = CASES + (GRADIENT_CASE,)
    parser.add_argument("--json", help="also write every measurement here")
    parser.add_argument("--quick", action="store_true",
                        help="one process each, fewer and shorter blocks, only the small epoch (a smoke run)")
    parser.add_argument("--threads", type=int, default=0,
                        help="BLAS/OpenMP/numba/PyTorch threads (default: the CPUs this process may use)")
    parser.add_argument("--runs", type=int, default=0,
                        help="processes per implementation and case, taking turns (default 3, quick 1)")
    parser.add_argument("--spread-runs", type=int, default=0,
                        help="at least this many processes for chainrule alone (5: the issue's spread)")
    parser.add_argument("--malloc", choices=["high", "default"], default="high",
                        help="high (default): the children get a high glibc mmap/trim threshold; "
                             "default: glibc's own, to show the difference")
    parser.add_argument("--blas-wait", choices=["spin", "sleep"], default="spin",
                        help="what idle BLAS threads do between products in every process: spin (the libraries' "
                             "default) or sleep at once (chainrule.threads.SLEEP_BETWEEN_PRODUCTS: the same numbers, "
                             "a wake-up per product; with --contention --fixed-threads it shows the wait policy)")
    parser.add_argument("--backend", choices=["numpy", "cupy"], default="numpy",
                        help="cupy: chainrule on CuPy against PyTorch on CUDA")
    parser.add_argument("--load-check", type=float, default=1.5,
                        help="seconds of /proc/stat watched for other load before starting (0: skip)")
    parser.add_argument("--cases", default=",".join(all_cases), help=f"comma-separated, from {','.join(all_cases)}")
    parser.add_argument("--impls", default=",".join(IMPLEMENTATIONS),
                        help=f"implementations to run, from {','.join(IMPLEMENTATIONS)} (chainrule always runs)")
    parser.add_argument("--contention", nargs="?", const=",".join(CASES), default="",
                        help="also time chainrule's step beside one CPU-bound process "
                             f"(cases: default {','.join(CASES)})")
    parser.add_argument("--competitor", choices=["python", "numpy"], default="python",
                        help="the CPU-bound process for --contention: a pure-Python loop or one-thread NumPy products")
    parser.add_argument("--no-gemm", action="store_true", help="skip the GEMM peak")
    parser.add_argument("--project-peak", type=float, default=340.0, metavar="GFLOPS",
                        help="for the MLPs, also print each step's time if its products ran at this GEMM peak and "
                             "the rest did not change (default 340: a CPU with 2.5-3x this one's peak; 0: don't)")
    parser.add_argument("--epochs", default=None, help=f"models for the MNIST epoch runs (default: {','.join(EPOCH_MODELS)})")
    parser.add_argument("--no-epoch", action="store_true", help="skip the MNIST epoch runs")
    parser.add_argument("--reps", type=int, default=0, help="timed blocks per process (default 15, quick 5)")
    parser.add_argument("--block", type=float, default=0.0, help="seconds per timed block (default 0.1, quick 0.04)")
    parser.add_argument("--fixed-threads", action="store_true",
                        help="--contention with --threads fixed, instead of chainrule train --threads auto (LoadAwareThreads: "
                             "as many threads as the other processes leave cores free, looked at every step)")
    parser.add_argument("--load-aware", action="store_true", help=argparse.SUPPRESS)  # a chainrule child ticks it
    parser.add_argument("--no-products", action="store_true", help=argparse.SUPPRESS)  # a child times its steps only
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--case-dir", default="", help=argparse.SUPPRESS)  # where PyTorch's cases are written
    args = parser.parse_args(argv)
    try:
        args.cases = _comma_list(args.cases, all_cases, "--cases")
        args.impls = sorted(set(_comma_list(args.impls, IMPLEMENTATIONS, "--impls")) | {"chainrule"},
                            key=IMPLEMENTATIONS.index)
        args.contention = _comma_list(args.contention, CASES, "--contention")
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    if args.threads < 0 or args.runs < 0 or args.spread_runs < 0 or args.reps < 0 or args.block < 0:
        parser.error("--threads, --runs, --spread-runs, --reps and --block must not be negative")
    if not 0 <= args.project_peak < float("inf"):
        parser.error(f"--project-peak must be a GEMM peak in GFLOP/s >= 0, got {args.project_peak:g}")
    args.threads = args.threads or len(_usable_cpus())
    try:
        from chainrule.threads import SLEEP_BETWEEN_PRODUCTS
    except ImportError:  # an older chainrule, measured as a baseline: the libraries' defaults only
        if args.blas_wait == "sleep":
            parser.error("--blas-wait sleep needs chainrule.threads.SLEEP_BETWEEN_PRODUCTS (this chainrule predates it)")
        SLEEP_BETWEEN_PRODUCTS = {}
    args.sleep_environment = dict(SLEEP_BETWEEN_PRODUCTS)
    args.runs = args.runs or (1 if args.quick else 3)
    args.reps = args.reps or (5 if args.quick else 15)
    args.block = args.block or (0.04 if args.quick else 0.1)
    return args


def child_main(args: argparse.Namespace) -> int:
    kind, *names = args.child
    if kind == "spin":
        spin_child(names[0])
    if kind == "steps":
        result = steps_child(names[0], names[1], args)
    elif kind == "gemm":
        result = gemm_child(args)
    else:
        result = epoch_child(names[0], names[1], args)
    print(json.dumps(result))
    return 0


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    if args.backend == "cupy" and importlib.util.find_spec("cupy") is None:
        print("steps.py: --backend cupy needs CuPy and a CUDA GPU (pip install cupy-cuda12x); CuPy is not installed",
              file=sys.stderr)
        return 1
    env = child_env(args)
    # The parent only starts processes: it never imports torch (nor times anything).
    torch_version = _version("torch") if importlib.util.find_spec("torch") else None
    epoch_models = args.epochs.split(",") if args.epochs else (["mlp-small"] if args.quick else list(EPOCH_MODELS))
    cpus = _usable_cpus()
    libc, libc_version = platform.libc_ver()
    print(f"chainrule training-step benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
          f"({len(cpus)} usable), {args.threads} threads (OPENBLAS/OMP/MKL_NUM_THREADS, set_threads, "
          f"torch.set_num_threads), backend {args.backend}, Python {platform.python_version()}, "
          f"NumPy {_version('numpy')}" + (f", PyTorch {torch_version}" if torch_version else f"; {TORCH_MISSING}"))
    malloc = " ".join(f"{k}={v}" for k, v in MALLOC_HIGH.items())
    print(f"allocator: {libc or 'not glibc'} {libc_version}, "
          + (f"{malloc} for every process (--malloc default: glibc's own)" if args.malloc == "high"
             else "glibc's defaults (--malloc default): large arrays are mmap'd and unmapped per step until "
                  "the first large free"))
    sleeping = " ".join(f"{k}={v}" for k, v in args.sleep_environment.items())
    print("idle BLAS threads: " + (f"sleep at once ({sleeping}, --blas-wait sleep)" if args.blas_wait == "sleep"
                                   else "spin, the libraries' default (--blas-wait sleep: they sleep at once)"))
    busy = cpu_busy_fraction(args.load_check, cpus) if args.load_check > 0 else None
    if busy is not None:
        print(f"other load before starting: {100 * busy:.0f}% of the {len(cpus)} usable CPUs busy over "
              f"{args.load_check:g} s (/proc/stat)")
        if busy > 0.1:
            print("WARNING: other work is running on these CPUs; it skews multi-threaded timings most "
                  "(rerun on a quiet machine, pin with taskset, or compare --threads 1)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    chainrule_runs = max(args.runs, args.spread_runs)
    print(f"each implementation in its own process, {args.runs} process(es) each"
          + (f" ({chainrule_runs} for chainrule)" if chainrule_runs > args.runs else "")
          + f", taking turns; per process the median of {args.reps} blocks of ~{args.block}s after warm-up; "
            "float32 unless named f64")
    print(FLOP_FORMULA)
    report: dict[str, Any] = {
        "load_average_before": load, "cpu_busy_before": busy, "backend": args.backend, "runs": args.runs,
        "spread_runs": args.spread_runs, "threads": args.threads, "reps": args.reps, "block_s": args.block,
        "malloc": MALLOC_HIGH if args.malloc == "high" else "glibc defaults", "libc": f"{libc} {libc_version}",
        "blas_wait": args.blas_wait,
        "flop_formula": FLOP_FORMULA, "numpy": _version("numpy"), "torch": torch_version, "steps": {}, "epochs": [],
    }
    peak = None
    if args.backend == "numpy" and not args.no_gemm:
        report["gemm"] = run_child("gemm", [], args, env)
        peak = report["gemm_peak_gflops"] = gemm_peak(report["gemm"])
        print_gemm(report["gemm"], args.threads)
    with tempfile.TemporaryDirectory(prefix="chainrule-steps-") as folder:
        args.case_dir = folder
        for case in args.cases:
            report["steps"][case] = measure_case(case, args, env, torch_version is not None)
    print_steps(report, peak, args.project_peak)
    if args.contention:
        report["contention"] = {case: measure_contention(case, args, env) for case in args.contention}
        print_contention(report["contention"], args.threads)
    if not args.no_epoch and args.backend == "numpy":
        data_dir = os.environ.get("CHAINRULE_DATA")
        for case in epoch_models:
            for framework in ("chainrule", "pytorch"):
                label = f"{framework} {case}"
                if framework == "pytorch" and not torch_version:
                    report["epochs"].append({"label": label, "skipped": TORCH_MISSING})
                    continue
                run = run_child("epoch", [framework, case], args, env)
                run["label"] = label
                if "error" in run and not data_dir:
                    run["error"] += " (is CHAINRULE_DATA set to a folder with MNIST?)"
                report["epochs"].append(run)
        print_epochs(report["epochs"])
    report["targets"] = targets(report, peak)
    print(f"\ntargets (issue 21), GEMM peak {'%.1f GFLOP/s' % peak if peak else 'not measured'}")
    for row in report["targets"]:
        mark = {True: "met   ", False: "MISSED", None: "n/a   "}[row["met"]]
        value = "not measured" if row["value"] is None else f"{row['value']:.2f}"
        print(f"  {mark} {row['target']}: {value}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
