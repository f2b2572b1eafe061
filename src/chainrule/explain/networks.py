"""Explaining a whole network from a file: an ONNX model or a run directory, on a batch shaped to its input.

    net = open_network(onnx="model.onnx")                 # or open_network(run="runs/mnist-mlp")
    x = mnist_shaped(x_flat, net.input_shape)              # real digits as the network takes them
    explain_network(net.net, x, t).save("model.html")

The network is run in eval mode, as ``chainrule evaluate`` and ONNX runtimes run it: batch
normalization uses its running statistics, dropout passes everything. Its layers are chainrule's
own, so the page's gradients are the network's own backward pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, RunDirError, ShapeError
from ..graph import network_graph
from ..nets import Sequential
from . import Explanation

MNIST_IMAGE = (1, 28, 28)


@dataclass
class FileNetwork:
    """A network read from a file, with what a batch for it must look like."""

    net: Sequential
    input_shape: tuple[int | None, ...]  # one sample's shape; None where the file leaves it open
    name: str  # the file's or the run's name, for the page's title
    dataset: str | None = None  # the data a run was trained on


def open_network(*, onnx: str | os.PathLike | None = None, run: str | os.PathLike | None = None,
                 checkpoint: str = "last") -> FileNetwork:
    """The network of an ONNX file (``onnx``) or of a run directory's ``last``/``best`` checkpoint (``run``)."""
    from ..interop import load_run_network, read_onnx  # the interop extra is needed only for this
    from ..interop.runs import run_input_shape

    if (onnx is None) == (run is None):
        raise ConfigError("open_network: give onnx=FILE or run=RUN_DIR, one of them")
    if onnx is not None:
        imported = read_onnx(onnx)
        return FileNetwork(imported.net, imported.input_shape, Path(onnx).name)
    if not Path(run).is_dir():
        what = "does not exist" if not Path(run).exists() else "is a file, not a folder"
        raise RunDirError(f"{run} {what}: RUN_DIR is a run directory written by `chainrule train` or `chainrule import`")
    net, config = load_run_network(run, checkpoint)
    return FileNetwork(net.eval(), run_input_shape(config), Path(run).name, config.get("dataset"))


def mnist_shaped(x: np.ndarray, input_shape: tuple[int | None, ...]) -> np.ndarray:
    """A batch of flat 28×28 images ``(N, 784)`` as a network with ``input_shape`` takes it: flat or ``(1, 28, 28)``."""
    shape = tuple(input_shape)
    if len(shape) == 1 and shape[0] in (None, x.shape[1]):
        return x
    if len(shape) == 3 and all(n in (None, m) for n, m in zip(shape, MNIST_IMAGE)) and x.shape[1] == 784:
        return x.reshape(len(x), *MNIST_IMAGE)
    raise ShapeError(f"the network takes samples of shape {_shape_text(shape)}; a {x.shape[1]}-pixel image fits a "
                     f"network taking ({x.shape[1]},) or {MNIST_IMAGE} (use a random batch for any other shape)")


def random_batch(net: Sequential, input_shape: tuple[int | None, ...], batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform features of ``input_shape`` and random labels below ``net``'s number of classes:
    a picture of shapes and of the flow of gradients, not of accuracy."""
    if any(n is None for n in input_shape):
        raise ShapeError(f"the network takes samples of shape {_shape_text(input_shape)}, whose open sizes a random "
                         "batch cannot guess; explain it on images instead")
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, *input_shape))
    return x, rng.integers(0, output_classes(net, x), size=batch_size)


def output_classes(net: Sequential, x: np.ndarray) -> int:
    """How many scores the network gives a sample (its number of classes), from one sample's forward pass."""
    scores = net.predict(net.xp.asarray(x[:1], dtype=net.dtype))
    return int(scores.shape[-1])


def explain_network(net: Sequential, x: Any, t: Any, *, title: str | None = None, language: str = "en",
                    serve_command: str = "") -> Explanation:
    """The explainer of ``net``'s layers on the batch ``x`` with labels ``t`` (run forward and backward)."""
    graph = network_graph(net, x, t)
    if title:
        graph.name = title
    return Explanation(graph, language=language, serve_command=serve_command)


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("?" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
