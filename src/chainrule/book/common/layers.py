"""The book's ``common/layers.py``: chainrule's layers with the book's signatures and semantics.

Most classes *are* chainrule's (``Sigmoid``, ``Affine``). Where the book's behaviour differs on
purpose, a subclass of chainrule's layer adapts it; see ``docs/book.md`` for the table:

- ``Relu.backward`` writes its result into ``dout`` and returns it (chainrule returns a new array);
- ``Dropout`` scales at test time (``x * (1 - ratio)``), not inverted, and takes ``train_flg``;
- ``BatchNormalization`` normalises each position of a 4-D input (the book flattens ``(N, C*H*W)``),
  starts ``running_var`` at 0, trains on a batch of one and takes ``train_flg``;
- ``SoftmaxWithLoss`` also takes integer labels shaped ``(N, 1)`` and returns a NaN loss;
- ``Convolution`` accepts a scalar bias ``b``; ``Pooling`` defaults to ``stride=2``.
"""

import numpy as np

from chainrule import layers as _layers
from chainrule.layers import Affine, Sigmoid

from .functions import *  # noqa: F401,F403 - the book's layers module re-exports its functions
from .util import col2im, im2col  # noqa: F401


def _generator_from_numpy_random():
    """A generator seeded from ``np.random``, so ``np.random.seed`` governs it as in the book."""
    return np.random.default_rng(np.random.randint(2**31))


class Relu(_layers.Relu):
    """chainrule's ReLU; ``backward`` stores its result in ``dout`` and returns it, as the book's does."""

    def backward(self, dout):
        dx = super().backward(dout)
        if isinstance(dout, np.ndarray) and dout.flags.writeable and dout.dtype == dx.dtype:
            dout[...] = dx
            return dout
        return dx


class SoftmaxWithLoss(_layers.SoftmaxWithLoss):
    """chainrule's softmax cross-entropy; labels may also come as a column ``(N, 1)``, and a NaN or
    infinite loss is returned rather than raised, as in the book: its ``batch_norm_test.py`` shows
    an unnormalised network diverging, and plots the accuracy it falls to."""

    def _require_finite(self, loss, xp):
        pass

    def forward(self, x, t):
        t = np.asarray(t)
        if t.ndim == 2 and t.shape[1] == 1 and t.dtype.kind in "iu" and np.ndim(x) == 2 and x.shape[1] != 1:
            t = t.reshape(-1)
        return super().forward(x, t)


class Dropout(_layers.Dropout):
    """The book's dropout: kept units unscaled while training, ``x * (1 - ratio)`` at test time."""

    def __init__(self, dropout_ratio=0.5):
        super().__init__(dropout_ratio, rng=_generator_from_numpy_random(), inverted=False)

    def forward(self, x, train_flg=True):
        self.train(bool(train_flg))
        return super().forward(x)


class BatchNormalization(_layers.BatchNormalization):
    """The book's batch norm: 4-D input is normalised per position, as ``(N, C*H*W)``.

    ``gamma``/``beta`` then have ``C*H*W`` entries. ``running_mean`` and ``running_var`` start at 0.
    A training batch of one sample is allowed, as in the book (its output is ``beta``).
    """

    def __init__(self, gamma, beta, momentum=0.9, running_mean=None, running_var=None):
        running_mean = np.zeros_like(gamma) if running_mean is None else running_mean
        running_var = np.zeros_like(gamma) if running_var is None else running_var
        super().__init__(gamma, beta, momentum, running_mean, running_var, allow_single_sample=True)
        self.input_shape = None

    def forward(self, x, train_flg=True):
        self.train(bool(train_flg))
        self.input_shape = x.shape
        return super().forward(x.reshape(x.shape[0], -1)).reshape(x.shape)

    def backward(self, dout):
        return super().backward(dout.reshape(dout.shape[0], -1)).reshape(dout.shape)


class Convolution(_layers.Convolution):
    """chainrule's convolution; a scalar ``b`` is one bias shared by every filter, as the book allows."""

    def __init__(self, W, b, stride=1, pad=0):
        if np.ndim(b) == 0:
            b = np.full(W.shape[0], b, dtype=W.dtype)
        super().__init__(W, b, stride, pad)


class Pooling(_layers.Pooling):
    """chainrule's max pooling with the book repository's default ``stride=2``."""

    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        super().__init__(pool_h, pool_w, stride, pad)
