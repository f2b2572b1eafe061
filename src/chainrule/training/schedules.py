"""Learning-rate schedules: the learning rate for each epoch (0-based)."""

from __future__ import annotations

import math
from typing import Callable

Schedule = Callable[[int], float]


def constant(lr: float) -> Schedule:
    return lambda epoch: lr


def cosine(lr: float, epochs: int, final_fraction: float = 0.0) -> Schedule:
    """Cosine decay from ``lr`` at epoch 0 towards ``lr * final_fraction`` at the end.

    Large steps early find a good region; small steps late settle into it, which is worth a few
    tenths of a percent of test accuracy on MNIST over a constant rate.
    """
    floor = lr * final_fraction
    return lambda epoch: floor + (lr - floor) * 0.5 * (1 + math.cos(math.pi * epoch / max(epochs, 1)))


def step(lr: float, every: int, factor: float = 0.1) -> Schedule:
    """Multiply the rate by ``factor`` every ``every`` epochs."""
    return lambda epoch: lr * factor ** (epoch // every)


SCHEDULES = {"constant", "cosine", "step"}


def make_schedule(name: str, lr: float, epochs: int) -> Schedule:
    """The schedule ``name`` planned over ``epochs`` epochs. Past the plan (a resumed run extended
    with more epochs) it keeps the rate of the plan's last epoch: the rate never jumps back up."""
    if name == "constant":
        planned = constant(lr)
    elif name == "cosine":
        planned = cosine(lr, epochs)
    elif name == "step":
        planned = step(lr, every=max(epochs // 3, 1))
    else:
        raise ValueError(f"unknown learning-rate schedule {name!r}: expected one of {sorted(SCHEDULES)}")
    last = max(epochs, 1) - 1
    return lambda epoch: planned(min(epoch, last))
