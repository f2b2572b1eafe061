"""Recipes, new-run defaults and resume rules: library data, tested without training anything."""

from __future__ import annotations

import pytest

from chainrule.errors import ConfigError
from chainrule.recipes import RECIPES, OptionError, TrainOptions, new_run_config, resume_config


def test_a_new_run_is_the_models_recipe_with_the_options_over_it():
    config = new_run_config(TrainOptions(model="cnn", epochs=2))
    assert config["model"] == "cnn" and config["dataset"] == "mnist"
    assert config["training"] == {**RECIPES["cnn"], "epochs": 2, "seed": 0, "limit": None, "validation_split": 0.1}


def test_another_optimizer_starts_from_its_own_default_rate():
    assert new_run_config(TrainOptions(optimizer="sgd"))["training"]["lr"] is None
    assert new_run_config(TrainOptions(optimizer="sgd", lr=0.5))["training"]["lr"] == 0.5


@pytest.mark.parametrize("options, message", [
    ({"lr": 0}, "lr must be a positive finite number"),
    ({"epochs": 0}, "epochs must be an integer in"),
    ({"epochs": 2.5}, "epochs must be an integer"),
    ({"dropout": 1.0}, "dropout must be a probability"),
    ({"model": "resnet"}, "model must be one of"),
    ({"hidden_sizes": []}, "hidden_sizes must be a non-empty list"),
    ({"hidden_sizes": [10, 0]}, "hidden_sizes must be an integer in"),
    ({"weight_init": "glorot"}, "weight_init must be he, xavier"),
    ({"validation_split": float("nan")}, "validation_split must be a fraction"),
])
def test_bad_options_name_the_option_and_the_value(options, message):
    with pytest.raises(ConfigError, match=message):
        TrainOptions(**options)


def test_model_specific_options_are_refused_for_other_models():
    with pytest.raises(OptionError) as caught:
        new_run_config(TrainOptions(model="cnn", batchnorm=True))
    assert caught.value.naming(lambda name: "--" + name) == "--batchnorm applies to --model mlp, not cnn"


def _finished_run(epochs: int = 4, schedule: str = "cosine") -> dict:
    return new_run_config(TrainOptions(epochs=epochs, schedule=schedule))


def test_resume_takes_what_is_not_given_from_the_run():
    config, changes = resume_config(TrainOptions(), _finished_run(), 2, "runs/x")
    assert config == _finished_run() and changes == []


def test_resume_may_change_epochs_and_lr_and_says_when_the_rate_rises():
    config, changes = resume_config(TrainOptions(epochs=8), _finished_run(), 4, "runs/x")
    assert config["training"]["epochs"] == 8
    assert changes[0] == "epochs 4 -> 8" and "learning rate rises" in changes[1]
    _, changes = resume_config(TrainOptions(epochs=8), _finished_run(schedule="constant"), 4, "runs/x")
    assert changes == ["epochs 4 -> 8"]


def test_resume_refuses_a_change_of_anything_else():
    with pytest.raises(OptionError, match="batch_size cannot change when resuming.*trained with batch_size 200"):
        resume_config(TrainOptions(batch_size=100), _finished_run(), 2, "runs/x")
    with pytest.raises(OptionError, match="epochs 2 is fewer than the 4 epochs"):
        resume_config(TrainOptions(epochs=2), _finished_run(), 4, "runs/x")


def test_resume_messages_survive_braces_in_paths():
    with pytest.raises(OptionError, match=r"runs/\{odd\}"):
        resume_config(TrainOptions(seed=5), _finished_run(), 2, "runs/{odd}")
