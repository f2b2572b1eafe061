"""The sequel's ``common/layers.py``: chainrule's layers with the book's list ``params``/``grads``.

Every class is a :class:`~chainrule.book.sequel.listed.Listed` over the chainrule layer of the
same name; where chainrule has none, over the one that computes the same thing:

- ``MatMul(W)`` is chainrule's ``Affine`` with a bias of zeros that is not a parameter;
- ``SigmoidWithLoss`` (scores ``(N,)``) is chainrule's ``TimeSigmoidWithLoss`` on ``(N, 1)``, whose
  loss is exact where the book's adds ``1e-7`` inside the logarithm;
- ``Dropout`` is chainrule's with the book's convention (``x * (1 - ratio)`` at test time) and
  ``train_flg`` argument, its masks drawn from a generator seeded from ``np.random``.
"""

import numpy as _numpy

from chainrule import layers as _layers
from chainrule.backend import array_module as _array_module
from chainrule.book.sequel.listed import Listed as _Listed

from .functions import cross_entropy_error, softmax  # noqa: F401 - the book's module exposes them
from .np import *  # noqa: F401,F403 - np and GPU, as the book's module exposes them


def _generator_from_numpy_random():
    """A generator seeded from ``np.random``, so ``np.random.seed`` governs it as in the book."""
    return _numpy.random.default_rng(_numpy.random.randint(2**31))


class MatMul(_Listed):
    """``out = x @ W``; ``params = [W]``."""

    def __init__(self, W):
        super().__init__(_layers.Affine(W, _array_module(W).zeros(W.shape[1], dtype=W.dtype)), ("W",))


class Affine(_Listed):
    """``out = x @ W + b``; ``params = [W, b]``."""

    def __init__(self, W, b):
        super().__init__(_layers.Affine(W, b), ("W", "b"))


class Softmax(_Listed):
    def __init__(self):
        super().__init__(_layers.Softmax())


class SoftmaxWithLoss(_Listed):
    """Softmax cross-entropy; ``t`` as labels ``(N,)`` or one-hot rows ``(N, C)``."""

    def __init__(self):
        super().__init__(_layers.SoftmaxWithLoss())


class Sigmoid(_Listed):
    def __init__(self):
        super().__init__(_layers.Sigmoid())


class SigmoidWithLoss(_Listed):
    """Sigmoid cross-entropy of scores ``x`` ``(N,)`` against 0/1 labels ``t`` ``(N,)``, batch mean."""

    def __init__(self):
        super().__init__(_layers.TimeSigmoidWithLoss())

    def forward(self, x, t):
        return self.layer.forward(x.reshape(-1, 1), t.reshape(-1, 1))

    def backward(self, dout=1):
        return self.layer.backward(dout).reshape(-1)


class Dropout(_Listed):
    """The book's dropout: kept units unscaled while training, ``x * (1 - ratio)`` at test time."""

    def __init__(self, dropout_ratio=0.5):
        super().__init__(_layers.Dropout(dropout_ratio, rng=_generator_from_numpy_random(), inverted=False))
        self.dropout_ratio = dropout_ratio

    def forward(self, x, train_flg=True):
        self.layer.train(bool(train_flg))
        return self.layer.forward(x)


class Embedding(_Listed):
    """``out = W[idx]``; backward adds each row's gradient at its index (repeats add up)."""

    def __init__(self, W):
        super().__init__(_layers.Embedding(W), ("W",))
