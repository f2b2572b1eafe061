"""An update rule run in one pass over memory: the same text, compiled for single numbers.

An optimizer's rule is written once, as the textbook writes it, with in-place operators::

    @update_rule
    def adam(param, grad, m, v, lr_t, beta1, beta2, eps):
        m += (1 - beta1) * (grad - m)
        v += (1 - beta2) * (grad * grad - v)
        param -= lr_t * m / (np.sqrt(v) + eps)
        return param, m, v

Given whole arrays, NumPy (or CuPy) runs it as it reads: one pass over memory per operator,
updating ``param``, ``m`` and ``v`` in place. Given single numbers, the same text computes one
element; :func:`apply_rule` compiles it that way with numba (when installed) into a loop that
reads and writes every element once. (CuPy runs the rule on whole arrays: ``cupy.fuse`` either
refused these rules or, for Nesterov's, silently computed something else in CuPy 14.2.)
Both evaluate the same operations in the same order and round at the same places (for float32,
see :func:`_as_numpy_computes_it`), so the results are bit-identical; the rule's contract
(:mod:`~chainrule.optimizers.contract`, checked when the rule is defined) keeps out what would
make them differ.

Whether loops are compiled at all is decided in :mod:`chainrule.jit` (numba installed, and
``CHAINRULE_NUMBA`` not ``0``).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import jit
from ..backend import Array, array_module
from .contract import UpdateRule

__all__ = ["apply_rule"]

_kernels: dict[tuple[UpdateRule, type], Callable[..., bool]] = {}  # by rule and dtype


def apply_rule(rule: UpdateRule, param: Array, grad: Array, slots: tuple[Array, ...], hyper: tuple[float, ...]) -> Any:
    """Update ``param`` and its ``slots`` in place by ``rule(param, grad, *slots, *hyper)``;
    return whether every element of ``grad`` was finite (a bool, or a 0-d CuPy array: not read
    here, so a GPU is not made to wait).

    ``grad`` is only read. NumPy arrays that are contiguous, of one dtype and large enough run
    through the compiled loop, which checks the gradient as it reads it, at no measurable cost;
    everything else (CuPy, small or strided arrays, no numba, a rule whose source cannot be read)
    runs the rule on whole arrays, after one ``isfinite`` pass. Either way the update is made
    (so both paths leave the same numbers), and the caller reports a non-finite gradient.
    """
    if rule.slot_count is not None and len(slots) != rule.slot_count:
        raise ValueError(f"update rule {rule.name} takes {rule.slot_count} state arrays, got {len(slots)}")
    arrays = (param, grad, *slots)
    if (
        rule.tree is not None
        and jit.use_compiled(param, *arrays)
        and all(a.flags.c_contiguous and a.dtype == param.dtype for a in arrays)
    ):
        kernel = _compiled(rule, param.dtype.type)
        return kernel(*(a.reshape(-1) for a in arrays), tuple(float(h) for h in hyper))
    finite = array_module(grad).isfinite(grad).all()
    rule(param, grad, *slots, *hyper)  # in place: the contract allows only +=, -=, *=, /= on them
    return finite


def _compiled(rule: UpdateRule, number: type) -> Callable[..., bool]:
    """A numba loop applying ``rule`` element by element, on one thread (compiled once per rule and dtype)."""
    key = (rule, number)
    kernel = _kernels.get(key)
    if kernel is None:
        numba = jit.numba_module()
        # error_model="numpy": x / 0 gives inf or nan as NumPy does, instead of raising; without the
        # check for a zero divisor in every iteration, LLVM vectorizes the loop (10x faster here).
        element = numba.njit(_as_numpy_computes_it(rule, number), error_model="numpy")
        # One loop per number of state arrays: numba cannot index a variable-length tuple of arrays.
        # g - g is 0 for a finite g and NaN for inf or NaN: a test that keeps the loop vectorized
        # (a count, or the same test on the bits as integers, made it twice as slow).
        if rule.slot_count == 0:
            def loop(param, grad, hyper):  # type: ignore[no-untyped-def]
                finite = True
                for i in range(param.size):
                    finite &= grad[i] - grad[i] == 0
                    (param[i],) = element(param[i], grad[i], *hyper)
                return finite
        elif rule.slot_count == 1:
            def loop(param, grad, s1, hyper):  # type: ignore[no-untyped-def]
                finite = True
                for i in range(param.size):
                    finite &= grad[i] - grad[i] == 0
                    param[i], s1[i] = element(param[i], grad[i], s1[i], *hyper)
                return finite
        elif rule.slot_count == 2:
            def loop(param, grad, s1, s2, hyper):  # type: ignore[no-untyped-def]
                finite = True
                for i in range(param.size):
                    finite &= grad[i] - grad[i] == 0
                    param[i], s1[i], s2[i] = element(param[i], grad[i], s1[i], s2[i], *hyper)
                return finite
        else:
            raise ValueError(f"rules with {rule.slot_count} state arrays are not supported")
        kernel = _kernels[key] = numba.njit(nogil=True, error_model="numpy")(loop)
    return kernel


def _as_numpy_computes_it(rule: UpdateRule, number: type) -> Callable[..., tuple[float, ...]]:
    """``rule`` for single numbers of dtype ``number``, rounded where NumPy rounds it on arrays.

    On float32 arrays NumPy computes ``(1 - beta2) * (grad * grad - v)`` in float32, but
    ``1 - beta2`` first as a Python float, rounded to float32 once where it meets an array (NEP 50).
    numba would type every number in the rule as float64 and take the whole rule into float64
    (1.46 instead of 0.53 ms per million float32 parameters: division and square root run at half
    the vector width); typing the literals as float32 instead would compute ``1 - beta2`` in float32
    and lose 5 of its digits (0.0010000467). So each largest subexpression made only of
    hyperparameters and numbers is computed as written, in float64, and cast to ``number`` where
    the arrays' values begin: the same operations, rounded at the same places, as NumPy on whole
    arrays. float64 rules compile as they are. What this needs of the rule (no module constants,
    no function of hyperparameters alone) is its contract, checked when it was defined.
    """
    if number is np.float64:
        return rule.function
    assert rule.tree is not None  # apply_rule compiles only rules whose source was checked

    class CastScalars(ast.NodeTransformer):
        def generic_visit(self, node: ast.AST) -> ast.AST:
            if isinstance(node, ast.expr) and rule.is_scalar(node):
                return ast.copy_location(ast.Call(ast.Name("_number", ast.Load()), [node], []), node)
            return super().generic_visit(node)

    tree = copy.deepcopy(rule.tree)
    tree.decorator_list = []  # compiled as the plain function it was before @update_rule
    module = ast.fix_missing_locations(ast.Module([CastScalars().visit(tree)], type_ignores=[]))
    namespace = {**rule.function.__globals__, "_number": number}  # the contract lets it read only np
    exec(compile(module, rule.function.__code__.co_filename, "exec"), namespace)
    return namespace[rule.name]
