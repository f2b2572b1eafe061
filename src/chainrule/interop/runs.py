"""Run directories in and out: export a trained run's weights, import a model as a run to evaluate or fine-tune.

``chainrule export`` and ``chainrule import`` are these two calls; the CLI only parses and prints.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..checkpoint import read_checkpoint
from ..errors import ConfigError
from ..models import LANGUAGE_MODELS, build_model, sequential_config
from ..nets import Sequential
from ..optimizers import make_optimizer
from ..rundir import RunDir, checkpoint_path
from ..training import History
from .onnx_export import DEFAULT_OPSET, to_onnx
from .onnx_import import read_onnx
from .safetensors_file import model_from_safetensors, save_safetensors

FORMATS = ("onnx", "safetensors")
# What `chainrule train --resume` fine-tunes an imported model with (each may be changed on import).
FINE_TUNING = {"optimizer": "adam", "lr": 0.001, "batch_size": 100, "epochs": 1, "schedule": "constant",
               "weight_decay": 0.0, "seed": 0, "limit": None, "validation_split": 0.1}


def format_of(path: str | os.PathLike, format: str | None = None) -> str:
    """``format``, or the one the file name's suffix says (``.safetensors``; anything else is ONNX)."""
    if format is None:
        return "safetensors" if Path(path).suffix.lower() == ".safetensors" else "onnx"
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    return format


def run_input_shape(config: dict[str, Any]) -> tuple[int | None, ...]:
    """One sample's shape as the run's network takes it: images, or flat vectors."""
    if config["model"] in ("cnn", "deep-cnn", "sequential"):
        return tuple(config["input_shape"])
    return (int(config["input_size"]),)


def load_run_network(run_dir: str | os.PathLike, checkpoint: str = "last") -> tuple[Sequential, dict[str, Any]]:
    """The network of a run directory's ``last`` or ``best`` checkpoint, with its config."""
    saved = read_checkpoint(checkpoint_path(run_dir, checkpoint))
    net = build_model(saved.config)
    net.load_state_dict(saved.model)
    return net, saved.config


def export_run(run_dir: str | os.PathLike, output: str | os.PathLike, *, checkpoint: str = "last",
               format: str | None = None, opset: int = DEFAULT_OPSET) -> Path:
    """Write the network of ``run_dir`` to ``output`` as ONNX or safetensors; return the path written."""
    format = format_of(output, format)
    net, config = load_run_network(run_dir, checkpoint)
    if format == "onnx" and config["model"] in LANGUAGE_MODELS:
        raise ConfigError(f"{run_dir} holds a language model ({config['model']}): ONNX export covers the image and "
                          "vector models; export its weights as safetensors (--format safetensors)")
    if format == "onnx":
        to_onnx(net, output, input_shape=run_input_shape(config), opset=opset)
    else:
        save_safetensors(net, output, config=config)
    return Path(output)


def import_run(model_path: str | os.PathLike, run_dir: str | os.PathLike, *, dataset: str = "mnist",
               **training: Any) -> tuple[RunDir, dict[str, Any]]:
    """Make ``run_dir`` a run (epoch 0) holding the network of ``model_path`` (ONNX or chainrule safetensors).

    ``chainrule evaluate RUN`` measures it; ``chainrule train --resume --output-dir RUN --epochs N``
    fine-tunes it with :data:`FINE_TUNING` (any of which ``training`` replaces). Returns the closed
    run directory and the config written.
    """
    unknown = sorted(set(training) - set(FINE_TUNING))
    if unknown:
        raise ConfigError(f"import_run: unknown training settings {unknown}; expected {sorted(FINE_TUNING)}")
    if format_of(model_path) == "safetensors":
        net, config = model_from_safetensors(model_path)
        if config.get("model") in LANGUAGE_MODELS:  # its run would need a corpus, not an image dataset
            raise ConfigError(f"{model_path} holds a language model ({config['model']}): import makes runs of image "
                              "and vector models; train a language model with chainrule train --model "
                              f"{config['model']}")
        config = {key: value for key, value in config.items() if key not in ("dataset", "training")}
    else:
        imported = read_onnx(model_path)
        net = imported.net
        config = sequential_config(net, imported.input_shape, dtype=imported.dtype)
        config["source"] = {"onnx": os.fspath(model_path), "opset": imported.opset,
                            "dropped_final_activation": imported.final_activation}
    settings = {**FINE_TUNING, **{k: v for k, v in training.items() if v is not None}}
    config["dataset"], config["training"] = dataset, settings
    optimizer = make_optimizer(settings["optimizer"], settings["lr"], weight_decay=settings["weight_decay"])
    settings["lr"] = optimizer.lr
    with RunDir.create(run_dir, config=config) as run:
        run.save(net, optimizer, History())
    return run, config
