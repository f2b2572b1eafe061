"""The compiled one-pass updates give the array path's results, and cost nothing until used."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from chainrule import fused, jit
from chainrule.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
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
    from chainrule.optimizers import _adam_rule

    typed = fused._as_numpy_computes_it(_adam_rule, 2, np.float32)
    m, v, param, grad = np.float32(0.5), np.float32(0.25), np.float32(1.0), np.float32(0.1)
    result = typed(param, grad, m, v, 0.01, 0.9, 0.999, 1e-7)
    assert all(type(x) is np.float32 for x in result)
    expected_v = np.float32(0.25) + np.float32(1 - 0.999) * (grad * grad - np.float32(0.25))
    assert result[2] == expected_v  # not float32(1) - float32(0.999) = 0.0010000467
    assert fused._as_numpy_computes_it(_adam_rule, 2, np.float64) is _adam_rule


def test_a_rule_that_rebinds_instead_of_updating_in_place_is_refused():
    def bad_rule(param, grad, lr):
        param = param - lr * grad
        return (param,)

    with numba_disabled(), pytest.raises(AssertionError, match="in place"):
        fused.apply_rule(bad_rule, np.zeros(3), np.ones(3), (), (0.1,))


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


# -- rules the float32 compilation would get wrong: reproduced first (issue 17) ----------------------

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


def mismatches(rule, hyper, steps=3):
    """Elements of (param, state) where the compiled float32 loop and NumPy's arrays disagree."""
    rng = np.random.default_rng(0)
    shape = (jit.MIN_COMPILED_SIZE * 2,)
    compiled = [rng.standard_normal(shape).astype(np.float32), np.zeros(shape, np.float32)]
    plain = [a.copy() for a in compiled]
    for _ in range(steps):
        grad = rng.standard_normal(shape).astype(np.float32)
        fused.apply_rule(rule, compiled[0], grad, (compiled[1],), hyper)
        with numba_disabled():
            fused.apply_rule(rule, plain[0], grad, (plain[1],), hyper)
    return [int((a != b).sum()) for a, b in zip(compiled, plain)]


@needs_numba
@pytest.mark.xfail(strict=True, reason="issue 17: the compiled loop silently differs from NumPy")
def test_a_rule_reading_a_module_constant_compiles_to_numpys_numbers():
    assert mismatches(adagrad_reading_a_module_constant, (0.01,)) == [0, 0]


@needs_numba
@pytest.mark.xfail(strict=True, reason="issue 17: the compiled loop silently differs from NumPy")
def test_a_rule_calling_np_sqrt_on_a_hyperparameter_compiles_to_numpys_numbers():
    assert mismatches(rmsprop_calling_a_function_on_a_hyperparameter, (0.01, 0.99, 1e-7)) == [0, 0]
