"""The sequel's ``common/functions.py``: chainrule's functions under the book's names.

``sigmoid`` and ``softmax`` are chainrule's overflow-free forms (the same values to rounding);
``cross_entropy_error`` is the book's, ``-log(y + 1e-7)`` averaged over the batch.
"""

from chainrule.functions import cross_entropy_error, sigmoid, softmax  # noqa: F401

from .np import *  # noqa: F401,F403 - the book's module exposes np


def relu(x):
    return np.maximum(0, x)
