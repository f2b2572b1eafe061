"""Optimizers against their textbook formulas, written out plainly here, and against torch.optim."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from chainrule import jit
from chainrule.errors import CheckpointError, ConfigError, DTypeError, NonFiniteError, ShapeError
from chainrule.optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    Optimizer,
    RMSprop,
    compiled,
    make_optimizer,
)
from helpers import numba_disabled

SHAPES = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,), "filters": (2, 3, 2, 2), "scale": ()}


def random_arrays(rng, dtype=np.float64, shapes=SHAPES):
    return {key: np.asarray(rng.standard_normal(s), dtype=dtype) for key, s in shapes.items()}


def copy_of(arrays):
    return {key: array.copy() for key, array in arrays.items()}


# -- reference rules: the formulas as written, one new array per operation -------------------------
# Each takes (p, g, state, t), where state is a dict it fills on first use; it returns the new p.


def sgd_rule(lr=0.01):
    def rule(p, g, state, t):
        return p - lr * g

    return rule


def momentum_rule(lr=0.01, momentum=0.9):
    def rule(p, g, state, t):
        state["v"] = momentum * state.get("v", np.zeros_like(p)) - lr * g
        return p + state["v"]

    return rule


def nesterov_rule(lr=0.01, momentum=0.9):
    """The book's ``common/optimizer.py`` Nesterov: the look-ahead uses the previous velocity."""

    def rule(p, g, state, t):
        v = state.get("v", np.zeros_like(p))
        p = p + momentum * momentum * v
        p = p - (1 + momentum) * lr * g
        state["v"] = v * momentum - lr * g
        return p

    return rule


def adagrad_rule(lr=0.01, eps=1e-7):
    def rule(p, g, state, t):
        state["h"] = state.get("h", np.zeros_like(p)) + g * g
        return p - lr * g / (np.sqrt(state["h"]) + eps)

    return rule


def rmsprop_rule(lr=0.01, decay_rate=0.99, eps=1e-7):
    def rule(p, g, state, t):
        state["h"] = decay_rate * state.get("h", np.zeros_like(p)) + (1 - decay_rate) * g * g
        return p - lr * g / (np.sqrt(state["h"]) + eps)

    return rule


def adam_rule(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    def rule(p, g, state, t):
        m, v = state.get("m", np.zeros_like(p)), state.get("v", np.zeros_like(p))
        state["m"] = m + (1 - beta1) * (g - m)
        state["v"] = v + (1 - beta2) * (g * g - v)
        lr_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        return p - lr_t * state["m"] / (np.sqrt(state["v"]) + eps)

    return rule


def torch_adam_rule(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    def rule(p, g, state, t):
        m, v = state.get("m", np.zeros_like(p)), state.get("v", np.zeros_like(p))
        state["m"] = m + (1 - beta1) * (g - m)
        state["v"] = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = state["m"] / (1 - beta1**t), state["v"] / (1 - beta2**t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)

    return rule


CASES = {
    "sgd": (lambda: SGD(), sgd_rule()),
    "momentum": (lambda: Momentum(), momentum_rule()),
    "nesterov": (lambda: Nesterov(), nesterov_rule()),
    "adagrad": (lambda: AdaGrad(), adagrad_rule()),
    "rmsprop": (lambda: RMSprop(), rmsprop_rule()),
    "adam": (lambda: Adam(), adam_rule()),
    "sgd-custom": (lambda: SGD(lr=0.3), sgd_rule(lr=0.3)),
    "momentum-custom": (lambda: Momentum(0.1, 0.5), momentum_rule(0.1, 0.5)),
    "nesterov-custom": (lambda: Nesterov(0.1, 0.5), nesterov_rule(0.1, 0.5)),
    "adagrad-custom": (lambda: AdaGrad(0.5, 1e-3), adagrad_rule(0.5, 1e-3)),
    "rmsprop-custom": (lambda: RMSprop(0.05, 0.9, 1e-4), rmsprop_rule(0.05, 0.9, 1e-4)),
    "adam-custom": (lambda: Adam(0.01, 0.8, 0.99, 1e-6), adam_rule(0.01, 0.8, 0.99, 1e-6)),
}
ALL_OPTIMIZERS = [make for make, _ in CASES.values()] + [lambda: Adam(torch_compatible=True)]


def run_against_reference(optimizer, rule, *, steps=6, weight_decay=0.0, seed=0):
    """Step ``optimizer`` and ``rule`` on the same random params and grads; demand equal bits."""
    rng = np.random.default_rng(seed)
    params = random_arrays(rng)
    expected = copy_of(params)
    rule_state = {key: {} for key in params}
    for t in range(1, steps + 1):
        grads = random_arrays(rng)
        optimizer.update(params, grads)
        for key, g in grads.items():
            p = expected[key]
            if p.ndim >= 2:
                g = g + weight_decay * p
            expected[key] = rule(p, g, rule_state[key], t)
        for key in params:
            np.testing.assert_array_equal(params[key], expected[key], err_msg=f"{key}, step {t}")


@pytest.fixture(params=["arrays", "compiled"])
def update_path(request, monkeypatch):
    """Run the test's updates on whole arrays, or through the compiled loop even for tiny arrays."""
    if request.param == "arrays":
        with numba_disabled():
            yield request.param
        return
    if not jit.compiled_available():
        pytest.skip("numba not installed, or CHAINRULE_NUMBA=0")
    calls = []
    compile_rule = compiled._compiled
    monkeypatch.setattr(jit, "MIN_COMPILED_SIZE", 0)
    monkeypatch.setattr(compiled, "_compiled", lambda *args: calls.append(args) or compile_rule(*args))
    yield request.param
    assert calls, "no update went through the compiled loop"


@pytest.mark.parametrize("case", CASES)
def test_matches_reference_formula(case, update_path):
    make, rule = CASES[case]
    run_against_reference(make(), rule)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "make", ALL_OPTIMIZERS + [lambda: Adam(weight_decay=0.1), lambda: Momentum(weight_decay=0.1)], ids=lambda make: repr(make())
)
def test_the_compiled_loop_gives_the_array_paths_bits(make, dtype, monkeypatch):
    """Every parameter, however small, through the compiled loop against NumPy on whole arrays."""
    if not jit.compiled_available():
        pytest.skip("numba not installed, or CHAINRULE_NUMBA=0")
    monkeypatch.setattr(jit, "MIN_COMPILED_SIZE", 0)
    rng = np.random.default_rng(13)
    fast = random_arrays(rng, dtype)
    plain, fast_optimizer, plain_optimizer = copy_of(fast), make(), make()
    for step in range(1, 6):
        grads = random_arrays(rng, dtype)
        fast_optimizer.update(fast, grads)
        with numba_disabled():
            plain_optimizer.update(plain, grads)
        for key in fast:
            assert fast[key].dtype == dtype
            np.testing.assert_array_equal(fast[key], plain[key], err_msg=f"{key}, step {step}")
        for key, slots in fast_optimizer.state.items():
            for slot, array in slots.items():
                np.testing.assert_array_equal(array, plain_optimizer.state[key][slot], err_msg=f"{slot}/{key}")
    assert (fast_optimizer._rule_for_step()[0], np.dtype(dtype).type) in compiled._kernels  # it did compile


def test_adam_torch_compatible_matches_its_formula():
    optimizer = Adam(0.01, torch_compatible=True)
    assert optimizer.eps == 1e-8
    # The reference divides m and v by their bias corrections; ours folds them into scalars.
    rng = np.random.default_rng(1)
    params = random_arrays(rng)
    expected, rule, states = copy_of(params), torch_adam_rule(0.01), {key: {} for key in params}
    for t in range(1, 21):
        grads = random_arrays(rng)
        optimizer.update(params, grads)
        expected = {key: rule(expected[key], grads[key], states[key], t) for key in params}
        for key in params:
            np.testing.assert_allclose(params[key], expected[key], rtol=1e-15, atol=1e-15)


def test_adam_torch_compatible_differs_from_textbook_adam_only_by_eps_placement():
    rng = np.random.default_rng(2)
    params = random_arrays(rng)
    textbook, torchlike = copy_of(params), copy_of(params)
    opt_textbook, opt_torch = Adam(eps=1e-8), Adam(eps=1e-8, torch_compatible=True)
    for _ in range(3):
        grads = random_arrays(rng)
        opt_textbook.update(textbook, grads)
        opt_torch.update(torchlike, grads)
    for key in params:
        assert not np.array_equal(textbook[key], torchlike[key])
        np.testing.assert_allclose(textbook[key], torchlike[key], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("case", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_weight_decay_is_added_to_the_gradient_of_weights_only(case):
    make, rule = CASES[case]
    optimizer = make()
    optimizer.weight_decay = 0.1
    run_against_reference(optimizer, rule, weight_decay=0.1)


def test_weight_decay_leaves_biases_and_scalars_alone():
    params = random_arrays(np.random.default_rng(3))
    before = copy_of(params)
    zero_grads = {key: np.zeros_like(p) for key, p in params.items()}
    SGD(lr=0.5, weight_decay=0.1).update(params, zero_grads)
    for key, p in params.items():
        if p.ndim >= 2:
            np.testing.assert_array_equal(p, before[key] - 0.5 * (0.1 * before[key]))
        else:
            np.testing.assert_array_equal(p, before[key])


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_float32_stays_float32(make):
    rng = np.random.default_rng(4)
    params = random_arrays(rng, np.float32)
    optimizer = make()
    optimizer.weight_decay = 0.01
    for _ in range(3):
        optimizer.update(params, random_arrays(rng, np.float32))
    # A float64 gradient is used in the parameter's dtype, not the other way round.
    optimizer.update(params, random_arrays(rng, np.float64))
    assert all(p.dtype == np.float32 for p in params.values())
    assert all(s.dtype == np.float32 for slots in optimizer.state.values() for s in slots.values())
    # Restored state (and hyperparameters loaded as NumPy scalars) must not promote either.
    restored = make()
    saved = optimizer.state_dict()
    restored.load_state_dict({key: np.asarray(value) for key, value in saved.items()})
    restored.update(params, random_arrays(rng, np.float32))
    assert all(p.dtype == np.float32 for p in params.values())
    assert all(s.dtype == np.float32 for slots in restored.state.values() for s in slots.values())


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_updates_in_place_and_never_touches_grads(make):
    rng = np.random.default_rng(5)
    params = random_arrays(rng)
    aliases = dict(params)  # what the layers hold
    before = copy_of(params)
    grads = random_arrays(rng)
    grads_before = copy_of(grads)
    optimizer = make()
    optimizer.weight_decay = 0.1
    optimizer.update(params, grads)
    for key in params:
        assert params[key] is aliases[key]
        assert not np.array_equal(aliases[key], before[key])
        np.testing.assert_array_equal(grads[key], grads_before[key])


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_state_is_keyed_by_name(make):
    rng = np.random.default_rng(6)
    params, grads, later_grads = random_arrays(rng), random_arrays(rng), random_arrays(rng)
    # Same names, new array objects (say, the net was copied): the optimizer carries on.
    first, second = make(), make()
    unmoved = copy_of(params)
    first.update(params, grads)
    second.update(unmoved, grads)
    moved = copy_of(params)
    first.update(moved, later_grads)
    second.update(unmoved, later_grads)
    for key in params:
        np.testing.assert_array_equal(moved[key], unmoved[key])
    assert set(first.state) == (set(params) if first.slot_names else set())
    for key, slots in first.state.items():
        assert set(slots) == set(first.slot_names)
        assert all(s.shape == params[key].shape for s in slots.values())


def restored_midway(make, through):
    """Train two optimizers on the same grads; the second is rebuilt from a state dict at step 3."""
    rng = np.random.default_rng(7)
    params = random_arrays(rng)
    grads = [random_arrays(rng) for _ in range(6)]
    straight, resumed = copy_of(params), copy_of(params)
    optimizer = make()
    for g in grads:
        optimizer.update(straight, g)
    optimizer = make()
    for g in grads[:3]:
        optimizer.update(resumed, g)
    saved = through(optimizer.state_dict())
    optimizer = make()
    optimizer.load_state_dict(saved, params=resumed)
    for g in grads[3:]:
        optimizer.update(resumed, g)
    for key in params:
        np.testing.assert_array_equal(resumed[key], straight[key])


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_state_dict_round_trip_continues_identically(make):
    restored_midway(make, lambda state: state)


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_state_dict_survives_npz_and_json(make, tmp_path):
    def through_files(state):
        arrays = {key: value for key, value in state.items() if isinstance(value, np.ndarray)}
        scalars = {key: value for key, value in state.items() if key not in arrays}
        np.savez(tmp_path / "arrays.npz", **arrays)
        (tmp_path / "scalars.json").write_text(json.dumps(scalars))
        with np.load(tmp_path / "arrays.npz") as loaded:
            return {**json.loads((tmp_path / "scalars.json").read_text()), **loaded}

    def through_one_npz(state):
        np.savez(tmp_path / "all.npz", **state)
        with np.load(tmp_path / "all.npz") as loaded:
            return dict(loaded)

    restored_midway(make, through_files)
    restored_midway(make, through_one_npz)


def test_state_dict_contents_are_a_snapshot():
    params = random_arrays(np.random.default_rng(8))
    optimizer = Adam(0.01, weight_decay=0.5)
    optimizer.update(params, copy_of(params))
    state = optimizer.state_dict()
    assert state["optimizer"] == "Adam" and state["iterations"] == 1
    hyperparameters = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7, "weight_decay": 0.5}
    assert hyperparameters.items() <= state.items()
    assert state["torch_compatible"] is False
    assert set(state) - set(Adam.hyperparameter_names) - {"optimizer", "iterations"} == {
        f"{slot}/{key}" for slot in ("first_moment", "second_moment") for key in params
    }
    snapshot = copy_of({key: v for key, v in state.items() if isinstance(v, np.ndarray)})
    optimizer.update(params, copy_of(params))
    for key, value in snapshot.items():
        np.testing.assert_array_equal(state[key], value)


def test_load_state_dict_rejects_mismatches_and_leaves_optimizer_unchanged():
    rng = np.random.default_rng(9)
    params = random_arrays(rng)
    source = Momentum(0.1)
    source.update(params, random_arrays(rng))
    good = source.state_dict()
    target = Momentum(0.2)
    wrong_shape = {**good, "velocity/W1": np.zeros((5, 5))}
    bad_states = {
        "other optimizer": Adam().state_dict(),
        "missing key": {k: v for k, v in good.items() if k != "momentum"},
        "unknown key": {**good, "nesterov": True},
        "unknown slot": {**good, "h/W1": np.zeros((4, 3))},
        "bad hyperparameter": {**good, "momentum": 1.5},
        "bad iterations": {**good, "iterations": 2.5},
        "integer state": {**good, "velocity/b1": np.zeros(3, dtype=np.int64)},
        "not a mapping": [1, 2],
    }
    for why, state in bad_states.items():
        with pytest.raises(CheckpointError, match="Momentum.load_state_dict"):
            target.load_state_dict(state)
        assert target.lr == 0.2 and target.iterations == 0 and target.state == {}, why
    with pytest.raises(CheckpointError, match="'W1' has shape"):
        target.load_state_dict(wrong_shape, params=params)
    with pytest.raises(CheckpointError, match=r"no state for parameters \['extra'\]"):
        target.load_state_dict(good, params={**params, "extra": np.zeros(2)})
    # Without params to check against, a wrong shape surfaces at the next update, untouched.
    target.load_state_dict(wrong_shape)
    before = copy_of(params)
    with pytest.raises(CheckpointError, match="'W1'"):
        target.update(params, random_arrays(rng))
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: SGD(lr=0), ValueError),
        (lambda: SGD(lr=-0.1), ValueError),
        (lambda: SGD(lr=float("nan")), ValueError),
        (lambda: SGD(lr=float("inf")), ValueError),
        (lambda: SGD(lr="0.1"), TypeError),
        (lambda: SGD(lr=True), TypeError),
        (lambda: SGD(weight_decay=-1e-4), ValueError),
        (lambda: Momentum(momentum=1.0), ValueError),
        (lambda: Momentum(momentum=-0.1), ValueError),
        (lambda: Nesterov(momentum=1.2), ValueError),
        (lambda: AdaGrad(eps=0), ValueError),
        (lambda: RMSprop(decay_rate=1.0), ValueError),
        (lambda: RMSprop(eps=-1e-7), ValueError),
        (lambda: Adam(beta1=1.0), ValueError),
        (lambda: Adam(beta2=-0.5), ValueError),
        (lambda: Adam(eps=0.0), ValueError),
        (lambda: Adam(torch_compatible="yes"), TypeError),
    ],
)
def test_bad_hyperparameters_are_refused(make, error):
    with pytest.raises(error, match=r"^(SGD|Momentum|Nesterov|AdaGrad|RMSprop|Adam): "):
        make()


def test_hyperparameters_are_checked_when_reassigned_too():
    optimizer = Momentum()
    optimizer.lr = np.float64(0.5)  # as a schedule might; stored as a Python float
    assert type(optimizer.lr) is float and optimizer.lr == 0.5
    with pytest.raises(ValueError, match="Momentum: lr must be a positive finite number, got -1"):
        optimizer.lr = -1
    with pytest.raises(ValueError, match=r"Momentum: momentum must be in \[0, 1\)"):
        optimizer.momentum = 1


def test_bad_update_calls_name_the_optimizer_and_key_and_change_nothing():
    rng = np.random.default_rng(10)
    params, grads = random_arrays(rng), random_arrays(rng)
    before = copy_of(params)
    optimizer = Adam()
    bad_calls = {
        "no gradient for parameter 'b2'": (params, {k: g for k, g in grads.items() if k != "b2"}),
        r"gradients \['W3'\] have no matching parameter": (params, {**grads, "W3": np.zeros(3)}),
        r"gradient 'W1' has shape \(3, 4\)": (params, {**grads, "W1": np.zeros((3, 4))}),
        "parameter 'b1' has dtype int64": ({**params, "b1": np.zeros(3, dtype=np.int64)}, grads),
        "gradient 'b1' must be an array": (params, {**grads, "b1": [0.0, 0.0, 0.0]}),
        "parameter 'W2' is a read-only array": ({**params, "W2": read_only(params["W2"])}, grads),
    }
    for message, (bad_params, bad_grads) in bad_calls.items():
        with pytest.raises((ValueError, TypeError), match="^Adam: " + message):
            optimizer.update(bad_params, bad_grads)
    with pytest.raises(ShapeError):
        optimizer.update(params, {**grads, "W1": np.zeros((3, 4))})
    with pytest.raises(DTypeError):
        optimizer.update({**params, "b1": np.zeros(3, dtype=np.int64)}, grads)
    assert optimizer.iterations == 0 and optimizer.state == {}
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])


def read_only(array):
    view = array.view()
    view.flags.writeable = False
    return view


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_a_read_only_parameter_is_named_on_either_path_and_nothing_changes(make, update_path):
    rng = np.random.default_rng(14)
    shapes = {"W1": (300, 250), "b1": (250,)}  # W1 is large enough for the compiled loop anyway
    params, grads = random_arrays(rng, np.float32, shapes), random_arrays(rng, np.float32, shapes)
    params["b1"] = read_only(params["b1"])
    before, optimizer = copy_of(params), make()
    with pytest.raises(ConfigError, match=rf"^{type(optimizer).__name__}: parameter 'b1' is a read-only array.*np.array\(b1\)"):
        optimizer.update(params, grads)
    assert optimizer.iterations == 0 and optimizer.state == {}
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
    params["b1"] = np.array(params["b1"])
    optimizer.update(params, grads)  # as the error says: a writable copy is updated
    assert not np.array_equal(params["b1"], before["b1"])


def with_values(array, index, value):
    array = array.copy()
    array[index] = value
    return array


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, on the array path, before our error
@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_non_finite_gradients_are_named_and_both_paths_leave_the_same_numbers(make, monkeypatch):
    rng = np.random.default_rng(15)
    shapes = {"W1": (300, 250), "b1": (250,), "W2": (250, 3)}
    start, grads = random_arrays(rng, np.float32, shapes), random_arrays(rng, np.float32, shapes)
    grads["W1"] = with_values(grads["W1"], (np.array([0, 7, 9]), np.array([1, 2, 3])), [np.nan, np.inf, -np.inf])
    grads["W2"] = with_values(grads["W2"], (5, 1), np.nan)
    finished = {}
    for path in ("arrays", "compiled"):
        params, optimizer = copy_of(start), make()
        with monkeypatch.context() as patch:
            if path == "arrays":
                patch.setattr(jit, "_numba", False)
            else:
                patch.setattr(jit, "MIN_COMPILED_SIZE", 0)
            message = rf"^{type(optimizer).__name__}: NaN or infinite values in gradient 'W1' \(3 of 75000\), gradient 'W2' \(1 of 750\); expected finite"
            with pytest.raises(NonFiniteError, match=message):
                optimizer.update(params, grads)
        finished[path] = (params, optimizer.state)
    (array_params, array_state), (fast_params, fast_state) = finished["arrays"], finished["compiled"]
    for key in start:
        np.testing.assert_array_equal(fast_params[key], array_params[key], err_msg=key)  # NaN where NaN
        for slot, array in fast_state.get(key, {}).items():
            np.testing.assert_array_equal(array, array_state[key][slot], err_msg=f"{slot}/{key}")
    assert np.isfinite(array_params["b1"]).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, on the array path, before our error
def test_a_non_finite_parameter_reaching_the_gradient_through_weight_decay_is_named(update_path):
    params = {"W": np.ones((3, 4)), "b": np.ones(4)}
    params["W"][0, 0] = np.inf
    grads = {key: np.ones_like(p) for key, p in params.items()}
    with pytest.raises(NonFiniteError, match=r"^SGD: NaN or infinite values in parameter 'W' \(1 of 12\), through weight decay"):
        SGD(0.1, weight_decay=0.01).update(params, grads)


@pytest.mark.parametrize(
    "grad, dtype_message",
    [
        (np.ones((4, 3)) + 1e-3j, "complex128"),
        (np.full((4, 3), "1"), "<U1"),
        (np.ones((4, 3), dtype=bool), "bool"),
    ],
    ids=["complex", "strings", "bool"],
)
def test_gradients_that_are_not_real_numbers_are_refused_before_anything_is_written(grad, dtype_message, update_path):
    rng = np.random.default_rng(16)
    params, grads = random_arrays(rng), random_arrays(rng)
    before, optimizer = copy_of(params), Adam()
    message = rf"^Adam: gradient 'W1' has dtype {dtype_message}, expected real numbers \(the parameter is float64\)"
    with pytest.raises(DTypeError, match=message):
        optimizer.update(params, {**grads, "W1": grad})
    assert optimizer.iterations == 0 and optimizer.state == {}
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
    optimizer.update(params, grads)  # and the same optimizer carries on with real gradients


def test_make_optimizer():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}
    for name, cls in OPTIMIZERS.items():
        for spelling in (name, name.upper(), name.capitalize()):
            optimizer = make_optimizer(spelling)
            assert type(optimizer) is cls and isinstance(optimizer, Optimizer)
            assert optimizer.lr == cls().lr
        assert make_optimizer(name, lr=0.5).lr == 0.5
    assert make_optimizer("Adam", 0.01, beta1=0.5, weight_decay=0.1).state_dict()["beta1"] == 0.5
    assert make_optimizer("rmsprop", decay_rate=0.9).decay_rate == 0.9
    with pytest.raises(ValueError, match="sgd, momentum, nesterov, adagrad, rmsprop, adam"):
        make_optimizer("adamw")
    with pytest.raises(TypeError, match=r"SGD does not take \['momentum'\]"):
        make_optimizer("sgd", momentum=0.9)


def test_defaults_are_the_textbooks():
    assert repr(SGD()) == "SGD(lr=0.01, weight_decay=0.0)"
    assert repr(Momentum()) == "Momentum(lr=0.01, momentum=0.9, weight_decay=0.0)"
    assert repr(Nesterov()) == "Nesterov(lr=0.01, momentum=0.9, weight_decay=0.0)"
    assert repr(AdaGrad()) == "AdaGrad(lr=0.01, eps=1e-07, weight_decay=0.0)"
    assert repr(RMSprop()) == "RMSprop(lr=0.01, decay_rate=0.99, eps=1e-07, weight_decay=0.0)"
    assert repr(Adam()) == (
        "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07, weight_decay=0.0, "
        "torch_compatible=False)"
    )


@pytest.mark.parametrize(
    "optimizer, steps",
    [
        (SGD(lr=0.1), 200),
        (Momentum(lr=0.05), 200),
        (Nesterov(lr=0.05), 200),
        (AdaGrad(lr=0.5), 300),
        (RMSprop(lr=0.01), 500),
        (Adam(lr=0.05), 500),
        (Adam(lr=0.05, torch_compatible=True), 500),
    ],
    ids=repr,
)
def test_minimises_a_quadratic(optimizer, steps):
    # f(x) = sum(curvature * (x - target)**2) / 2, an elongated bowl like the textbook's figure 6-2.
    rng = np.random.default_rng(11)
    target = {"x": rng.standard_normal((3, 4)), "y": rng.standard_normal(5)}
    curvature = {"x": rng.uniform(0.5, 2.0, (3, 4)), "y": rng.uniform(0.5, 2.0, 5)}
    params = {key: np.zeros_like(t) for key, t in target.items()}

    def distance():
        return max(np.abs(params[key] - target[key]).max() for key in params)

    start = distance()
    for _ in range(steps):
        grads = {key: curvature[key] * (params[key] - target[key]) for key in params}
        optimizer.update(params, grads)
    assert distance() < 0.02 * start


# -- PyTorch as an oracle ------------------------------------------------------------------------


def torch_cases():
    torch = pytest.importorskip("torch")
    return {
        "sgd": (SGD(0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
        "sgd-weight-decay": (
            SGD(0.1, weight_decay=0.01),
            lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.01),
        ),
        "momentum": (Momentum(0.1, 0.8), lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8)),
        "nesterov": (
            Nesterov(0.1, 0.8),
            lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.8, nesterov=True),
        ),
        "adagrad": (AdaGrad(0.1, 1e-7), lambda ps: torch.optim.Adagrad(ps, lr=0.1, eps=1e-7)),
        "rmsprop": (
            RMSprop(0.01, 0.9, 1e-7),
            lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-7),
        ),
        "adam": (
            Adam(0.01, 0.8, 0.99, torch_compatible=True),
            lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8),
        ),
    }


@pytest.mark.parametrize(
    "case", ["sgd", "sgd-weight-decay", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
)
def test_matches_torch_optim(case):
    torch = pytest.importorskip("torch")
    optimizer, make_torch = torch_cases()[case]
    rng = np.random.default_rng(12)
    # Weights only: PyTorch's weight decay also reaches biases, ours stops at ndim >= 2.
    shapes = {"W1": (4, 3), "W2": (3, 2), "filters": (2, 3, 2, 2)}
    params = random_arrays(rng, shapes=shapes)
    tensors = {key: torch.tensor(p, requires_grad=True) for key, p in params.items()}
    torch_optimizer = make_torch(list(tensors.values()))
    for _ in range(20):
        grads = random_arrays(rng, shapes=shapes)
        optimizer.update(params, grads)
        for key, tensor in tensors.items():
            tensor.grad = torch.tensor(grads[key])
        torch_optimizer.step()
    for key, tensor in tensors.items():
        np.testing.assert_allclose(params[key], tensor.detach().numpy(), rtol=1e-12, atol=1e-12)

