"""ONNX export and import: every network chainrule trains, in float32 and float64, trained and untrained.

The exported graph must pass onnx's full check and compute chainrule's ``predict`` (1e-5 in float32,
1e-10 in float64, on real MNIST digits when CHAINRULE_DATA has them); importing it must give back
chainrule layers that compute the same, and exporting those again the same graph, byte for byte.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from chainrule.book.common.layers import BatchNormalization as BooksBatchNormalization  # noqa: E402
from chainrule.errors import ConfigError, MissingExtraError  # noqa: E402
from chainrule.interop import OnnxImportError, from_onnx, read_onnx, to_onnx  # noqa: E402
from chainrule.layers import Affine, BatchNormalization, Convolution, Dropout, Flatten, Relu  # noqa: E402
from chainrule.nets import DeepConvNet, Sequential, TwoLayerNet  # noqa: E402
from interop_support import NETWORKS, TOLERANCE, make_network, max_difference, run_onnx  # noqa: E402

CASES = [(name, dtype, trained) for name in NETWORKS for dtype in ("float32", "float64") for trained in (False, True)]


@pytest.mark.parametrize("name, dtype, trained", CASES, ids=[f"{n}-{d}-{'trained' if t else 'untrained'}" for n, d, t in CASES])
def test_export_computes_predict_and_imports_back(name, dtype, trained):
    net, x = make_network(name, dtype, trained)
    model = to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    expected = net.predict(x)
    tolerance = TOLERANCE[np.dtype(dtype)]
    exported = run_onnx(model, x)
    assert exported.dtype == np.dtype(dtype)
    assert max_difference(exported, expected) <= tolerance
    imported = from_onnx(model)
    assert all(type(layer).__module__.startswith("chainrule.layers") for layer in imported.layers.values())
    assert max_difference(imported.predict(x), expected) == 0  # the same layers and weights: the same numbers
    again = to_onnx(imported)
    assert again.graph.SerializeToString() == model.graph.SerializeToString()  # export -> import -> export


@pytest.mark.parametrize("name", list(NETWORKS))
def test_graph_interface_names_opset_and_dynamic_batch(name):
    net, x = make_network(name, "float32", trained=False)
    model = to_onnx(net)
    (graph_input,), (graph_output,) = model.graph.input, model.graph.output
    assert graph_input.name == ("images" if x.ndim == 4 else "features")
    assert graph_output.name == "logits"
    assert graph_input.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert graph_output.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert model.opset_import[0].version >= 13
    for batch in (1, 7):
        assert run_onnx(model, x[:batch]).shape == (batch, 10)


def _nodes(model):
    return {node.name: node for node in model.graph.node}


def _attribute(node, name):
    return next(helper.get_attribute_value(a) for a in node.attribute if a.name == name)


def _initializer(model, name):
    return next(numpy_helper.to_array(t) for t in model.graph.initializer if t.name == name)


def test_layer_mappings_follow_chainrules_semantics():
    net, _ = make_network("mlp-bn-dropout", "float64", trained=True)
    model = to_onnx(net)
    nodes = _nodes(model)
    gemm = nodes["Affine1"]
    assert gemm.op_type == "Gemm" and _attribute(gemm, "transB") == 0 and list(gemm.input[1:]) == ["W1", "b1"]
    np.testing.assert_array_equal(_initializer(model, "W1"), net.params["W1"])  # (in, out), as Affine keeps it
    norm = nodes["BatchNorm1"]
    assert norm.op_type == "BatchNormalization" and list(norm.input[1:]) == ["gamma1", "beta1", "running_mean1", "running_var1"]
    assert _attribute(norm, "epsilon") == pytest.approx(1e-6)
    np.testing.assert_array_equal(_initializer(model, "running_var1"), net.buffers["running_var1"])
    assert nodes["Dropout1"].op_type == "Dropout"  # inverted dropout: the identity at inference


def test_book_dropout_is_a_mul_by_the_kept_fraction():
    net = DeepConvNet(hidden_size=20, rng=0)
    for layer in net.layers.values():
        if isinstance(layer, Dropout):
            layer.inverted = False  # as load_params sets it for the book's weights
    model = to_onnx(net, input_shape=(1, 28, 28))
    mul = _nodes(model)["Dropout1"]
    assert mul.op_type == "Mul" and float(_initializer(model, mul.input[1])) == 0.5
    x = np.random.default_rng(0).random((5, 1, 28, 28))
    assert max_difference(run_onnx(model, x), net.predict(x)) <= 1e-10
    imported = from_onnx(model)
    assert not imported.layers["Dropout1"].inverted and imported.layers["Dropout1"].dropout_ratio == 0.5


def test_max_pooling_keeps_its_padding_and_floor_mode():
    net, x = make_network("stack", "float32", trained=False)
    pool = _nodes(to_onnx(net))["Pool1"]
    assert pool.op_type == "MaxPool" and _attribute(pool, "pads") == [1, 1, 1, 1]
    assert _attribute(pool, "ceil_mode") == 0 and _attribute(pool, "strides") == [2, 2]


def test_books_batch_norm_on_images_normalises_each_position():
    rng = np.random.default_rng(1)
    positions = 3 * 8 * 8
    norm = BooksBatchNormalization(1 + 0.1 * rng.standard_normal(positions), 0.1 * rng.standard_normal(positions),
                                   running_mean=0.1 * rng.standard_normal(positions),
                                   running_var=1 + rng.random(positions))
    conv = Convolution(0.3 * rng.standard_normal((3, 1, 3, 3)), np.zeros(3), stride=1, pad=1)
    net = Sequential([("Conv1", conv), ("BatchNorm1", norm), ("Relu1", Relu()),
                      ("Affine1", Affine(0.1 * rng.standard_normal((positions, 4)), np.zeros(4)))])
    model = to_onnx(net, input_shape=(1, 8, 8))
    assert [n.op_type for n in model.graph.node][1:5] == ["Reshape", "Shape", "BatchNormalization", "Reshape"]
    x = rng.random((6, 1, 8, 8))
    expected = net.layers["Affine1"].forward(np.maximum(norm.forward(conv.forward(x), train_flg=False), 0))
    assert max_difference(run_onnx(model, x), expected) <= 1e-10


def test_export_refuses_what_it_cannot_map():
    from chainrule.layers import Softmax

    with pytest.raises(ConfigError, match="Softmax"):
        to_onnx(Sequential([Affine(np.zeros((3, 2)), np.zeros(2)), Softmax()]))
    with pytest.raises(ConfigError, match="opset"):
        to_onnx(TwoLayerNet(4, 3, 2), opset=7)
    with pytest.raises(ConfigError, match="dtype"):
        to_onnx(TwoLayerNet(4, 3, 2), dtype=np.float16)
    with pytest.raises(ConfigError, match="input_shape"):
        to_onnx(Sequential([Relu()]))


# -- import of graphs chainrule did not write --------------------------------------------------


def _model(nodes, initializers, input_shape=("N", 6), output_shape=("N", 6), opset=13, elem=TensorProto.FLOAT):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", elem, list(input_shape))],
                              [helper.make_tensor_value_info("y", elem, output_shape)],
                              [numpy_helper.from_array(value, name) for name, value in initializers.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_gemm_with_transposes_alpha_and_beta_and_matmul_add():
    rng = np.random.default_rng(2)
    B, C = rng.standard_normal((4, 6)).astype(np.float32), rng.standard_normal((1, 4)).astype(np.float32)
    M, bias = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    model = _model([helper.make_node("Gemm", ["x", "B", "C"], ["h"], name="fc", transB=1, alpha=0.5, beta=2.0),
                    helper.make_node("Tanh", ["h"], ["t"]),
                    helper.make_node("MatMul", ["t", "M"], ["m"], name="out"),
                    helper.make_node("Add", ["m", "bias"], ["z"]),
                    helper.make_node("Identity", ["z"], ["s"]),
                    helper.make_node("Softmax", ["s"], ["y"], axis=-1)],
                   {"B": B, "C": C, "M": M, "bias": bias}, output_shape=["N", 3])
    imported = read_onnx(model)
    assert [type(layer).__name__ for layer in imported.net.layers.values()] == ["Affine", "Tanh", "Affine"]
    assert imported.final_activation == "Softmax" and imported.input_shape == (6,)
    x = rng.random((5, 6)).astype(np.float32)
    scores = imported.net.predict(x)
    probabilities = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    assert max_difference(run_onnx(model, x), probabilities) <= 1e-6


def test_reshape_of_the_batch_becomes_flatten():
    model = _model([helper.make_node("Reshape", ["x", "shape"], ["f"]),
                    helper.make_node("Gemm", ["f", "W"], ["y"])],
                   {"shape": np.array([0, -1], np.int64), "W": np.ones((12, 2), np.float32)},
                   input_shape=("N", 3, 2, 2), output_shape=["N", 2])
    net = from_onnx(model)
    assert isinstance(net.layers["Reshape1"], Flatten)
    x = np.random.default_rng(0).random((4, 3, 2, 2)).astype(np.float32)
    assert max_difference(net.predict(x), run_onnx(model, x)) <= 1e-5


@pytest.mark.parametrize("nodes, initializers, message", [
    ([helper.make_node("Exp", ["x"], ["y"], name="e1")], {}, r"unsupported ONNX operator Exp \(node 'e1', opset 13\)"),
    ([helper.make_node("Gemm", ["x", "W"], ["y"], name="g", transA=1)], {"W": np.ones((6, 6), np.float32)}, "transA"),
    ([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "x"], ["y"], name="skip")], {},
     "branching graph"),
    ([helper.make_node("Softmax", ["x"], ["s"]), helper.make_node("Relu", ["s"], ["y"])], {}, "last node"),
    ([helper.make_node("Reshape", ["x", "s"], ["y"], name="r")], {"s": np.array([2, 3, -1], np.int64)}, r"\(N, -1\)"),
])
def test_unsupported_graphs_are_one_line_errors(nodes, initializers, message):
    with pytest.raises(OnnxImportError, match=message) as error:
        from_onnx(_model(nodes, initializers))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("attributes, message", [
    ({"group": 2}, "group=1"), ({"pads": [0, 0, 1, 1]}, "four sides"), ({"strides": [1, 2]}, "equal strides"),
    ({"dilations": [2, 2]}, "dilations"),
])
def test_conv_attributes_chainrule_cannot_compute_are_refused(attributes, message):
    channels = 2 if attributes.get("group") == 2 else 1
    W = np.ones((2, 2 // channels if channels == 2 else 1, 3, 3), np.float32)
    model = _model([helper.make_node("Conv", ["x", "W"], ["y"], name="c", **attributes)], {"W": W},
                   input_shape=("N", channels, 8, 8), output_shape=("N", 2, "H", "W"))
    with pytest.raises(OnnxImportError, match=message):
        from_onnx(model)


def test_pooling_in_ceil_mode_and_a_float16_input_are_refused():
    ceil = _model([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], ceil_mode=1)], {},
                  input_shape=("N", 1, 5, 5), output_shape=("N", 1, 3, 3))
    with pytest.raises(OnnxImportError, match="ceil_mode"):
        from_onnx(ceil)
    half = _model([helper.make_node("Relu", ["x"], ["y"])], {}, elem=TensorProto.FLOAT16)
    with pytest.raises(OnnxImportError, match="float32 or float64"):
        from_onnx(half)


def test_a_file_that_is_not_onnx_is_one_line(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not a protobuf at all")
    with pytest.raises(OnnxImportError, match="model.onnx"):
        from_onnx(path)


def test_imported_network_trains_and_its_gradients_match_numerical_ones():
    from chainrule import gradcheck_net

    net, _ = make_network("stack", "float64", trained=True)
    imported = from_onnx(to_onnx(net))
    for layer in imported.layers.values():
        if isinstance(layer, Dropout):
            layer.fixed_mask = np.ones((3, 16), bool)
    # Random images rather than digits: a digit's blank background makes exact ties in the max
    # pooling, where the loss has a kink that central differences straddle.
    x, t = np.random.default_rng(5).standard_normal((3, 1, 28, 28)), np.array([1, 2, 3])
    report = gradcheck_net(imported.train(), x, t)
    assert report.passed(1e-6, 1e-8), str(report)
    assert isinstance(imported.layers["BatchNorm1"], BatchNormalization)


@settings(max_examples=25, deadline=None)
@given(
    channels=st.integers(1, 3), filters=st.integers(1, 4), size=st.integers(5, 12), kernel=st.integers(1, 4),
    stride=st.integers(1, 3), pad=st.integers(0, 2), pool=st.integers(1, 3), pool_stride=st.integers(1, 3),
    average=st.booleans(), seed=st.integers(0, 2**16),
)
def test_any_convolution_and_pooling_geometry_exports_and_imports_exactly(
    channels, filters, size, kernel, stride, pad, pool, pool_stride, average, seed,
):
    """Strides that leave rows out (floor mode), padding larger than needed, overlapping windows."""
    from hypothesis import assume

    from chainrule.layers import AvgPooling, Pooling

    conv_out = (size + 2 * pad - kernel) // stride + 1
    pool_pad = min(pad, pool - 1)
    assume(kernel <= size + 2 * pad and pool <= conv_out + 2 * pool_pad)
    pooled = (conv_out + 2 * pool_pad - pool) // pool_stride + 1
    rng = np.random.default_rng(seed)
    W, b = rng.standard_normal((filters, channels, kernel, kernel)), rng.standard_normal(filters)
    W_affine, b_affine = rng.standard_normal((filters * pooled * pooled, 3)), rng.standard_normal(3)
    x = rng.standard_normal((2, channels, size, size))
    for dtype in (np.float32, np.float64):
        net = Sequential([
            ("Conv1", Convolution(W.astype(dtype), b.astype(dtype), stride=stride, pad=pad)),
            ("Pool1", (AvgPooling if average else Pooling)(pool, pool, stride=pool_stride, pad=pool_pad)),
            ("Affine1", Affine(W_affine.astype(dtype), b_affine.astype(dtype))),
        ])
        model = to_onnx(net, input_shape=(channels, size, size))
        expected = net.predict(x.astype(dtype))
        tolerance = TOLERANCE[np.dtype(dtype)] * max(1.0, np.abs(expected).max())
        assert max_difference(run_onnx(model, x.astype(dtype)), expected) <= tolerance
        assert to_onnx(from_onnx(model), input_shape=(channels, size, size)).graph.SerializeToString() == \
            model.graph.SerializeToString()


def test_an_imported_network_can_be_drawn_step_by_step():
    """What `chainrule graph` and the explainer draw: the layers' forward values and backward gradients."""
    from chainrule.graph import network_graph

    net, x = make_network("cnn", "float64", trained=True)
    imported = from_onnx(to_onnx(net))
    t = np.arange(8) % 10
    graph = network_graph(imported, x[:8], t)
    assert [node.name for node in graph.order()][:3] == ["Conv1", "Pool1", "Relu1"]
    np.testing.assert_allclose(graph["x"].grad, (net.eval().loss(x[:8], t), net.backward())[1], rtol=0, atol=1e-12)


def test_missing_extra_names_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingExtraError, match=r"chainrule\[interop\]"):
        to_onnx(TwoLayerNet(4, 3, 2))
