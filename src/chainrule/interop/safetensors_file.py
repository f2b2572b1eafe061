"""Weights as safetensors: chainrule's state dict under its own names, plus the config that rebuilds the network.

A safetensors file holds named arrays and a string-to-string metadata header, nothing that runs
code. chainrule writes ``net.state_dict()`` (``W1``, ``b1``, ``gamma1``, ``running_mean1`` ...) and
the metadata ``chainrule.config`` (the JSON config :func:`chainrule.models.build_model` takes), and
for a reader without chainrule ``model``, ``input_shape``, ``hidden_sizes``, ``output_size`` and
``dtype``; loading it back is bit-exact.

PyTorch's ``state_dict`` saved with ``safetensors.torch.save_file`` loads into the twin chainrule
network with :func:`load_torch_safetensors`: module by module in the order of their names
(``0.weight`` < ``2.weight`` < ``10.weight``), ``nn.Linear.weight`` (out, in) transposed to
``W`` (in, out), ``nn.Conv2d.weight`` as it is, ``nn.BatchNorm*`` ``weight``/``bias``/
``running_mean``/``running_var`` to ``gamma``/``beta``/``running_mean``/``running_var``
(``num_batches_tracked`` is dropped).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..checkpoint import atomic_write_bytes
from ..errors import CheckpointError
from ..models import build_model, sequential_config
from ..nets import LoadResult, Sequential
from .extra import require

CONFIG_KEY = "chainrule.config"


def save_safetensors(net: Sequential, path: str | os.PathLike, *, config: Mapping[str, Any] | None = None,
                     input_shape: tuple[int, ...] | None = None) -> None:
    """Write ``net.state_dict()`` to ``path`` with the metadata that rebuilds ``net``.

    ``config`` is the network's :func:`~chainrule.models.build_model` config (a run's); without
    one, the layer stack is described as a ``sequential`` model (``input_shape`` is then recorded
    as given, or read from the first layer with weights).
    """
    numpy_io = require("safetensors.numpy", "saving safetensors")
    if config is None:
        from .onnx_export import default_input_shape

        shape = input_shape if input_shape is not None else default_input_shape(net)
        config = sequential_config(net, tuple(shape))
    state = {key: np.ascontiguousarray(value) for key, value in net.state_dict().items()}
    metadata = {CONFIG_KEY: json.dumps(dict(config), sort_keys=True), "model": str(config.get("model")),
                "dtype": str(net.dtype)}
    metadata.update({key: json.dumps(config.get(key)) for key in ("input_shape", "hidden_sizes", "output_size")})
    atomic_write_bytes(path, numpy_io.save(state, metadata=metadata))


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``(arrays, metadata)`` of a safetensors file."""
    safetensors = require("safetensors", "reading safetensors")
    try:
        with safetensors.safe_open(os.fspath(path), framework="numpy") as file:
            return {key: file.get_tensor(key) for key in file.keys()}, dict(file.metadata() or {})
    except FileNotFoundError:
        raise
    except Exception as error:  # safetensors raises its own SafetensorError for a corrupt header
        if isinstance(error, OSError):
            raise
        raise CheckpointError(f"{path} is not a readable safetensors file ({error})") from None


def load_safetensors(net: Sequential, path: str | os.PathLike, *, strict: bool = True) -> LoadResult:
    """Copy the arrays of ``path`` (saved by :func:`save_safetensors`) into ``net``, by chainrule's names."""
    state, _ = read_safetensors(path)
    return net.load_state_dict(state, strict=strict)


def model_from_safetensors(path: str | os.PathLike) -> tuple[Sequential, dict[str, Any]]:
    """Rebuild the network saved in ``path`` from its metadata, load its weights: ``(net, config)``."""
    state, metadata = read_safetensors(path)
    if CONFIG_KEY not in metadata:
        raise CheckpointError(f"{path} has no {CONFIG_KEY!r} metadata: it was not written by chainrule "
                              "(a PyTorch state dict loads with load_torch_safetensors into a network you build)")
    try:
        config = json.loads(metadata[CONFIG_KEY])
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: the {CONFIG_KEY!r} metadata is corrupt ({error})") from None
    net = build_model(config)
    net.load_state_dict(state)
    return net, config


# -- PyTorch's names ---------------------------------------------------------------------------

_TORCH_SLOTS = {"weight": ("W", "gamma"), "bias": ("b", "beta"), "running_mean": ("running_mean",),
                "running_var": ("running_var",)}


def torch_state_to_chainrule(state: Mapping[str, Any], net: Sequential) -> dict[str, np.ndarray]:
    """PyTorch ``state_dict`` arrays -> ``net``'s state dict, module by module in name order.

    Each chainrule layer with parameters takes the next PyTorch module: ``weight``/``bias`` are
    ``W``/``b`` (a Linear's weight transposed) or, for batch norm, ``gamma``/``beta``.
    """
    modules: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        prefix, _, slot = key.rpartition(".")
        if slot == "num_batches_tracked":
            continue
        if slot not in _TORCH_SLOTS:
            raise CheckpointError(f"PyTorch state dict: {key!r} is not a weight, bias or batch-norm statistic")
        modules.setdefault(prefix, {})[slot] = np.asarray(value)
    ordered = [modules[prefix] for prefix in sorted(modules, key=_natural)]
    targets = _layers_with_state(net)
    if len(ordered) != len(targets):
        raise CheckpointError(f"PyTorch state dict has {len(ordered)} modules with weights "
                              f"({sorted(modules, key=_natural)}); {type(net).__name__} has {len(targets)} layers with weights")
    converted: dict[str, np.ndarray] = {}
    for module, (layer_name, names) in zip(ordered, targets):
        for slot, value in module.items():
            ours = next((n for n in _TORCH_SLOTS[slot] if n in names), None)
            if ours is None:
                raise CheckpointError(f"PyTorch {slot!r} has no counterpart in layer {layer_name!r} (it has {sorted(names)})")
            key, target = names[ours]
            if ours == "W" and value.ndim == 2:
                value = value.T  # nn.Linear keeps (out, in); Affine keeps (in, out)
            if value.shape != tuple(target.shape):
                raise CheckpointError(f"PyTorch {slot} of shape {value.shape} does not fit {key} "
                                      f"({layer_name}) of shape {tuple(target.shape)}")
            converted[key] = np.ascontiguousarray(value, dtype=target.dtype)
    return converted


def load_torch_safetensors(net: Sequential, path: str | os.PathLike) -> LoadResult:
    """Load a PyTorch ``state_dict`` saved with safetensors into the twin chainrule network ``net``."""
    state, _ = read_safetensors(path)
    return net.load_state_dict(torch_state_to_chainrule(state, net))


def _layers_with_state(net: Sequential) -> list[tuple[str, dict[str, tuple[str, Any]]]]:
    """For each layer holding arrays: its name and ``{slot: (the network's key, the array)}``."""
    owners = {id(net.params[key]): key for key in net.params}
    owners.update({id(net.buffers[key]): key for key in net.buffers})
    found = []
    for layer_name, layer in net.layers.items():
        slots = {**layer.params, **layer.buffers}
        if slots:
            found.append((layer_name, {slot: (owners[id(array)], array) for slot, array in slots.items()}))
    return found


def _natural(name: str) -> list[Any]:
    """``features.10`` after ``features.2``: numbers compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[._]", name)]
