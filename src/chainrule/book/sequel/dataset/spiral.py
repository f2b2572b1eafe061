"""The sequel's ``dataset/spiral.py``: three interleaved spirals of 100 points each.

The points are those of the book: ``np.random.seed(seed)`` first (the global generator, as the
book does, so that the script's later draws follow from it), then class ``j``'s ``i``-th point at
radius ``i / 100`` and angle ``4 j + 4 i / 100`` plus ``N(0, 0.2²)`` noise.
"""

import numpy as np

POINTS_PER_CLASS = 100
CLASSES = 3


def load_data(seed=1984):
    """``x`` ``(300, 2)`` float64 and one-hot ``t`` ``(300, 3)`` int32, class by class."""
    np.random.seed(seed)
    rate = np.arange(POINTS_PER_CLASS) / POINTS_PER_CLASS
    noise = np.random.randn(CLASSES, POINTS_PER_CLASS) * 0.2  # drawn class by class, point by point
    theta = np.arange(CLASSES)[:, None] * 4.0 + 4.0 * rate[None, :] + noise
    x = np.stack([rate * np.sin(theta), rate * np.cos(theta)], axis=-1).reshape(-1, 2)
    t = np.zeros((CLASSES * POINTS_PER_CLASS, CLASSES), dtype=np.int32)
    t[np.arange(len(t)), np.repeat(np.arange(CLASSES), POINTS_PER_CLASS)] = 1
    return x, t
