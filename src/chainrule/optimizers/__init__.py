"""Optimizers: how a network's parameters move once backpropagation has given their gradients.

Each is the textbook's update rule (Deep Learning from Scratch, section 6.1) with the textbook's
signature, ``optimizer.update(net.params, grads)``, updating the parameters in place. The
package, from the top down:

- :mod:`.textbook`: ``SGD``, ``Momentum``, ``Nesterov``, ``AdaGrad``, ``RMSprop``, ``Adam``
  (their hyperparameters, state, and the numbers each step gives its rule);
- :mod:`.base`: the :class:`Optimizer` they share (checks, weight decay, state by parameter
  name, ``state_dict``);
- :mod:`.rules`: the formulas, one function each, written once as the book writes them;
- :mod:`.compiled`: a rule run on whole arrays, or compiled by numba into one pass over memory;
- :mod:`.contract`: what a rule may contain so that both give the same bits, checked when the
  rule is defined.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import ConfigError, ConfigTypeError
from .base import Optimizer
from .textbook import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSprop",
    "Adam",
    "OPTIMIZERS",
    "make_optimizer",
]

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def make_optimizer(name: str, lr: float | None = None, **kwargs: Any) -> Optimizer:
    """Build an optimizer by case-insensitive name (a key of :data:`OPTIMIZERS`), e.g. for the CLI.

    ``lr=None`` keeps the optimizer's own default; other keywords go to its constructor.
    """
    cls = OPTIMIZERS.get(name.strip().lower()) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown optimizer {name!r}: expected one of {', '.join(OPTIMIZERS)}")
    accepted = [key for key in inspect.signature(cls).parameters if key != "lr"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigTypeError(
            f"{cls.__name__} does not take {unknown}; it takes lr, {', '.join(accepted)}"
        )
    if lr is not None:
        kwargs["lr"] = lr
    return cls(**kwargs)
