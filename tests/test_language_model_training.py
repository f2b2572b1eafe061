"""Language models end to end: ``chainrule train --model rnnlm`` on a tiny generated PTB, its resume,
``evaluate`` (test perplexity) and ``generate``; the loop against the book's ``RnnlmTrainer``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import chainrule
from chainrule.checkpoint import load_checkpoint
from chainrule.cli.main import main
from chainrule.errors import ConfigError
from chainrule.history import History
from chainrule.nets import Rnnlm, perplexity
from chainrule.optimizers import SGD
from chainrule.recipes import RECIPES, OptionError, TrainOptions, new_run_config
from chainrule.training import make_schedule
from chainrule.training.language_model import LanguageModelTrainer

from book2_support import BOOK2, HAVE_BOOK2, run_book2

SUBJECTS = ("the cat", "a dog", "the bird", "my friend")
VERBS = ("sees", "likes", "eats")
OBJECTS = ("the fish", "a bone", "the seed", "N")


def write_fake_ptb(folder, words=(600, 400, 400), seed=0):
    """Three texts in PTB's layout (a space before and after each sentence, one a line): 15 words."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, count in zip(("train", "valid", "test"), words):
        lines, total = [], 0
        while total < count:
            line = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
            lines.append(f" {line} ")
            total += len(line.split()) + 1
        (folder / f"ptb.{name}.txt").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def ptb_dir(tmp_path):
    return write_fake_ptb(tmp_path / "data")


SMALL = ["--hidden-sizes", "8", "--batch-size", "2"]


def train_cli(data_dir, run_dir, *extra):
    if "--model" not in extra and "--resume" not in extra:
        extra = ("--model", "rnnlm", *extra)
    return main(["train", "--data-dir", str(data_dir), "--no-verify", "--output-dir", str(run_dir), *SMALL, "-v", "2",
                 *extra])


def data_options(data_dir):
    return ["--data-dir", str(data_dir), "--no-verify"]


def assert_same_weights(run_a, run_b):
    a, _, _ = load_checkpoint(run_a)
    b, _, _ = load_checkpoint(run_b)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_train_writes_a_run_with_perplexities(ptb_dir, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train_cli(ptb_dir, run_dir, "--epochs", "2") == 0
    out = capsys.readouterr().out
    assert "epoch 2/2  perplexity" in out and "val perplexity" in out and "test perplexity" in out
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "rnnlm" and config["dataset"] == "ptb"
    assert (config["vocab_size"], config["wordvec_size"], config["hidden_size"]) == (15, 8, 8)
    assert config["training"]["schedule"] == "cosine"
    assert config["training"]["time_size"] == 35 and config["training"]["max_grad"] == 0.25
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epoch"] == [1, 2] and metrics["train_acc"] == [None, None] and metrics["lr"] == [20, 10]  # the cosine
    # 15 words: a model that learned anything beats guessing (perplexity 15)
    assert math.exp(metrics["val_loss"][-1]) < 15
    assert {"checkpoint.npz", "best.npz", "learning_curve.png"} <= {p.name for p in run_dir.iterdir()}


@pytest.mark.parametrize("model", ["rnnlm", "better-rnnlm"])
def test_resume_is_bit_identical_to_the_uninterrupted_run(ptb_dir, tmp_path, model):
    # better-rnnlm: dropout masks and the rate divided on a validation plateau both follow the epoch.
    # A constant rate: a cosine planned over 3 epochs is another run than one planned over 4.
    assert train_cli(ptb_dir, tmp_path / "whole", "--model", model, "--epochs", "4", "--schedule", "constant") == 0
    assert train_cli(ptb_dir, tmp_path / "part", "--model", model, "--epochs", "3", "--schedule", "constant") == 0
    assert train_cli(ptb_dir, tmp_path / "part", "--epochs", "4", "--resume") == 0
    assert_same_weights(tmp_path / "whole", tmp_path / "part")
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    part = json.loads((tmp_path / "part" / "metrics.json").read_text())
    assert whole["val_loss"] == part["val_loss"] and whole["lr"] == part["lr"]
    if model == "better-rnnlm":  # this run's third epoch did not improve: its fourth ran at a quarter of the rate
        assert part["lr"] == [20, 20, 20, 5]


def test_library_and_command_give_bit_identical_weights(ptb_dir, tmp_path):
    assert train_cli(ptb_dir, tmp_path / "cli", "--epochs", "2", "--seed", "3") == 0
    result = chainrule.train(model="rnnlm", hidden_sizes=[8], batch_size=2, epochs=2, seed=3, data_dir=ptb_dir,
                             verify=False, verbose=0, output_dir=tmp_path / "lib")
    assert_same_weights(tmp_path / "cli", tmp_path / "lib")
    assert result.test_accuracy is None and result.summary()["test_ppl"] == result.test_perplexity
    assert result.test_perplexity == pytest.approx(math.exp(result.test_loss))


def test_evaluate_prints_the_test_perplexity(ptb_dir, tmp_path, capsys):
    result = chainrule.train(model="rnnlm", hidden_sizes=[8], batch_size=2, epochs=1, data_dir=ptb_dir, verify=False,
                             verbose=0, output_dir=tmp_path / "run")
    assert main(["evaluate", str(tmp_path / "run"), *data_options(ptb_dir)]) == 0
    out = capsys.readouterr().out
    assert f"perplexity {result.test_perplexity:.2f}" in out and "ptb test text" in out
    report = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert report["perplexity"] == pytest.approx(result.test_perplexity, rel=1e-12)


def test_generate_samples_repeatable_text_from_the_vocabulary(ptb_dir, tmp_path, capsys):
    train_cli(ptb_dir, tmp_path / "run", "--epochs", "2")
    capsys.readouterr()
    command = ["generate", str(tmp_path / "run"), "--start", "the cat sees", "--length", "20", *data_options(ptb_dir)]
    assert main([*command, "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert main([*command, "--seed", "1"]) == 0
    assert capsys.readouterr().out == text
    assert text.startswith("the cat sees")
    words = text.replace(".", " ").split()
    assert len(words) == 3 + 20 - text.count(".")  # each <eos> became a full stop
    assert set(words) <= {w for phrase in SUBJECTS + VERBS + OBJECTS for w in phrase.split()} - {"N"}  # N is skipped
    assert main([*command, "--seed", "2", "--checkpoint", "best"]) == 0


def test_generate_names_an_unknown_start_word(ptb_dir, tmp_path, capsys):
    train_cli(ptb_dir, tmp_path / "run", "--epochs", "1")
    capsys.readouterr()
    assert main(["generate", str(tmp_path / "run"), "--start", "the zebra", *data_options(ptb_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'zebra' is not in the vocabulary" in err


def test_generate_refuses_an_image_run(data_dir, tmp_path, capsys):
    assert main(["train", "--data-dir", str(data_dir), "--no-verify", "--output-dir", str(tmp_path / "mlp"),
                 "--hidden-sizes", "8", "--epochs", "1", "-v", "0"]) == 0
    assert main(["generate", str(tmp_path / "mlp")]) == 2
    assert "generate samples text from a language model" in capsys.readouterr().err


@pytest.mark.parametrize("options, message", [
    (["--model", "rnnlm", "--dataset", "mnist"], "--model rnnlm is a language model"),
    (["--model", "mlp", "--dataset", "ptb"], "--dataset ptb is a text corpus"),
    (["--model", "rnnlm", "--validation-split", "0.1"], "--validation-split does not apply to --model rnnlm"),
    (["--model", "rnnlm", "--dropout", "0.2"], "--dropout applies to"),
    (["--model", "rnnlm", "--weight-init", "he"], "--weight-init applies to"),
    (["--model", "rnnlm", "--hidden-sizes", "4,4"], "one hidden layer"),
    (["--model", "better-rnnlm", "--distributed"], "--distributed training applies to the image models"),
    (["--model", "rnnlm", "--limit", "700"], "--limit 700 words hold no window of --batch-size 20 streams x 35 words"),
])
def test_options_a_language_model_cannot_take(tmp_path, capsys, options, message):
    assert main(["train", "--output-dir", str(tmp_path / "run"), "--no-download", *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "run").exists()


def test_recipes_are_the_book_s_but_rnnlm_decays_its_rate():
    config = new_run_config(TrainOptions(model="rnnlm"))
    assert config["dataset"] == "ptb" and config["vocab_size"] is None  # known once the corpus is read
    assert config["training"] == {**RECIPES["rnnlm"], "seed": 0, "limit": None}
    book = {"optimizer": "sgd", "lr": 20.0, "batch_size": 20, "epochs": 4, "schedule": "constant", "weight_decay": 0.0,
            "time_size": 35, "max_grad": 0.25}  # ch06/train_rnnlm.py
    assert RECIPES["rnnlm"] == book | {"schedule": "cosine"}
    assert book | {"epochs": 40, "plateau_decay": 0.25} == RECIPES["better-rnnlm"]
    rates = [make_schedule(RECIPES["rnnlm"]["schedule"], 20.0, 4)(epoch) for epoch in range(4)]
    assert rates == pytest.approx([20.0, 17.0711, 10.0, 2.9289], abs=1e-4)
    assert new_run_config(TrainOptions(model="rnnlm", schedule="constant"))["training"] == {**book, "seed": 0, "limit": None}
    better = new_run_config(TrainOptions(model="better-rnnlm"))
    assert (better["hidden_size"], better["wordvec_size"], better["dropout_ratio"]) == (650, 650, 0.5)
    assert new_run_config(TrainOptions(dataset="ptb"))["model"] == "rnnlm"
    with pytest.raises(OptionError, match="language model"):
        new_run_config(TrainOptions(model="better-rnnlm", dataset="fashion-mnist"))


def test_resume_finds_the_latest_ptb_run(ptb_dir, tmp_path):
    options = dict(hidden_sizes=[8], batch_size=2, data_dir=ptb_dir, verify=False, verbose=0, runs_root=tmp_path / "runs")
    first = chainrule.train(model="rnnlm", epochs=1, **options)
    assert first.run_dir == tmp_path / "runs" / "ptb-rnnlm"
    again = chainrule.train(model="rnnlm", resume=True, epochs=2, **options)
    assert again.run_dir == first.run_dir and list(again.history.epoch) == [1, 2] and again.epochs_trained == 1


def test_limit_reads_the_first_words(ptb_dir, tmp_path):
    result = chainrule.train(model="rnnlm", hidden_sizes=[8], batch_size=2, epochs=1, limit=71, data_dir=ptb_dir,
                             verify=False, verbose=0, output_dir=tmp_path / "run")
    assert result.config["training"]["limit"] == 71 and len(result.history) == 1  # one window of 2 x 35


def corpus(length=400, vocab=15, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, length)


def test_the_rate_is_divided_after_every_epoch_that_did_not_improve():
    trainer = LanguageModelTrainer(Rnnlm(5, 4, 4, rng=0), SGD(20.0), plateau_decay=0.25)
    history = History()
    for epoch, val_loss in enumerate([3.0, 2.0, 2.5, 2.0, 1.0], start=1):  # 2.5 and 2.0 are no better than 2.0
        history.append(epoch=epoch, val_loss=val_loss)
    rates = [trainer._set_learning_rate(epoch, history) for epoch in range(6)]
    assert rates == [20, 20, 20, 5, 1.25, 1.25]


def test_a_corpus_too_short_for_one_window_is_refused():
    trainer = LanguageModelTrainer(Rnnlm(15, 4, 4, rng=0), SGD(1.0), batch_size=20, time_size=35, verbose=0)
    with pytest.raises(ConfigError, match="at least 701 words"):
        trainer.fit(corpus(700))
    with pytest.raises(ConfigError, match=r"validation_corpus .* \(at least 351 words\)"):
        LanguageModelTrainer(Rnnlm(15, 4, 4, rng=0), SGD(1.0), batch_size=2, verbose=0).fit(
            corpus(), validation_corpus=corpus(100))
    with pytest.raises(ConfigError, match="1-D word ids"):
        trainer.fit(np.zeros(1000))
    with pytest.raises(ConfigError, match="give a validation_corpus"):
        LanguageModelTrainer(Rnnlm(15, 4, 4, rng=0), SGD(1.0), batch_size=2, plateau_decay=0.25).fit(corpus())


def test_validation_perplexity_is_measured_from_a_fresh_state():
    model = Rnnlm(15, 4, 4, rng=0)
    history = LanguageModelTrainer(model, SGD(1.0), epochs=1, batch_size=2, time_size=5, verbose=0).fit(
        corpus(), validation_corpus=corpus(400, seed=1))
    assert history.val_loss[0] == pytest.approx(math.log(perplexity(model, corpus(400, seed=1), 10, 5)), rel=1e-12)


@pytest.mark.skipif(not HAVE_BOOK2, reason=f"the second book's code is not at {BOOK2} (set CHAINRULE_BOOK2_DIR)")
def test_two_epochs_equal_the_book_s_rnnlm_trainer(tmp_path):
    """The same windows, clipping and updates: from the same weights, the book's RnnlmTrainer
    (fit once per epoch, the state reset between, as train_better_rnnlm.py runs it) ends with ours."""
    words = corpus(401)
    model = Rnnlm(15, 6, 6, rng=0, dtype=np.float32)
    np.savez(tmp_path / "start.npz", words=words, **{k.replace(".", "_"): v for k, v in model.state_dict().items()})
    LanguageModelTrainer(model, SGD(20.0), epochs=2, batch_size=4, time_size=5, max_grad=0.25, verbose=0).fit(words)
    run_book2(
        f"""
        sys.path.insert(0, {str(BOOK2 / "ch06")!r})
        import numpy as np
        from common.optimizer import SGD
        from common.trainer import RnnlmTrainer
        from rnnlm import Rnnlm
        start = np.load("start.npz")
        model = Rnnlm(15, 6, 6)
        for param, name in zip(model.params, ["embed_W", "lstm_Wx", "lstm_Wh", "lstm_b", "affine_W", "affine_b"]):
            param[...] = start[name]
        trainer = RnnlmTrainer(model, SGD(20.0))
        words = start["words"]
        for epoch in range(2):
            trainer.fit(words[:-1], words[1:], max_epoch=1, batch_size=4, time_size=5, max_grad=0.25, eval_interval=None)
            model.reset_state()
        np.savez("book.npz", *model.params)
        """,
        cwd=tmp_path,
    )
    book = np.load(tmp_path / "book.npz")
    for index, name in enumerate(["embed.W", "lstm.Wx", "lstm.Wh", "lstm.b", "affine.W", "affine.b"]):
        np.testing.assert_allclose(model.params[name], book[f"arr_{index}"], rtol=1e-4, atol=1e-5, err_msg=name)


def test_the_learning_curve_of_a_language_model_is_perplexity(tmp_path):
    pytest.importorskip("matplotlib")
    from chainrule.plots import plot_learning_curve

    history = History()
    for epoch, (train_loss, val_loss) in enumerate([(5.0, 4.8), (4.6, 4.5), (4.4, 4.6)], start=1):
        history.append(epoch=epoch, train_loss=train_loss, val_loss=val_loss, lr=20.0)
    figure = plot_learning_curve(history, tmp_path / "curve.png", perplexity=True)
    (ax,) = figure.axes
    assert ax.get_ylabel().startswith("perplexity")
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["train", "validation", "best.npz (epoch 2)"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), np.exp([4.8, 4.5, 4.6]))


def test_interop_refuses_a_language_model_in_one_line(ptb_dir, tmp_path, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("safetensors")
    train_cli(ptb_dir, tmp_path / "run", "--epochs", "1")
    capsys.readouterr()
    assert main(["export", str(tmp_path / "run"), "-o", str(tmp_path / "lm.onnx")]) == 1
    assert "holds a language model (rnnlm): ONNX export" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "run"), "-o", str(tmp_path / "lm.safetensors")]) == 0
    assert main(["import", str(tmp_path / "lm.safetensors"), "-o", str(tmp_path / "imported")]) == 1
    assert "holds a language model (rnnlm): import makes runs" in capsys.readouterr().err
    assert not (tmp_path / "imported").exists()
