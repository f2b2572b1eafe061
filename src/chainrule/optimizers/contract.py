"""What an update rule may contain, checked when the rule is defined.

A rule is written once, as the textbook writes it, and runs two ways: NumPy (or CuPy) runs it on
whole arrays; :mod:`~chainrule.optimizers.compiled` compiles the same text for single numbers
into one loop over memory. The two agree to the bit only while the rule stays inside a small
language, because NumPy and numba type numbers differently (NEP 50 against numba's float64):

- the rule's arguments are ``param, grad``, its state arrays, then its hyperparameters (floats);
- its body updates ``param`` and the state arrays with ``+=``, ``-=``, ``*=``, ``/=``, then
  returns them, ``param`` first, in the order of the arguments;
- its expressions use only ``+ - * /``, a sign, int and float literals, its own arguments, and
  ``np.sqrt`` of an expression that involves an array.

Anything else is refused by :func:`update_rule`, with the line and what to do instead. Two
examples of what the contract keeps out: a module constant ``EPS`` (NumPy rounds a Python float
to float32 where it meets the arrays; numba freezes it as a float64 constant and takes the
expression into float64), and ``np.sqrt(1 - decay)`` (NumPy returns a float64 scalar, which
takes the whole array expression into float64; the loop would compute it in float32). Both
compiled to different numbers for thousands of float32 elements in 131,072.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["UpdateRule", "update_rule"]

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_SIGNS = (ast.USub, ast.UAdd)
_FUNCTIONS = ("sqrt",)  # of NumPy; correctly rounded in NumPy and numba alike


@dataclass(frozen=True)
class UpdateRule:
    """A rule that passed the contract: its function, and the names the compiler needs.

    ``tree`` is the parsed function (``None`` when its source cannot be read, as in a frozen
    install: such a rule only runs on whole arrays, never compiled unchecked).
    """

    function: Callable[..., tuple[Any, ...]]
    arguments: tuple[str, ...]
    slot_count: int | None  # how many state arrays follow param and grad (None: unknown, no source)
    numpy_name: str  # the name the rule's module gave NumPy (``np``)
    tree: ast.FunctionDef | None

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def arrays(self) -> tuple[str, ...]:
        """What the rule updates and returns: param, then its state arrays."""
        return (self.arguments[0], *self.arguments[2 : 2 + (self.slot_count or 0)])

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        return self.arguments[2 + (self.slot_count or 0) :]

    def __call__(self, param: Any, grad: Any, *state_and_hyperparameters: Any) -> tuple[Any, ...]:
        """Run the rule as written (on whole arrays, or on single numbers)."""
        return self.function(param, grad, *state_and_hyperparameters)

    def is_scalar(self, node: ast.AST) -> bool:
        """Whether ``node`` is made only of hyperparameters and numbers (no array in it)."""
        if isinstance(node, ast.Constant):
            return type(node.value) in (int, float)  # not a docstring
        if isinstance(node, ast.Name):
            return node.id in self.hyperparameters
        if isinstance(node, ast.BinOp):
            return self.is_scalar(node.left) and self.is_scalar(node.right)
        if isinstance(node, ast.UnaryOp):
            return self.is_scalar(node.operand)
        return False  # a call: np.sqrt of an array


def update_rule(function: Callable[..., tuple[Any, ...]]) -> UpdateRule:
    """Decorator: check ``function`` against the contract above and return it as an :class:`UpdateRule`.

    Raises :class:`~chainrule.errors.ConfigError` naming the rule, the line and what is not allowed.
    """
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):  # no source to read: it will only run on whole arrays
        return _without_source(function)
    tree = ast.parse(source).body[0]
    if not isinstance(tree, ast.FunctionDef):
        raise ConfigError(f"update rule {function!r}: expected a function defined with def")
    line_offset = function.__code__.co_firstlineno - 1  # the source's first line (a decorator's) in the file
    where = f"update rule {function.__name__} ({inspect.getsourcefile(function)}"

    def fail(node: ast.AST, problem: str) -> ConfigError:
        line = getattr(node, "lineno", tree.lineno) + line_offset
        return ConfigError(f"{where}, line {line}): {problem}")

    arguments = tree.args
    if arguments.vararg or arguments.kwarg or arguments.kwonlyargs or arguments.posonlyargs or arguments.defaults:
        raise fail(tree, "takes only plain positional arguments: param, grad, its state arrays, its hyperparameters")
    names = [a.arg for a in arguments.args]
    if len(names) < 2:
        raise fail(tree, f"takes param and grad first, got arguments {names}")

    body = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    returned = body[-1] if body else None
    if not isinstance(returned, ast.Return) or not isinstance(returned.value, ast.Tuple):
        raise fail(returned or tree, "must end with `return param, <state arrays>` (a tuple, param first)")
    arrays = tuple(getattr(e, "id", "?") for e in returned.value.elts)
    expected = (names[0], *names[2 : 1 + len(arrays)])
    if arrays != expected:
        raise fail(returned, f"must return {', '.join(expected)} (param, then the state arrays in argument order), got {ast.unparse(returned.value)}")
    rule = UpdateRule(function, tuple(names), len(arrays) - 1, _numpy_name(function), tree)

    for statement in body[:-1]:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            raise fail(statement, f"`{ast.unparse(statement)}`: a rule only updates its arrays in place (+=, -=, *=, /=); "
                                  "an assignment makes a new array, which the caller never sees")
        if not isinstance(statement, ast.AugAssign):
            opening = ast.unparse(statement).splitlines()[0]
            raise fail(statement, f"`{opening}`: a rule is in-place updates of its arrays (+=, -=, *=, /=), then a "
                                  f"return; no other statement ({type(statement).__name__}) is allowed")
        target = getattr(statement.target, "id", None)
        if target not in arrays:
            raise fail(statement, f"`{ast.unparse(statement)}` updates {ast.unparse(statement.target)}, which is not one of "
                                  f"the arrays it returns ({', '.join(arrays)}); the gradient and the hyperparameters are only read")
        if type(statement.op) not in _OPERATORS:
            raise fail(statement, f"`{ast.unparse(statement)}`: only +=, -=, *= and /= are allowed")
        _check_expression(rule, statement.value, fail)
    return rule


def _check_expression(rule: UpdateRule, node: ast.AST, fail: Callable[[ast.AST, str], ConfigError]) -> None:
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise fail(node, f"the literal {node.value!r}: only int and float numbers are allowed")
    elif isinstance(node, ast.Name):
        if node.id not in rule.arguments:
            raise fail(node, f"reads {node.id!r}, which is not one of its arguments: NumPy rounds a Python float to "
                             "float32 where it meets the arrays, the compiled loop would keep it float64. "
                             f"Pass {node.id} as a hyperparameter")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _OPERATORS:
            raise fail(node, f"`{ast.unparse(node)}`: only + - * / are allowed (write x * x for a square)")
        _check_expression(rule, node.left, fail)
        _check_expression(rule, node.right, fail)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _SIGNS):
            raise fail(node, f"`{ast.unparse(node)}`: only a sign (+x, -x) is allowed")
        _check_expression(rule, node.operand, fail)
    elif isinstance(node, ast.Call):
        function = node.func
        if not (
            isinstance(function, ast.Attribute)
            and isinstance(function.value, ast.Name)
            and function.value.id == rule.numpy_name
            and function.attr in _FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        ):
            raise fail(node, f"`{ast.unparse(node)}`: the only function a rule may call is np.sqrt(x)")
        (argument,) = node.args
        if rule.is_scalar(argument):
            raise fail(node, f"`{ast.unparse(node)}` is computed from hyperparameters alone: NumPy returns a float64 "
                             "scalar that takes the array expression into float64, the compiled loop would not. "
                             "Compute it outside the rule and pass it as a hyperparameter (as Adam passes lr_t)")
        _check_expression(rule, argument, fail)
    else:
        raise fail(node, f"`{ast.unparse(node)}`: a rule may only use + - * /, numbers, its arguments and np.sqrt")


def _numpy_name(function: Callable[..., Any]) -> str:
    """The name under which the rule's module imported NumPy (``np``), or ``np`` if it did not."""
    return next((name for name, value in function.__globals__.items() if value is np), "np")


def _without_source(function: Callable[..., Any]) -> UpdateRule:
    code = function.__code__
    return UpdateRule(function, code.co_varnames[: code.co_argcount], None, "np", None)
