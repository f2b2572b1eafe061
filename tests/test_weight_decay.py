"""One L2 penalty behind both APIs: the book's ``weight_decay_lambda`` on the net, and the
optimizers' ``weight_decay``. The same gradient term, on the same arrays, to the bit."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.nets import MultiLayerNet
from chainrule.optimizers import OPTIMIZERS
from chainrule.weight_decay import l2_penalty, with_weight_decay


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_decay_on_the_net_or_on_the_optimizer_takes_the_same_steps(name, dtype):
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((20, 6)).astype(dtype), rng.integers(0, 3, 20)
    book = MultiLayerNet(6, [5, 4], 3, rng=1, dtype=dtype, weight_decay_lambda=0.1)
    cli = MultiLayerNet(6, [5, 4], 3, rng=1, dtype=dtype)
    on_net, on_optimizer = OPTIMIZERS[name](), OPTIMIZERS[name](weight_decay=0.1)
    for _ in range(3):
        on_net.update(book.params, book.gradient(x, t))
        on_optimizer.update(cli.params, cli.gradient(x, t))
    for key in book.params:
        np.testing.assert_array_equal(book.params[key], cli.params[key], err_msg=key)
    # The book's loss carries the penalty; the optimizer's leaves the data's loss as it is.
    assert float(book.loss(x, t)) == pytest.approx(float(cli.loss(x, t) + l2_penalty(cli.params.values(), 0.1)), rel=1e-6)


def test_only_weights_and_filters_decay_and_the_gradient_is_only_read():
    weight, bias = np.ones((2, 3)), np.ones(3)
    grad_w, grad_b = np.full((2, 3), 0.5), np.full(3, 0.5)
    decayed = with_weight_decay(weight, grad_w, 0.1)
    np.testing.assert_array_equal(decayed, 0.6)
    np.testing.assert_array_equal(grad_w, 0.5)
    assert with_weight_decay(bias, grad_b, 0.1) is grad_b and with_weight_decay(weight, grad_w, 0.0) is grad_w
    assert l2_penalty([weight, bias], 0.1) == pytest.approx(0.5 * 0.1 * 6)
