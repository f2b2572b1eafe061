"""What a network's layer does, in one sentence for its forward step and one for its backward step.

The page shows each layer's arrays by shape, norm and heat map; these sentences say what the
layer computed from them and what its backward does with the upstream gradient, with the layer's
own numbers (filter sizes, stride, the share of ReLU's inputs that pass). The words are
``layer_<Class>`` and ``layer_<Class>_back`` records of :mod:`.words`; a layer without an entry
here (the shopping graph's × and +, whose products are written out with numbers) gets none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..graph.core import Graph, Node
from ..graph.text import shape_text
from .words import words

Record = dict[str, Any]


def _names(node: Node, graph: Graph) -> dict[str, str]:
    """The names a sentence writes: input, output, the differentiated value, and the net's parameter labels."""
    names = {"input": node.inputs[0], "output": node.output, "out": graph.differentiated or ""}
    names.update({key: node.param_labels.get(key, key) for key in getattr(node.layer, "params", {})})
    return names


def _share_positive(node: Node, graph: Graph) -> str:
    values = to_numpy(graph[node.inputs[0]].value)
    return f"{100 * float(np.mean(values > 0)):.0f}"


def _window(node: Node, graph: Graph) -> dict[str, Any]:
    layer = node.layer
    return {"ph": layer.pool_h, "pw": layer.pool_w, "stride": layer.stride, "pad": layer.pad,
            "size": layer.pool_h * layer.pool_w, "in_shape": shape_text(graph[node.inputs[0]].value),
            "out_shape": shape_text(graph[node.output].value)}


def _affine(node: Node, graph: Graph) -> dict[str, Any]:
    inputs, outputs = node.layer.params["W"].shape
    return {"inputs": inputs, "outputs": outputs}


def _convolution(node: Node, graph: Graph) -> dict[str, Any]:
    filters, channels, fh, fw = node.layer.params["W"].shape
    return {"filters": filters, "channels": channels, "fh": fh, "fw": fw, "stride": node.layer.stride,
            "pad": node.layer.pad, "in_shape": shape_text(graph[node.inputs[0]].value),
            "out_shape": shape_text(graph[node.output].value)}


def _flatten(node: Node, graph: Graph) -> dict[str, Any]:
    shape = graph[node.inputs[0]].value.shape
    return {"sample": str(tuple(int(n) for n in shape[1:])), "in_shape": str(tuple(int(n) for n in shape)),
            "out_shape": shape_text(graph[node.output].value)}


def _softmax(node: Node, graph: Graph) -> dict[str, Any]:
    scores = graph[node.inputs[0]].value
    return {"classes": scores.shape[-1], "batch": scores.shape[0]}


def _batchnorm(node: Node, graph: Graph) -> dict[str, Any]:
    return {"count": node.layer.params["gamma"].shape[0]}


def _dropout(node: Node, graph: Graph) -> dict[str, Any]:
    layer = node.layer
    kept = "" if layer.mask is None else f"{100 * float(np.mean(to_numpy(layer.mask))):.0f}"
    return {"ratio": f"{layer.dropout_ratio:g}", "keep": f"{1 - layer.dropout_ratio:g}", "kept": kept}


# class name -> the numbers its sentences use (besides the names of _names)
_VALUES: dict[str, Callable[[Node, Graph], dict[str, Any]]] = {
    "Affine": _affine,
    "Relu": lambda node, graph: {"share": _share_positive(node, graph)},
    "LeakyRelu": lambda node, graph: {"share": _share_positive(node, graph), "alpha": f"{node.layer.alpha:g}"},
    "Sigmoid": lambda node, graph: {},
    "Tanh": lambda node, graph: {},
    "Convolution": _convolution,
    "Pooling": _window,
    "AvgPooling": _window,
    "BatchNormalization": _batchnorm,
    "Dropout": _dropout,
    "Flatten": _flatten,
    "SoftmaxWithLoss": _softmax,
}


def _key(node: Node) -> str | None:
    """``layer_Dropout_eval``, ``layer_BatchNormalization_train``...: a layer whose sentence depends on its mode."""
    kind = type(node.layer).__name__
    if kind not in _VALUES:
        return None
    if kind == "BatchNormalization":
        return f"layer_{kind}_{'train' if node.layer.training else 'eval'}"
    if kind == "Dropout":
        mode = "train" if node.layer.training else "eval" if node.layer.inverted else "eval_book"
        return f"layer_{kind}_{mode}"
    return f"layer_{kind}"


def layer_words(node: Node, graph: Graph, *, backward: bool = False) -> Record | None:
    """The sentence for ``node``'s forward (or ``backward``) step, or None for a layer without one."""
    key = _key(node)
    if key is None:
        return None
    values = {**_names(node, graph), **_VALUES[type(node.layer).__name__](node, graph)}
    return words(f"{key}_back" if backward else key, **values)
