"""Build a network from a plain, JSON-friendly config: what checkpoints store and the CLI parses.

A checkpoint saves this config next to the weights, so loading never unpickles code: the
network is rebuilt from names and numbers, and only arrays are read from the file.
"""

from __future__ import annotations

from typing import Any

from .errors import DataError
from .nets import BetterRnnlm, DeepConvNet, MultiLayerNet, Rnnlm, Sequential, SimpleConvNet, TwoLayerNet

MODELS = ("two-layer", "mlp", "cnn", "deep-cnn", "rnnlm", "better-rnnlm")
IMAGE_MODELS = ("cnn", "deep-cnn")  # take (N, C, H, W) images; the others take flat vectors
# Read word ids and predict the next word; trained on a corpus, not on labelled samples. The
# vocabulary's size comes from the data, so a new run's config holds ``vocab_size: None`` until
# the corpus is loaded.
LANGUAGE_MODELS = ("rnnlm", "better-rnnlm")


def build_model(config: dict[str, Any], *, rng: Any = None, backend: str = "numpy") -> Sequential:
    """``config`` holds ``model`` (one of :data:`MODELS`), sizes and ``dtype``; see :func:`model_config`."""
    name = config.get("model")
    dtype = config.get("dtype", "float32")
    if name == "two-layer":
        return TwoLayerNet(
            config["input_size"], config["hidden_sizes"][0], config["output_size"],
            config.get("weight_init_std", 0.01), rng=rng, dtype=dtype, backend=backend,
        )
    if name == "mlp":
        return MultiLayerNet(
            config["input_size"], config["hidden_sizes"], config["output_size"],
            activation=config.get("activation", "relu"), weight_init_std=config.get("weight_init_std"),
            weight_decay_lambda=config.get("weight_decay_lambda", 0.0), dropout_ratio=config.get("dropout_ratio", 0.0),
            use_batchnorm=config.get("use_batchnorm", False), rng=rng, dtype=dtype, backend=backend,
        )
    if name == "cnn":
        return SimpleConvNet(
            tuple(config["input_shape"]), config.get("conv_param"), config["hidden_sizes"][0], config["output_size"],
            config.get("weight_init_std", "he"), rng=rng, dtype=dtype, backend=backend,
        )
    if name == "deep-cnn":
        return DeepConvNet(
            tuple(config["input_shape"]), hidden_size=config["hidden_sizes"][0], output_size=config["output_size"],
            dropout_ratio=config.get("dropout_ratio", 0.5), weight_init_std=config.get("weight_init_std", "he"),
            rng=rng, dtype=dtype, backend=backend,
        )
    if name == "rnnlm":
        return Rnnlm(config["vocab_size"], config["wordvec_size"], config["hidden_size"], rng=rng, dtype=dtype,
                     backend=backend)
    if name == "better-rnnlm":
        return BetterRnnlm(config["vocab_size"], config["wordvec_size"], config["hidden_size"],
                           config.get("dropout_ratio", 0.5), rng=rng, dtype=dtype, backend=backend)
    raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")


def model_config(
    model: str,
    *,
    input_shape: tuple[int, ...] = (1, 28, 28),
    output_size: int = 10,
    hidden_sizes: list[int] | None = None,
    dtype: str = "float32",
    **options: Any,
) -> dict[str, Any]:
    """The config :func:`build_model` takes, with the defaults of each model filled in."""
    if model in LANGUAGE_MODELS:
        # The image options (activation, weight_init_std, ...) do not apply: TrainOptions refuses them.
        return language_model_config(model, vocab_size=options.get("vocab_size"), hidden_sizes=hidden_sizes,
                                     dtype=dtype, dropout_ratio=options.get("dropout_ratio"))
    input_size = 1
    for n in input_shape:
        input_size *= n
    defaults = {"two-layer": [50], "mlp": [512, 256], "cnn": [100], "deep-cnn": [50]}
    if model not in defaults:
        raise ValueError(f"unknown model {model!r}: expected one of {', '.join(MODELS)}")
    config = {
        "model": model,
        "input_shape": list(input_shape),
        "input_size": input_size,
        "output_size": output_size,
        "hidden_sizes": list(hidden_sizes or defaults[model]),
        "dtype": dtype,
    }
    config.update({k: v for k, v in options.items() if v is not None})
    return config


def language_model_config(
    model: str, *, vocab_size: int | None = None, hidden_sizes: list[int] | None = None, dtype: str = "float32",
    dropout_ratio: float | None = None,
) -> dict[str, Any]:
    """The config of :data:`LANGUAGE_MODELS`: the book's sizes (``rnnlm`` 100, ``better-rnnlm`` 650
    with dropout 0.5), word vectors as wide as the hidden state (the tied weights of
    ``better-rnnlm`` need it). ``vocab_size`` is the corpus's, None until it is known."""
    hidden_size = (hidden_sizes or [{"rnnlm": 100, "better-rnnlm": 650}[model]])[0]
    config = {"model": model, "vocab_size": vocab_size, "wordvec_size": hidden_size, "hidden_size": hidden_size,
              "dtype": dtype}
    if model == "better-rnnlm":
        config["dropout_ratio"] = 0.5 if dropout_ratio is None else dropout_ratio
    return config


def hidden_sizes_of(config: dict[str, Any]) -> list[int]:
    """The hidden layer sizes of a config, whatever the model: ``[hidden_size]`` for a language model."""
    return list(config["hidden_sizes"]) if "hidden_sizes" in config else [config["hidden_size"]]


def check_vocabulary(config: dict[str, Any], word_to_id: dict[str, int], where: str) -> None:
    """A language model's word ids mean the words of the vocabulary it was trained with: refuse another."""
    if config.get("vocab_size") != len(word_to_id):
        raise DataError(f"{where} was trained on a vocabulary of {config.get('vocab_size')} words, but the "
                        f"{config.get('dataset')} text read now has {len(word_to_id)}: point at the data it was trained on")
