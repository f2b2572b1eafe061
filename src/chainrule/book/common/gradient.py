"""The book's ``common/gradient.py``: central differences, by chainrule's ``numerical_gradient``.

chainrule's version restores every perturbed element to its exact original value and returns a
floating-point gradient even for an integer ``x`` (the book's ``zeros_like`` truncates it).
"""

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gradients import numerical_gradient


def numerical_gradient_1d(f, x):
    """Gradient of ``f`` at the vector ``x`` (``f`` is called with ``x``)."""
    if np.ndim(x) != 1:
        raise ShapeError(f"numerical_gradient_1d: expected a 1-D array, got shape {np.shape(x)}")
    return numerical_gradient(f, x)


_numerical_gradient_1d = numerical_gradient_1d  # the book's own (private) spelling


def numerical_gradient_2d(f, X):
    """Row by row: ``f`` is called with each row of ``X`` (a 1-D ``X`` is one row)."""
    if np.ndim(X) == 1:
        return numerical_gradient_1d(f, X)
    return np.stack([numerical_gradient_1d(f, row) for row in X]) if len(X) else np.zeros(np.shape(X))
