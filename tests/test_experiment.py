"""``chainrule.train``: the run as a library call, the same run the command makes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule
from chainrule.checkpoint import load_checkpoint
from chainrule.cli.main import main
from chainrule.errors import ConfigError, DataDirError
from chainrule.recipes import OptionError
from helpers import train_small_cli

SMALL = {"hidden_sizes": [8], "batch_size": 16, "verbose": 0, "download": False, "verify": False}


def library_train(data_dir, run_dir, **options):
    return chainrule.train(data_dir=data_dir, output_dir=run_dir, **{**SMALL, **options})


def test_library_and_command_give_bit_identical_weights(data_dir, tmp_path):
    assert train_small_cli(data_dir, tmp_path / "cli", "--epochs", "2", "--optimizer", "adam", "--seed", "3") == 0
    result = library_train(data_dir, tmp_path / "lib", epochs=2, optimizer="adam", seed=3)
    from_cli, _, cli_config = load_checkpoint(tmp_path / "cli")
    from_library, _, library_config = load_checkpoint(tmp_path / "lib")
    assert cli_config == library_config
    assert from_cli.keys() == from_library.keys()
    for key in from_cli:
        np.testing.assert_array_equal(from_cli[key], from_library[key])
    for key, value in result.net.state_dict().items():
        np.testing.assert_array_equal(value, from_library[key])


def test_result_holds_network_history_accuracy_and_run_directory(data_dir, tmp_path):
    result = library_train(data_dir, tmp_path / "run", epochs=2)
    assert result.run_dir == tmp_path / "run"
    assert len(result.history) == 2 and result.epochs_trained == 2
    assert 0 <= result.test_accuracy <= 1 and np.isfinite(result.test_loss)
    assert result.config["training"]["epochs"] == 2
    assert result.summary()["epochs"] == 2


def test_resume_from_python_continues_the_run(data_dir, tmp_path):
    library_train(data_dir, tmp_path / "run", epochs=1)
    result = chainrule.train(resume=tmp_path / "run", epochs=3, data_dir=data_dir, verbose=0, download=False, verify=False)
    assert list(result.history.epoch) == [1, 2, 3] and result.epochs_trained == 2
    uninterrupted = library_train(data_dir, tmp_path / "whole", epochs=3)
    for key, value in uninterrupted.net.state_dict().items():
        np.testing.assert_array_equal(value, result.net.state_dict()[key])


def test_library_refuses_bad_options_naming_them(data_dir, tmp_path):
    with pytest.raises(ConfigError, match="lr must be a positive finite number, got -1"):
        library_train(data_dir, tmp_path / "a", lr=-1)
    with pytest.raises(OptionError, match="activation applies to model mlp, not cnn"):
        library_train(data_dir, tmp_path / "b", model="cnn", activation="tanh")
    with pytest.raises(TypeError, match="unexpected keyword argument 'learning_rate'"):
        library_train(data_dir, tmp_path / "c", learning_rate=0.1)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_limit_too_small_for_the_split_is_refused_before_any_folder(data_dir, tmp_path, capsys):
    # was: a traceback ending in "ValueError: validation split 0.1 of 1 samples leaves 0 ..." and a
    # run folder holding only config.json
    code = main(["train", "--data-dir", str(data_dir), "--no-verify", "--output-dir", str(tmp_path / "run"), "--limit", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "leaves 0 for training" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_run_that_fails_before_training_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataDirError, match="no MNIST files"):
        chainrule.train(data_dir=empty, **SMALL)
    assert not (tmp_path / "runs" / "mnist-mlp").exists()


def test_batchnorm_last_batch_of_one_is_refused_before_training(data_dir, tmp_path, capsys):
    # was: a failure mid-run with library advice ("use eval() for single samples") and an
    # untrained checkpoint that evaluate then reported as if trained
    run_dir = tmp_path / "run"
    code = train_small_cli(data_dir, run_dir, "--batchnorm", "--limit", "33", "--validation-split", "0")
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "batch normalisation needs 2 samples in every batch" in err and "leaves a batch of 1" in err
    assert not run_dir.exists()


def test_resume_with_fewer_epochs_than_done_is_refused(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train_small_cli(data_dir, run_dir, "--epochs", "3")
    capsys.readouterr()
    code = train_small_cli(data_dir, run_dir, "--resume", "--epochs", "2")
    captured = capsys.readouterr()
    assert code == 2 and "resume:" not in captured.out
    assert "--epochs 2 is fewer than the 3 epochs the run" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_resume_of_a_finished_run_says_so_and_trains_nothing(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train_small_cli(data_dir, run_dir, "--epochs", "2")
    capsys.readouterr()
    assert train_small_cli(data_dir, run_dir, "--resume") == 0
    assert "already has 2 epochs" in capsys.readouterr().err
    result = chainrule.train(resume=run_dir, data_dir=data_dir, verbose=0, download=False, verify=False)
    assert result.epochs_trained == 0 and result.test_accuracy is None and len(result.history) == 2


def test_resume_refuses_an_explicit_option_that_differs(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train_small_cli(data_dir, run_dir, "--epochs", "1")
    capsys.readouterr()
    # --model mlp is the default: given explicitly on a two-layer run it is a change, not "not given"
    train_small_cli(data_dir, tmp_path / "two", "--epochs", "1", "--model", "two-layer")
    capsys.readouterr()
    assert train_small_cli(data_dir, tmp_path / "two", "--resume", "--epochs", "2", "--model", "mlp") == 2
    assert "--model cannot change when resuming" in capsys.readouterr().err


def test_mpi_launch_without_distributed_is_refused(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PMI_SIZE", "2")
    assert train_small_cli(data_dir, tmp_path / "run", "--epochs", "1") == 2
    err = capsys.readouterr().err
    assert "without --distributed" in err and "2 processes" in err
    assert not (tmp_path / "run").exists()


def test_evaluate_best_keeps_its_own_report(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train_small_cli(data_dir, run_dir, "--epochs", "2")
    args = ["--data-dir", str(data_dir), "--no-verify", "--no-download"]
    assert main(["evaluate", str(run_dir), *args]) == 0
    assert main(["evaluate", str(run_dir), "--checkpoint", "best", *args]) == 0
    last = json.loads((run_dir / "evaluation.json").read_text())
    best = json.loads((run_dir / "evaluation-best.json").read_text())
    assert last["checkpoint"] == "last" and best["checkpoint"] == "best"
    assert last["epochs"] == 2


def test_evaluate_refuses_another_dataset_than_the_runs(data_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    train_small_cli(data_dir, run_dir, "--epochs", "1")
    capsys.readouterr()
    code = main(["evaluate", str(run_dir), "--dataset", "fashion-mnist", "--data-dir", str(data_dir), "--no-verify"])
    err = capsys.readouterr().err
    assert code == 2 and "was trained on mnist" in err


def test_plurals_in_the_summary(data_dir, tmp_path, capsys):
    train_small_cli(data_dir, tmp_path / "run", "--epochs", "1")
    out = capsys.readouterr().out
    assert "after 1 epoch (" in out and "1 epochs" not in out


def test_cli_train_is_a_thin_shell():
    from pathlib import Path

    import chainrule.cli.train as command

    source = Path(command.__file__).read_text()
    assert len(source.splitlines()) <= 200
    for library_only in ("Trainer(", "RunDir", "build_model", "make_optimizer", "make_schedule"):
        assert library_only not in source, library_only


def test_benchmarks_never_import_the_cli():
    import re
    from pathlib import Path

    cli = re.compile(r"chainrule\.cli\b")  # chainrule.cli or chainrule.cli.*, not chainrule.clipping
    assert cli.search("from chainrule.cli.train import x") and not cli.search("from chainrule.clipping import y")
    for script in (Path(__file__).parent.parent / "benchmarks").glob("*.py"):
        assert not cli.search(script.read_text()), script.name


def test_fashion_mnist_pointed_at_mnist_files_names_them(tmp_path, capsys):
    import os
    from pathlib import Path

    mnist = Path(os.environ.get("CHAINRULE_DATA", "/nonexistent")) / "mnist"
    if not (mnist / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("CHAINRULE_DATA does not hold the MNIST files (mnist/)")
    code = main(["train", "--dataset", "fashion-mnist", "--data-dir", str(mnist), "--output-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1 and "is MNIST's train-images-idx3-ubyte.gz, not Fashion-MNIST's" in err
    assert not (tmp_path / "run").exists()
