"""Element-wise update rules run in one pass over memory.

An optimizer's rule is written once, as the textbook writes it, with in-place operators::

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
Both evaluate the same operations in the same order, so float64 results are bit-identical. For
float32, both compute in float32 (see :func:`_with_literals_as`); they differ only in how a
coefficient of hyperparameters alone, such as ``1 - beta1``, is rounded (NumPy computes it as a
Python float, the loop in float32): a few units in float32's last place.

Whether loops are compiled at all is decided in :mod:`chainrule.jit` (numba installed, and
``CHAINRULE_NUMBA`` not ``0``).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable

import numpy as np

from . import jit
from .backend import Array

__all__ = ["apply_rule"]

Rule = Callable[..., tuple[Array, ...]]

_kernels: dict[tuple[Rule, int], Callable[..., None]] = {}


def apply_rule(rule: Rule, param: Array, grad: Array, slots: tuple[Array, ...], hyper: tuple[float, ...]) -> None:
    """Update ``param`` and its ``slots`` in place by ``rule(param, grad, *slots, *hyper)``.

    ``grad`` is only read. NumPy arrays that are contiguous, of one dtype and large enough run
    through the compiled loop; everything else (CuPy, small or strided arrays, no numba) runs the
    rule on whole arrays.
    """
    arrays = (param, grad, *slots)
    if jit.use_compiled(param, *arrays) and all(a.flags.c_contiguous and a.dtype == param.dtype for a in arrays):
        kernel = _compiled(rule, len(slots), param.dtype.type)
        number = param.dtype.type  # hyperparameters in the arrays' dtype, as NumPy uses them (NEP 50)
        kernel(*(a.reshape(-1) for a in arrays), tuple(number(h) for h in hyper))
        return
    results = rule(param, grad, *slots, *hyper)
    for before, after in zip((param, *slots), results):
        if after is not before:  # a rule must update in place; this catches one that rebinds
            raise AssertionError(f"update rule {rule.__name__} replaced an array instead of updating it in place")


def _compiled(rule: Rule, slot_count: int, number: type) -> Callable[..., None]:
    """A numba loop applying ``rule`` element by element, on one thread (compiled once per rule and dtype)."""
    key = (rule, slot_count, number)
    kernel = _kernels.get(key)
    if kernel is None:
        numba = jit.numba_module()
        # error_model="numpy": x / 0 gives inf or nan as NumPy does, instead of raising; without the
        # check for a zero divisor in every iteration, LLVM vectorizes the loop (10x faster here).
        element = numba.njit(_with_literals_as(rule, number), error_model="numpy")
        # One loop per number of state arrays: numba cannot index a variable-length tuple of arrays.
        if slot_count == 0:
            def loop(param, grad, hyper):  # type: ignore[no-untyped-def]
                for i in range(param.size):
                    (param[i],) = element(param[i], grad[i], *hyper)
        elif slot_count == 1:
            def loop(param, grad, s1, hyper):  # type: ignore[no-untyped-def]
                for i in range(param.size):
                    param[i], s1[i] = element(param[i], grad[i], s1[i], *hyper)
        elif slot_count == 2:
            def loop(param, grad, s1, s2, hyper):  # type: ignore[no-untyped-def]
                for i in range(param.size):
                    param[i], s1[i], s2[i] = element(param[i], grad[i], s1[i], s2[i], *hyper)
        else:
            raise ValueError(f"rules with {slot_count} state arrays are not supported")
        kernel = _kernels[key] = numba.njit(nogil=True, error_model="numpy")(loop)
    return kernel


def _with_literals_as(rule: Rule, number: type) -> Rule:
    """``rule`` with its number literals read as ``number`` (e.g. ``1`` as ``np.float32(1)``).

    NumPy computes ``(1 - beta1) * (grad - m)`` on float32 arrays in float32: the Python numbers
    take the array's dtype (NEP 50). numba types the literal ``1`` as an integer and ``1 - beta1``
    as float64, which takes the whole rule into float64: 1.54 instead of 0.58 ms per million
    float32 parameters, as division and square root run at half the vector width. Read with float32
    literals (and given float32 hyperparameters), the same text computes in float32. Float64 rules
    are compiled as they are.
    """
    if number is np.float64:
        return rule
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(rule)))
    except (OSError, TypeError):  # no source to read (a frozen install): compile it as it is
        return rule

    class Typed(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            if type(node.value) in (int, float):
                return ast.copy_location(ast.Call(ast.Name("_number", ast.Load()), [node], []), node)
            return node

    tree = ast.fix_missing_locations(Typed().visit(tree))
    namespace = {**rule.__globals__, "_number": number}
    exec(compile(tree, inspect.getsourcefile(rule) or "<rule>", "exec"), namespace)
    return namespace[rule.__name__]
