"""Export a chainrule network to ONNX: each layer becomes the operator that computes what it computes.

The graph is the network's inference pass (``predict``): input ``features`` ``(batch, D)`` or
``images`` ``(batch, C, H, W)`` with a dynamic batch dimension, output ``logits`` (the scores the
loss layer would take). Parameters are initializers under chainrule's own names (``W1``, ``b1``,
``gamma1``, ``running_mean1`` ...); nodes are named after the layers. Where the book's semantics
differ from the common ones, the graph computes the book's:

- ``Affine`` keeps ``W`` as ``(in, out)``: ``Gemm`` with ``transB=0`` (after a ``Flatten`` when its
  input is an image batch, as ``Affine`` flattens it);
- inverted ``Dropout`` is ONNX ``Dropout`` (the identity at inference); the book's dropout
  (``inverted=False``) scales at inference: ``Mul`` by ``1 - ratio``;
- chainrule's ``BatchNormalization`` is per channel: ONNX ``BatchNormalization`` with the running
  statistics and chainrule's ``eps``; the book's normalises each position of a 4-D input, so
  ``Reshape (N, -1)`` -> ``BatchNormalization`` -> ``Reshape`` back;
- max pooling pads with -inf and floors its output size: ``MaxPool`` with ``pads`` and
  ``ceil_mode=0``; average pooling counts the zero padding: ``count_include_pad=1``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import __version__
from ..backend import to_numpy
from ..errors import ConfigError
from ..layers import (
    Affine, AvgPooling, BatchNormalization, Convolution, Dropout, Flatten, LeakyRelu, Pooling, Relu, Sigmoid, Tanh,
)
from ..nets import Sequential
from .extra import require

DEFAULT_OPSET = 13
OUTPUT = "logits"
BATCH = "batch"
# The doc string of a book-dropout Mul: the importer turns such a Mul back into Dropout(inverted=False).
BOOK_DROPOUT_DOC = "chainrule: the book's dropout at inference, x * (1 - dropout_ratio)"
_ELEMENTWISE = {Relu: "Relu", Sigmoid: "Sigmoid", Tanh: "Tanh"}


def default_input_shape(net: Sequential) -> tuple[int | None, ...]:
    """One sample's shape as the first layer with weights says it: ``(D,)`` or ``(C, None, None)``."""
    for name, layer in net.layers.items():
        if isinstance(layer, Affine):
            return (int(layer.W.shape[0]),)
        if isinstance(layer, Convolution):
            return (int(layer.W.shape[1]), None, None)
        if isinstance(layer, BatchNormalization):
            return (int(layer.gamma.shape[0]),)
    raise ConfigError("to_onnx: the network has no layer with weights to tell its input's shape; pass input_shape")


def to_onnx(
    net: Sequential,
    path: str | os.PathLike | None = None,
    *,
    input_shape: tuple[int | None, ...] | None = None,
    opset: int = DEFAULT_OPSET,
    dtype: Any = None,
) -> Any:
    """The ONNX model (``onnx.ModelProto``) of ``net``'s inference pass; written to ``path`` if given.

    ``input_shape`` is one sample's shape, ``(D,)`` or ``(C, H, W)`` (``None`` for a dimension left
    dynamic); by default it is read from the first layer with weights, with image sizes dynamic.
    ``dtype`` (float32 or float64) defaults to the network's.
    """
    onnx = require("onnx", "exporting to ONNX")
    if not isinstance(net, Sequential):
        raise ConfigError(f"to_onnx: expected a chainrule network (Sequential), got {type(net).__name__}")
    latest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not DEFAULT_OPSET <= opset <= latest:
        raise ConfigError(f"to_onnx: opset must be an integer from {DEFAULT_OPSET} to {latest}, got {opset!r}")
    dtype = np.dtype(dtype or net.dtype or np.float32)
    if dtype not in (np.float32, np.float64):
        raise ConfigError(f"to_onnx: dtype must be float32 or float64, got {dtype}")
    shape = tuple(input_shape) if input_shape is not None else default_input_shape(net)
    if not shape or any(n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1)
                        for n in shape):
        raise ConfigError(f"to_onnx: input_shape must be one sample's shape of positive sizes, got {input_shape!r}")
    builder = _GraphBuilder(onnx, net, dtype, shape)
    for name, layer in net.layers.items():
        builder.add(name, layer)
    model = builder.model(opset)
    onnx.checker.check_model(model, full_check=True)  # a graph chainrule writes must pass, or it is our bug
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model


class _GraphBuilder:
    """Appends each layer's nodes to the graph, tracking the name and shape of the current tensor."""

    def __init__(self, onnx: Any, net: Sequential, dtype: np.dtype, input_shape: tuple[int | None, ...]) -> None:
        self.onnx, self.helper, self.dtype = onnx, onnx.helper, dtype
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(dtype)
        self.input_name = {1: "features", 3: "images"}.get(len(input_shape), "input")
        self.current, self.shape = self.input_name, list(input_shape)  # shape: one sample's, None if dynamic
        self.input_shape = list(input_shape)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.layer_names = list(net.layers)
        # The network's name of each parameter and buffer array ("W1", "running_mean2" ...).
        self.names = {id(net.params[key]): key for key in net.params}
        self.names.update({id(net.buffers[key]): key for key in net.buffers})

    # -- the graph's pieces -----------------------------------------------------------------

    def constant(self, name: str, value: Any, dtype: Any = None) -> str:
        array = np.asarray(value, dtype=dtype or self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def parameter(self, layer: Any, slot: str, key: str) -> str:
        array = getattr(layer, slot)[key]
        return self.constant(self.names[id(array)], to_numpy(array))

    def node(self, op: str, inputs: list[str], name: str, output: str, doc: str = "", **attributes: Any) -> None:
        node = self.helper.make_node(op, inputs, [output], name=name, **attributes)
        if doc:
            node.doc_string = doc
        self.nodes.append(node)
        self.current = output

    def output_of(self, layer_name: str, suffix: str = "") -> str:
        """The layer's last node writes ``logits`` when it is the network's last layer."""
        if not suffix and layer_name == self.layer_names[-1]:
            return OUTPUT
        return layer_name + suffix

    # -- one layer --------------------------------------------------------------------------

    def add(self, name: str, layer: Any) -> None:
        out = self.output_of(name)
        if isinstance(layer, Affine):
            if len(self.shape) != 1:
                self.node("Flatten", [self.current], f"{name}/flatten", f"{name}/flatten", axis=1)
            inputs = [self.current, self.parameter(layer, "params", "W"), self.parameter(layer, "params", "b")]
            self.node("Gemm", inputs, name, out, transA=0, transB=0)
            self.shape = [int(layer.W.shape[1])]
        elif isinstance(layer, Convolution):
            filters, _, height, width = (int(n) for n in layer.W.shape)
            inputs = [self.current, self.parameter(layer, "params", "W"), self.parameter(layer, "params", "b")]
            self.node("Conv", inputs, name, out, kernel_shape=[height, width], pads=[layer.pad] * 4,
                      strides=[layer.stride] * 2)
            self._spatial(filters, (height, width), layer.stride, layer.pad)
        elif isinstance(layer, Pooling):
            self.node("MaxPool", [self.current], name, out, kernel_shape=[layer.pool_h, layer.pool_w],
                      pads=[layer.pad] * 4, strides=[layer.stride] * 2, ceil_mode=0)
            self._spatial(self.shape[0], (layer.pool_h, layer.pool_w), layer.stride, layer.pad)
        elif isinstance(layer, AvgPooling):
            self.node("AveragePool", [self.current], name, out, kernel_shape=[layer.pool_h, layer.pool_w],
                      pads=[layer.pad] * 4, strides=[layer.stride] * 2, ceil_mode=0, count_include_pad=1)
            self._spatial(self.shape[0], (layer.pool_h, layer.pool_w), layer.stride, layer.pad)
        elif isinstance(layer, BatchNormalization):
            self._batch_norm(name, layer, out)
        elif isinstance(layer, Dropout):
            if layer.inverted:
                ratio = self.constant(f"{name}/ratio", layer.dropout_ratio)
                self.node("Dropout", [self.current, ratio], name, out)
            else:
                scale = self.constant(f"{name}/scale", 1.0 - layer.dropout_ratio)
                self.node("Mul", [self.current, scale], name, out, doc=BOOK_DROPOUT_DOC)
        elif isinstance(layer, LeakyRelu):
            self.node("LeakyRelu", [self.current], name, out, alpha=float(layer.alpha))
        elif isinstance(layer, Flatten):
            self.node("Flatten", [self.current], name, out, axis=1)
            self.shape = [_product(self.shape)]
        elif isinstance(layer, tuple(_ELEMENTWISE)):
            op = next(op for cls, op in _ELEMENTWISE.items() if isinstance(layer, cls))
            self.node(op, [self.current], name, out)
        else:
            raise ConfigError(f"to_onnx: layer {name!r} ({type(layer).__name__}) has no ONNX mapping; supported: "
                              "Affine, Convolution, Pooling, AvgPooling, BatchNormalization, Dropout, Relu, LeakyRelu, "
                              "Sigmoid, Tanh, Flatten")

    def _batch_norm(self, name: str, layer: BatchNormalization, out: str) -> None:
        features = int(layer.gamma.shape[0])
        inputs = [self.parameter(layer, "params", "gamma"), self.parameter(layer, "params", "beta"),
                  self.parameter(layer, "buffers", "running_mean"), self.parameter(layer, "buffers", "running_var")]
        attributes = {"epsilon": float(layer.eps), "momentum": float(layer.momentum)}
        if len(self.shape) == 1 or self.shape[0] == features:  # per feature, or per channel of an image
            self.node("BatchNormalization", [self.current, *inputs], name, out, **attributes)
            return
        # The book's batch norm on images: every position (c, y, x) is a feature of its own.
        source = self.current
        flat_shape = self.constant(f"{name}/flat_shape", [0, -1], np.int64)
        self.node("Reshape", [source, flat_shape], f"{name}/flatten", f"{name}/flatten")
        self.node("Shape", [source], f"{name}/shape", f"{name}/shape")
        self.node("BatchNormalization", [f"{name}/flatten", *inputs], name, f"{name}/normalized", **attributes)
        self.node("Reshape", [f"{name}/normalized", f"{name}/shape"], f"{name}/unflatten", out)

    def _spatial(self, channels: int | None, window: tuple[int, int], stride: int, pad: int) -> None:
        if len(self.shape) != 3:
            raise ConfigError(f"to_onnx: a convolution or pooling needs images (C, H, W), got samples of shape {self.shape}")
        sizes = [None if n is None else (n + 2 * pad - w) // stride + 1 for n, w in zip(self.shape[1:], window)]
        self.shape = [channels, *sizes]

    # -- the model ------------------------------------------------------------------------

    def model(self, opset: int) -> Any:
        helper = self.helper
        if self.current == self.input_name:
            raise ConfigError("to_onnx: the network has no layers to export")
        def dims(shape: list[int | None], prefix: str) -> list[int | str]:
            """The batch and one sample's sizes; a size the network leaves open gets a name."""
            return [BATCH] + [n if n is not None else f"{prefix}_{i}" for i, n in enumerate(shape, 1)]

        graph = helper.make_graph(
            self.nodes, "chainrule",
            [helper.make_tensor_value_info(self.input_name, self.elem_type, dims(self.input_shape, self.input_name))],
            [helper.make_tensor_value_info(OUTPUT, self.elem_type, dims(self.shape, OUTPUT))],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="chainrule", producer_version=__version__)
        model.ir_version = min(model.ir_version, _IR_VERSION.get(opset, model.ir_version))
        return model


# The IR version each opset was released with, so that older runtimes accept the file.
_IR_VERSION = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}


def _product(shape: list[int | None]) -> int | None:
    total = 1
    for n in shape:
        if n is None:
            return None
        total *= n
    return total
