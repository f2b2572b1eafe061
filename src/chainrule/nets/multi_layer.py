"""The textbook's fully connected network of any depth: (Affine → activation) × k → Affine → softmax."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import init
from ..backend import Backend, get_backend
from ..layers import Affine, Layer, Relu, Sigmoid, SoftmaxWithLoss, Tanh
from .sequential import Sequential

ACTIVATIONS: dict[str, type[Layer]] = {"relu": Relu, "sigmoid": Sigmoid, "tanh": Tanh}


class MultiLayerNet(Sequential):
    """``MultiLayerNet(input_size, hidden_size_list, output_size, activation='relu', weight_init_std='relu')``.

    ``weight_init_std`` is ``'he'``/``'relu'`` (``sqrt(2/fan_in)``), ``'xavier'``/``'sigmoid'``
    (``sqrt(1/fan_in)``) or a number; ``weight_decay_lambda`` adds the book's L2 penalty.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list: Sequence[int],
        output_size: int,
        activation: str = "relu",
        weight_init_std: init.WeightInit = "relu",
        weight_decay_lambda: float = 0.0,
        *,
        rng: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
        backend: str | Backend = "numpy",
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"MultiLayerNet: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        sizes = [input_size, *hidden_size_list, output_size]
        if any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"MultiLayerNet: layer sizes must be positive integers, got {sizes}")
        generator = init.as_generator(rng)
        backend = get_backend(backend)
        layers: list[tuple[str, Layer]] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            W = init.normal(generator, (fan_in, fan_out), init.weight_std(weight_init_std, fan_in), dtype, backend)
            layers.append((f"Affine{i}", Affine(W, init.zeros((fan_out,), dtype, backend))))
            if i < len(sizes) - 1:
                layers.append((f"Activation_function{i}", ACTIVATIONS[activation]()))
        super().__init__(layers, SoftmaxWithLoss(), weight_decay_lambda=weight_decay_lambda)
        self.input_size, self.hidden_size_list, self.output_size = input_size, list(hidden_size_list), output_size
        self.activation = activation
