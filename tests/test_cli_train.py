"""``chainrule train`` / ``evaluate`` end to end on tiny generated IDX files (no network)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule.cli.main import main
from helpers import train_small_cli
from chainrule.data import write_fake_dataset


train = train_small_cli  # the test files' short name for it


def test_train_writes_a_complete_run_directory(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train(data_dir, run_dir, "--epochs", "2") == 0
    out = capsys.readouterr().out
    assert "epoch 2/2" in out and "test accuracy" in out
    files = {p.name for p in run_dir.iterdir()}
    assert {"checkpoint.npz", "config.json", "metrics.json", "metrics.csv"} <= files
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epoch"] == [1, 2]
    assert (run_dir / "metrics.csv").read_text().count("\n") == 3
    assert "learning_curve.png" in files  # matplotlib is a test dependency: never a silent skip


def test_resume_continues_to_more_epochs(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train(data_dir, run_dir, "--epochs", "1")
    assert train(data_dir, run_dir, "--epochs", "3", "--resume") == 0
    assert "resuming at epoch 2" in capsys.readouterr().out
    assert json.loads((run_dir / "metrics.json").read_text())["epoch"] == [1, 2, 3]


def test_resume_equals_uninterrupted_run(data_dir, tmp_path):
    from chainrule.checkpoint import load_checkpoint

    train(data_dir, tmp_path / "a", "--epochs", "3")
    train(data_dir, tmp_path / "b", "--epochs", "1")
    train(data_dir, tmp_path / "b", "--epochs", "3", "--resume")
    a, _, _ = load_checkpoint(tmp_path / "a")
    b, _, _ = load_checkpoint(tmp_path / "b")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_evaluate_reports_accuracy_and_confusion(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train(data_dir, run_dir, "--epochs", "1")
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--data-dir", str(data_dir), "--no-verify", "--no-download"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "true \\ predicted" in out
    report = json.loads((run_dir / "evaluation.json").read_text())
    assert np.array(report["confusion_matrix"]).sum() == 20


def test_missing_data_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    code = main(["train", "--no-download", "--output-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1 and "chainrule train: error:" in err and "CHAINRULE_DATA" in err and "--data-dir" in err


def test_evaluate_without_checkpoint(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "no checkpoint at" in capsys.readouterr().err


def test_train_help_teaches(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for text in ("--resume", "--optimizer", "examples:", "CHAINRULE_DATA"):
        assert text in out


def test_fashion_mnist_runs_and_names_its_classes(tmp_path, capsys):
    from chainrule.data import FASHION_MNIST

    data = tmp_path / "data"
    write_fake_dataset(data / "fashion-mnist", FASHION_MNIST, train_size=40, test_size=20)
    run_dir = tmp_path / "run"
    assert main(["train", "--dataset", "fashion-mnist", "--data-dir", str(data), "--no-verify", "--no-download",
                 "--output-dir", str(run_dir), "--hidden-sizes", "8", "--epochs", "1", "-v", "0"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--data-dir", str(data), "--no-verify", "--no-download"]) == 0
    out = capsys.readouterr().out
    assert "fashion-mnist" in out and "Ankle boot"[:5] in out


@pytest.mark.parametrize("model", ["cnn", "deep-cnn"])
def test_convolutional_models_train_and_evaluate(data_dir, tmp_path, capsys, model):
    run_dir = tmp_path / model
    assert main(["train", "--model", model, "--data-dir", str(data_dir), "--no-verify", "--no-download",
                 "--output-dir", str(run_dir), "--epochs", "1", "--limit", "20", "-v", "0"]) == 0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == model and config["input_shape"] == [1, 28, 28]
    assert main(["evaluate", str(run_dir), "--data-dir", str(data_dir), "--no-verify", "--no-download"]) == 0


def test_mlp_with_dropout_and_batchnorm_resumes_exactly(data_dir, tmp_path):
    from chainrule.checkpoint import load_checkpoint

    options = ["--dropout", "0.3", "--batchnorm"]
    train(data_dir, tmp_path / "a", "--epochs", "2", *options)
    train(data_dir, tmp_path / "b", "--epochs", "1", *options)
    train(data_dir, tmp_path / "b", "--epochs", "2", "--resume")
    a, _, config = load_checkpoint(tmp_path / "a")
    b, _, _ = load_checkpoint(tmp_path / "b")
    assert config["dropout_ratio"] == 0.3 and config["use_batchnorm"] is True
    assert "running_mean1" in a  # batch-norm statistics are saved with the weights
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_weight_init_option(data_dir, tmp_path):
    assert train(data_dir, tmp_path / "a", "--model", "two-layer", "--weight-init", "he", "--epochs", "1") == 0
    assert json.loads((tmp_path / "a" / "config.json").read_text())["weight_init_std"] == "he"
    assert train(data_dir, tmp_path / "b", "--weight-init", "0.05", "--epochs", "1") == 0
    assert json.loads((tmp_path / "b" / "config.json").read_text())["weight_init_std"] == 0.05
    with pytest.raises(SystemExit):  # argparse rejects it before any work, with exit code 2
        train(data_dir, tmp_path / "c", "--weight-init", "big", "--epochs", "1")


@pytest.mark.parametrize(
    "options, message",
    [
        (["--model", "cnn", "--dropout", "0.5"], "--dropout applies to --model mlp, deep-cnn or better-rnnlm, not cnn"),
        (["--model", "two-layer", "--batchnorm"], "--batchnorm applies to --model mlp"),
        (["--model", "cnn", "--activation", "tanh"], "--activation applies to --model mlp"),
        (["--model", "two-layer", "--hidden-sizes", "10,10"], "has one hidden layer"),
    ],
)
def test_options_that_do_not_apply_are_refused_not_ignored(tmp_path, capsys, options, message):
    assert main(["train", "--output-dir", str(tmp_path / "r"), *options]) == 2
    assert message in capsys.readouterr().err


def test_weight_decay_reaches_every_model(data_dir, tmp_path):
    """--weight-decay once did nothing for the CNN; now it goes through the optimizer for all models."""
    from chainrule.checkpoint import load_checkpoint

    for decay in ("0", "0.5"):
        assert main(["train", "--model", "cnn", "--data-dir", str(data_dir), "--no-verify", "--no-download",
                     "--output-dir", str(tmp_path / decay), "--epochs", "1", "--limit", "20", "-v", "0",
                     "--weight-decay", decay]) == 0
    plain, _, _ = load_checkpoint(tmp_path / "0")
    decayed, optimizer, config = load_checkpoint(tmp_path / "0.5")
    assert config["training"]["weight_decay"] == 0.5 and float(optimizer["weight_decay"]) == 0.5
    assert np.abs(decayed["W1"]).sum() < np.abs(plain["W1"]).sum()


def test_threads_option_limits_the_threads_and_is_checked(data_dir, tmp_path, monkeypatch, capsys):
    import chainrule.experiment as train_command

    asked = []
    monkeypatch.setattr(train_command, "set_threads", asked.append)
    assert train(data_dir, tmp_path / "run", "--epochs", "1", "--threads", "1") == 0
    assert asked == [1]
    for bad in ("0", "-2", "two"):
        with pytest.raises(SystemExit) as exit_info:
            train(data_dir, tmp_path / "bad", "--threads", bad)
        assert exit_info.value.code == 2
    assert "--threads" in capsys.readouterr().err
