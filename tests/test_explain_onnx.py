"""``chainrule explain --onnx FILE`` and ``--run RUN_DIR``: an imported network's page, without a browser.

The page's gradients must be the network's own backward pass (a second copy read from the same
file, run on its own) and PyTorch's autograd for a model PyTorch exported; every layer kind has
its sentence in both languages; 4-D arrays are drawn as maps side by side; mistakes are one line.
"""

from __future__ import annotations

import base64
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")

from chainrule.cli.main import main  # noqa: E402
from chainrule.explain.document import build_document  # noqa: E402
from chainrule.explain.heatmap import heat_map, tiles  # noqa: E402
from chainrule.explain.networks import explain_network, mnist_shaped, open_network  # noqa: E402
from chainrule.explain.words import WORDS, say  # noqa: E402
from chainrule.interop import from_onnx, to_onnx  # noqa: E402

from explain_helpers import tiny_cnn_onnx  # noqa: E402
from interop_support import mnist_images, small_stack  # noqa: E402

LAYER_KINDS = ["Convolution", "BatchNormalization", "LeakyRelu", "Pooling", "AvgPooling", "Tanh", "Flatten", "Affine",
               "Sigmoid", "Dropout", "Affine", "Relu", "SoftmaxWithLoss"]


def steps_of(explanation) -> list[dict]:
    return explanation.document()["steps"]


def parameter_results(steps: list[dict]) -> dict[str, dict]:
    return {row["edge"]: row["grad"] for row in steps[-1]["rows"] if row["kind"] == "result" and row["parameter"]}


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory):
    """Every layer kind the importer knows, in float64, as an ONNX file."""
    path = tmp_path_factory.mktemp("onnx") / "stack.onnx"
    to_onnx(small_stack(np.float64).eval(), path, input_shape=(1, 28, 28))
    return path


def test_page_gradients_are_the_imported_networks_own_backward_in_float64(stack_file):
    x, t = mnist_images(3)
    found = open_network(onnx=stack_file)
    assert found.input_shape == (1, 28, 28) and found.name == "stack.onnx"
    explanation = explain_network(found.net, x, t, title="stack")
    graph = explanation.graph
    # a second copy from the same file, run forward and backward on its own
    twin = from_onnx(stack_file)
    loss = twin.loss(x, t)
    grad_x = twin.backward()
    twin_grads = {key: grad.copy() for key, grad in twin.gradient(x, t).items()}
    assert abs(float(graph["loss"].value) - float(loss)) <= 1e-12
    assert graph["x"].grad.dtype == np.float64
    assert np.abs(graph["x"].grad - grad_x).max() <= 1e-10
    page_grads = {label: node.layer.grads[slot] for node in graph.order() for slot, label in node.param_labels.items()}
    assert sorted(page_grads) == sorted(twin_grads) and len(twin_grads) == 8  # conv, batch norm, two affine
    for key, grad in twin_grads.items():
        assert np.abs(page_grads[key] - grad).max() <= 1e-10, key
    # and the page writes those gradients: the summary's norms, the input's norm
    steps = steps_of(explanation)
    assert parameter_results(steps) == {
        key: {"norm": f"{np.linalg.norm(grad):.3g}", "shape": str(grad.shape)} for key, grad in twin_grads.items()
    }
    inputs = {row["edge"]: row["grad"] for row in steps[-1]["rows"] if row["kind"] == "result" and not row["parameter"]}
    assert inputs == {"x": {"norm": f"{np.linalg.norm(grad_x):.3g}", "shape": "(3, 1, 28, 28)"}, "t": None}
    products = [row for step in steps for row in step["rows"] if row["kind"] == "product"]
    conv = next(row for row in products if row["node"] == "Conv1")
    assert conv["grad"]["norm"] == f"{np.linalg.norm(grad_x):.3g}"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the legacy exporter says it is deprecated
def test_page_gradients_are_pytorchs_autograd_for_a_model_pytorch_exported(tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 2, 3, stride=2),
                          nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(2 * 3 * 3, 10)).eval()
    path = tmp_path / "torch.onnx"
    torch.onnx.export(model, torch.zeros(2, 1, 28, 28), str(path), dynamo=False, input_names=["images"],
                      dynamic_axes={"images": {0: "batch"}}, opset_version=13)
    x, t = mnist_images(4)
    x = x.astype(np.float32)
    found = open_network(onnx=path)
    graph = explain_network(found.net, x, t).graph
    x_torch = torch.from_numpy(x).requires_grad_(True)
    loss = nn.functional.cross_entropy(model(x_torch), torch.from_numpy(t).long())
    loss.backward()
    assert graph["x"].grad.dtype == np.float32
    assert abs(float(graph["loss"].value) - loss.item()) <= 1e-6
    assert np.abs(graph["x"].grad - x_torch.grad.numpy()).max() <= 1e-6 * max(1.0, np.abs(x_torch.grad.numpy()).max())
    conv = next(iter(found.net.layers.values()))
    assert np.abs(conv.grads["W"] - model[0].weight.grad.numpy()).max() <= 1e-6


def test_every_layer_says_what_it_does_forward_and_backward_in_both_languages(stack_file):
    x, t = mnist_images(2)
    steps = steps_of(explain_network(from_onnx(stack_file), x, t))
    forward = [row for step in steps if step["kind"] == "forward" for row in step["rows"] if row["kind"] == "layer"]
    backward = [row for step in steps if step["kind"] == "backward" for row in step["rows"] if row["kind"] == "layer"]
    expected = [f"layer_{kind}" for kind in LAYER_KINDS]
    expected[1], expected[9] = "layer_BatchNormalization_eval", "layer_Dropout_eval_book"  # eval mode; the book's dropout
    assert [row["words"]["key"] for row in forward] == expected
    assert [row["words"]["key"] for row in backward] == [f"{key}_back" for key in reversed(expected)]
    for row in forward + backward:
        for language in ("en", "zh"):
            text = say(row["words"], language)
            assert "{" not in text and text.strip(), (row, language)
    conv = forward[0]["words"]["values"]
    assert (conv["filters"], conv["channels"], conv["fh"], conv["stride"], conv["pad"]) == ("4", "1", "3", "2", "1")
    assert conv["in_shape"] == "(2, 1, 28, 28)" and conv["out_shape"] == "(2, 4, 14, 14)"
    assert say(forward[3]["words"]).startswith("Max pooling: the largest entry of each 3×3 window (stride 2, padding 1)")
    assert say(backward[-1]["words"], "zh").startswith("反向：d")  # Convolution's, with the net's name for W
    assert "dW1" in say(backward[-1]["words"])
    relu_share = float(forward[2]["words"]["values"]["share"])  # LeakyRelu: the share of positive inputs
    assert 0 < relu_share < 100
    assert all(key in WORDS for key in (f"{k}_back" for k in expected))


def test_shopping_graphs_get_no_layer_sentence():
    from chainrule.graph import apple_orange

    steps = build_document(apple_orange())["steps"]
    assert not [row for step in steps for row in step["rows"] if row["kind"] == "layer"]


def png_size(src: str) -> tuple[int, int]:
    data = base64.b64decode(src.split(",", 1)[1])
    return struct.unpack(">II", data[16:24])


def test_four_d_arrays_are_drawn_as_maps_side_by_side():
    rng = np.random.default_rng(0)
    maps = rng.standard_normal((2, 6, 5, 5))
    grid, how, count, of = tiles(maps)
    assert (how, count, of, grid.shape) == ("channels", 6, 6, (11, 23))  # 4 to a row, a line between
    np.testing.assert_array_equal(grid[:5, :5], maps[0, 0])
    np.testing.assert_array_equal(grid[6:, 6:11], maps[0, 5])
    assert np.isnan(grid[5]).all() and np.isnan(grid[:, 5]).all()
    one_channel = rng.standard_normal((3, 1, 28, 28))
    grid, how, count, _ = tiles(one_channel)
    assert (how, count, grid.shape) == ("samples", 3, (28, 86))
    np.testing.assert_array_equal(grid[:, 29:57], one_channel[1, 0])
    filters = rng.standard_normal((10, 2, 3, 3))
    grid, how, count, of = tiles(filters, filters=True)
    assert (how, count, of, grid.shape) == ("filters", 8, 10, (7, 15))
    np.testing.assert_array_equal(grid[4:7, 4:7], filters[5, 0])
    large = rng.standard_normal((1, 2, 64, 64))  # averaged down to 32 × 32 blocks
    grid, _, _, _ = tiles(large)
    assert grid.shape == (32, 65)
    assert grid[0, 0] == pytest.approx(large[0, 0, :2, :2].mean())
    heat = heat_map(maps)
    assert png_size(heat.src) == (23, 11) and heat.zoom == 17 - 1  # 84 px / 5 cells, at most 16
    assert heat.scale == pytest.approx(np.abs(maps[0]).max())  # sample 0's maps set the colour scale


def test_four_d_heat_maps_on_the_page_say_what_they_show(stack_file):
    x, t = mnist_images(2)
    steps = steps_of(explain_network(from_onnx(stack_file), x, t))
    start = steps[0]["figures"][0]
    assert start["caption"][2] == {"key": "heat_samples", "values": {"last": "1", "count": "2"}}
    assert png_size(start["src"]) == (28 * 2 + 1, 28) and start["zoom"] == 3
    conv = next(step for step in steps if step["kind"] == "forward" and step["node"] == "Conv1")["figures"][0]
    assert conv["caption"][2] == {"key": "heat_channels", "values": {"last": "3", "count": "4"}}
    assert png_size(conv["src"]) == (14 * 4 + 3, 14)
    back = next(step for step in steps if step["kind"] == "backward" and step["node"] == "Conv1")
    weights = next(f for f in back["figures"] if f["caption"][0]["values"]["name"] == "W1")
    assert weights["caption"][2] == {"key": "heat_filters", "values": {"last": "3", "count": "4"}}
    for language in ("en", "zh"):
        assert all("{" not in say(words, language) for step in steps for f in step["figures"] for words in f["caption"])


def test_mnist_digits_are_shaped_to_the_network_input():
    x = np.arange(2 * 784, dtype=float).reshape(2, 784)
    assert mnist_shaped(x, (784,)) is x and mnist_shaped(x, (None,)) is x
    assert mnist_shaped(x, (1, 28, 28)).shape == (2, 1, 28, 28)
    assert mnist_shaped(x, (None, None, None)).shape == (2, 1, 28, 28)
    from chainrule.errors import ShapeError

    with pytest.raises(ShapeError, match=r"samples of shape \(3, 32, 32\)"):
        mnist_shaped(x, (3, 32, 32))


# -- the command ----------------------------------------------------------------------------------


def run(capsys, *argv):
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse's own refusal
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def data(data_dir):
    return ["--data-dir", str(data_dir), "--no-verify", "--no-download"]


def page_data(path) -> dict:
    import json
    import re

    text = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="explain-data">(.*?)</script>', text, re.S).group(1))


def test_cli_explains_an_onnx_model_on_digits_and_on_a_random_batch(data_dir, tmp_path, capsys, monkeypatch):
    model = tiny_cnn_onnx(tmp_path / "cnn.onnx")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "explain", "--onnx", model, "--batch-size", "3", *data(data_dir))
    assert code == 0 and err == "" and out.startswith("wrote cnn.html")
    doc = page_data(tmp_path / "cnn.html")
    assert doc["title"] == "cnn.onnx on 3 mnist images"
    assert len(doc["steps"]) == 2 * 9 + 3  # inputs, 8 layers + the loss forward, the seed, 9 backward, the summary
    assert doc["steps"][0]["rows"][0] == {"kind": "input_array", "edge": "x", "shape": "(3, 1, 28, 28)"}
    code, out, _ = run(capsys, "explain", "--onnx", model, "--random-batch", "--batch-size", "2", "--lang", "zh",
                       "-o", tmp_path / "random.html")
    assert code == 0 and page_data(tmp_path / "random.html")["title"] == "cnn.onnx on a random batch of 2"
    assert 'lang="zh-CN"' in (tmp_path / "random.html").read_text(encoding="utf-8")


def test_cli_explains_and_draws_a_run_directory_an_onnx_model_was_imported_into(data_dir, tmp_path, capsys):
    model = tiny_cnn_onnx(tmp_path / "cnn.onnx")
    run_dir = tmp_path / "imported"
    assert run(capsys, "import", model, "-o", run_dir)[0] == 0
    page = tmp_path / "run.html"
    code, out, err = run(capsys, "explain", "--run", run_dir, "--batch-size", "2", "-o", page, *data(data_dir))
    assert code == 0 and err == ""
    by_run = page_data(page)
    assert by_run["title"] == "imported on 2 mnist images"
    by_file = page_data(_write(capsys, tmp_path, "explain", "--onnx", model, "--batch-size", "2", *data(data_dir)))
    # the same network, the same digits (--seed 0): the same gradients, step by step
    assert [s["rows"] for s in by_run["steps"][1:]] == [s["rows"] for s in by_file["steps"][1:]]
    code, out, _ = run(capsys, "graph", "--run", run_dir, "--batch-size", "2", "-o", tmp_path / "run.svg")
    assert code == 0 and "Convolution" in (tmp_path / "run.svg").read_text(encoding="utf-8")
    assert "imported on a random batch of 2" in out


def _write(capsys, tmp_path, *argv):
    path = tmp_path / "page.html"
    assert run(capsys, *argv, "-o", path)[0] == 0
    return path


def test_cli_explains_a_trained_run(data_dir, tmp_path, capsys):
    from helpers import train_small_cli

    run_dir = tmp_path / "run"
    assert train_small_cli(data_dir, run_dir, "--epochs", "1", "--limit", "20") == 0
    code, _, err = run(capsys, "explain", "--run", run_dir, "--checkpoint", "best", "--batch-size", "2",
                       "-o", tmp_path / "trained.html", *data(data_dir))
    assert code == 0 and err == ""
    keys = [row["words"]["key"] for step in page_data(tmp_path / "trained.html")["steps"] for row in step["rows"]
            if row["kind"] == "layer" and step["kind"] == "forward"]
    assert keys == ["layer_Affine", "layer_Relu", "layer_Affine", "layer_SoftmaxWithLoss"]


def unsupported_model(path):
    """A one-node graph of an operator chainrule has no layer for (Exp)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Exp", ["x"], ["y"], name="exp1")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 784])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 784])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def five_class_model(path, input_shape=(784,)):
    from chainrule.layers import Affine
    from chainrule.nets import Sequential

    size = int(np.prod(input_shape))
    to_onnx(Sequential([("Affine1", Affine(np.zeros((size, 5)), np.zeros(5)))]), path, input_shape=input_shape)
    return path


@pytest.mark.parametrize("case, code, message", [
    ("missing", 1, "missing.onnx: No such file"),
    ("folder", 1, ": Not a file"),
    ("not-onnx", 1, "not an ONNX model"),
    ("unsupported", 1, "Exp"),
    ("five-classes", 1, "gives 5 scores per sample, but mnist's labels go up to"),
    ("cifar-shaped", 1, "takes samples of shape (3, 32, 32)"),
    ("run-missing", 1, "does not exist: RUN_DIR is a run directory"),
    ("with-model", 2, "not both --model and --onnx"),
    ("checkpoint-without-run", 2, "--checkpoint picks the weights of --run"),
    ("with-input", 2, "--input is not for a network from a file"),
])
def test_cli_mistakes_are_one_line(case, code, message, data_dir, tmp_path, capsys):
    paths = {
        "missing": tmp_path / "missing.onnx",
        "folder": tmp_path,
        "not-onnx": tmp_path / "notes.onnx",
        "unsupported": tmp_path / "exp.onnx",
        "five-classes": tmp_path / "five.onnx",
        "cifar-shaped": tmp_path / "cifar.onnx",
    }
    (tmp_path / "notes.onnx").write_text("not a model\n")
    argv = {"run-missing": ["--run", tmp_path / "no-run"],
            "with-model": ["--model", "two-layer", "--onnx", tmp_path / "x.onnx"],
            "checkpoint-without-run": ["--onnx", tmp_path / "x.onnx", "--checkpoint", "best"],
            "with-input": ["--onnx", tmp_path / "x.onnx", "--input", "apple=1"]}.get(case, ["--onnx", paths.get(case)])
    if case == "unsupported":
        unsupported_model(paths[case])
    elif case == "five-classes":
        five_class_model(paths[case])
    elif case == "cifar-shaped":
        five_class_model(paths[case], (3, 32, 32))
    got, out, err = run(capsys, "explain", *argv, "-o", tmp_path / "page.html", *data(data_dir))
    assert got == code and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and out == ""
    assert not (tmp_path / "page.html").exists()


def test_cli_without_the_interop_extra_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    code, out, err = run(capsys, "explain", "--onnx", tmp_path / "model.onnx")
    assert code == 1 and "pip install 'chainrule[interop]'" in err and len(err.strip().splitlines()) == 1


def test_graph_of_a_missing_run_directory_is_one_line(tmp_path, capsys):
    code, out, err = run(capsys, "graph", "--run", tmp_path / "no-run", "-o", tmp_path / "g.svg")
    assert code == 1 and err.strip().endswith("does not exist: RUN_DIR is a run directory written by `chainrule train` "
                                             "or `chainrule import`") and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "graph", "apple", "--run", tmp_path, "-o", tmp_path / "g.svg")
    assert code == 2 and "not both" in err


def test_flattened_feature_maps_are_not_drawn_as_a_picture(tmp_path):
    """The tiny CNN's Flatten gives rows of 4 × 14 × 14 = 784 = 28² values: blocks, not a 28 × 28 'image'."""
    x, t = mnist_images(2)
    steps = steps_of(explain_network(from_onnx(tiny_cnn_onnx(tmp_path / "cnn.onnx")), x.reshape(2, 1, 28, 28), t))
    flatten = next(step for step in steps if step["kind"] == "forward" and step["node"] == "Flatten1")["figures"][0]
    assert flatten["caption"][0]["values"]["shape"] == "(2, 784)" and flatten["caption"][2]["key"] == "heat_blocks"
    from chainrule import TwoLayerNet
    from chainrule.graph import network_graph

    two_layer = build_document(network_graph(TwoLayerNet(784, 5, 10, rng=0), x.reshape(2, 784), t))["steps"]
    assert two_layer[0]["figures"][0]["caption"][2]["key"] == "heat_image"  # the input digits are a picture
    last = [f["caption"] for f in two_layer[-2]["figures"] if f["caption"][0]["values"]["name"] == "x"]
    assert last and last[0][2]["key"] == "heat_image"  # and so is ∂loss/∂x
