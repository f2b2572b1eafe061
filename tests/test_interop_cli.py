"""``chainrule export`` and ``chainrule import`` end to end on tiny generated IDX files (no network)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("safetensors")

from chainrule.cli.main import main  # noqa: E402
from chainrule.data import load_idx_dataset, MNIST  # noqa: E402
from chainrule.interop import load_run_network, model_from_safetensors  # noqa: E402
from helpers import train_small_cli  # noqa: E402
from interop_support import max_difference, run_onnx  # noqa: E402

DATA = ["--data-dir", None, "--no-verify", "--no-download"]


def _data(data_dir):
    return [str(data_dir) if part is None else part for part in DATA]


def _images(data_dir, flatten):
    _, (x, _) = load_idx_dataset(MNIST, data_dir=data_dir, download=False, verify=False, flatten=flatten)
    return x


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_export_import_evaluate_fine_tune_and_export_again(model, data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    extra = ["--model", "cnn"] if model == "cnn" else ["--batchnorm", "--dropout", "0.2"]
    assert train_small_cli(data_dir, run_dir, "--epochs", "1", *extra) == 0
    onnx_path, weights = tmp_path / "model.onnx", tmp_path / "model.safetensors"
    assert main(["export", str(run_dir), "-o", str(onnx_path)]) == 0
    assert main(["export", str(run_dir), "-o", str(weights), "--checkpoint", "best"]) == 0
    net, config = load_run_network(run_dir)
    x = _images(data_dir, flatten=model == "mlp")
    exported = onnx.load(onnx_path)
    assert max_difference(run_onnx(exported, x), net.predict(x)) <= 1e-5
    best, _ = load_run_network(run_dir, "best")
    rebuilt, _ = model_from_safetensors(weights)
    np.testing.assert_array_equal(rebuilt.predict(x), best.predict(x))

    imported_dir = tmp_path / "imported"
    assert main(["import", str(onnx_path), "-o", str(imported_dir), "--batch-size", "16", "--lr", "0.01"]) == 0
    assert main(["evaluate", str(imported_dir), *_data(data_dir)]) == 0
    assert main(["evaluate", str(run_dir), *_data(data_dir)]) == 0
    out = capsys.readouterr().out
    accuracies = [line for line in out.splitlines() if line.startswith("accuracy")]
    assert len(accuracies) == 2 and accuracies[0] == accuracies[1]  # the same network, the same test score
    again = tmp_path / "again.onnx"
    assert main(["export", str(imported_dir), "-o", str(again)]) == 0
    assert onnx.load(again).graph.SerializeToString() == exported.graph.SerializeToString()
    # Fine-tuning: train --resume takes the imported run from epoch 0.
    assert main(["train", "--resume", "--output-dir", str(imported_dir), "--epochs", "1", "-v", "2", *_data(data_dir)]) == 0
    assert "epoch 1/1" in capsys.readouterr().out
    tuned, _ = load_run_network(imported_dir)
    assert max_difference(tuned.predict(x), net.predict(x)) > 0  # the weights moved


def test_import_of_chainrules_safetensors_makes_a_run(data_dir, tmp_path):
    run_dir = tmp_path / "run"
    train_small_cli(data_dir, run_dir, "--epochs", "1")
    weights = tmp_path / "w.safetensors"
    assert main(["export", str(run_dir), "--format", "safetensors", "-o", str(weights)]) == 0
    assert main(["import", str(weights), "-o", str(tmp_path / "back")]) == 0
    assert main(["evaluate", str(tmp_path / "back"), *_data(data_dir)]) == 0


def _exit_code(argv):
    """``main``'s status, also when argparse exits (a bad option) instead of returning."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


def _one_line_error(capsys, code, expected_code, *words):
    err = capsys.readouterr().err
    assert code == expected_code, err
    assert err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err
    return err


def test_mistakes_are_one_line(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train_small_cli(data_dir, run_dir, "--epochs", "1")
    capsys.readouterr()
    _one_line_error(capsys, main(["export", str(tmp_path / "nowhere")]), 1, "no checkpoint")
    _one_line_error(capsys, _exit_code(["export", str(run_dir), "--format", "tflite"]), 2, "--format")
    _one_line_error(capsys, _exit_code(["export", str(run_dir), "--opset", "7"]), 2, "--opset")
    _one_line_error(capsys, main(["import", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "x")]), 1,
                    "missing.onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Exp", ["x"], ["y"], name="exp1")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    path = tmp_path / "exp.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    _one_line_error(capsys, main(["import", str(path), "-o", str(tmp_path / "y")]), 1, "Exp", "exp1", "opset 13")
    exported = tmp_path / "m.onnx"
    main(["export", str(run_dir), "-o", str(exported)])
    _one_line_error(capsys, main(["import", str(exported), "-o", str(run_dir)]), 1, "already holds a run")


@pytest.mark.parametrize("command", ["export", "import"])
def test_without_the_extra_the_commands_say_which_to_install(command, data_dir, tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "run"
    train_small_cli(data_dir, run_dir, "--epochs", "1")
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "onnx", None)
    argv = ["export", str(run_dir)] if command == "export" else ["import", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "i")]
    _one_line_error(capsys, main(argv), 1, "chainrule[interop]", "onnx")


def test_an_imported_model_without_hidden_layer_is_a_run_evaluate_accepts(tmp_path, data_dir):
    """One Affine and a softmax: its config has no hidden size, and the checkpoint check allows it."""
    import numpy as np

    from chainrule import Affine, Sequential, SoftmaxWithLoss
    from chainrule.interop import to_onnx

    rng = np.random.default_rng(0)
    net = Sequential([("Affine1", Affine(0.01 * rng.standard_normal((784, 10)), np.zeros(10)))], SoftmaxWithLoss())
    to_onnx(net, tmp_path / "linear.onnx")
    assert main(["import", str(tmp_path / "linear.onnx"), "-o", str(tmp_path / "run")]) == 0
    assert main(["evaluate", str(tmp_path / "run"), *_data(data_dir)]) == 0
