"""The book's ``common/functions.py``: chainrule's functions under the book's names.

``sigmoid``, ``softmax`` and ``cross_entropy_error`` are chainrule's (sigmoid and softmax are the
overflow-free forms; the values agree with the book's to rounding). The rest are one-liners the
book defines for its chapters 3-4 figures.
"""

import numpy as np

from chainrule.functions import cross_entropy_error, sigmoid, softmax
from chainrule.functions import mean_squared_error as sum_squared_error


def identity_function(x):
    return x


def step_function(x):
    """1 where ``x > 0``, else 0, as integers (the book's dtype)."""
    return np.array(x > 0, dtype=int)


def sigmoid_grad(x):
    """The derivative of the sigmoid at ``x``: ``s * (1 - s)``."""
    s = sigmoid(x)
    return (1.0 - s) * s


def relu(x):
    return np.maximum(0, x)


def relu_grad(x):
    """1 where ``x >= 0`` (the book counts 0 as active), else 0, in ``x``'s dtype."""
    x = np.asarray(x)
    return (x >= 0).astype(x.dtype if x.dtype.kind == "f" else float)


def softmax_loss(X, t):
    return cross_entropy_error(softmax(X), t)
