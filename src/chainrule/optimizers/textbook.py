"""The six optimizers of the textbook's section 6.1: each one's hyperparameters and state, and
which rule of :mod:`.rules` it applies with which numbers.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigTypeError
from . import rules
from .base import Optimizer, fraction, positive
from .contract import UpdateRule

__all__ = ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]


class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * g``."""

    def __init__(self, lr: float = 0.01, *, weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay=weight_decay)

    def _rule_for_step(self) -> tuple[UpdateRule, tuple[float, ...]]:
        return rules.sgd, (self.lr,)


class Momentum(Optimizer):
    """Momentum SGD: ``v = momentum * v - lr * g; p += v``.

    Equals PyTorch's ``SGD(momentum=...)`` while ``lr`` is constant (its buffer is ``-v / lr``).
    """

    slot_names = ("velocity",)
    hyperparameter_names = ("lr", "momentum", "weight_decay")
    momentum = fraction()
    _rule = rules.momentum

    def __init__(
        self, lr: float = 0.01, momentum: float = 0.9, *, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.momentum = momentum

    def _rule_for_step(self) -> tuple[UpdateRule, tuple[float, ...]]:
        return self._rule, (self.lr, self.momentum)


class Nesterov(Momentum):
    """Nesterov's accelerated gradient, the textbook's rule (Bengio et al. 2012's form):

    ``p += momentum**2 * v - (1 + momentum) * lr * g``, then ``v = momentum * v - lr * g``.
    The ``momentum**2`` term uses the velocity from *before* this step's update; that is the
    same trajectory as PyTorch's ``SGD(nesterov=True)`` (whose buffer is ``-v / lr``) while
    ``lr`` is constant. Hyperparameters and state are Momentum's.
    """

    _rule = rules.nesterov


class AdaGrad(Optimizer):
    """AdaGrad: ``h += g * g; p -= lr * g / (sqrt(h) + eps)``; ``h`` is kept as ``sum_of_squares``.

    PyTorch's ``Adagrad`` is the same rule, with ``eps=1e-10`` by default.
    """

    slot_names = ("sum_of_squares",)
    hyperparameter_names = ("lr", "eps", "weight_decay")
    eps = positive()

    def __init__(self, lr: float = 0.01, eps: float = 1e-7, *, weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.eps = eps

    def _rule_for_step(self) -> tuple[UpdateRule, tuple[float, ...]]:
        return rules.adagrad, (self.lr, self.eps)


class RMSprop(Optimizer):
    """RMSprop: ``h = decay_rate * h + (1 - decay_rate) * g * g; p -= lr * g / (sqrt(h) + eps)``.

    ``h`` is kept as ``mean_square``. PyTorch's ``RMSprop(alpha=decay_rate)`` is the same rule
    (its defaults differ: ``lr=0.01, alpha=0.99, eps=1e-8``).
    """

    slot_names = ("mean_square",)
    hyperparameter_names = ("lr", "decay_rate", "eps", "weight_decay")
    decay_rate = fraction()
    eps = positive()

    def __init__(
        self,
        lr: float = 0.01,
        decay_rate: float = 0.99,
        eps: float = 1e-7,
        *,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.decay_rate = decay_rate
        self.eps = eps

    def _rule_for_step(self) -> tuple[UpdateRule, tuple[float, ...]]:
        return rules.rmsprop, (self.lr, self.decay_rate, self.eps)


class Adam(Optimizer):
    """Adam in the textbook's form, with ``t = iterations``:

    ``m += (1 - beta1) * (g - m); v += (1 - beta2) * (g * g - v);``
    ``p -= lr_t * m / (sqrt(v) + eps)`` where ``lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)``.

    This differs from PyTorch only in where ``eps`` enters: PyTorch divides by
    ``sqrt(v_hat) + eps`` with the bias-corrected ``v_hat = v / (1 - beta2**t)``, i.e. its
    ``eps`` is ``sqrt(1 - beta2**t)`` times ours. ``torch_compatible=True`` switches to PyTorch's
    exact formula and operation order (and ``eps`` then defaults to PyTorch's ``1e-8``), so
    benchmarks can follow ``torch.optim.Adam`` to rounding. Two differences remain: ``t`` counts
    calls to :meth:`update` (PyTorch counts per parameter, the same when every parameter is updated
    every step), and ``weight_decay`` skips parameters with ``ndim < 2`` (PyTorch decays all).
    ``m`` and ``v`` are kept as ``first_moment`` and ``second_moment``.
    """

    slot_names = ("first_moment", "second_moment")
    hyperparameter_names = ("lr", "beta1", "beta2", "eps", "weight_decay", "torch_compatible")
    beta1 = fraction()
    beta2 = fraction()
    eps = positive()

    def __init__(
        self,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float | None = None,
        *,
        weight_decay: float = 0.0,
        torch_compatible: bool = False,
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.beta1 = beta1
        self.beta2 = beta2
        self.torch_compatible = torch_compatible
        self.eps = eps if eps is not None else (1e-8 if self.torch_compatible else 1e-7)

    @property
    def torch_compatible(self) -> bool:
        return self._torch_compatible

    @torch_compatible.setter
    def torch_compatible(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigTypeError(f"Adam: torch_compatible must be True or False, got {value!r}")
        self._torch_compatible = bool(value)

    def _rule_for_step(self) -> tuple[UpdateRule, tuple[float, ...]]:
        t, beta1, beta2 = self.iterations, self.beta1, self.beta2
        if not self.torch_compatible:
            lr_t = self.lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
            return rules.adam, (lr_t, beta1, beta2, self.eps)
        step_size, sqrt_bias_correction2 = self.lr / (1 - beta1**t), (1 - beta2**t) ** 0.5
        return rules.torch_adam, (step_size, beta1, beta2, self.eps, sqrt_bias_correction2)
