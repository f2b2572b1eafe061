"""Gradient averaging as a wrapper around any optimizer (ChainerMN's ``create_multi_node_optimizer``).

The training loop stays the one-process loop: it computes this rank's gradients and calls
``optimizer.update(params, grads)``. The wrapper sums every rank's gradients with one
``Allreduce`` on one flat buffer, divides by the number of samples they stand for, and hands
the average to the wrapped optimizer, which then makes the same update on every rank. How many
samples this rank's gradient stands for is the sampler's knowledge, not the loop's: the wrapper
asks it through ``share`` (see :class:`~chainrule.distributed.parallel.DataParallel`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from ..backend import Array
from .communicator import Communicator, broadcast_from_root
from .flat import FlatBuffer


class MultiNodeOptimizer:
    """``optimizer`` whose :meth:`update` first averages the gradients over all ranks.

    ``share``: how many samples this rank's next gradient is the mean over (its share of the
    global batch, as the sampler that cut it knows). With it the average is weighted by samples,
    so it is the gradient of the whole global batch even when the shares differ in size, and a
    rank with an empty share passes ``grads=None``. Without it every rank counts equally (right
    for equal shares, as in ChainerMN).

    Every other attribute (``lr``, ``state``, ``state_dict`` ...) is the wrapped optimizer's,
    and assigning ``lr`` sets the wrapped optimizer's rate, so a schedule works unchanged.
    """

    def __init__(self, optimizer: Any, communicator: Communicator, share: Callable[[], int] | None = None) -> None:
        if isinstance(optimizer, MultiNodeOptimizer):
            raise TypeError("create_multi_node_optimizer: the optimizer is already wrapped")
        self.__dict__.update(optimizer=optimizer, communicator=communicator, share=share, _buffer=None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["optimizer"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.optimizer, name, value)  # lr, hyperparameters: the wrapped optimizer's

    def __repr__(self) -> str:
        return f"MultiNodeOptimizer({self.optimizer!r}, {self.communicator!r})"

    def update(self, params: MutableMapping[str, Array], grads: Mapping[str, Array] | None) -> None:
        """Average ``grads`` over all ranks, then update ``params`` with the wrapped optimizer.

        Every rank must call this once per step, also one with no samples (``grads=None``), or
        the others wait for it.
        """
        weight = self.share() if self.share is not None else 1
        if grads is None and weight != 0:
            raise ValueError("MultiNodeOptimizer.update: grads=None is only for a rank whose share has no samples")
        buffer = self._buffer_for(params)
        buffer.pack(grads, scale=float(weight))
        buffer.extra[0] = weight
        self.communicator.allreduce_sum(buffer.data)
        total = float(buffer.extra[0])
        if total == 0:
            return  # no rank had a sample: nothing to learn from, as a step over no data
        buffer.data[: buffer.size] /= total
        self.optimizer.update(params, buffer.views())

    def _buffer_for(self, params: Mapping[str, Array]) -> FlatBuffer:
        """One flat buffer, in the parameters' dtype, made on the first step and then reused."""
        dtype = next(iter(params.values())).dtype
        buffer = self.__dict__["_buffer"]
        if buffer is None or not buffer.matches(params, dtype):
            buffer = FlatBuffer.like(params, dtype=dtype, extra=1)
            self.__dict__["_buffer"] = buffer
        return buffer


def create_multi_node_optimizer(
    optimizer: Any, communicator: Communicator, share: Callable[[], int] | None = None
) -> MultiNodeOptimizer:
    """Wrap ``optimizer`` so its updates use gradients averaged over every rank of ``communicator``
    (weighted by ``share()``, the samples behind this rank's gradient, when given)."""
    return MultiNodeOptimizer(optimizer, communicator, share)


def broadcast_parameters(net: Any, communicator: Communicator) -> None:
    """Copy rank 0's parameters and buffers (batch-norm running statistics) to every rank, in place.

    One ``Bcast`` of one flat buffer. Without it, ranks that built their networks from different
    seeds would train different models that merely share gradients.
    """
    arrays = {**{f"params/{k}": net.params[k] for k in net.params}, **{f"buffers/{k}": net.buffers[k] for k in net.buffers}}
    if not arrays:
        return
    buffer = FlatBuffer.like(arrays, dtype=_widest_dtype(arrays))
    if communicator.is_root:
        buffer.pack(arrays)
    communicator.broadcast(buffer.data)
    _unpack(buffer, net)


def broadcast_optimizer_state(optimizer: Any, params: Mapping[str, Array], communicator: Communicator) -> None:
    """Give every rank rank 0's optimizer state (step count, moments): what a resume restored there.

    Only rank 0 reads a checkpoint; without this the other ranks would resume Adam from zero
    moments and take different steps. Sent once, at the start, as a JSON header plus raw arrays.
    """
    state = broadcast_from_root(communicator, optimizer.state_dict() if communicator.is_root else None)
    if not communicator.is_root:
        optimizer.load_state_dict(state, params=params)


def average_buffers(net: Any, communicator: Communicator) -> None:
    """Replace each buffer (batch-norm running mean/variance) by its mean over the ranks.

    With per-rank batch statistics each rank's running averages follow its own shards; the
    mean over ranks is the model that rank 0 saves and every rank evaluates. One ``Allreduce``.
    """
    buffers = {k: net.buffers[k] for k in net.buffers}
    if not buffers or communicator.size == 1:
        return
    buffer = FlatBuffer.like(buffers, dtype=_widest_dtype(buffers))
    buffer.pack(buffers, scale=1.0 / communicator.size)
    communicator.allreduce_sum(buffer.data)
    buffer.unpack_into(net.buffers)


def _widest_dtype(arrays: Mapping[str, Array]) -> Any:
    """float64 if any array is float64: a float32 buffer would round the float64 ones."""
    dtypes = {a.dtype for a in arrays.values()}
    return max(dtypes, key=lambda d: d.itemsize)


def _unpack(buffer: FlatBuffer, net: Any) -> None:
    for key, view in buffer.views().items():
        kind, name = key.split("/", 1)
        getattr(net, kind)[name][...] = view
