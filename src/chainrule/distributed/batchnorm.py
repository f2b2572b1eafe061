"""Synchronised batch normalisation: batch statistics over the global batch, not one rank's shard.

By default each rank normalises with the mean and variance of its own shard (as ChainerMN's
plain ``BatchNormalization`` does): no extra communication, but with small shards the
statistics are noisier than one process's over the whole batch, so results depend on the number
of ranks. Synchronised, every mean of the forward and backward pass is taken over all shards
(ChainerMN's ``MultiNodeBatchNormalization``): the same result as one process with the global
batch, at the price of three small ``Allreduce`` calls per batch-norm layer and step.
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import Array, array_module
from ..errors import ConfigError, ShapeError
from ..layers.normalization import BatchNormalization, local_batch_mean
from .communicator import Communicator


class GlobalBatchMean:
    """The means of a few arrays over ``axes`` of every rank's batch, in one ``Allreduce``.

    With ``gradients=True`` the arrays are gradients of each rank's loss averaged over its own
    ``n_rank`` samples, i.e. per-sample gradients times ``1 / n_rank``. Shards may differ in
    size, so each rank's sum is first brought to the common scale (times ``n_rank``), and the
    global mean is handed back in this rank's scale (divided by ``n_rank``): exactly what one
    process would compute on the whole batch, scaled as this rank's loss is.
    """

    def __init__(self, communicator: Communicator) -> None:
        self.communicator = communicator

    def __call__(self, axes: tuple[int, ...], *arrays: Array, gradients: bool = False) -> tuple[Array, ...]:
        xp = array_module(arrays[0])
        samples = arrays[0].shape[0]
        scale = samples if gradients else 1
        sums = [a.sum(axis=axes, keepdims=True) * scale for a in arrays]
        count = math.prod(arrays[0].shape[axis] for axis in axes)
        buffer = xp.concatenate([s.reshape(-1) for s in sums] + [xp.asarray([count], dtype=sums[0].dtype)])
        self.communicator.allreduce_sum(buffer)
        if buffer[-1] < 2:  # the same on every rank, so every rank raises: no rank is left waiting
            raise ShapeError(
                f"synchronised batch normalisation: the global batch has {int(buffer[-1])} value per feature "
                "over all ranks; statistics need at least 2"
            )
        divisor, means, start = buffer[-1] * scale, [], 0
        for s in sums:
            means.append((buffer[start : start + s.size] / divisor).reshape(s.shape).astype(s.dtype, copy=False))
            start += s.size
        return tuple(means)


def synchronize_batch_norm(net: Any, communicator: Communicator | None, enabled: bool = True) -> int:
    """Make every :class:`BatchNormalization` of ``net`` take its statistics over all ranks
    (``enabled=False`` or no communicator: back to per-rank); returns how many layers it set.

    Every rank must then run every training step, also one whose shard is empty, since each
    batch-norm layer now waits for all ranks; :class:`~chainrule.training.Trainer` checks this.
    """
    batch_mean = GlobalBatchMean(communicator) if enabled and communicator is not None else local_batch_mean
    layers = [layer for layer in net.layers.values() if isinstance(layer, BatchNormalization)]
    for layer in layers:
        layer.batch_mean = batch_mean
    return len(layers)


def has_synchronized_batch_norm(net: Any) -> bool:
    return any(isinstance(getattr(layer, "batch_mean", None), GlobalBatchMean) for layer in net.layers.values())


def check_batch_norm_batches(net: Any, samples: int, batch_size: int, communicator: Communicator | None = None) -> None:
    """Refuse, before training starts, a batch size that leaves some batch (or rank) too few samples.

    A batch's own statistics need two samples (one sample normalises everything to beta), so a
    last batch of one is refused in one process too. Synchronised over ranks, every rank takes
    part in every batch's statistics: no shard may be empty. Per rank, each shard needs two.
    """
    size = communicator.size if communicator is not None else 1
    smallest_batch = min(batch_size, samples % batch_size or batch_size)
    smallest_shard = smallest_batch // size
    if has_synchronized_batch_norm(net):
        needed, kind = 1, f"synchronised batch normalisation needs a sample on every one of the {size} ranks"
    elif any(isinstance(layer, BatchNormalization) for layer in net.layers.values()):
        needed = 2
        kind = ("batch normalisation needs 2 samples" if size == 1
                else f"per-rank batch normalisation needs 2 samples on each of the {size} ranks")
    else:
        return
    if smallest_shard < needed:
        where = "" if size == 1 else f" ({smallest_shard} on some rank)"
        raise ConfigError(
            f"Trainer: {kind} in every batch, but batch_size {batch_size} on {samples} samples leaves a "
            f"batch of {smallest_batch}{where}; choose a batch size (or sample count) that avoids it"
            + ("" if needed == 1 or size == 1 else ", or synchronise batch norm")
        )
