"""Import an ONNX model as a chainrule network made of chainrule's own layers, so backward works.

The graph must be one chain from its input to its output, each node taking the previous node's
result and constants (initializers, ``Constant`` nodes). Supported: ``Gemm`` (the data as ``A``;
any ``transB``, ``alpha``, ``beta``), ``MatMul`` (+ ``Add`` of its bias), ``Conv`` (symmetric pads,
equal strides, ``group=1``), ``Relu``, ``LeakyRelu``, ``Sigmoid``, ``Tanh``, ``MaxPool``,
``AveragePool`` (floor mode), ``Flatten``, ``Reshape`` of a batch to ``(N, -1)``,
``BatchNormalization`` (inference), ``Dropout``, ``Identity``, the book-dropout ``Mul`` chainrule
exports, and ``Softmax``/``LogSoftmax`` at the end (dropped: chainrule's network returns the
scores its loss layer takes). Anything else is a one-line error naming the operator, the node and
the opset. The network comes back in eval mode, computing what the ONNX graph computes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ChainruleError
from ..layers import (
    Affine, AvgPooling, BatchNormalization, Convolution, Dropout, Flatten, Layer, LeakyRelu, Pooling, Relu, Sigmoid, Tanh,
)
from ..nets import Sequential
from .extra import require
from .onnx_export import BOOK_DROPOUT_DOC

SUPPORTED = ("Gemm, MatMul+Add, Conv, Relu, LeakyRelu, Sigmoid, Tanh, MaxPool, AveragePool, Flatten, Reshape to (N, -1), "
             "BatchNormalization, Dropout, Identity, Softmax/LogSoftmax at the end")
_ELEMENTWISE = {"Relu": Relu, "Sigmoid": Sigmoid, "Tanh": Tanh}
_DTYPES = {1: np.dtype(np.float32), 11: np.dtype(np.float64)}  # TensorProto.FLOAT, DOUBLE


class OnnxImportError(ChainruleError, ValueError):
    """An ONNX model chainrule cannot rebuild from its own layers (an operator, an attribute, a branch)."""


@dataclass
class ImportedModel:
    """What :func:`read_onnx` found: the network and what the graph said around it."""

    net: Sequential
    input_shape: tuple[int | None, ...]  # one sample's shape; None where the graph leaves it dynamic
    dtype: str
    opset: int
    final_activation: str | None  # "Softmax" or "LogSoftmax" when the graph ended with one (dropped)


def from_onnx(path: str | os.PathLike | Any) -> Sequential:
    """The chainrule network (eval mode) that computes what the ONNX model at ``path`` computes."""
    return read_onnx(path).net


def read_onnx(path: str | os.PathLike | Any) -> ImportedModel:
    """Read ``path`` (a file or an ``onnx.ModelProto``) into an :class:`ImportedModel`."""
    onnx = require("onnx", "importing ONNX models")
    where = "the ONNX model" if isinstance(path, onnx.ModelProto) else os.fspath(path)
    try:
        model = path if isinstance(path, onnx.ModelProto) else onnx.load(os.fspath(path))
        onnx.checker.check_model(model)
        inferred = onnx.shape_inference.infer_shapes(model)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise OnnxImportError(f"{where}: not a valid ONNX model ({str(error).strip().splitlines()[0]})") from None
    except Exception as error:  # protobuf's DecodeError: the file is not ONNX at all
        if isinstance(error, OSError):
            raise
        raise OnnxImportError(f"{where}: not an ONNX model ({type(error).__name__}: {error})") from None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    graph = model.graph
    constants = {tensor.name: onnx.numpy_helper.to_array(tensor) for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in constants]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise OnnxImportError(f"{where}: expected one input and one output, got inputs {[v.name for v in inputs]} "
                              f"and outputs {[v.name for v in graph.output]}")
    tensor_type = inputs[0].type.tensor_type
    if tensor_type.elem_type not in _DTYPES:
        raise OnnxImportError(f"{where}: input {inputs[0].name!r} has ONNX element type {tensor_type.elem_type}; "
                              "chainrule computes in float32 or float64")
    dtype = _DTYPES[tensor_type.elem_type]
    shapes = {value.name: _dims(value) for value in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
    builder = _Builder(onnx, where, opset, dtype, constants, shapes, inputs[0].name)
    for node in graph.node:
        builder.add(node)
    if builder.current != graph.output[0].name:
        raise OnnxImportError(f"{where}: the graph's output {graph.output[0].name!r} is not the end of the chain of "
                              f"nodes from its input (which ends at {builder.current!r})")
    if not builder.layers:
        raise OnnxImportError(f"{where}: the graph has no layers")
    net = Sequential(builder.layers).eval()
    input_shape = tuple(shapes.get(inputs[0].name) or ())[1:]
    return ImportedModel(net, input_shape, str(dtype), opset, builder.final_activation)


def _decimal(value: Any) -> Any:
    """A float attribute as the number its writer meant: ONNX stores ``1e-6`` as the float32
    9.99999997e-07, whose shortest decimal is ``1e-06`` again (so an export round trip is exact)."""
    return float(str(np.float32(value))) if isinstance(value, float) else value


def _dims(value: Any) -> list[int | None]:
    shape = value.type.tensor_type.shape
    return [dim.dim_value if dim.HasField("dim_value") else None for dim in shape.dim]


class _Builder:
    """Walks the nodes in order, turning each into a chainrule layer (or folding it away)."""

    def __init__(self, onnx: Any, where: str, opset: int, dtype: np.dtype, constants: dict[str, np.ndarray],
                 shapes: dict[str, list[int | None]], input_name: str) -> None:
        self.onnx, self.where, self.opset, self.dtype = onnx, where, opset, dtype
        self.constants, self.shapes = constants, shapes
        self.current = input_name
        self.layers: list[tuple[str, Layer]] = []
        self.final_activation: str | None = None
        self.open_matmul: Affine | None = None  # a MatMul's Affine whose bias an Add may still give

    # -- errors and attributes --------------------------------------------------------------

    def fail(self, node: Any, why: str) -> OnnxImportError:
        return OnnxImportError(f"{self.where}: {node.op_type} (node {node.name or '(unnamed)'!r}, opset {self.opset}): {why}")

    def unsupported(self, node: Any) -> OnnxImportError:
        return OnnxImportError(f"{self.where}: unsupported ONNX operator {node.op_type} (node {node.name or '(unnamed)'!r}, "
                               f"opset {self.opset}); chainrule imports {SUPPORTED}")

    def attributes(self, node: Any) -> dict[str, Any]:
        return {a.name: _decimal(self.onnx.helper.get_attribute_value(a)) for a in node.attribute}

    def constant(self, node: Any, name: str, what: str) -> np.ndarray:
        if name not in self.constants:
            raise self.fail(node, f"{what} must be a constant (an initializer), got the computed tensor {name!r}")
        return self.constants[name]

    def weights(self, array: np.ndarray) -> np.ndarray:
        return np.array(array, dtype=self.dtype)  # a copy, owned by the layer

    def unique_name(self, node: Any) -> str:
        taken = {name for name, _ in self.layers}
        base = node.name or f"{node.op_type}{len(self.layers) + 1}"
        name, number = base, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        return name

    # -- one node ---------------------------------------------------------------------------

    def add(self, node: Any) -> None:
        op = node.op_type
        if node.domain not in ("", "ai.onnx"):
            raise self.unsupported(node)
        if op == "Constant":
            (attribute,) = node.attribute
            self.constants[node.output[0]] = np.asarray(self.onnx.helper.get_attribute_value(attribute)
                                                        if attribute.name != "value" else
                                                        self.onnx.numpy_helper.to_array(attribute.t))
            return
        data = [name for name in node.input if name and name not in self.constants]
        if not data and op == "Identity":
            self.constants[node.output[0]] = self.constants[node.input[0]]
            return
        if self.final_activation is not None:
            raise self.fail(node, f"{self.final_activation} must be the last node; chainrule's network ends with "
                            "the scores its loss layer takes")
        if data != [self.current]:
            raise self.fail(node, f"takes {data or 'only constants'}, expected the result of the node before "
                            f"({self.current!r}): chainrule imports a chain of layers, not a branching graph")
        handler = getattr(self, f"_{op}", None)
        if handler is None:
            raise self.unsupported(node)
        layer = handler(node, self.attributes(node))
        if op != "Add":
            self.open_matmul = layer if op == "MatMul" else None
        if layer is not None and op != "Add":
            self.layers.append((self.unique_name(node), layer))
        self.current = node.output[0]

    # -- the operators ----------------------------------------------------------------------

    def _Gemm(self, node: Any, attrs: dict[str, Any]) -> Layer:
        if node.input[0] != self.current or attrs.get("transA", 0):
            raise self.fail(node, "the data must be input A, not transposed (transA=0): chainrule's batch is axis 0")
        B = self.constant(node, node.input[1], "B (the weights)")
        W = B.T if attrs.get("transB", 0) else B
        alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
        W = self.weights(W if alpha == 1.0 else alpha * W.astype(self.dtype))
        C = self.constant(node, node.input[2], "C (the bias)") if len(node.input) > 2 and node.input[2] else np.zeros(1)
        return Affine(W, self._bias(node, C if beta == 1.0 else beta * C.astype(self.dtype), W.shape[1]))

    def _bias(self, node: Any, C: np.ndarray, size: int) -> np.ndarray:
        if C.size not in (1, size) or (C.ndim == 2 and C.shape[0] != 1) or C.ndim > 2:
            raise self.fail(node, f"the bias must broadcast as one row of {size}, got shape {C.shape}")
        return self.weights(np.broadcast_to(C.reshape(-1), (size,)))

    def _MatMul(self, node: Any, attrs: dict[str, Any]) -> Layer:
        if node.input[0] != self.current:
            raise self.fail(node, "the data must be the first input (x @ W): chainrule's batch is axis 0")
        W = self.constant(node, node.input[1], "the second input (the weights)")
        if W.ndim != 2:
            raise self.fail(node, f"the weights must be a matrix, got shape {W.shape}")
        return Affine(self.weights(W), np.zeros(W.shape[1], dtype=self.dtype))

    def _Add(self, node: Any, attrs: dict[str, Any]) -> None:
        affine, self.open_matmul = self.open_matmul, None
        if affine is None:
            raise self.fail(node, "only the bias of a MatMul (MatMul then Add) is supported")
        other = next(name for name in node.input if name != self.current)
        bias = self._bias(node, self.constant(node, other, "the bias"), affine.W.shape[1])
        affine.b[...] = bias
        return None

    def _Conv(self, node: Any, attrs: dict[str, Any]) -> Layer:
        W = self.constant(node, node.input[1], "W (the filters)")
        if W.ndim != 4:
            raise self.fail(node, f"only 2-D convolutions (filters of shape (FN, C, FH, FW)), got W of shape {W.shape}")
        if attrs.get("group", 1) != 1:
            raise self.fail(node, f"only group=1 is supported, got group={attrs['group']}")
        if any(d != 1 for d in attrs.get("dilations", [1, 1])):
            raise self.fail(node, f"only dilations 1 are supported, got {attrs['dilations']}")
        stride, pad = self._window(node, attrs)
        b = self.constant(node, node.input[2], "B (the bias)") if len(node.input) > 2 and node.input[2] else np.zeros(W.shape[0])
        return Convolution(self.weights(W), self.weights(b), stride=stride, pad=pad)

    def _window(self, node: Any, attrs: dict[str, Any]) -> tuple[int, int]:
        """One stride and one padding for both axes and all four sides, as chainrule's layers take."""
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad not in ("NOTSET", "VALID"):
            raise self.fail(node, f"auto_pad={auto_pad} is not supported; export with explicit pads")
        strides, pads = list(attrs.get("strides", [1, 1])), list(attrs.get("pads", [0, 0, 0, 0]))
        if len(strides) != 2 or strides[0] != strides[1]:
            raise self.fail(node, f"only equal strides on both axes are supported, got strides={strides}")
        if len(pads) != 4 or len(set(pads)) != 1:
            raise self.fail(node, f"only the same padding on all four sides is supported, got pads={pads}")
        return int(strides[0]), int(pads[0])

    def _pool(self, node: Any, attrs: dict[str, Any]) -> tuple[int, int, int, int]:
        kernel = list(attrs.get("kernel_shape", []))
        if len(kernel) != 2:
            raise self.fail(node, f"only 2-D pooling is supported, got kernel_shape={kernel}")
        if attrs.get("ceil_mode", 0):
            raise self.fail(node, "ceil_mode=1 is not supported: chainrule's pooling floors its output size")
        if any(d != 1 for d in attrs.get("dilations", [1, 1])):
            raise self.fail(node, f"only dilations 1 are supported, got {attrs['dilations']}")
        if len(node.output) > 1 and node.output[1]:
            raise self.fail(node, "the Indices output is not supported")
        stride, pad = self._window(node, {**attrs, "strides": attrs.get("strides", [1, 1])})
        return int(kernel[0]), int(kernel[1]), stride, pad

    def _MaxPool(self, node: Any, attrs: dict[str, Any]) -> Layer:
        if attrs.get("storage_order", 0):
            raise self.fail(node, "storage_order=1 is not supported")
        return Pooling(*self._pool(node, attrs))

    def _AveragePool(self, node: Any, attrs: dict[str, Any]) -> Layer:
        pool_h, pool_w, stride, pad = self._pool(node, attrs)
        if pad and not attrs.get("count_include_pad", 0):
            raise self.fail(node, "count_include_pad=0 with padding is not supported: chainrule's average pooling "
                            "counts the zero padding (count_include_pad=1)")
        return AvgPooling(pool_h, pool_w, stride, pad)

    def _Relu(self, node: Any, attrs: dict[str, Any]) -> Layer:
        return Relu()

    def _Sigmoid(self, node: Any, attrs: dict[str, Any]) -> Layer:
        return Sigmoid()

    def _Tanh(self, node: Any, attrs: dict[str, Any]) -> Layer:
        return Tanh()

    def _LeakyRelu(self, node: Any, attrs: dict[str, Any]) -> Layer:
        return LeakyRelu(float(attrs.get("alpha", 0.01)))

    def _Flatten(self, node: Any, attrs: dict[str, Any]) -> Layer:
        if attrs.get("axis", 1) != 1:
            raise self.fail(node, f"only axis=1 (one row per sample) is supported, got axis={attrs['axis']}")
        return Flatten()

    def _Reshape(self, node: Any, attrs: dict[str, Any]) -> Layer:
        shape = [int(n) for n in self.constant(node, node.input[1], "the target shape").reshape(-1)]
        sample = (self.shapes.get(self.current) or [None])[1:]
        size = None if None in sample else int(np.prod(sample))
        if attrs.get("allowzero", 0) or len(shape) != 2 or shape[0] not in (0, -1) or shape[1] not in (-1, size):
            raise self.fail(node, f"only a reshape of the batch to (N, -1) is supported, got shape {shape}")
        return Flatten()

    def _BatchNormalization(self, node: Any, attrs: dict[str, Any]) -> Layer:
        if attrs.get("training_mode", 0) or len([name for name in node.output if name]) > 1:
            raise self.fail(node, "only inference batch normalization (running statistics, one output) is supported")
        gamma, beta, mean, var = (self.weights(self.constant(node, name, label)) for name, label in
                                  zip(node.input[1:], ("scale", "B", "input_mean", "input_var")))
        # ONNX's momentum is chainrule's: running = momentum * running + (1 - momentum) * batch.
        return BatchNormalization(gamma, beta, float(attrs.get("momentum", 0.9)), mean, var,
                                  float(attrs.get("epsilon", 1e-5)))

    def _Dropout(self, node: Any, attrs: dict[str, Any]) -> Layer:
        ratio = float(attrs.get("ratio", 0.5))
        if len(node.input) > 1 and node.input[1]:
            ratio = float(self.constant(node, node.input[1], "ratio"))
        if len(node.input) > 2 and node.input[2] and bool(self.constant(node, node.input[2], "training_mode")):
            raise self.fail(node, "training_mode=true is not an inference graph")
        return Dropout(ratio)

    def _Mul(self, node: Any, attrs: dict[str, Any]) -> Layer:
        other = next((name for name in node.input if name != self.current), None)
        if node.doc_string != BOOK_DROPOUT_DOC or other is None or self.constant(node, other, "the scale").size != 1:
            raise self.unsupported(node)
        return Dropout(1.0 - float(self.constants[other]), inverted=False)

    def _Identity(self, node: Any, attrs: dict[str, Any]) -> None:
        return None

    def _Softmax(self, node: Any, attrs: dict[str, Any]) -> None:
        rank = len(self.shapes.get(self.current) or [None, None])
        if attrs.get("axis", -1 if self.opset >= 13 else 1) not in (-1, rank - 1):
            raise self.fail(node, f"only a softmax over the last axis is supported, got axis={attrs['axis']}")
        self.final_activation = node.op_type
        return None

    _LogSoftmax = _Softmax
