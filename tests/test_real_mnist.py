"""A short textbook run on the real MNIST files, when CHAINRULE_DATA points at them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from chainrule import TwoLayerNet
from chainrule.data import load_mnist

DATA = os.environ.get("CHAINRULE_DATA")
pytestmark = pytest.mark.skipif(
    not DATA or not (Path(DATA) / "mnist" / "train-images-idx3-ubyte.gz").exists(),
    reason="set CHAINRULE_DATA to the folder holding mnist/*.gz to run",
)


def test_textbook_loop_learns_real_digits():
    (x_train, t_train), (x_test, t_test) = load_mnist()
    net = TwoLayerNet(784, 50, 10, rng=0, dtype=np.float32)
    rng = np.random.default_rng(0)
    for _ in range(600):  # a tenth of the book's 10,000 iterations
        batch = rng.integers(0, len(x_train), size=100)
        grads = net.gradient(x_train[batch], t_train[batch])
        for key in ("W1", "b1", "W2", "b2"):
            net.params[key] -= 0.1 * grads[key]
    assert net.accuracy(x_test, t_test, batch_size=1000) > 0.88
