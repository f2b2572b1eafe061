"""Training-step speed: chainrule against PyTorch CPU and a naive float64 NumPy net, same run.

Usage:  python benchmarks/steps.py [--json out.json] [--quick] [--threads N] [--runs N] [--cases ...]
                                  [--no-epoch] [--backend numpy|cupy]

What is measured (see benchmarks/README.md for how to read it):

  steps   One training step = forward + backward + optimizer update on a mini-batch already in
          memory. Models: mlp-small (the textbook TwoLayerNet 784-50-10, batch 100, SGD lr 0.1),
          mlp-large (784-1024-1024-10, He init, batch 256, Adam lr 0.001), mlp-medium
          (784-512-256-10, He init, batch 32, Adam lr 0.001) and, when chainrule.nets.SimpleConvNet
          exists, cnn (SimpleConvNet, batch 100, Adam lr 0.001). Adam cases also run PyTorch's
          Adam(fused=True) ("pytorch-fused").
          Each is run by chainrule (float32), by PyTorch CPU (float32, the same initial weights
          and optimizer) and by a textbook-style float64 NumPy net written below (the naive
          baseline). After warm-up, the frameworks take turns in blocks of steps; the median
          over the blocks is reported. mlp-large also times float32 GEMMs of its own sizes in
          the same rotation: the best of them is the "GEMM peak".
  epoch   One MNIST epoch through chainrule's Trainer (and the same loop in PyTorch), in its own
          process, with its wall time and peak resident memory. Data from $CHAINRULE_DATA.

Threads: the parent sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS to --threads
(default: the CPUs this process may run on) for the child processes that measure, before NumPy
loads; the children call chainrule.threads.set_threads and
torch.set_num_threads with the same number. Before starting, the parent watches /proc/stat for
--load-check seconds and warns when other work keeps those CPUs busy.

--runs N measures every case in N separate processes: the table shows the median over the
processes' medians and the spread max/min of those medians (a process can land in a slower
state for its whole life, e.g. memory layout, so blocks within one process do not show it).

--backend cupy runs chainrule on CuPy and PyTorch on CUDA (no naive baseline, no GEMM peak). Switching from one library's thread
pool to the other's, the measurer first sleeps --settle seconds: idle OpenBLAS and OpenMP
workers spin for a while after each call, and on a small machine that spinning would be billed
to whoever runs next.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, NamedTuple

CASES = ("mlp-small", "mlp-large", "mlp-medium", "cnn")
ADAM_CASES = ("mlp-large", "mlp-medium", "cnn")
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


def torch_twin(net):
    """The same network in PyTorch (float32), with a copy of ``net``'s initial weights."""
    import numpy as np
    import torch

    modules: list[Any] = []
    for layer in _book_order(list(net.layers.values())):
        kind = type(layer).__name__
        if kind in ("Affine", "Convolution"):
            W, b = layer.params["W"], layer.params["b"]
            if kind == "Affine":
                if any(isinstance(m, torch.nn.Conv2d) for m in modules) and not any(
                    isinstance(m, torch.nn.Flatten) for m in modules
                ):
                    modules.append(torch.nn.Flatten())  # chainrule's Affine flattens (N, C, H, W) itself
                module, weight = torch.nn.Linear(*W.shape), W.T  # chainrule keeps (in, out), torch (out, in)
            else:
                module = torch.nn.Conv2d(W.shape[1], W.shape[0], W.shape[2:], stride=layer.stride, padding=layer.pad)
                weight = W
            with torch.no_grad():
                module.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
                module.bias.copy_(torch.from_numpy(np.asarray(b)))
            modules.append(module)
        elif kind == "Relu":
            modules.append(torch.nn.ReLU())
        elif kind == "Pooling":
            modules.append(torch.nn.MaxPool2d((layer.pool_h, layer.pool_w), layer.stride, layer.pad))
        else:
            raise ValueError(f"no PyTorch counterpart for {kind}")
    return torch.nn.Sequential(*modules)


# -- the models ---------------------------------------------------------------------------------


class Case(NamedTuple):
    """A model to time: chainrule's net and optimizer, and how to build the others' optimizers."""

    net: Any
    optimizer: Any
    batch: int
    sample_shape: tuple[int, ...]
    torch_optimizer: Callable[[Any], Any]  # from model.parameters()
    naive_optimizer: Callable[[], Any]


def build_case(case: str, backend: str = "numpy") -> Case:
    import numpy as np

    from chainrule.optimizers import SGD, Adam

    if case == "mlp-small":
        from chainrule.nets import TwoLayerNet

        net = TwoLayerNet(784, 50, 10, rng=SEED, dtype=np.float32, backend=backend)
        return Case(net, SGD(0.1), 100, (784,), lambda p: _torch().optim.SGD(p, lr=0.1), lambda: NaiveSGD(0.1))
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
    return Case(net, Adam(0.001, torch_compatible=True), batch, shape,
                lambda p, fused=False: _torch().optim.Adam(p, lr=0.001, fused=fused or None),
                lambda: NaiveAdam(0.001))


def _torch():
    import torch

    return torch


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


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


# -- measuring ----------------------------------------------------------------------------------


class Contender:
    """One thing to time: ``step()`` runs one unit of work; ``pool`` names its thread pool."""

    def __init__(self, name: str, step: Callable[[], Any], pool: str, flops: int = 0, samples: int = 0,
                 sync: Callable[[], Any] = lambda: None):
        self.name, self.step, self.pool, self.flops, self.samples = name, step, pool, flops, samples
        self.sync = sync  # waits for queued GPU work, so that a block's time includes all of it
        self.block = 1
        self.seconds: list[float] = []


def measure(contenders: list[Contender], reps: int, block_seconds: float, settle: float) -> None:
    """Warm up, then time ``reps`` rounds; each round runs a block of steps of every contender.

    The order rotates from round to round so that no contender always follows the same one.
    Before a block, one untimed step; before a change of thread pool, ``settle`` seconds of sleep.
    """
    for contender in contenders:  # warm-up: caches, allocator, lazy state, thread pools
        started, count = time.perf_counter(), 0
        while count < 3 or time.perf_counter() - started < 0.2:
            contender.step()
            count += 1
        contender.sync()
        per_step = (time.perf_counter() - started) / count
        contender.block = max(2, round(block_seconds / per_step))
    pool = None
    for rep in range(reps):
        shift = rep % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            if contender.pool != pool:
                time.sleep(settle)
                pool = contender.pool
            contender.step()
            contender.sync()
            started = time.perf_counter()
            for _ in range(contender.block):
                contender.step()
            contender.sync()
            contender.seconds.append((time.perf_counter() - started) / contender.block)


def summary(contender: Contender) -> dict[str, Any]:
    seconds = sorted(contender.seconds)
    median = statistics.median(seconds)
    quartiles = statistics.quantiles(seconds, n=4) if len(seconds) > 1 else [median, median, median]
    result = {"median_s": median, "q1_s": quartiles[0], "q3_s": quartiles[2], "block": contender.block,
              "reps": len(seconds), "all_s": contender.seconds}
    if contender.flops:
        result["gflops"] = contender.flops / median / 1e9
    if contender.samples:
        result["samples_per_s"] = contender.samples / median
    return result


def gemm_contenders(with_torch: bool) -> list[Contender]:
    """float32 matrix products of the large MLP's sizes, in NumPy (OpenBLAS) and PyTorch."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    contenders = []
    for m, k, n in ((256, 784, 1024), (256, 1024, 1024), (1024, 1024, 1024)):
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        out = np.empty((m, n), dtype=np.float32)
        flops = 2 * m * k * n
        contenders.append(Contender(f"gemm numpy {m}x{k}x{n}", lambda a=a, b=b, out=out: np.matmul(a, b, out=out),
                                    "numpy", flops))
        if with_torch:
            torch = _torch()
            ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out.copy())
            contenders.append(Contender(f"gemm torch {m}x{k}x{n}",
                                        lambda ta=ta, tb=tb, tout=tout: torch.mm(ta, tb, out=tout), "torch", flops))
    return contenders


def steps_child(case: str, args: argparse.Namespace) -> dict[str, Any]:
    """Measure one case (in a child process, so thread settings and memory are its own)."""
    import numpy as np

    try:
        from chainrule.threads import set_threads
    except ImportError:  # an older chainrule, measured as a baseline: the environment variables only
        pass
    else:
        set_threads(args.threads)
    gpu = args.backend == "cupy"
    try:
        net, optimizer, batch, sample_shape, make_torch_optimizer, make_naive_optimizer = build_case(case, args.backend)
    except ImportError as error:
        return {"skipped": f"not available in this chainrule ({error})"}
    rng = np.random.default_rng(SEED)
    host_batches = [(rng.random((batch, *sample_shape), dtype=np.float32), rng.integers(0, 10, batch))
                    for _ in range(8)]
    forward_flops, step_flops = _flops_of(net, batch, sample_shape)
    steps = {}  # name -> a function running one training step on the next batch, returning the loss
    syncs: dict[str, Callable[[], Any]] = {}
    if gpu:
        import cupy

        batches = [(cupy.asarray(x), cupy.asarray(t)) for x, t in host_batches]
        syncs["chainrule"] = cupy.cuda.Device().synchronize
    else:
        batches = host_batches

    def chainrule_step(data=itertools.cycle(batches)):
        x, t = next(data)
        optimizer.update(net.params, net.gradient(x, t))
        return net.last_loss

    steps["chainrule"] = chainrule_step
    # The others copy the initial weights now, while chainrule's are still untouched.
    host_net = net if not gpu else build_case(case)[0]  # the same seed: the same initial weights
    if not gpu:
        naive, naive_optimizer = naive_twin(host_net), make_naive_optimizer()

        def naive_step(data=itertools.cycle([(x.astype(np.float64), t) for x, t in host_batches])):
            x, t = next(data)
            naive_optimizer.update(naive.params, naive.gradient(x, t))
            return naive.loss_value

        steps["naive-f64"] = naive_step
    if torch_available():
        torch = _torch()
        torch.set_num_threads(args.threads)
        device = "cuda" if gpu else "cpu"
        loss_fn = torch.nn.CrossEntropyLoss()
        torch_batches = [(torch.from_numpy(x).to(device), torch.from_numpy(t).to(device)) for x, t in host_batches]
        variants = [("pytorch", False)] + ([("pytorch-fused", True)] if case in ADAM_CASES else [])
        for name, fused in variants:
            model = torch_twin(host_net).to(device)
            torch_optimizer = (make_torch_optimizer(model.parameters(), fused=True) if fused
                               else make_torch_optimizer(model.parameters()))

            def torch_step(data=itertools.cycle(torch_batches), model=model, torch_optimizer=torch_optimizer):
                x, t = next(data)
                torch_optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x), t)
                loss.backward()
                torch_optimizer.step()
                return loss

            steps[name] = torch_step
            if gpu:
                syncs[name] = torch.cuda.synchronize

    # The same three steps in each: their losses must agree, or the timings compare different work.
    agreement = {name: [float(step()) for _ in range(3)] for name, step in steps.items()}
    contenders = [Contender(name, step, "torch" if name.startswith("pytorch") else "numpy", step_flops, batch,
                            syncs.get(name, lambda: None))
                  for name, step in steps.items()]
    if case == "mlp-large" and not gpu:
        contenders += gemm_contenders("pytorch" in steps)
    measure(contenders, args.reps, args.block, args.settle)
    return {
        "case": case, "batch": batch, "forward_flops": forward_flops, "step_flops": step_flops,
        "losses_first_3_steps": agreement, "results": {c.name: summary(c) for c in contenders},
        "torch": "pytorch" in steps, "backend": args.backend,
    }


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


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def epoch_child(framework: str, case: str, args: argparse.Namespace) -> dict[str, Any]:
    """One epoch of MNIST (train, then evaluate the test set) with ``case``'s model and optimizer."""
    import numpy as np

    from chainrule.data import load_mnist

    net, optimizer, batch, _, make_torch_optimizer, _ = build_case(case)
    model_bytes = sum(int(net.params[key].nbytes) for key in net.params)
    if framework == "pytorch":
        torch = _torch()
        torch.set_num_threads(args.threads)
        model = torch_twin(net)
        torch_optimizer = make_torch_optimizer(model.parameters())
        del net
    rss_before_data = current_rss_bytes()
    (x, t), (x_test, t_test) = load_mnist()
    dataset_bytes = x.nbytes + t.nbytes + x_test.nbytes + t_test.nbytes
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
            torch_optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x_torch[index]), t_torch[index]).backward()
            torch_optimizer.step()
        model.eval()
        with torch.no_grad():
            hits = sum(int((model(torch.from_numpy(x_test[i : i + 1000])).argmax(1).numpy() == t_test[i : i + 1000]).sum())
                       for i in range(0, len(x_test), 1000))
        accuracy = hits / len(x_test)
    seconds = time.perf_counter() - started
    return {"framework": framework, "case": case, "seconds": seconds, "test_accuracy": accuracy,
            "peak_rss_bytes": peak_rss_bytes(), "rss_before_data_bytes": rss_before_data,
            "dataset_bytes": dataset_bytes, "model_bytes": model_bytes}


# -- the parent: run the children, print the table -------------------------------------------------


def run_child(kind: str, names: list[str], args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, *names, "--threads", str(args.threads),
               "--reps", str(args.reps), "--block", str(args.block), "--settle", str(args.settle),
               "--backend", args.backend]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


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


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One case measured in several processes: the first run's details, and per contender the
    median of the processes' medians (``median_s``) and their ``spread`` = max / min."""
    good = [run for run in runs if "results" in run]
    if len(good) <= 1:
        return good[0] if good else runs[0]
    merged = dict(good[0])
    merged["results"] = {}
    for name in good[0]["results"]:
        medians = [run["results"][name]["median_s"] for run in good if name in run["results"]]
        result = dict(good[0]["results"][name])
        result.update(median_s=statistics.median(medians), spread=max(medians) / min(medians),
                      process_medians_s=medians)
        if "gflops" in result:
            result["gflops"] = merged["step_flops"] / result["median_s"] / 1e9 if not name.startswith("gemm") \
                else max(run["results"][name]["gflops"] for run in good)
        if "samples_per_s" in result:
            result["samples_per_s"] = merged["batch"] / result["median_s"]
        merged["results"][name] = result
    merged["processes"] = len(good)
    return merged


def print_steps(report: dict[str, Any], peak: float | None) -> None:
    print(f"\n{'case':<10} {'framework':<13} {'step ms':>9} {'(q1-q3)':>17} {'max/min':>7} {'samples/s':>10} "
          f"{'GFLOP/s':>8} {'% peak':>7}  chainrule speed-up")
    for case, data in report["steps"].items():
        if "skipped" in data or "error" in data:
            print(f"{case:<10} {data.get('skipped') or 'failed: ' + data['error']}")
            continue
        results = data["results"]
        mine = results["chainrule"]["median_s"]
        for name in ("chainrule", "pytorch", "pytorch-fused", "naive-f64"):
            if name not in results:
                if name == "pytorch" or (name == "pytorch-fused" and case in ADAM_CASES and not data["torch"]):
                    print(f"{case:<10} {name:<13} {TORCH_MISSING}")
                continue
            r = results[name]
            spread = f"({r['q1_s'] * 1e3:.3f}-{r['q3_s'] * 1e3:.3f})"
            between = f"{r['spread']:7.2f}" if "spread" in r else f"{'-':>7}"
            share = f"{100 * r['gflops'] / peak:6.1f}%" if peak else "    n/a"
            ratio = "" if name == "chainrule" else f"{r['median_s'] / mine:5.2f}x  ({name} time / chainrule time)"
            print(f"{case:<10} {name:<13} {_ms(r['median_s'])} {spread:>17} {between} {r['samples_per_s']:10.0f} "
                  f"{r['gflops']:8.1f} {share}  {ratio}")
        losses = data["losses_first_3_steps"]
        differences = ", ".join(
            f"{name} {max(abs(a - b) / abs(b) for a, b in zip(losses[name], losses['chainrule'])):.0e}"
            for name in losses if name != "chainrule"
        )
        print(f"{'':<10} same work? largest relative difference from chainrule's first 3 losses: {differences}")
    if any("processes" in data for data in report["steps"].values()):
        print("step ms: median over the processes' medians; (q1-q3): the blocks of the first process; "
              "max/min: slowest / fastest process median")
    gemm = {k: v for d in report["steps"].values() for k, v in d.get("results", {}).items() if k.startswith("gemm")}
    if gemm:
        print("\nGEMM (float32, measured in the mlp-large rotation):  "
              + ",  ".join(f"{k[5:]} {v['gflops']:.1f}" for k, v in gemm.items()) + "  GFLOP/s")


def print_epochs(epochs: list[dict[str, Any]]) -> None:
    print(f"\n{'MNIST epoch':<22} {'seconds':>8} {'test acc':>9} {'peak RSS':>10} {'before data':>12} "
          f"{'budget':>10}  (budget = 2 x dataset float32 + model)")
    for run in epochs:
        if "error" in run or "skipped" in run:
            print(f"{run.get('label', '?'):<22} {run.get('skipped') or 'failed: ' + run['error']}")
            continue
        budget = 2 * run["dataset_bytes"] + run["model_bytes"]
        print(f"{run['framework'] + ' ' + run['case']:<22} {run['seconds']:8.2f} {100 * run['test_accuracy']:8.2f}% "
              f"{run['peak_rss_bytes'] / 2**20:7.0f} MiB {run['rss_before_data_bytes'] / 2**20:8.0f} MiB "
              f"{budget / 2**20:6.0f} MiB")


def targets(report: dict[str, Any], peak: float | None) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met."""
    rows = []
    steps = report["steps"]

    def ratio(case: str, other: str) -> float | None:
        results = steps.get(case, {}).get("results", {})
        if "chainrule" not in results or other not in results:
            return None
        return results[other]["median_s"] / results["chainrule"]["median_s"]

    gpu = report.get("backend") == "cupy"
    goals = ([("mlp-large", "pytorch", 0.8)] if gpu else
             [("mlp-small", "pytorch", 1.7), ("mlp-large", "pytorch", 1.15), ("mlp-large", "pytorch-fused", 1.0),
              ("mlp-medium", "pytorch", 1.0), ("mlp-medium", "pytorch-fused", 1.0), ("cnn", "pytorch", 1.2),
              ("cnn", "pytorch-fused", 1.0)])
    for case, other, threshold in goals:
        rows.append({"target": f"{case}: {other} time / chainrule time >= {threshold}", "value": ratio(case, other),
                     "threshold": threshold})
    if not gpu:
        rows.append({"target": "mlp-large: naive float64 time / chainrule time >= 2.0",
                     "value": ratio("mlp-large", "naive-f64"), "threshold": 2.0})
        large = steps.get("mlp-large", {}).get("results", {}).get("chainrule")
        rows.append({"target": "mlp-large: chainrule GFLOP/s >= 75% of the GEMM peak",
                     "value": large["gflops"] / peak if large and peak else None, "threshold": 0.75})
    for case, data in steps.items():
        mine = data.get("results", {}).get("chainrule", {})
        if "spread" in mine:
            rows.append({"target": f"{case}: chainrule max/min step time over {data['processes']} processes <= 1.15",
                         "value": mine["spread"], "threshold": 1.15, "at_most": True})
    for run in report.get("epochs", []):
        if run.get("framework") == "chainrule" and "peak_rss_bytes" in run:
            budget = 2 * run["dataset_bytes"] + run["model_bytes"]
            rows.append({"target": f"MNIST epoch {run['case']}: peak RSS / (2 x dataset float32 + model) <= 1.0",
                         "value": run["peak_rss_bytes"] / budget, "threshold": 1.0, "at_most": True})
    for row in rows:
        value, threshold = row["value"], row["threshold"]
        if value is None:
            row["met"] = None
        elif row.get("at_most"):
            row["met"] = value <= threshold
        else:
            row["met"] = value > threshold if row.get("strict") else value >= threshold
    return rows


def _usable_cpus() -> set[int]:
    """The CPUs this process may run on (``taskset`` narrows them), else all of them."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write every measurement here")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds and only the small epoch (a smoke run)")
    parser.add_argument("--threads", type=int, default=0,
                        help="BLAS/OpenMP/numba/PyTorch threads (default: the CPUs this process may use)")
    parser.add_argument("--runs", type=int, default=1, help="separate processes per case (default 1; 5 for the spread)")
    parser.add_argument("--backend", choices=["numpy", "cupy"], default="numpy",
                        help="cupy: chainrule on CuPy against PyTorch on CUDA")
    parser.add_argument("--load-check", type=float, default=1.5,
                        help="seconds of /proc/stat watched for other load before starting (0: skip)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {','.join(CASES)}")
    parser.add_argument("--epochs", default=None, help=f"models for the MNIST epoch runs (default: {','.join(EPOCH_MODELS)})")
    parser.add_argument("--no-epoch", action="store_true", help="skip the MNIST epoch runs")
    parser.add_argument("--reps", type=int, default=0, help="timed rounds per case (default 15, quick 5)")
    parser.add_argument("--block", type=float, default=0.0, help="seconds per timed block (default 0.1, quick 0.04)")
    parser.add_argument("--settle", type=float, default=0.25, help="sleep before switching thread pools (s)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.threads = args.threads or len(_usable_cpus())
    args.reps = args.reps or (5 if args.quick else 15)
    args.block = args.block or (0.04 if args.quick else 0.1)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        kind, *names = args.child
        if kind == "steps":
            result = steps_child(names[0], args)
        else:
            result = epoch_child(names[0], names[1], args)
        print(json.dumps(result))
        return 0

    env = dict(os.environ)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(args.threads)
    cases = [case for case in args.cases.split(",") if case]
    epoch_models = args.epochs.split(",") if args.epochs else (["mlp-small"] if args.quick else list(EPOCH_MODELS))
    import numpy as np  # only to report its version; measuring happens in the children

    cpus = _usable_cpus()
    print(f"chainrule training-step benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
          f"({len(cpus)} usable), {args.threads} threads (OPENBLAS/OMP/MKL_NUM_THREADS, set_threads, "
          f"torch.set_num_threads), backend {args.backend}, Python "
          f"{platform.python_version()}, NumPy {np.__version__}"
          + (f", PyTorch {_torch().__version__}" if torch_available() else f"; {TORCH_MISSING}"))
    busy = cpu_busy_fraction(args.load_check, cpus) if args.load_check > 0 else None
    if busy is not None:
        print(f"other load before starting: {100 * busy:.0f}% of the {len(cpus)} usable CPUs busy over "
              f"{args.load_check:g} s (/proc/stat)")
        if busy > 0.1:
            print("WARNING: other work is running on these CPUs; it skews multi-threaded timings most "
                  "(rerun on a quiet machine, pin with taskset, or compare --threads 1)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"median over {args.reps} interleaved blocks of ~{args.block}s after warm-up; float32 unless named f64")
    print(FLOP_FORMULA)
    report: dict[str, Any] = {
        "load_average_before": load, "cpu_busy_before": busy, "backend": args.backend, "runs": args.runs,
        "threads": args.threads, "reps": args.reps, "block_s": args.block,
        "settle_s": args.settle, "flop_formula": FLOP_FORMULA, "numpy": np.__version__, "steps": {}, "epochs": [],
    }
    for case in cases:
        report["steps"][case] = aggregate([run_child("steps", [case], args, env) for _ in range(args.runs)])
    peak = None
    gemm = [v["gflops"] for d in report["steps"].values() for k, v in d.get("results", {}).items() if k.startswith("gemm")]
    if gemm:
        peak = max(gemm)
        report["gemm_peak_gflops"] = peak
    print_steps(report, peak)
    if not args.no_epoch and args.backend == "numpy":
        data_dir = os.environ.get("CHAINRULE_DATA")
        for case in epoch_models:
            for framework in ("chainrule", "pytorch"):
                label = f"{framework} {case}"
                if framework == "pytorch" and not torch_available():
                    report["epochs"].append({"label": label, "skipped": TORCH_MISSING})
                    continue
                run = run_child("epoch", [framework, case], args, env)
                run["label"] = label
                if "error" in run and not data_dir:
                    run["error"] += " (is CHAINRULE_DATA set to a folder with MNIST?)"
                report["epochs"].append(run)
        print_epochs(report["epochs"])
    report["targets"] = targets(report, peak)
    print("\ntargets")
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
