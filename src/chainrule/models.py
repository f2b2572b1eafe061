"""Build a network from a plain, JSON-friendly config: what checkpoints store and the CLI parses.

A checkpoint saves this config next to the weights, so loading never unpickles code: the
network is rebuilt from names and numbers, and only arrays are read from the file.
"""

from __future__ import annotations

from typing import Any

from .nets import DeepConvNet, MultiLayerNet, Sequential, SimpleConvNet, TwoLayerNet

MODELS = ("two-layer", "mlp", "cnn", "deep-cnn")
IMAGE_MODELS = ("cnn", "deep-cnn")  # take (N, C, H, W) images; the others take flat vectors


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
