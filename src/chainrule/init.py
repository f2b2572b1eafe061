"""Weight initialisation: the standard deviation a layer's weights are drawn with.

He (``sqrt(2 / fan_in)``) keeps activations' variance steady through ReLU layers; Xavier
(``sqrt(1 / fan_in)``) does the same for sigmoid and tanh. Weights are drawn on the host with a
seeded NumPy generator and then moved to the backend, so the same seed gives the same network on
the CPU and on a GPU.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .backend import Array, Backend, get_backend
from .errors import ConfigError, ConfigTypeError

WeightInit = str | float

_ALIASES = {"he": "he", "relu": "he", "leaky_relu": "he", "xavier": "xavier", "sigmoid": "xavier", "tanh": "xavier"}


def weight_std(spec: WeightInit, fan_in: int) -> float:
    """Standard deviation for ``spec``: ``'he'``/``'relu'``, ``'xavier'``/``'sigmoid'``/``'tanh'``, or a number."""
    if isinstance(spec, str):
        kind = _ALIASES.get(spec.lower())
        if kind is None:
            raise ConfigError(f"unknown weight initialisation {spec!r}: expected one of {sorted(_ALIASES)} or a number")
        return math.sqrt((2.0 if kind == "he" else 1.0) / fan_in)
    if isinstance(spec, (bool, np.bool_)) or not isinstance(spec, (int, float, np.integer, np.floating)):
        raise ConfigTypeError(f"weight_init_std must be a number or one of {sorted(_ALIASES)}, got {spec!r}")
    std = float(spec)
    if not (math.isfinite(std) and std > 0):  # inf or NaN weights would make every output NaN
        raise ConfigError(f"weight_init_std must be a positive finite number, got {spec!r}")
    return std


def as_generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A NumPy generator from a seed, an existing generator, or fresh entropy (``None``)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def normal(
    rng: np.random.Generator, shape: tuple[int, ...], std: float, dtype: Any, backend: str | Backend = "numpy"
) -> Array:
    """``std * N(0, 1)`` of ``shape``, drawn in float64 then cast, on ``backend``."""
    return get_backend(backend).asarray(std * rng.standard_normal(shape), dtype=dtype)


def zeros(shape: tuple[int, ...], dtype: Any, backend: str | Backend = "numpy") -> Array:
    return get_backend(backend).xp.zeros(shape, dtype=dtype)


def ones(shape: tuple[int, ...], dtype: Any, backend: str | Backend = "numpy") -> Array:
    return get_backend(backend).xp.ones(shape, dtype=dtype)
