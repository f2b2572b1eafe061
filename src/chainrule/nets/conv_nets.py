"""The textbook's convolutional networks, as :class:`Sequential` stacks.

``SimpleConvNet``: Conv → ReLU → Pool → Affine → ReLU → Affine → SoftmaxWithLoss.
``DeepConvNet``: (Conv → ReLU → Conv → ReLU → Pool) × 3 → Affine → ReLU → Dropout → Affine →
Dropout → SoftmaxWithLoss, with 3x3 filters and He initialisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import init
from ..backend import Backend, get_backend
from ..checks import is_integer
from ..errors import ConfigError
from ..layers import Affine, Convolution, Dropout, Pooling, Relu, SoftmaxWithLoss, conv_output_size
from .sequential import Sequential

ConvParam = Mapping[str, int]

SIMPLE_CONV_PARAM: ConvParam = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
DEEP_CONV_PARAMS: tuple[ConvParam, ...] = (
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 32, "filter_size": 3, "pad": 2, "stride": 1},  # pad 2, as in the book: 14 -> 16 -> pool 8
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
    {"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
)


class _Builder:
    """Creates layers in order from one generator, tracking the shape of the data between them."""

    def __init__(
        self, net: str, input_dim: tuple[int, int, int], weight_init_std: Any, rng: Any, dtype: Any, backend: Any
    ) -> None:
        if len(input_dim) != 3 or any(not is_integer(size) or size < 1 for size in input_dim):
            raise ConfigError(f"{net}: input_dim must be three positive integers (C, H, W), got {input_dim!r}")
        self.net, self.shape = net, tuple(int(size) for size in input_dim)
        self.weight_init_std, self.dtype = weight_init_std, dtype
        self.generator, self.backend = init.as_generator(rng), get_backend(backend)

    def _weights(self, shape: tuple[int, ...], fan_in: int) -> Any:
        std = init.weight_std(self.weight_init_std, fan_in)
        return init.normal(self.generator, shape, std, self.dtype, self.backend)

    def conv(self, conv_param: ConvParam, defaults: ConvParam) -> Convolution:
        unknown = set(conv_param) - set(defaults)
        if unknown:
            raise ConfigError(f"{self.net}: unknown conv_param keys {sorted(unknown)}; expected {sorted(defaults)}")
        param = {**defaults, **conv_param}
        for key, value in param.items():
            kind, smallest = ("non-negative", 0) if key == "pad" else ("positive", 1)
            if not is_integer(value) or value < smallest:
                raise ConfigError(f"{self.net}: conv_param[{key!r}] must be a {kind} integer, got {value!r}")
        filters, size, stride, pad = param["filter_num"], param["filter_size"], param["stride"], param["pad"]
        channels, height, width = self.shape
        out_h, out_w = conv_output_size(height, size, stride, pad), conv_output_size(width, size, stride, pad)
        if size > height + 2 * pad or size > width + 2 * pad:
            raise ConfigError(
                f"{self.net}: a {size}x{size} filter does not fit the {height}x{width} input with pad={pad}"
            )
        self.shape = (filters, out_h, out_w)
        W = self._weights((filters, channels, size, size), channels * size * size)
        return Convolution(W, init.zeros((filters,), self.dtype, self.backend), stride=stride, pad=pad)

    def pool(self) -> Pooling:
        channels, height, width = self.shape
        if height < 2 or width < 2:
            raise ConfigError(f"{self.net}: the input is too small: 2x2 pooling would get a {height}x{width} map")
        self.shape = (channels, height // 2, width // 2)
        return Pooling(2, 2, stride=2)

    def affine(self, out_features: int) -> Affine:
        if not is_integer(out_features) or out_features < 1:
            raise ConfigError(f"{self.net}: layer sizes must be positive integers, got {out_features!r}")
        in_features = int(np.prod(self.shape))
        self.shape = (out_features,)
        W = self._weights((in_features, out_features), in_features)
        return Affine(W, init.zeros((out_features,), self.dtype, self.backend))

    def dropout(self, ratio: float) -> Dropout:
        return Dropout(ratio, rng=np.random.default_rng(self.generator.integers(2**63)))


class SimpleConvNet(Sequential):
    """``SimpleConvNet(input_dim=(1, 28, 28), conv_param=..., hidden_size=100, output_size=10, weight_init_std=0.01)``.

    Conv (``conv_param``, default 30 filters of 5x5, pad 0, stride 1) → ReLU → 2x2 max pool with
    stride 2 → Affine(hidden_size) → ReLU → Affine(output_size) → SoftmaxWithLoss, parameters
    ``W1, b1`` (conv), ``W2, b2``, ``W3, b3`` as in the book. ``conv_param`` may give only the
    keys that differ from the defaults. ``weight_init_std`` is a number or ``'he'``/``'xavier'``
    (per layer, from its fan-in). ``rng``, ``dtype`` and ``backend`` as in :class:`TwoLayerNet`.
    """

    def __init__(
        self,
        input_dim: tuple[int, int, int] = (1, 28, 28),
        conv_param: ConvParam | None = None,
        hidden_size: int = 100,
        output_size: int = 10,
        weight_init_std: float | str = 0.01,
        *,
        rng: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
        backend: str | Backend = "numpy",
    ) -> None:
        build = _Builder(type(self).__name__, input_dim, weight_init_std, rng, dtype, backend)
        super().__init__(
            [
                ("Conv1", build.conv(conv_param or {}, SIMPLE_CONV_PARAM)),
                ("Relu1", Relu()),
                ("Pool1", build.pool()),
                ("Affine1", build.affine(hidden_size)),
                ("Relu2", Relu()),
                ("Affine2", build.affine(output_size)),
            ],
            SoftmaxWithLoss(),
        )


class DeepConvNet(Sequential):
    """The textbook's deep CNN for MNIST: six 3x3 convolutions, three poolings, two affine layers.

    ``DeepConvNet(input_dim=(1, 28, 28), conv_param_1=..., ..., conv_param_6=..., hidden_size=50,
    output_size=10)``: filters 16, 16, 32, 32, 64, 64 (pad 1, except pad 2 on the fourth, as in the
    book), each conv followed by ReLU and every second by a 2x2 max pool with stride 2; then
    Affine(hidden_size) → ReLU → Dropout → Affine(output_size) → Dropout → SoftmaxWithLoss.
    Weights use He initialisation (``weight_init_std='he'``); parameters are ``W1, b1 ... W8, b8``.
    The dropout layers draw their masks from generators seeded by ``rng``.
    """

    def __init__(
        self,
        input_dim: tuple[int, int, int] = (1, 28, 28),
        conv_param_1: ConvParam | None = None,
        conv_param_2: ConvParam | None = None,
        conv_param_3: ConvParam | None = None,
        conv_param_4: ConvParam | None = None,
        conv_param_5: ConvParam | None = None,
        conv_param_6: ConvParam | None = None,
        hidden_size: int = 50,
        output_size: int = 10,
        *,
        dropout_ratio: float = 0.5,
        weight_init_std: float | str = "he",
        rng: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
        backend: str | Backend = "numpy",
    ) -> None:
        build = _Builder(type(self).__name__, input_dim, weight_init_std, rng, dtype, backend)
        given = (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5, conv_param_6)
        layers: list[tuple[str, Any]] = []
        for number, (param, defaults) in enumerate(zip(given, DEEP_CONV_PARAMS), start=1):
            layers += [(f"Conv{number}", build.conv(param or {}, defaults)), (f"Relu{number}", Relu())]
            if number % 2 == 0:
                layers.append((f"Pool{number // 2}", build.pool()))
        layers += [
            ("Affine1", build.affine(hidden_size)),
            ("Relu7", Relu()),
            ("Dropout1", build.dropout(dropout_ratio)),
            ("Affine2", build.affine(output_size)),
            ("Dropout2", build.dropout(dropout_ratio)),
        ]
        super().__init__(layers, SoftmaxWithLoss())
