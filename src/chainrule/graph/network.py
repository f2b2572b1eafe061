"""A network's layer pipeline as a graph: tensor shapes forward, gradient norms backward.

The graph's nodes are the network's own layer objects, so running it is running the network:
after ``backward`` the layers hold the same parameter gradients ``net.gradient`` would give
(without the L2 penalty of ``weight_decay_lambda``, which is not a layer).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Array
from .core import Graph


def _edge_name(layer_name: str, layer: Any, affine_count: int, used: set[str]) -> str:
    """The book's names: ``a1`` for the first affine output, ``z1`` for its activation."""
    kind = type(layer).__name__
    name = f"a{affine_count}" if kind == "Affine" else f"z{affine_count}"
    if affine_count == 0 or name in used:
        name = f"{layer_name}_out"
    return name


def _sizes(net: Any) -> tuple[int, int]:
    """Features in and classes out, read from the first and last weight matrices."""
    weights = [net.params[key] for key in net.params if net.params[key].ndim == 2]
    if not weights:
        raise ValueError(f"{type(net).__name__} has no weight matrix; pass x and t to draw it")
    return int(weights[0].shape[0]), int(weights[-1].shape[1])


def network_graph(
    net: Any, x: Array | None = None, t: Array | None = None, *, batch_size: int = 100, seed: int = 0
) -> Graph:
    """The pipeline of a :class:`~chainrule.Sequential` (``TwoLayerNet`` ...), run forward and backward.

    Without data, a random batch of ``batch_size`` samples (uniform features, random labels)
    is used: the picture is about shapes and the flow of gradients, not about accuracy.
    """
    if x is None or t is None:
        rng = np.random.default_rng(seed)
        features, classes = _sizes(net)
        x = rng.random((batch_size, features)) if x is None else x
        t = rng.integers(0, classes, size=len(x)) if t is None else t
    x = net.xp.asarray(x) if net.dtype is None else net.xp.asarray(x, dtype=net.dtype)

    graph = Graph(type(net).__name__)
    graph.input("x", x)
    current, affine_count, used = "x", 0, {"x", "t", "loss"}
    param_labels = {id(net.params[key]): key for key in net.params}
    for layer_name, layer in net.layers.items():
        affine_count += type(layer).__name__ == "Affine"
        output = _edge_name(layer_name, layer, affine_count, used)
        used.add(output)
        graph.apply(layer, [current], output, name=layer_name)
        graph.nodes[layer_name].param_labels = {p: param_labels.get(id(a), p) for p, a in layer.params.items()}
        current = output
    graph.input("t", t)
    graph.apply(net.last_layer, [current, "t"], "loss", name="loss_layer")
    graph.forward()
    graph.backward()
    return graph
