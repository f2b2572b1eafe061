"""The textbook's two-layer network: Affine → ReLU → Affine → SoftmaxWithLoss."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import init
from ..backend import Backend, get_backend
from ..checks import check_positive_int
from ..layers import Affine, Relu, SoftmaxWithLoss
from .sequential import Sequential


class TwoLayerNet(Sequential):
    """``TwoLayerNet(input_size, hidden_size, output_size, weight_init_std=0.01)``.

    Weights are ``weight_init_std * N(0, 1)``, biases zero, as in the book (``'he'`` or
    ``'xavier'`` pick the scale per layer from its fan-in instead). ``rng`` (a seed or a
    ``numpy.random.Generator``) makes the initial weights reproducible; ``dtype`` defaults to
    float64 so gradient checks reach the book's 1e-13..1e-10 agreement.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float | str = 0.01,
        *,
        rng: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
        backend: str | Backend = "numpy",
    ) -> None:
        for label, size in (("input_size", input_size), ("hidden_size", hidden_size), ("output_size", output_size)):
            check_positive_int(size, label, "TwoLayerNet")
        generator = init.as_generator(rng)
        backend = get_backend(backend)
        std1, std2 = init.weight_std(weight_init_std, input_size), init.weight_std(weight_init_std, hidden_size)
        W1 = init.normal(generator, (input_size, hidden_size), std1, dtype, backend)
        W2 = init.normal(generator, (hidden_size, output_size), std2, dtype, backend)
        super().__init__(
            [
                ("Affine1", Affine(W1, init.zeros((hidden_size,), dtype, backend))),
                ("Relu1", Relu()),
                ("Affine2", Affine(W2, init.zeros((output_size,), dtype, backend))),
            ],
            SoftmaxWithLoss(),
        )
        self.sizes = (input_size, hidden_size, output_size)
