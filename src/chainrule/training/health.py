"""Why a run produced NaN, inf or an absurd loss: the data, a parameter, the optimizer's state,
or divergence. Each cause has its own message, so the user is sent to the right fix.

Divergence is judged on the loss of every step (a scalar that is read anyway): a run has
diverged when the loss is not finite, or is more than ``DIVERGENCE_FACTOR`` times the first
step's loss of this ``fit`` (floored at 1, so a run resumed at a tiny loss is not judged on
noise). For softmax cross-entropy on 10 classes that bound is 2,300: logits thousands of units
apart, far past anything training recovers from. Full scans (data, parameters, state) run once
per ``fit`` or after a failure, never per step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..backend import array_module
from ..errors import DataError, DivergenceError

DIVERGENCE_FACTOR = 1e3


def count_nonfinite(array: Any) -> int:
    """NaN and ±inf entries of a floating-point array (0 for integer arrays, which cannot hold them)."""
    if getattr(getattr(array, "dtype", None), "kind", None) not in ("f", "c"):
        return 0
    xp = array_module(array)
    return int((~xp.isfinite(array)).sum())


def check_finite_data(arrays: Mapping[str, Any], where: str) -> None:
    """Raise :class:`DataError` naming each array that holds NaN or inf, and where the first is."""
    for name, array in arrays.items():
        bad = count_nonfinite(array)
        if bad:
            xp = array_module(array)
            flat = xp.isfinite(array).reshape(len(array), -1) if getattr(array, "ndim", 0) > 1 else xp.isfinite(array).reshape(-1, 1)
            first = int(xp.argmin(flat.all(axis=1)))
            raise DataError(
                f"{where}: {name} holds {bad} NaN or infinite values (the first in sample {first}); "
                "expected finite numbers: the data, not the training, is the cause"
            )


def nonfinite_parameters(params: Mapping[str, Any]) -> list[str]:
    """``'W1 (3 of 784x50)'`` for each parameter holding NaN or inf."""
    found = []
    for name in params:
        bad = count_nonfinite(params[name])
        if bad:
            found.append(f"{name} ({bad} of {params[name].size})")
    return found


def nonfinite_optimizer_state(optimizer: Any) -> list[str]:
    """``'velocity/W1'`` for each optimizer state array holding NaN or inf."""
    state = getattr(optimizer, "state", {})
    return [f"{slot}/{name}" for name, slots in state.items() for slot, array in slots.items() if count_nonfinite(array)]


def check_finite_start(net: Any, optimizer: Any, where: str) -> None:
    """Before training: NaN weights or state are a cause of their own, not a learning-rate problem."""
    bad_params, bad_state = nonfinite_parameters(net.params), nonfinite_optimizer_state(optimizer)
    if bad_params or bad_state:
        what = "; ".join(
            part for part in (
                f"parameters {', '.join(bad_params)}" if bad_params else "",
                f"optimizer state {', '.join(bad_state)}" if bad_state else "",
            ) if part
        )
        raise DivergenceError(
            f"{where}: non-finite values before training started in {what}; expected finite "
            "numbers (re-initialise the network, or load a checkpoint saved before it went bad)"
        )


def lower_rate_hint(lr: float) -> str:
    return f"The learning rate ({lr:g}) is probably too large: try {lr / 10:g}."


def diagnose_nonfinite(net: Any, optimizer: Any, where: str, cause: str) -> DivergenceError:
    """The error to raise when a step's loss came out NaN or inf: it names what went bad."""
    bad_params, bad_state = nonfinite_parameters(net.params), nonfinite_optimizer_state(optimizer)
    if bad_params:
        detail = f"the updates made parameters non-finite: {', '.join(bad_params)}"
    elif bad_state:
        detail = f"the optimizer state went non-finite: {', '.join(bad_state)}"
    else:
        detail = f"the parameters are finite but the network's output overflowed ({cause}): the training diverged"
    return DivergenceError(f"{where}: {detail}. {lower_rate_hint(float(optimizer.lr))}")


class DivergenceGuard:
    """Remembers the first loss of a ``fit`` and raises once a later loss is absurd."""

    def __init__(self, factor: float = DIVERGENCE_FACTOR) -> None:
        self.factor = factor
        self.reference: float | None = None

    def check(self, loss: float, net: Any, optimizer: Any, where: str) -> None:
        if not math.isfinite(loss):
            raise diagnose_nonfinite(net, optimizer, where, f"loss {loss}")
        if self.reference is None:
            self.reference = loss
            return
        bound = self.factor * max(self.reference, 1.0)
        if loss > bound:
            raise DivergenceError(
                f"{where}: the training diverged: the loss is {loss:.3g}, more than "
                f"{self.factor:g} times the first step's {self.reference:.3g} (bound {bound:.3g}). "
                + lower_rate_hint(float(optimizer.lr))
            )


def named(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The arrays that were given (not ``None``), by name."""
    return {name: array for name, array in pairs if array is not None}
