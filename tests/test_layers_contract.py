"""What every layer promises besides correct gradients: inputs untouched, dtypes kept, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import (
    AddLayer,
    Affine,
    LabelError,
    LeakyRelu,
    MeanSquaredError,
    MulLayer,
    NonFiniteError,
    NotForwardedError,
    Relu,
    ShapeError,
    Sigmoid,
    Softmax,
    SoftmaxWithLoss,
    Tanh,
)
from helpers import check_no_mutation

ONE_INPUT = {"Relu": Relu, "LeakyRelu": LeakyRelu, "Sigmoid": Sigmoid, "Tanh": Tanh, "Softmax": Softmax}


def affine(dtype=np.float64):
    rng = np.random.default_rng(0)
    return Affine(rng.standard_normal((4, 3)).astype(dtype), np.zeros(3, dtype=dtype))


@pytest.mark.parametrize("name", ONE_INPUT)
def test_one_input_layers_do_not_mutate(name):
    rng = np.random.default_rng(0)
    check_no_mutation(ONE_INPUT[name](), [rng.standard_normal((3, 4))], dout=rng.standard_normal((3, 4)))


def test_relu_backward_leaves_dout_alone():
    """The textbook writes dout[self.mask] = 0 into the caller's array; ours returns a new one."""
    relu = Relu()
    relu.forward(np.array([[1.0, -0.5], [-2.0, 3.0]]))
    dout = np.ones((2, 2))
    dx = relu.backward(dout)
    np.testing.assert_array_equal(dout, np.ones((2, 2)))
    np.testing.assert_array_equal(dx, [[1, 0], [0, 1]])
    np.testing.assert_array_equal(relu.mask, [[False, True], [True, False]])


def test_other_layers_do_not_mutate():
    rng = np.random.default_rng(0)
    check_no_mutation(affine(), [rng.standard_normal((2, 4))], dout=rng.standard_normal((2, 3)))
    check_no_mutation(MulLayer(), [rng.standard_normal(3), rng.standard_normal(3)], dout=rng.standard_normal(3))
    check_no_mutation(AddLayer(), [rng.standard_normal(3), rng.standard_normal(3)], dout=rng.standard_normal(3))
    check_no_mutation(SoftmaxWithLoss(), [rng.standard_normal((2, 3)), np.array([0, 2])])
    check_no_mutation(SoftmaxWithLoss(), [rng.standard_normal((2, 3)), np.eye(3)[[0, 2]]])
    check_no_mutation(MeanSquaredError(), [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))])


def test_add_layer_gradients_are_not_aliases_of_dout():
    layer = AddLayer()
    layer.forward(np.zeros(2), np.zeros(2))
    dout = np.ones(2)
    dx, dy = layer.backward(dout)
    assert dx is not dout and dy is not dout and dx is not dy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(dtype)
    for make in ONE_INPUT.values():
        layer = make()
        out = layer.forward(x)
        assert out.dtype == dtype, make
        assert layer.backward(np.ones_like(out)).dtype == dtype, make
    layer = affine(dtype)
    out = layer.forward(x)
    assert out.dtype == dtype and layer.backward(np.ones_like(out)).dtype == dtype
    assert layer.dW.dtype == dtype and layer.db.dtype == dtype
    loss_layer = SoftmaxWithLoss()
    loss = loss_layer.forward(x, np.array([0, 1, 2]))
    assert loss.dtype == dtype and loss_layer.backward().dtype == dtype
    mse = MeanSquaredError()
    assert mse.forward(x, np.zeros_like(x)).dtype == dtype and mse.backward().dtype == dtype


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise", invalid="raise"):  # underflow to 0 is the right answer
        y = Sigmoid().forward(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]))
    np.testing.assert_allclose(y, [0.0, 1 / (1 + np.exp(30.0)), 0.5, 1 / (1 + np.exp(-30.0)), 1.0], rtol=1e-15)


def test_softmax_is_stable_and_exact():
    x = np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(cr.softmax(x), [[0.5, 0.5], [0.25, 0.75]], rtol=1e-15)


def test_softmax_with_loss_value():
    x = np.array([[0.0, np.log(3.0)], [2.0, 2.0]])
    loss = SoftmaxWithLoss().forward(x, np.array([1, 0]))
    assert loss == pytest.approx(-(np.log(0.75) + np.log(0.5)) / 2, rel=1e-15)
    assert SoftmaxWithLoss().forward(x, np.eye(2)[[1, 0]]) == pytest.approx(loss, rel=1e-15)


def test_minus_inf_on_a_wrong_class_is_a_valid_zero_probability():
    x = np.array([[0.0, -np.inf, 0.0]])
    assert SoftmaxWithLoss().forward(x, np.array([0])) == pytest.approx(np.log(2.0), rel=1e-15)


def test_affine_restores_input_shape():
    layer = Affine(np.ones((12, 2)), np.zeros(2))
    x = np.ones((5, 3, 2, 2))
    assert layer.forward(x).shape == (5, 2)
    assert layer.backward(np.ones((5, 2))).shape == x.shape
    assert layer.dW.shape == (12, 2) and layer.db.shape == (2,)


def test_affine_shares_parameter_arrays():
    W, b = np.ones((2, 2)), np.zeros(2)
    layer = Affine(W, b)
    assert layer.W is W and layer.params["W"] is W and layer.b is b
    W -= 1  # an in-place update by the caller is what the layer computes with
    np.testing.assert_array_equal(layer.forward(np.ones((1, 2))), [[0.0, 0.0]])


# -- errors -----------------------------------------------------------------------------------


def test_affine_shape_errors_name_layer_and_shapes():
    with pytest.raises(ShapeError, match=r"Affine.forward.*4 features.*\(4, 3\).*\(2, 5\)"):
        affine().forward(np.ones((2, 5)))
    with pytest.raises(ShapeError, match=r"Affine: b must have shape \(3,\)"):
        Affine(np.ones((4, 3)), np.zeros(4))
    with pytest.raises(ShapeError, match="W must be 2-D"):
        Affine(np.ones(4), np.zeros(4))
    layer = affine()
    layer.forward(np.ones((2, 4)))
    with pytest.raises(ShapeError, match=r"Affine.backward: dout must have the shape.*\(2, 3\).*\(2, 4\)"):
        layer.backward(np.ones((2, 4)))


@pytest.mark.parametrize(
    "t, match",
    [
        (np.array([0, 3]), r"labels must lie in \[0, 2\] for 3 classes, got values from 0 to 3"),
        (np.array([-1, 0]), r"labels must lie in \[0, 2\]"),
        (np.array([0, 1, 2]), r"expected targets as 2 integer labels, shape \(2,\), or one-hot of shape \(2, 3\); got shape \(3,\)"),
        (np.array([0.0, 1.0]), r"labels must be integers, got dtype float64"),
        (np.array([[0.5, 0.4, 0.0], [0, 0, 1]]), "does not sum to 1"),
        (np.array([["a", "b", "c"], ["a", "b", "c"]]), "must be numeric"),
    ],
)
def test_softmax_with_loss_label_errors(t, match):
    with pytest.raises(LabelError, match=match) as info:
        SoftmaxWithLoss().forward(np.zeros((2, 3)), t)
    assert "SoftmaxWithLoss.forward" in str(info.value)


def test_label_errors_are_value_errors():
    with pytest.raises(ValueError):
        SoftmaxWithLoss().forward(np.zeros((2, 3)), np.array([5, 5]))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NumPy's, before our error
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores_raise(bad):
    x = np.zeros((2, 3))
    x[1, 1] = bad  # on the target class: -inf there means probability 0 and an infinite loss
    with pytest.raises(NonFiniteError, match="SoftmaxWithLoss.forward: the loss is"):
        SoftmaxWithLoss().forward(x, np.array([0, 1]))
    with pytest.raises(NonFiniteError, match="MeanSquaredError"):
        MeanSquaredError().forward(x, np.zeros((2, 3)))


@pytest.mark.parametrize(
    "layer",
    [Relu(), LeakyRelu(), Sigmoid(), Tanh(), Softmax(), affine(), MulLayer(), AddLayer(), SoftmaxWithLoss(), MeanSquaredError()],
    ids=lambda layer: type(layer).__name__,
)
def test_backward_before_forward(layer):
    with pytest.raises(NotForwardedError, match=rf"{type(layer).__name__}.backward\(\) was called before"):
        layer.backward(np.ones((2, 3)))


def test_loss_backward_wants_scalar_dout():
    layer = SoftmaxWithLoss()
    layer.forward(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ShapeError, match="must be a scalar"):
        layer.backward(np.ones(2))


def test_mse_shape_error():
    with pytest.raises(ShapeError, match=r"MeanSquaredError.forward: targets must have the shape of y \(2, 3\), got \(3,\)"):
        MeanSquaredError().forward(np.zeros((2, 3)), np.zeros(3))


def test_elementwise_dout_shape_error():
    relu = Relu()
    relu.forward(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=r"Relu.backward: dout must have the shape of the forward output \(2, 3\), got \(3, 2\)"):
        relu.backward(np.zeros((3, 2)))


def test_leaky_relu_rejects_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        LeakyRelu(1.5)


@pytest.mark.parametrize("x, grad", [(3.0, 2.0), (-3.0, 0.0), (0.0, 0.0)])
def test_relu_on_python_numbers(x, grad):
    """A Python bool's ~ is -2, not False: scalars must become arrays before the mask is made."""
    for layer, expected in ((Relu(), grad), (LeakyRelu(0.1), grad if x > 0 else 0.2)):
        layer.forward(x)
        assert float(layer.backward(np.float64(2.0))) == pytest.approx(expected)


def test_numbers_still_work_where_the_book_uses_them():
    """Lists are refused (tests/test_bad_input_library.py); Python and exact numbers are not:
    the shopping graph multiplies 100 by 2, the element-wise layers take a scalar as NumPy does."""
    from decimal import Decimal
    from fractions import Fraction

    mul, add = MulLayer(), AddLayer()
    assert mul.forward(100, 2) == 200 and mul.backward(1) == (2, 100)
    assert mul.forward(Fraction(1, 3), 3) == 1 and mul.backward(Fraction(1)) == (3, Fraction(1, 3))
    assert add.forward(Decimal("1.1"), Decimal("2.2")) == Decimal("3.3") and add.backward(1) == (1, 1)
    assert float(Sigmoid().forward(0.0)) == 0.5 and float(Tanh().forward(0)) == 0.0
    sigmoid = Sigmoid()
    sigmoid.forward(0.0)
    assert float(sigmoid.backward(1.0)) == 0.25
