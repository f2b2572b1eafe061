"""The textbook's fully connected network of any depth: (Affine → [BatchNorm] → activation →
[Dropout]) × k → Affine → softmax. It covers both the book's MultiLayerNet and MultiLayerNetExtend."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import init
from ..backend import Backend, get_backend
from ..checks import is_integer
from ..errors import ConfigError, ConfigTypeError
from ..layers import Affine, BatchNormalization, Dropout, Layer, Relu, Sigmoid, SoftmaxWithLoss, Tanh
from .sequential import Sequential

ACTIVATIONS: dict[str, type[Layer]] = {"relu": Relu, "sigmoid": Sigmoid, "tanh": Tanh}


class MultiLayerNet(Sequential):
    """``MultiLayerNet(input_size, hidden_size_list, output_size, activation='relu', weight_init_std=None)``.

    ``weight_init_std`` is ``'he'``/``'relu'`` (``sqrt(2/fan_in)``), ``'xavier'``/``'sigmoid'``
    (``sqrt(1/fan_in)``), a number, or ``None`` to choose by activation (He for ReLU, Xavier for
    sigmoid and tanh), which keeps the activations' spread steady through the depth.
    ``weight_decay_lambda`` adds the book's L2 penalty. ``dropout_ratio > 0`` adds an inverted
    dropout after each hidden activation and ``use_batchnorm`` a batch normalisation before it,
    as in the book's MultiLayerNetExtend.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list: Sequence[int],
        output_size: int,
        activation: str = "relu",
        weight_init_std: init.WeightInit | None = None,
        weight_decay_lambda: float = 0.0,
        *,
        dropout_ratio: float = 0.0,
        use_batchnorm: bool = False,
        rng: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
        backend: str | Backend = "numpy",
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ConfigError(f"MultiLayerNet: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if isinstance(hidden_size_list, (str, bytes)) or not isinstance(hidden_size_list, Sequence):
            raise ConfigTypeError(f"MultiLayerNet: hidden_size_list must be a list of sizes, got {hidden_size_list!r}")
        sizes = [input_size, *hidden_size_list, output_size]
        if any(not is_integer(s) or s < 1 for s in sizes):
            raise ConfigError(f"MultiLayerNet: layer sizes must be positive integers, got {sizes}")
        if weight_init_std is None:
            weight_init_std = activation
        generator = init.as_generator(rng)
        backend = get_backend(backend)
        layers: list[tuple[str, Layer]] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            W = init.normal(generator, (fan_in, fan_out), init.weight_std(weight_init_std, fan_in), dtype, backend)
            layers.append((f"Affine{i}", Affine(W, init.zeros((fan_out,), dtype, backend))))
            if i < len(sizes) - 1:
                if use_batchnorm:
                    gamma, beta = init.ones((fan_out,), dtype, backend), init.zeros((fan_out,), dtype, backend)
                    layers.append((f"BatchNorm{i}", BatchNormalization(gamma, beta)))
                layers.append((f"Activation_function{i}", ACTIVATIONS[activation]()))
                if dropout_ratio:
                    layers.append((f"Dropout{i}", Dropout(dropout_ratio, rng=int(generator.integers(2**63)))))
        super().__init__(layers, SoftmaxWithLoss(), weight_decay_lambda=weight_decay_lambda)
        self.input_size, self.hidden_size_list, self.output_size = input_size, list(hidden_size_list), output_size
        self.activation, self.dropout_ratio, self.use_batchnorm = activation, dropout_ratio, use_batchnorm
