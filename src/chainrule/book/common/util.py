"""The book's ``common/util.py``: im2col/col2im are chainrule's; the rest are the book's helpers."""

import numpy as np

from chainrule.layers import col2im, im2col


def smooth_curve(x):
    """Smooth a loss curve for plotting: a Kaiser window (length 11, beta 2) over mirrored ends."""
    window_len = 11
    s = np.r_[x[window_len - 1 : 0 : -1], x, x[-1:-window_len:-1]]
    w = np.kaiser(window_len, 2)
    y = np.convolve(w / w.sum(), s, mode="valid")
    return y[5 : len(y) - 5]


def shuffle_dataset(x, t):
    """``x`` and ``t`` in the same random order (drawn from ``np.random``, as in the book)."""
    permutation = np.random.permutation(x.shape[0])
    return x[permutation], t[permutation]


def conv_output_size(input_size, filter_size, stride=1, pad=0):
    """The book's formula with true division (a float); chainrule's ``conv_output_size`` floors."""
    return (input_size + 2 * pad - filter_size) / stride + 1
