"""Build a network from a plain, JSON-friendly config: what checkpoints store and the CLI parses.

A checkpoint saves this config next to the weights, so loading never unpickles code: the
network is rebuilt from names and numbers, and only arrays are read from the file.
"""

from __future__ import annotations

from typing import Any

from . import init
from .errors import ConfigError, DataError
from .layers import (
    Affine, AvgPooling, BatchNormalization, Convolution, Dropout, Flatten, Layer, LeakyRelu, Pooling, Relu, Sigmoid, Tanh,
)
from .nets import BetterRnnlm, DeepConvNet, MultiLayerNet, Rnnlm, Sequential, SimpleConvNet, TwoLayerNet

MODELS = ("two-layer", "mlp", "cnn", "deep-cnn", "rnnlm", "better-rnnlm")
# These take (N, C, H, W) images; the others take flat vectors. A "sequential" stack (an imported
# model, see :func:`sequential_config`) gets images too: its Affine and Flatten layers flatten them.
IMAGE_MODELS = ("cnn", "deep-cnn", "sequential")
# Read word ids and predict the next word; trained on a corpus, not on labelled samples. The
# vocabulary's size comes from the data, so a new run's config holds ``vocab_size: None`` until
# the corpus is loaded.
LANGUAGE_MODELS = ("rnnlm", "better-rnnlm")
# Every kind build_model rebuilds from a checkpoint: the trainable recipes and imported stacks.
BUILDABLE_MODELS = (*MODELS, "sequential")


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
    if name == "sequential":
        layers = [(spec["name"], layer_from_spec(spec, dtype, backend)) for spec in config["layers"]]
        return Sequential(layers, weight_decay_lambda=config.get("weight_decay_lambda", 0.0))
    raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODELS)} or sequential")


# -- "sequential": any stack of these layers, described layer by layer -------------------------

_PLAIN = {"Relu": Relu, "Sigmoid": Sigmoid, "Tanh": Tanh, "Flatten": Flatten}


def layer_spec(name: str, layer: Layer) -> dict[str, Any]:
    """The JSON description of ``layer`` that :func:`layer_from_spec` rebuilds it from (weights aside)."""
    spec: dict[str, Any] = {"name": name}
    if isinstance(layer, Affine):
        return {**spec, "type": "Affine", "in_features": int(layer.W.shape[0]), "out_features": int(layer.W.shape[1])}
    if isinstance(layer, Convolution):
        filters, channels, height, width = (int(n) for n in layer.W.shape)
        return {**spec, "type": "Convolution", "filters": filters, "channels": channels, "size": [height, width],
                "stride": layer.stride, "pad": layer.pad}
    if isinstance(layer, (Pooling, AvgPooling)):
        kind = "Pooling" if isinstance(layer, Pooling) else "AvgPooling"
        return {**spec, "type": kind, "size": [layer.pool_h, layer.pool_w], "stride": layer.stride, "pad": layer.pad}
    if isinstance(layer, BatchNormalization) and type(layer).forward is BatchNormalization.forward:
        return {**spec, "type": "BatchNormalization", "features": int(layer.gamma.shape[0]),
                "momentum": layer.momentum, "eps": layer.eps}
    if isinstance(layer, Dropout):
        return {**spec, "type": "Dropout", "ratio": layer.dropout_ratio, "inverted": layer.inverted}
    if isinstance(layer, LeakyRelu):
        return {**spec, "type": "LeakyRelu", "alpha": layer.alpha}
    for kind, cls in _PLAIN.items():
        if isinstance(layer, cls):
            return {**spec, "type": kind}
    raise ConfigError(f"layer {name!r} ({type(layer).__name__}) cannot be described as a sequential model's layer; "
                      f"supported: Affine, Convolution, Pooling, AvgPooling, BatchNormalization, Dropout, "
                      f"LeakyRelu, {', '.join(_PLAIN)}")


def layer_from_spec(spec: dict[str, Any], dtype: Any = "float32", backend: Any = "numpy") -> Layer:
    """A layer as :func:`layer_spec` describes it; parameters zero (batch norm's ``gamma`` one) until loaded."""
    kind = spec.get("type")
    if kind == "Affine":
        shape = (spec["in_features"], spec["out_features"])
        return Affine(init.zeros(shape, dtype, backend), init.zeros(shape[1:], dtype, backend))
    if kind == "Convolution":
        shape = (spec["filters"], spec["channels"], *spec["size"])
        return Convolution(init.zeros(shape, dtype, backend), init.zeros(shape[:1], dtype, backend),
                           stride=spec["stride"], pad=spec["pad"])
    if kind in ("Pooling", "AvgPooling"):
        pool = Pooling if kind == "Pooling" else AvgPooling
        return pool(*spec["size"], stride=spec["stride"], pad=spec["pad"])
    if kind == "BatchNormalization":
        features = (spec["features"],)
        return BatchNormalization(init.ones(features, dtype, backend), init.zeros(features, dtype, backend),
                                  momentum=spec["momentum"], eps=spec["eps"])
    if kind == "Dropout":
        return Dropout(spec["ratio"], inverted=spec["inverted"])
    if kind == "LeakyRelu":
        return LeakyRelu(spec["alpha"])
    if kind in _PLAIN:
        return _PLAIN[kind]()
    raise ConfigError(f"layer {spec.get('name')!r}: unknown layer type {kind!r} in a sequential model's config")


def sequential_config(net: Sequential, input_shape: tuple[int | None, ...], *, dtype: str | None = None) -> dict[str, Any]:
    """The config that rebuilds ``net``'s layer stack (as a :class:`Sequential`) through :func:`build_model`.

    ``input_shape`` is one sample's shape (``None`` for a size the network leaves open).
    """
    layers = [layer_spec(name, layer) for name, layer in net.layers.items()]
    affine = [spec["out_features"] for spec in layers if spec["type"] == "Affine"]
    input_size: int | None = 1
    for n in input_shape:
        input_size = None if n is None or input_size is None else input_size * int(n)
    return {
        "model": "sequential",
        "layers": layers,
        "input_shape": [None if n is None else int(n) for n in input_shape],
        "input_size": input_size,
        "hidden_sizes": affine[:-1],
        "output_size": affine[-1] if affine else None,
        "dtype": dtype or str(net.dtype),
        "weight_decay_lambda": net.weight_decay_lambda,
    }


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
