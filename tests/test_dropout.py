"""Dropout: inverted scaling, eval identity, seeded and fixed masks, gradients."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Sequential
from chainrule.errors import NotForwardedError, ShapeError
from chainrule.layers import Affine, Dropout
from helpers import check_layer, check_no_mutation


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4, 4)])
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5])
def test_gradients_with_a_fixed_mask(shape, ratio):
    rng = np.random.default_rng(0)
    layer = Dropout(ratio, rng=0)
    layer.fixed_mask = rng.random(shape) >= ratio
    check_layer(layer, [rng.standard_normal(shape)])
    np.testing.assert_array_equal(layer.mask, layer.fixed_mask)


def test_inverted_dropout_scales_kept_units_in_training_and_is_the_identity_in_eval():
    layer = Dropout(0.25, rng=0)
    x = np.ones((200, 500))
    out = layer.forward(x)
    np.testing.assert_array_equal(out[layer.mask], 1 / 0.75)
    np.testing.assert_array_equal(out[~layer.mask], 0)
    assert abs(layer.mask.mean() - 0.75) < 0.01 and abs(out.mean() - 1) < 0.02  # expectation kept
    layer.eval()
    assert layer.forward(x) is x
    dout = np.full(x.shape, 2.0)
    assert layer.backward(dout) is dout


def test_same_seed_same_masks_and_a_sequential_switches_modes():
    a, b = Dropout(0.5, rng=7), Dropout(0.5, rng=7)
    x = np.ones((3, 8))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    assert not np.array_equal(a.forward(x), a.forward(x))  # a new mask on every forward
    net = Sequential([Affine(np.eye(8), np.zeros(8)), Dropout(0.5, rng=0)])
    net.eval()
    np.testing.assert_array_equal(net.forward(x), x)
    net.train()
    assert (net.forward(x) == 0).any()


def test_contract():
    layer = Dropout(0.5, rng=0)
    with pytest.raises(NotForwardedError, match=r"Dropout.backward\(\) was called before Dropout.forward"):
        layer.backward(np.ones(3))
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    assert layer.forward(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32
    check_no_mutation(layer, [x], dout=np.ones_like(x))
    with pytest.raises(ShapeError, match=r"Dropout.backward: dout must have the shape of the forward output \(4, 5\)"):
        layer.backward(np.ones((5, 4)))
    layer.fixed_mask = np.ones((2, 2), dtype=bool)
    with pytest.raises(ShapeError, match=r"fixed_mask has shape \(2, 2\) but x has shape \(4, 5\)"):
        layer.forward(x)
    with pytest.raises(ValueError, match=r"dropout_ratio must be in \[0, 1\), got 1"):
        Dropout(1)
