"""The book's ``dataset/mnist.py``: MNIST from chainrule's loader, in the book's dtypes.

chainrule reads the IDX files (``$CHAINRULE_DATA``, its cache, or a checksum-verified download)
instead of the book's ``mnist.pkl`` cache, so nothing is written beside the book's code and no
pickle is loaded. Returned as the book returns them: images uint8, or float32 in [0, 1] with
``normalize``; ``(N, 784)``, or ``(N, 1, 28, 28)`` without ``flatten``; labels uint8 ``(N,)``, or
float64 one-hot ``(N, 10)`` with ``one_hot_label``.

``CHAINRULE_BOOK_MNIST_LIMIT`` (``N`` or ``TRAIN,TEST``) serves only the first samples of each
split, so the book's long scripts can run as quick smoke tests; a note on stderr says so.
"""

import os
import sys

import numpy as np

from chainrule.data.mnist import load_mnist as _load_mnist
from chainrule.errors import DataError as _DataError

LIMIT_VARIABLE = "CHAINRULE_BOOK_MNIST_LIMIT"

train_num = 60000
test_num = 10000
img_dim = (1, 28, 28)
img_size = 784


def _limits():
    """``(train, test)`` sample counts from ``CHAINRULE_BOOK_MNIST_LIMIT``, or ``None``."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not text:
        return None
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if len(counts) not in (1, 2) or min(counts) < 1:
        raise _DataError(f"{LIMIT_VARIABLE} must be N or TRAIN,TEST with positive integers, got {text!r}")
    return (counts[0], counts[-1])


def _change_one_hot_label(X):
    """Labels -> float64 one-hot rows of 10, as the book builds them."""
    T = np.zeros((X.size, 10))
    T[np.arange(X.size), X] = 1
    return T


def load_mnist(normalize=True, flatten=True, one_hot_label=False):
    """``(x_train, t_train), (x_test, t_test)`` with the book's arguments, shapes and dtypes."""
    (x_train, t_train), (x_test, t_test) = _load_mnist(normalize, flatten, False, dtype=np.float32)
    limits = _limits()
    if limits is not None:
        x_train, t_train, x_test, t_test = x_train[: limits[0]], t_train[: limits[0]], x_test[: limits[1]], t_test[: limits[1]]
        print(f"chainrule.book: {LIMIT_VARIABLE} serves the first {len(x_train)} training and "
              f"{len(x_test)} test images of MNIST", file=sys.stderr)
    t_train, t_test = t_train.astype(np.uint8), t_test.astype(np.uint8)
    if one_hot_label:
        t_train, t_test = _change_one_hot_label(t_train), _change_one_hot_label(t_test)
    return (x_train, t_train), (x_test, t_test)


def init_mnist():
    """The book downloads and pickles MNIST here; chainrule fetches (and verifies) the IDX files."""
    _load_mnist()
