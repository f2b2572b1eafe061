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
Both evaluate the same operations in the same order and round at the same places (for float32,
see :func:`_as_numpy_computes_it`), so the results are bit-identical.

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

_kernels: dict[tuple[Rule, int, type], Callable[..., None]] = {}  # by rule, state arrays, dtype


def apply_rule(rule: Rule, param: Array, grad: Array, slots: tuple[Array, ...], hyper: tuple[float, ...]) -> None:
    """Update ``param`` and its ``slots`` in place by ``rule(param, grad, *slots, *hyper)``.

    ``grad`` is only read. NumPy arrays that are contiguous, of one dtype and large enough run
    through the compiled loop; everything else (CuPy, small or strided arrays, no numba) runs the
    rule on whole arrays.
    """
    arrays = (param, grad, *slots)
    if jit.use_compiled(param, *arrays) and all(a.flags.c_contiguous and a.dtype == param.dtype for a in arrays):
        kernel = _compiled(rule, len(slots), param.dtype.type)
        kernel(*(a.reshape(-1) for a in arrays), tuple(float(h) for h in hyper))
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
        element = numba.njit(_as_numpy_computes_it(rule, slot_count, number), error_model="numpy")
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


def _as_numpy_computes_it(rule: Rule, slot_count: int, number: type) -> Rule:
    """``rule`` for single numbers of dtype ``number``, rounded where NumPy rounds it on arrays.

    On float32 arrays NumPy computes ``(1 - beta2) * (grad * grad - v)`` in float32, but
    ``1 - beta2`` first as a Python float, rounded to float32 once where it meets an array (NEP 50).
    numba would type every number in the rule as float64 and take the whole rule into float64
    (1.46 instead of 0.53 ms per million float32 parameters: division and square root run at half
    the vector width); typing the literals as float32 instead would compute ``1 - beta2`` in float32
    and lose 5 of its digits (0.0010000467). So each largest subexpression made only of
    hyperparameters and numbers is computed as written, in float64, and cast to ``number`` where
    the arrays' values begin: the same operations, rounded at the same places, as NumPy on whole
    arrays. float64 rules compile as they are.
    """
    if number is np.float64:
        return rule
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(rule)))
    except (OSError, TypeError):  # no source to read (a frozen install): compile it as it is
        return rule
    arguments = tree.body[0].args.args  # type: ignore[attr-defined]
    hyperparameters = {a.arg for a in arguments[2 + slot_count :]}

    def scalar(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return type(node.value) in (int, float)
        if isinstance(node, ast.Name):
            return node.id in hyperparameters
        if isinstance(node, ast.BinOp):
            return scalar(node.left) and scalar(node.right)
        if isinstance(node, ast.UnaryOp):
            return scalar(node.operand)
        return False

    class CastScalars(ast.NodeTransformer):
        def generic_visit(self, node: ast.AST) -> ast.AST:
            if isinstance(node, ast.expr) and scalar(node):
                return ast.copy_location(ast.Call(ast.Name("_number", ast.Load()), [node], []), node)
            return super().generic_visit(node)

    tree = ast.fix_missing_locations(CastScalars().visit(tree))
    namespace = {**rule.__globals__, "_number": number}
    exec(compile(tree, inspect.getsourcefile(rule) or "<rule>", "exec"), namespace)
    return namespace[rule.__name__]
