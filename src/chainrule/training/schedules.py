"""Learning-rate schedules: the learning rate for each epoch (0-based).

Arguments are checked when the schedule is made, not when it is first called: a rate of 0, NaN or
a negative one would otherwise reach the optimizer epochs later (or, for ``step`` with
``every=0``, as a ZeroDivisionError in the middle of training).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..checks import check_positive_int
from ..errors import ConfigError

Schedule = Callable[[int], float]


def _check_rate(value: Any, label: str, where: str, *, upper: float | None = None) -> None:
    valid = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if upper is not None:
        valid = valid and value <= upper
    if not valid:
        bound = "a positive finite number" if upper is None else f"in (0, {upper:g}]"
        raise ConfigError(f"{where}: {label} must be {bound}, got {value!r}")


def constant(lr: float) -> Schedule:
    _check_rate(lr, "lr", "constant schedule")
    return lambda epoch: lr


def cosine(lr: float, epochs: int, final_fraction: float = 0.0) -> Schedule:
    """Cosine decay from ``lr`` at epoch 0 towards ``lr * final_fraction`` at the end.

    Large steps early find a good region; small steps late settle into it, which is worth a few
    tenths of a percent of test accuracy on MNIST over a constant rate.
    """
    _check_rate(lr, "lr", "cosine schedule")
    check_positive_int(epochs, "epochs", "cosine schedule")
    if isinstance(final_fraction, bool) or not isinstance(final_fraction, (int, float)) or not 0 <= final_fraction <= 1:
        raise ConfigError(f"cosine schedule: final_fraction must be in [0, 1], got {final_fraction!r}")
    floor = lr * final_fraction
    return lambda epoch: floor + (lr - floor) * 0.5 * (1 + math.cos(math.pi * epoch / max(epochs, 1)))


def step(lr: float, every: int, factor: float = 0.1) -> Schedule:
    """Multiply the rate by ``factor`` every ``every`` epochs."""
    _check_rate(lr, "lr", "step schedule")
    check_positive_int(every, "every", "step schedule")
    _check_rate(factor, "factor", "step schedule", upper=1)
    return lambda epoch: lr * factor ** (epoch // every)


SCHEDULES = {"constant", "cosine", "step"}


def make_schedule(name: str, lr: float, epochs: int) -> Schedule:
    """The schedule ``name`` planned over ``epochs`` epochs. Past the plan (a resumed run extended
    with more epochs) it keeps the rate of the plan's last epoch: the rate never jumps back up."""
    check_positive_int(epochs, "epochs", f"{name!r} schedule")
    if name == "constant":
        planned = constant(lr)
    elif name == "cosine":
        planned = cosine(lr, epochs)
    elif name == "step":
        planned = step(lr, every=max(epochs // 3, 1))
    else:
        raise ConfigError(f"unknown learning-rate schedule {name!r}: expected one of {sorted(SCHEDULES)}")
    last = epochs - 1
    return lambda epoch: planned(min(epoch, last))
