"""The one helper every layer test uses: backprop vs central differences, plus the invariants.

``check_layer`` runs a layer forward and backward on float64 inputs, compares every input and
parameter gradient with numerical differentiation, and asserts that no array the caller passed
(inputs, ``dout``) was modified. Tolerances live here, in one place.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from chainrule import gradcheck_layer

RTOL = 1e-7  # max normwise relative error for float64 central differences with h = 1e-6
# The numerical side's own round-off is about eps * |f| / h ~ 1e-10 for the O(1) objectives used
# here, so a gradient that is itself ~1e-4 cannot be checked to 1e-7 relative; below this floor
# a difference is noise of the reference, not an error of backprop.
ATOL = 1e-9


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], margin: float = 1e-2) -> np.ndarray:
    """Standard-normal values with none within ``margin`` of 0: keeps ReLU kinks out of reach of h."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin * 2, x)


def check_layer(layer: Any, inputs: Sequence[Any], rtol: float = RTOL, atol: float = ATOL, **kwargs: Any) -> None:
    """Assert ``layer``'s backward matches numerical gradients and leaves its arguments alone.

    The check is ``max|Δ| <= atol + rtol * max|gradient|`` for every input and parameter, where
    ``atol`` is at least the numerical reference's own round-off (large objectives,
    such as attention over many positions, make it larger than the 1e-9 floor).
    """
    snapshots = [np.array(a, copy=True) for a in inputs]
    report = gradcheck_layer(layer, inputs, **kwargs)
    assert report.differences, "nothing was checked"
    atol = max(atol, report.reference_noise)
    assert report.passed(rtol, atol), f"{type(layer).__name__} gradients differ (atol {atol:.2g}):\n{report}"
    for before, after in zip(snapshots, inputs):
        np.testing.assert_array_equal(before, after)  # gradcheck restores what it perturbs


def check_no_mutation(layer: Any, inputs: Sequence[Any], dout: Any = None) -> None:
    """Forward and backward must not write into the caller's inputs or ``dout``."""
    snapshots = [np.array(a, copy=True) for a in inputs]
    out = layer.forward(*inputs)
    if dout is None:
        dout = np.ones_like(out) if np.ndim(out) else 1.0
    dout_before = np.array(dout, copy=True)
    layer.backward(dout)
    for before, after in zip(snapshots, inputs):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(dout_before, dout)


def train_small_cli(data_dir, run_dir, *extra: str) -> int:
    """`chainrule train` on a fake dataset: a tiny MLP, quick enough to run many times in a test."""
    from chainrule.cli.main import main

    return main(["train", "--data-dir", str(data_dir), "--no-verify", "--no-download", "--output-dir", str(run_dir),
                 "--hidden-sizes", "8", "--batch-size", "16", "-v", "2", *extra])


class numba_disabled:
    """Within the block, nothing is compiled: every layer and update runs its array formulation."""

    def __enter__(self) -> None:
        from chainrule import jit

        self.saved, jit._numba = jit._numba, False

    def __exit__(self, *exc: Any) -> None:
        from chainrule import jit

        jit._numba = self.saved
