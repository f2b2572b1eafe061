"""The claim backpropagation rests on, measured: one backward pass replaces a forward pass per parameter.

Numerical differentiation moves each parameter by ±h and runs the forward pass twice, so one
gradient costs 2 × (number of parameters) forward passes. Backpropagation runs one forward and
one backward pass whatever the number of parameters. Timing both on the same batch of
``TwoLayerNet`` while the hidden layer grows shows the first cost growing with the parameter
count and the ratio between them growing with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import numpy as np

from .gradients import compare_gradients
from .nets import TwoLayerNet
from .plots import new_figure

STEP = 1e-4  # the h of net.numerical_gradient


@dataclass
class GradientCost:
    """One gradient of ``TwoLayerNet(input_size, hidden_size, output_size)``, timed both ways."""

    hidden_size: int
    parameters: int
    numerical_seconds: float
    backprop_seconds: float
    max_abs_difference: float
    kink_distance: float = float("inf")  # smallest |input| of the ReLU: below h, the numbers straddle its kink

    @property
    def straddles_kink(self) -> bool:
        """Central differences cross ReLU's kink, so ``max_abs_difference`` is the numerical side's error."""
        return self.kink_distance < STEP

    @property
    def ratio(self) -> float:
        """How many times longer numerical differentiation takes."""
        return self.numerical_seconds / self.backprop_seconds


def measure_gradient_cost(
    hidden_size: int,
    *,
    input_size: int = 784,
    output_size: int = 10,
    batch_size: int = 10,
    seed: int = 0,
    repeats: int = 20,
) -> GradientCost:
    """Time ``net.numerical_gradient`` once and ``net.gradient`` (the best of ``repeats``) on one batch.

    Backprop takes a fraction of a millisecond, so one run is at the mercy of whatever else the
    machine does (on a busy two-core machine, BLAS threads waiting for a core made whole runs of
    calls 30 times slower, and the median with them); the fastest run is the cost of the
    computation itself. The numerical gradient runs for seconds and averages such pauses out.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rng = np.random.default_rng(seed)
    net = TwoLayerNet(input_size, hidden_size, output_size, rng=rng)
    x = rng.random((batch_size, input_size))
    t = rng.integers(0, output_size, size=batch_size)

    start = perf_counter()
    numerical = net.numerical_gradient(x, t, h=STEP)
    numerical_seconds = perf_counter() - start

    net.gradient(x, t)  # warm-up: the first call pays for allocations the others reuse
    times = []
    for _ in range(repeats):
        start = perf_counter()
        backprop = net.gradient(x, t)
        times.append(perf_counter() - start)

    difference = max(compare_gradients(key, backprop[key], numerical[key]).max_abs for key in numerical)
    parameters = sum(int(net.params[key].size) for key in net.params)
    kink_distance = float(np.abs(x @ net.params["W1"] + net.params["b1"]).min())
    return GradientCost(hidden_size, parameters, numerical_seconds, min(times), difference, kink_distance)


def sweep_gradient_cost(
    hidden_sizes: Iterable[int], *, report: Callable[[GradientCost], None] | None = None, **options: int
) -> list[GradientCost]:
    """:func:`measure_gradient_cost` for each hidden size; ``report`` sees each result as it comes."""
    results = []
    for hidden_size in hidden_sizes:
        results.append(measure_gradient_cost(hidden_size, **options))
        if report is not None:
            report(results[-1])
    return results


HEADER = f"{'hidden':>6}  {'params':>8}  {'numerical s':>11}  {'backprop s':>10}  {'ratio':>8}  {'max|Δ|':>9}"


def format_cost_row(cost: GradientCost) -> str:
    return (
        f"{cost.hidden_size:>6}  {cost.parameters:>8,}  {cost.numerical_seconds:>11.3f}  "
        f"{cost.backprop_seconds:>10.6f}  {cost.ratio:>7,.0f}×  {cost.max_abs_difference:>9.2e}"
        + ("  *" if cost.straddles_kink else "")
    )


def kink_note(results: list[GradientCost]) -> str:
    """Why a row marked * disagrees more: ±h carried a hidden unit across ReLU's kink."""
    marked = [cost for cost in results if cost.straddles_kink]
    if not marked:
        return ""
    where = ", ".join(f"{cost.kink_distance:.1e} at hidden {cost.hidden_size}" for cost in marked)
    return (
        f"* a hidden unit's input lies closer to ReLU's kink than h = {STEP:g} ({where}): ±h crosses the kink,\n"
        "  so that max|Δ| is the error of the numerical gradient, not of backprop"
    )


def plot_gradient_cost(results: list[GradientCost], path: str | Path, title: str = "") -> Path:
    """Seconds per gradient against the number of parameters, log-log, one line per method."""
    figure = new_figure(7.5, 5)
    axes = figure.add_subplot()
    parameters = [cost.parameters for cost in results]
    axes.loglog(
        parameters, [c.numerical_seconds for c in results], "o-", color="#c0392b", label="numerical differentiation"
    )
    axes.loglog(parameters, [c.backprop_seconds for c in results], "s-", color="#1f4e79", label="backpropagation")
    for cost in results:
        axes.annotate(
            f"{cost.ratio:,.0f}×",
            (cost.parameters, cost.numerical_seconds),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=9,
            color="#555555",
        )
    axes.margins(x=0.08, y=0.15)  # room for the ratio labels above the top points
    axes.text(
        0.98,
        0.03,
        "× : numerical time ÷ backprop time",
        transform=axes.transAxes,
        ha="right",
        fontsize=9,
        color="#555555",
    )
    axes.set_xlabel("parameters (TwoLayerNet, hidden size swept)")
    axes.set_ylabel("seconds for one gradient")
    axes.set_title(title or "The cost of one gradient")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=150)
    return path
