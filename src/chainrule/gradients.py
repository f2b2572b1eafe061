"""Numerical gradients and gradient checking: the proof that a backward pass is right.

Backpropagation is fast but easy to get subtly wrong; central differences are slow but hard to
get wrong. Comparing the two on small inputs is how every layer in chainrule is verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import math

import numpy as np

from .backend import Array, array_module, to_numpy
from .errors import ConfigError, DTypeError, ShapeError


def _check_step(h: Any, where: str) -> None:
    """A step of 0, NaN or inf divides by zero or perturbs nothing: a gradient of NaN or 0."""
    if isinstance(h, bool) or not isinstance(h, (int, float, np.floating, np.integer)) or not (
        math.isfinite(h) and h > 0
    ):
        raise ConfigError(f"{where}: h must be a positive finite number, got {h!r}")


def numerical_gradient(f: Callable[[Array], Any], x: Array, h: float = 1e-4) -> Array:
    """Central-difference gradient of the scalar function ``f`` at ``x``: ``(f(x+h) - f(x-h)) / 2h``.

    ``f`` is called with ``x`` (the textbook passes a dummy and reads the array through a
    closure; both styles work). Each element of ``x`` is perturbed in place and then restored
    to its exact original value, so ``x`` is unchanged afterwards.

    ``x`` must be a floating-point array: perturbing an integer array in place would truncate
    ``x + h`` back to ``x`` (a gradient of 0 or nonsense), and a float copy would not be seen by
    an ``f`` that reads ``x`` through a closure. Convert first: ``x = x.astype(float)``. For the
    same reason a step ``h`` that ``x``'s dtype cannot resolve (1e-6 on a float32 value of 100)
    is an error rather than a gradient of 0.
    """
    _check_step(h, "numerical_gradient")
    dtype = getattr(x, "dtype", None)
    if dtype is None or dtype.kind != "f":
        raise DTypeError(
            f"numerical_gradient: x must be a floating-point array (float32 or float64), got "
            f"{dtype if dtype is not None else type(x).__name__}; convert it with x.astype(float)"
        )
    xp = array_module(x)
    grad = xp.zeros(x.shape, dtype=x.dtype)
    for idx in np.ndindex(*x.shape):
        original = x[idx].copy()
        x[idx] = original + h
        unchanged = bool(x[idx] == original)
        f_plus = float(f(x))
        x[idx] = original - h
        unchanged |= bool(x[idx] == original)
        f_minus = float(f(x))
        x[idx] = original
        if unchanged:  # h is below the dtype's resolution at this value: the difference would be 0
            raise ConfigError(
                f"numerical_gradient: h={h!r} is too small for {x.dtype}: x[{idx}] = {float(original)!r} "
                f"does not change when h is added or subtracted; expected h larger than "
                f"{float(abs(original)) * float(np.finfo(x.dtype).eps):.3g} (or use float64)"
            )
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


@dataclass
class GradientDifference:
    """How far an analytic gradient is from the numerical one, for one named array."""

    name: str
    shape: tuple[int, ...]
    max_abs: float
    mean_abs: float
    max_rel: float
    scale: float = 0.0

    def close(self, rtol: float = 1e-7, atol: float = 0.0) -> bool:
        """``max|Δ| <= atol + rtol * scale``; ``atol`` covers the numerical side's round-off."""
        return self.max_abs <= atol + rtol * self.scale

    def __str__(self) -> str:
        return (
            f"{self.name:<10} {str(self.shape):<14} max|Δ|={self.max_abs:.3e}  "
            f"mean|Δ|={self.mean_abs:.3e}  max rel={self.max_rel:.3e}"
        )


@dataclass
class GradcheckReport:
    """Per-array differences between backprop and numerical gradients."""

    differences: list[GradientDifference] = field(default_factory=list)
    # Round-off of the numerical reference itself: eps * (sum of |terms| of the objective) / h.
    # A difference below it is the reference's noise, not an error of backprop.
    reference_noise: float = 0.0

    @property
    def max_rel(self) -> float:
        return max((d.max_rel for d in self.differences), default=0.0)

    @property
    def max_abs(self) -> float:
        return max((d.max_abs for d in self.differences), default=0.0)

    def __getitem__(self, name: str) -> GradientDifference:
        for d in self.differences:
            if d.name == name:
                return d
        raise KeyError(name)

    def passed(self, rtol: float = 1e-7, atol: float = 0.0) -> bool:
        return all(d.close(rtol, atol) for d in self.differences)

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.differences)


def compare_gradients(name: str, analytic: Array, numerical: Array) -> GradientDifference:
    """Max/mean absolute and normwise relative difference of two gradients.

    The relative error is ``max|a - n| / max(max|a|, max|n|)``: relative to the gradient's scale
    rather than element by element, so an element that is nearly zero in both cannot blow it up.
    """
    a = to_numpy(analytic).astype(np.float64)
    n = to_numpy(numerical).astype(np.float64)
    if a.shape != n.shape:
        raise ShapeError(f"gradient {name!r}: backprop shape {a.shape} != numerical shape {n.shape}")
    diff = np.abs(a - n)
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(n).max(initial=0.0)))
    max_rel = max_abs / scale if scale > 0 else 0.0
    mean_abs = float(diff.mean()) if diff.size else 0.0
    return GradientDifference(name, a.shape, max_abs, mean_abs, max_rel, scale)


def gradcheck_layer(
    layer: Any,
    inputs: Sequence[Array],
    *,
    wrt: Sequence[int] | None = None,
    dout: Array | None = None,
    h: float = 1e-6,
    seed: int = 0,
) -> GradcheckReport:
    """Check ``layer.backward`` against central differences of ``sum(forward(*inputs) * dout)``.

    ``wrt`` lists the positions of the inputs to differentiate (default: every floating-point
    array; integer labels are never differentiated). ``dout`` defaults to a fixed random array,
    so every output element is weighted differently and a transposed gradient cannot pass. A
    loss layer's scalar output gets ``dout = 1``. Parameters in ``layer.params`` are checked
    against ``layer.grads``. Inputs and parameters are restored after the check.
    """
    inputs = list(inputs)
    _check_step(h, "gradcheck")
    if wrt is not None:
        for i in wrt:
            if not 0 <= i < len(inputs):
                raise ConfigError(f"gradcheck: wrt position {i} is out of range for {len(inputs)} inputs")
            kind = getattr(getattr(inputs[i], "dtype", None), "kind", None)
            if kind != "f":
                raise DTypeError(
                    f"gradcheck: input {i} (wrt) must be a floating-point array (float32 or "
                    f"float64), got {getattr(inputs[i], 'dtype', type(inputs[i]).__name__)}"
                )
    out = layer.forward(*inputs)
    xp = array_module(out)
    if dout is None:
        if getattr(out, "ndim", 0) == 0:
            dout = 1.0
        else:
            rng = np.random.default_rng(seed)
            dout = xp.asarray(rng.standard_normal(out.shape), dtype=out.dtype)
    weights = dout

    def objective(_: Any = None) -> float:
        return float((xp.asarray(layer.forward(*inputs)) * weights).sum())

    layer.forward(*inputs)
    grads_in = layer.backward(dout)
    if not isinstance(grads_in, tuple):
        grads_in = (grads_in,)
    if wrt is None:  # a loss layer returns no gradient for its targets, so only look that far
        wrt = [i for i, a in enumerate(inputs[: len(grads_in)]) if getattr(a, "dtype", np.dtype(object)).kind == "f"]
    analytic = {f"x{i}" if len(inputs) > 1 else "x": grads_in[i] for i in wrt}
    analytic.update({name: layer.grads[name].copy() for name in layer.params})

    if not wrt and not layer.params:
        found = ", ".join(str(getattr(a, "dtype", type(a).__name__)) for a in inputs)
        raise DTypeError(
            f"gradcheck: nothing to check: {type(layer).__name__} has no parameters and no input is "
            f"a floating-point array (float32 or float64); got {found}. Convert with x.astype(float)"
        )
    terms = xp.abs(xp.asarray(layer.forward(*inputs)) * weights)
    eps = float(np.finfo(getattr(out, "dtype", np.float64)).eps) if getattr(getattr(out, "dtype", None), "kind", "") == "f" else 2.0**-52
    report = GradcheckReport(reference_noise=eps * float(terms.sum()) / h)
    for i in wrt:
        name = f"x{i}" if len(inputs) > 1 else "x"
        report.differences.append(compare_gradients(name, analytic[name], numerical_gradient(objective, inputs[i], h)))
    for name, param in layer.params.items():
        report.differences.append(compare_gradients(name, analytic[name], numerical_gradient(objective, param, h)))
    return report


def gradcheck_net(net: Any, x: Array, t: Array, *, h: float = 1e-4) -> GradcheckReport:
    """Compare ``net.gradient(x, t)`` (backprop) with ``net.numerical_gradient(x, t, h)`` per parameter."""
    _check_step(h, "gradcheck")
    numerical = net.numerical_gradient(x, t, h=h)
    if not numerical:
        raise ConfigError(f"gradcheck: nothing to check: {type(net).__name__} has no parameters")
    analytic = net.gradient(x, t)
    return GradcheckReport([compare_gradients(k, analytic[k], numerical[k]) for k in numerical])


def gradcheck(target: Any, *inputs: Array, **kwargs: Any) -> GradcheckReport:
    """Gradient check for a layer (``gradcheck(layer, x, ...)``) or a net (``gradcheck(net, x, t)``)."""
    if hasattr(target, "numerical_gradient") and hasattr(target, "gradient"):
        return gradcheck_net(target, *inputs, **kwargs)
    return gradcheck_layer(target, inputs, **kwargs)
