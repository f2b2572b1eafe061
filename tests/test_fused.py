"""The compiled one-pass updates give the array path's results, and cost nothing until used."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from chainrule import jit
from chainrule.errors import ConfigError
from chainrule.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, compiled, rules
from chainrule.optimizers.contract import UpdateRule, update_rule
from helpers import numba_disabled

OPTIMIZERS = {
    "sgd": lambda: SGD(0.1),
    "momentum": lambda: Momentum(0.1, 0.8),
    "nesterov": lambda: Nesterov(0.1, 0.8),
    "adagrad": lambda: AdaGrad(0.1),
    "rmsprop": lambda: RMSprop(0.01, 0.9),
    "adam": lambda: Adam(0.01),
    "adam-torch": lambda: Adam(0.01, torch_compatible=True),
    "adam-weight-decay": lambda: Adam(0.01, weight_decay=0.1),
}
SHAPES = {"W": (300, 250), "b": (250,)}  # W is large enough for the compiled loop, b is not


def run_both(make, dtype, steps=3):
    """The same updates through the compiled loop and through the array path."""
    rng = np.random.default_rng(0)
    start = {key: rng.standard_normal(shape).astype(dtype) for key, shape in SHAPES.items()}
    compiled, plain = {k: v.copy() for k, v in start.items()}, {k: v.copy() for k, v in start.items()}
    compiled_optimizer, plain_optimizer = make(), make()
    for _ in range(steps):
        grads = {key: rng.standard_normal(shape).astype(dtype) for key, shape in SHAPES.items()}
        compiled_optimizer.update(compiled, grads)
        with numba_disabled():
            plain_optimizer.update(plain, grads)
    return compiled, plain


needs_numba = pytest.mark.skipif(not jit.compiled_available(), reason="numba not installed, or CHAINRULE_NUMBA=0")


@needs_numba
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_compiled_float64_is_bit_identical_to_the_array_path(name):
    assert SHAPES["W"][0] * SHAPES["W"][1] >= jit.MIN_COMPILED_SIZE
    compiled, plain = run_both(OPTIMIZERS[name], np.float64)
    for key in SHAPES:
        np.testing.assert_array_equal(compiled[key], plain[key], err_msg=key)


@needs_numba
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_compiled_float32_is_bit_identical_to_the_array_path(name):
    # NumPy rounds (1 - beta2), a Python float, to float32 once where it meets the arrays; the
    # compiled loop must round at the same places, and compute the rest in float32 as well.
    compiled, plain = run_both(OPTIMIZERS[name], np.float32)
    for key in SHAPES:
        assert compiled[key].dtype == np.float32
        np.testing.assert_array_equal(compiled[key], plain[key], err_msg=key)


def test_the_float32_rule_computes_hyperparameter_terms_in_float64_then_rounds_once():
    typed = compiled._as_numpy_computes_it(rules.adam, np.float32)
    m, v, param, grad = np.float32(0.5), np.float32(0.25), np.float32(1.0), np.float32(0.1)
    result = typed(param, grad, m, v, 0.01, 0.9, 0.999, 1e-7)
    assert all(type(x) is np.float32 for x in result)
    expected_v = np.float32(0.25) + np.float32(1 - 0.999) * (grad * grad - np.float32(0.25))
    assert result[2] == expected_v  # not float32(1) - float32(0.999) = 0.0010000467
    assert compiled._as_numpy_computes_it(rules.adam, np.float64) is rules.adam.function


def test_strided_arrays_take_the_array_path_and_still_update_in_place():
    param = np.zeros((600, 400))[:, ::2]  # not contiguous: a flat view would be a copy
    SGD(0.5).update({"W": param}, {"W": np.ones_like(param)})
    np.testing.assert_array_equal(param, -0.5)


def test_importing_chainrule_and_running_the_demo_does_not_load_numba():
    code = (
        "import sys; from chainrule.cli.main import main; main(['demo', 'apple']); "
        "assert 'numba' not in sys.modules, 'numba was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr




# -- the contract: what would compile to other numbers is refused where the rule is defined ---------

EPS = 1e-7  # a module constant read by a rule: the compiled loop types it float64, NumPy rounds it


def adagrad_reading_a_module_constant(param, grad, h, lr):
    h += grad * grad
    param -= lr * grad / (np.sqrt(h) + EPS)
    return param, h


def rmsprop_calling_a_function_on_a_hyperparameter(param, grad, h, lr, decay, eps):
    h *= decay
    h += np.sqrt(1 - decay) * grad * grad  # np.sqrt of a Python float is a float64 NumPy scalar
    param -= lr * grad / (np.sqrt(h) + eps)
    return param, h


def unchecked(function, slot_count):
    """``function`` as an UpdateRule without the contract's check: what compiling it would give."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    arguments = tuple(a.arg for a in tree.args.args)
    return UpdateRule(function, arguments, slot_count, "np", tree)


def mismatches(rule, hyper, steps=3):
    """Elements of (param, state) where the compiled float32 loop and NumPy's arrays disagree."""
    rng = np.random.default_rng(0)
    shape = (jit.MIN_COMPILED_SIZE * 2,)
    fast = [rng.standard_normal(shape).astype(np.float32), np.zeros(shape, np.float32)]
    plain = [a.copy() for a in fast]
    for _ in range(steps):
        grad = rng.standard_normal(shape).astype(np.float32)
        compiled.apply_rule(rule, fast[0], grad, (fast[1],), hyper)
        with numba_disabled():
            compiled.apply_rule(rule, plain[0], grad, (plain[1],), hyper)
    return [int((a != b).sum()) for a, b in zip(fast, plain)]


REFUSED_FOR_DIFFERING = {
    "module constant": (adagrad_reading_a_module_constant, (0.01,), "reads 'EPS', which is not one of its arguments"),
    "function of a hyperparameter": (
        rmsprop_calling_a_function_on_a_hyperparameter,
        (0.01, 0.99, 1e-7),
        r"np.sqrt\(1 - decay\)` is computed from hyperparameters alone",
    ),
}


@needs_numba
@pytest.mark.parametrize("case", REFUSED_FOR_DIFFERING)
def test_rules_that_would_compile_to_other_numbers_are_refused_when_defined(case):
    function, hyper, message = REFUSED_FOR_DIFFERING[case]
    differing = mismatches(unchecked(function, 1), hyper)  # what the contract keeps out
    assert sum(differing) > 1000, differing
    with pytest.raises(ConfigError, match=rf"update rule {function.__name__} \(.*test_fused.py, line \d+\): .*{message}"):
        update_rule(function)


def rebinds(param, grad, lr):
    param = param - lr * grad
    return (param,)


def writes_the_gradient(param, grad, lr):
    grad *= lr
    param -= grad
    return (param,)


def returns_out_of_order(param, grad, m, v, lr):
    m += grad
    v += grad * grad
    param -= lr * m / (np.sqrt(v) + lr)
    return param, v, m


def squares_with_power(param, grad, h, lr):
    h += grad**2
    param -= lr * grad / np.sqrt(h)
    return param, h


def calls_another_function(param, grad, lr):
    param -= lr * np.sign(grad)
    return (param,)


def branches(param, grad, lr):
    if lr > 1:
        param -= grad
    return (param,)


def keyword_hyperparameter(param, grad, *, lr):
    param -= lr * grad
    return (param,)


@pytest.mark.parametrize(
    "function, message",
    [
        (rebinds, r"`param = param - lr \* grad`: a rule only updates its arrays in place"),
        (writes_the_gradient, r"`grad \*= lr` updates grad, which is not one of the arrays it returns"),
        (returns_out_of_order, r"must return param, m, v .*got \(param, v, m\)"),
        (squares_with_power, r"`grad \*\* 2`: only \+ - \* / are allowed \(write x \* x"),
        (calls_another_function, r"`np.sign\(grad\)`: the only function a rule may call is np.sqrt"),
        (branches, r"`if lr > 1:`: a rule is in-place updates of its arrays .*no other statement \(If\) is allowed"),
        (keyword_hyperparameter, "takes only plain positional arguments"),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_the_contract_names_what_is_not_allowed(function, message):
    with pytest.raises(ConfigError, match=rf"^update rule {function.__name__} \(.*line \d+\): {message}"):
        update_rule(function)


def test_the_error_points_at_the_line_in_the_file_when_update_rule_decorates():
    with pytest.raises(ConfigError) as refused:

        @update_rule
        def decorated(param, grad, lr):
            param -= lr * grad * EPS
            return (param,)

    line = next(number for number, text in enumerate(open(__file__), 1) if "param -= lr * grad * EPS" in text)
    assert f"test_fused.py, line {line}): reads 'EPS'" in str(refused.value)


def test_the_textbook_rules_keep_the_contract_and_are_described_by_it():
    assert rules.adam.arrays == ("param", "m", "v") and rules.adam.hyperparameters == ("lr_t", "beta1", "beta2", "eps")
    assert rules.sgd.slot_count == 0 and rules.momentum.slot_count == 1 and rules.torch_adam.slot_count == 2
    param, grad = np.ones(3), np.full(3, 2.0)
    assert rules.sgd(param, grad, 0.25)[0] is param  # callable as written, in place
    np.testing.assert_array_equal(param, 0.5)


def test_a_rule_is_given_the_number_of_state_arrays_it_takes():
    with pytest.raises(ValueError, match="update rule adam takes 2 state arrays, got 1"):
        compiled.apply_rule(rules.adam, np.zeros(3), np.ones(3), (np.zeros(3),), (0.1, 0.9, 0.999, 1e-7))
