"""Evaluation in inference mode and in bounded memory: the test set goes through in batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Array, to_numpy
from ..checks import check_batch_size, check_positive_int, check_same_length
from ..errors import ConfigError, LabelError


def predict_labels(net: Any, x: Array, batch_size: int = 1000) -> np.ndarray:
    """The predicted class of every sample, as a host array."""
    check_batch_size(batch_size, "predict_labels")
    labels = [to_numpy(net.predict(x[i : i + batch_size]).argmax(axis=1)) for i in range(0, len(x), batch_size)]
    return np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)


def evaluate(net: Any, x: Array, t: Array, batch_size: int = 1000, communicator: Any = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``net`` on ``(x, t)`` in inference mode (no L2 term).

    With a ``communicator`` (:mod:`chainrule.distributed`) each rank evaluates its own shard and
    the sums are added up across ranks: every rank gets the whole dataset's figures.
    """
    check_batch_size(batch_size, "evaluate")
    check_same_length(x, t, "evaluate")
    n = len(x)
    if n == 0:
        raise ConfigError("evaluate: the dataset is empty: expected at least 1 sample, got 0")
    if communicator is not None:
        shard = communicator.shard(n)
        x, t = x[shard], t[shard]
    total_loss, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, tb = x[i : i + batch_size], t[i : i + batch_size]
        scores = net.predict(xb)
        total_loss += float(net.last_layer.forward(scores, net.xp.asarray(tb))) * len(xb)
        labels = tb if np.ndim(tb) == 1 else tb.argmax(axis=1)
        correct += int((to_numpy(scores.argmax(axis=1)) == to_numpy(labels)).sum())
    if communicator is not None:
        total_loss, correct = communicator.sum(total_loss, correct)
    return total_loss / n, correct / n


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """``m[i, j]`` counts samples of class ``i`` predicted as ``j``."""
    check_positive_int(classes, "classes", "confusion_matrix")
    true, predicted = np.asarray(true), np.asarray(predicted)
    if true.shape != predicted.shape or true.ndim != 1:
        raise LabelError(
            f"confusion_matrix: true and predicted must be label vectors of one length, got shapes "
            f"{true.shape} and {predicted.shape}"
        )
    for label, values in (("true", true), ("predicted", predicted)):
        if values.dtype.kind not in "iu":
            raise LabelError(f"confusion_matrix: {label} labels must be integers, got dtype {values.dtype}")
        # A negative label would index from the end and be counted in the wrong class.
        if values.size and (int(values.min()) < 0 or int(values.max()) >= classes):
            raise LabelError(
                f"confusion_matrix: {label} labels must lie in [0, {classes - 1}] for {classes} "
                f"classes, got values from {int(values.min())} to {int(values.max())}"
            )
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    return matrix


def split_validation(x: Array, t: Array, fraction: float) -> tuple[tuple[Array, Array], tuple[Array, Array]]:
    """Hold out the last ``fraction`` of ``(x, t)`` for validation, as Keras' ``validation_split``
    does (before any shuffling), so that choosing the best epoch never looks at the test set."""
    if not 0 <= fraction < 1:
        raise ConfigError(f"validation split: expected a fraction in [0, 1), got {fraction}")
    split_at = int(len(x) * (1 - fraction))
    if fraction and not 0 < split_at < len(x):
        raise ConfigError(f"validation split {fraction} of {len(x)} samples leaves {split_at} for training and "
                          f"{len(x) - split_at} for validation; both need at least one: train on more samples "
                          "or hold out a smaller fraction (0 for none)")
    return (x[:split_at], t[:split_at]), (x[split_at:], t[split_at:])
