"""The optimizer base class: what every update rule shares.

``optimizer.update(params, grads)`` is the textbook's signature (Deep Learning from Scratch,
section 6.1). Parameters are updated in place, so layers holding the same arrays see the
change. Per-parameter state (a velocity, running averages) is keyed by the parameter's *name*
and created lazily, with the parameter's dtype and backend (NumPy or CuPy), on its first update;
gradients are only read, never written. Each subclass names its rule (:mod:`.rules`) and the
numbers it takes this step; :func:`~chainrule.optimizers.compiled.apply_rule` runs it.

``weight_decay`` is the textbook's coupled L2 penalty (``weight_decay_lambda``), computed by
:func:`chainrule.weight_decay.with_weight_decay`, the function ``Sequential`` uses too: the
gradient used is ``g + weight_decay * p``, for parameters with ``ndim >= 2`` only (weight
matrices and convolution filters, not biases or batch-norm scale/shift).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, ClassVar

import numpy as np

from ..backend import Array, array_module, to_numpy
from ..errors import CheckpointError, ConfigError, ConfigTypeError, DTypeError, NonFiniteError, ShapeError
from ..weight_decay import with_weight_decay
from .compiled import apply_rule
from .contract import UpdateRule

__all__ = ["Optimizer", "positive", "non_negative", "fraction"]


class _Hyperparameter:
    """A float attribute checked on every assignment (so ``optimizer.lr = ...`` is checked too).

    Values are stored as Python floats: a NumPy float64 scalar would promote float32 arithmetic.
    """

    def __init__(self, is_valid: Callable[[float], bool], requirement: str) -> None:
        self.is_valid = is_valid
        self.requirement = requirement

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.attribute = "_" + name

    def __get__(self, optimizer: Any, owner: type | None = None) -> Any:
        if optimizer is None:
            return self
        return getattr(optimizer, self.attribute)

    def __set__(self, optimizer: Any, value: Any) -> None:
        where = f"{type(optimizer).__name__}: {self.name}"
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ConfigTypeError(f"{where} must be a real number, got {value!r}")
        number = float(value)
        if not (math.isfinite(number) and self.is_valid(number)):
            raise ConfigError(f"{where} must be {self.requirement}, got {value!r}")
        setattr(optimizer, self.attribute, number)


def positive() -> _Hyperparameter:
    return _Hyperparameter(lambda x: x > 0, "a positive finite number")


def non_negative() -> _Hyperparameter:
    return _Hyperparameter(lambda x: x >= 0, "a non-negative finite number")


def fraction() -> _Hyperparameter:
    return _Hyperparameter(lambda x: 0 <= x < 1, "in [0, 1)")


class Optimizer:
    """Base class: checks ``params`` against ``grads``, applies weight decay, then the rule.

    Subclasses set ``slot_names`` (the per-parameter state arrays, in the rule's order) and
    ``hyperparameter_names`` (constructor keywords that ``state_dict`` saves), and implement
    :meth:`_rule_for_step`.
    """

    slot_names: ClassVar[tuple[str, ...]] = ()
    hyperparameter_names: ClassVar[tuple[str, ...]] = ("lr", "weight_decay")
    # What a NaN or inf gradient does once its step is made: "raise" a NonFiniteError (chainrule),
    # or "warn" and go on, as the book's optimizers do (its batch_norm_test.py lets a run diverge).
    on_nonfinite_gradient: ClassVar[str] = "raise"

    lr = positive()
    weight_decay = non_negative()

    def __init__(self, lr: float, *, weight_decay: float = 0.0) -> None:
        self.lr = lr
        self.weight_decay = weight_decay
        self.iterations = 0  # completed calls to update(); Adam's t
        self.state: dict[str, dict[str, Array]] = {}  # parameter name -> slot name -> array

    def __repr__(self) -> str:
        names = self.hyperparameter_names
        settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({settings})"

    # -- the update -----------------------------------------------------------------------------

    def update(self, params: MutableMapping[str, Array], grads: Mapping[str, Array]) -> None:
        """Move every ``params[key]`` in place by its rule, using ``grads[key]``.

        Everything is checked before anything is written, so a bad call leaves both the
        parameters and the optimizer's state untouched; except that NaN or inf in a gradient is
        found as the update reads it (Adam on a million float32 parameters, compiled: 0.41 ms,
        0.47 with the test inside the loop, 0.51 to 0.56 with a pass of its own before): the
        step is made, then :class:`~chainrule.errors.NonFiniteError` names every such gradient.
        """
        checked = [(key, *self._checked_pair(key, params, grads)) for key in params]
        extra = [key for key in grads if key not in params]
        if extra:
            raise ConfigError(
                f"{type(self).__name__}: gradients {extra} have no matching parameter "
                f"(parameters: {list(params)})"
            )
        for key, param, _ in checked:
            self._check_state(key, param)

        self.iterations += 1
        rule, numbers = self._rule_for_step()
        finite = []
        for key, param, grad in checked:
            slots = self._slots(key, param)
            grad = with_weight_decay(param, grad, self.weight_decay)  # a new array: grads belong to the layers
            finite.append(apply_rule(rule, param, grad, tuple(slots[name] for name in self.slot_names), numbers))
        if not all(bool(flag) for flag in finite):  # read once every update is queued (CuPy)
            bad = [(key, param) for (key, param, _), flag in zip(checked, finite) if not bool(flag)]
            error = self._nonfinite_gradients(bad, grads)
            if self.on_nonfinite_gradient != "warn":
                raise error
            warnings.warn(str(error), RuntimeWarning, stacklevel=2)

    def _nonfinite_gradients(self, bad: list[tuple[str, Array]], grads: Mapping[str, Array]) -> NonFiniteError:
        """The error naming each gradient with NaN or inf, and how many (counted only now)."""

        def count(array: Array) -> int:
            return int((~array_module(array).isfinite(array)).sum())

        found = [
            f"gradient {key!r} ({count(grads[key])} of {param.size})" if count(grads[key])
            else f"parameter {key!r} ({count(param)} of {param.size}), through weight decay"
            for key, param in bad
        ]
        return NonFiniteError(
            f"{type(self).__name__}: NaN or infinite values in {', '.join(found)}; expected finite "
            "numbers. This step has carried them into the parameters and the optimizer's state "
            "(the usual causes: a too-large learning rate, or bad data)"
        )

    def _rule_for_step(self) -> tuple[UpdateRule, tuple[float, ...]]:
        """The rule, and the hyperparameters it takes (after ``param``, ``grad`` and the state),
        for the step that :attr:`iterations` now counts."""
        raise NotImplementedError

    def _checked_pair(
        self, key: str, params: Mapping[str, Array], grads: Mapping[str, Array]
    ) -> tuple[Array, Array]:
        param, grad = params[key], grads.get(key)
        if (type(param) is np.ndarray and type(grad) is np.ndarray and grad.shape == param.shape
                and grad.dtype == param.dtype and param.dtype.kind == "f" and param.flags.writeable):
            return param, grad  # the usual case, in one test (a few microseconds a parameter less)
        name = type(self).__name__
        if key not in grads:
            raise ConfigError(
                f"{name}: no gradient for parameter {key!r} (gradients: {list(grads)})"
            )
        param, grad = params[key], grads[key]
        for what, array in (("parameter", param), ("gradient", grad)):
            if not hasattr(array, "shape") or not hasattr(array, "dtype"):
                raise ConfigTypeError(
                    f"{name}: {what} {key!r} must be an array, got {type(array).__name__}"
                )
        if param.dtype.kind != "f":
            raise DTypeError(
                f"{name}: parameter {key!r} has dtype {param.dtype}; only floating-point "
                "parameters can be updated in place"
            )
        if not getattr(getattr(param, "flags", None), "writeable", True):  # CuPy arrays have no such flag
            raise ConfigError(
                f"{name}: parameter {key!r} is a read-only array, but an optimizer updates its "
                f"parameters in place; pass a writable array (np.array({key}) makes a writable copy)"
            )
        if array_module(grad) is not array_module(param):
            raise DTypeError(
                f"{name}: gradient {key!r} is a {type(grad).__module__} array but the parameter "
                f"is a {type(param).__module__} array; both must live on the same backend"
            )
        if grad.shape != param.shape:
            raise ShapeError(
                f"{name}: gradient {key!r} has shape {grad.shape}, expected the parameter's "
                f"shape {param.shape}"
            )
        if grad.dtype.kind not in "fiu":  # casting would drop an imaginary part, or parse strings
            raise DTypeError(
                f"{name}: gradient {key!r} has dtype {grad.dtype}, expected real numbers (the "
                f"parameter is {param.dtype})"
            )
        # The rule runs in the parameter's dtype, so float32 training stays float32.
        return param, grad.astype(param.dtype, copy=False)

    def _check_state(self, key: str, param: Array) -> None:
        slots = self.state.get(key)
        if slots:
            shape = next(iter(slots.values())).shape
            if shape != param.shape:
                raise CheckpointError(
                    f"{type(self).__name__}: state for parameter {key!r} has shape {shape} but "
                    f"the parameter has shape {param.shape}; was the state loaded from another "
                    "model?"
                )

    def _slots(self, key: str, param: Array) -> dict[str, Array]:
        """The state arrays of parameter ``key``: zeros on first use, moved to its backend/dtype."""
        slots = self.state.get(key)
        xp = array_module(param)
        if slots is None:
            slots = {slot: xp.zeros_like(param) for slot in self.slot_names}
            if slots:  # SGD keeps no state
                self.state[key] = slots
        else:
            for slot, array in slots.items():  # loaded state arrives as NumPy, maybe another dtype
                if array_module(array) is not xp or array.dtype != param.dtype:
                    slots[slot] = xp.asarray(array, dtype=param.dtype)
        return slots

    # -- checkpoints ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A flat dict: ``optimizer`` (class name), hyperparameters, ``iterations``, and one
        NumPy copy per state array under ``"<slot>/<parameter name>"``.

        Scalars are plain Python values (JSON-friendly); everything fits ``numpy.savez``.
        """
        result: dict[str, Any] = {"optimizer": type(self).__name__}
        result.update({name: getattr(self, name) for name in self.hyperparameter_names})
        result["iterations"] = self.iterations
        for key, slots in self.state.items():
            for slot, array in slots.items():
                result[f"{slot}/{key}"] = np.array(to_numpy(array))  # a copy, not a live view
        return result

    def load_state_dict(
        self, state: Mapping[str, Any], *, params: Mapping[str, Array] | None = None
    ) -> None:
        """Restore what :meth:`state_dict` saved (also after a round trip through ``numpy.savez``).

        Keys, hyperparameters and array shapes are checked, and with ``params`` the state must
        cover exactly those parameters with their shapes; any mismatch raises
        :class:`~chainrule.errors.CheckpointError` and leaves this optimizer unchanged.
        """
        name = type(self).__name__

        def fail(message: str) -> CheckpointError:
            return CheckpointError(f"{name}.load_state_dict: {message}")

        if not isinstance(state, Mapping):
            raise fail(f"expected a mapping, got {type(state).__name__}")
        scalars = {key: _scalar(value) for key, value in state.items() if "/" not in key}
        saved_by = scalars.get("optimizer")
        if saved_by != name:
            raise fail(f"the state dict was saved by optimizer {saved_by!r}, not {name!r}")
        required = {"optimizer", "iterations", *self.hyperparameter_names}
        missing = sorted(required - scalars.keys())
        unexpected = sorted(scalars.keys() - required)
        if missing or unexpected:
            raise fail(f"missing keys {missing}, unexpected keys {unexpected}")

        try:
            restored = type(self)(**{key: scalars[key] for key in self.hyperparameter_names})
        except (TypeError, ValueError) as error:
            raise fail(f"invalid hyperparameter: {error}") from error
        iterations = scalars["iterations"]
        if isinstance(iterations, (bool, np.bool_)) or not isinstance(iterations, numbers.Integral):
            raise fail(f"'iterations' must be an integer, got {iterations!r}")
        if iterations < 0:
            raise fail(f"'iterations' must be >= 0, got {iterations}")

        new_state: dict[str, dict[str, np.ndarray]] = {}
        for key, value in state.items():
            if "/" not in key:
                continue
            slot, _, param_name = key.partition("/")
            if slot not in self.slot_names:
                raise fail(f"unexpected key {key!r}: {name} keeps slots {list(self.slot_names)}")
            array = np.array(to_numpy(value))
            if array.dtype.kind != "f":
                raise fail(f"{key!r} has dtype {array.dtype}, expected a floating-point array")
            if not np.isfinite(array).all():  # would turn the parameter NaN on the next step
                raise fail(f"{key!r} holds NaN or infinite values, expected finite numbers")
            new_state.setdefault(param_name, {})[slot] = array
        for param_name, slots in new_state.items():
            absent = [slot for slot in self.slot_names if slot not in slots]
            if absent:
                raise fail(f"parameter {param_name!r} lacks state {absent}")
            shapes = {slot: array.shape for slot, array in slots.items()}
            if len(set(shapes.values())) > 1:
                raise fail(f"state of parameter {param_name!r} has differing shapes {shapes}")
        if params is not None:
            self._check_against(new_state, params, fail)

        for key in self.hyperparameter_names:
            setattr(self, key, getattr(restored, key))
        self.iterations = int(iterations)
        self.state = {
            key: {slot: slots[slot] for slot in self.slot_names} for key, slots in new_state.items()
        }

    def _check_against(
        self,
        new_state: dict[str, dict[str, np.ndarray]],
        params: Mapping[str, Array],
        fail: Callable[[str], CheckpointError],
    ) -> None:
        if not self.slot_names or not new_state:
            return  # nothing per-parameter was saved (SGD, or no step taken yet)
        missing = [key for key in params if key not in new_state]
        unexpected = [key for key in new_state if key not in params]
        if missing or unexpected:
            raise fail(
                f"no state for parameters {missing}; state for unknown parameters {unexpected}"
            )
        for key, slots in new_state.items():
            shape = next(iter(slots.values())).shape
            if shape != tuple(params[key].shape):
                raise fail(
                    f"state for parameter {key!r} has shape {shape}, the parameter has shape "
                    f"{tuple(params[key].shape)}"
                )


def _scalar(value: Any) -> Any:
    """A plain Python scalar from a 0-d array (what ``numpy.load`` gives back for scalars)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


