"""How an epoch is spread over processes: one seam, chosen once, so the training loop has no branch.

The trainer's epoch is the book's ``train_step`` in a loop (take a batch, compute its gradient,
update), and it should not care whether it runs alone or as one rank of an MPI job; PyTorch's
DDP keeps its loop the same way (a sampler shards, a wrapper averages). Everything that differs
lives behind one small interface, which :class:`~chainrule.training.Trainer` picks in its
constructor with :func:`parallelism`:

- :class:`OneProcess`: whole batches, the optimizer as given, sums and a start that change nothing.
- :class:`DataParallel`: this rank's share of every global batch; the optimizer wrapped so that
  its update averages the gradients over the ranks; the epoch's loss and accuracy summed over
  the ranks; batch-norm running statistics averaged at the epoch's end; every rank starting from
  rank 0's weights, optimizer state and history.

Why one object, not a sampler and an optimizer wrapper handed to the loop separately: the two
are tied by the share. The wrapper weights each rank's mean gradient by the samples it stands
for (shares differ by one sample, and a rank may have none, so equal weights would be wrong),
and only the sampler knows that number. And a rank whose share of a batch is empty must still
take part in that step's ``Allreduce`` and update, or the others wait forever: the seam takes
that step itself, while handing out the batches, so the loop never sees an empty batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..backend import Array
from ..history import History
from .communicator import Communicator, broadcast_from_root
from .optimizer import average_buffers, broadcast_optimizer_state, broadcast_parameters, create_multi_node_optimizer

Batches = Iterator[tuple[int, Array]]


def global_batches(order: Array, batch_size: int) -> Batches:
    """``(step, indices)`` of an epoch's consecutive mini-batches, cut from the shuffled ``order``."""
    for step, start in enumerate(range(0, len(order), batch_size)):
        yield step, order[start : start + batch_size]


class OneProcess:
    """The whole of every batch, on this process alone."""

    communicator = None
    is_root = True  # the process that prints and writes
    stream: tuple[int, ...] = ()  # appended to random-stream seeds: none, so one process draws as always

    def __init__(self, net: Any, optimizer: Any) -> None:
        self.net, self.optimizer = net, optimizer

    def batches(self, order: Array, batch_size: int) -> Batches:
        return global_batches(order, batch_size)

    def sum(self, loss: float, correct: int) -> tuple[float, int]:
        """The epoch's summed loss and hit count, over every process: here, this one's."""
        return loss, correct

    def end_epoch(self) -> None:
        """Nothing to reconcile: one process holds one model."""

    def start(self, history: History) -> History:
        """The state training continues from: this process's."""
        return history


class DataParallel:
    """This rank's share of every global batch; gradients, metrics and buffers combined over ranks.

    ``optimizer`` is the given one wrapped (:class:`~chainrule.distributed.MultiNodeOptimizer`);
    its ``update(params, grads)`` weights this rank's gradient by :attr:`share`, the size of the
    share :meth:`batches` handed out last.
    """

    def __init__(self, net: Any, optimizer: Any, communicator: Communicator) -> None:
        self.net, self.communicator = net, communicator
        self.share = 0
        self.optimizer = create_multi_node_optimizer(optimizer, communicator, share=lambda: self.share)
        self.is_root = communicator.is_root
        # Ranks draw from random streams of their own (dropout): one shared stream would give the
        # samples at the same place in every shard the same mask. One rank draws as one process.
        self.stream = (communicator.rank,) if communicator.size > 1 else ()

    def batches(self, order: Array, batch_size: int) -> Batches:
        """This rank's contiguous share of each global batch (see :func:`shard_bounds`).

        A batch smaller than the number of ranks leaves some ranks nothing: such a rank joins
        the step's ``Allreduce`` with no gradient (and makes the same update) without yielding.
        """
        for step, batch in global_batches(order, batch_size):
            share = batch[self.communicator.shard(len(batch))]
            self.share = len(share)
            if self.share:
                yield step, share
            else:
                self.optimizer.update(self.net.params, None)

    def sum(self, loss: float, correct: int) -> tuple[float, int]:
        """The epoch's summed loss and hit count over all ranks (one ``Allreduce``)."""
        loss, correct = self.communicator.sum(loss, correct)
        return loss, int(correct)

    def end_epoch(self) -> None:
        """Per-rank batch-norm running statistics -> their mean, one model on every rank."""
        average_buffers(self.net, self.communicator)

    def start(self, history: History) -> History:
        """Every rank goes on from rank 0's weights, optimizer state and history.

        Rank 0 alone reads a checkpoint to resume (and ranks may have built their networks from
        different seeds), so its state is the one every rank starts from, whatever number of
        ranks wrote the checkpoint.
        """
        broadcast_parameters(self.net, self.communicator)
        broadcast_optimizer_state(self.optimizer.optimizer, self.net.params, self.communicator)
        return History.from_dict(broadcast_from_root(self.communicator, history.as_dict()))


def parallelism(net: Any, optimizer: Any, communicator: Communicator | None) -> OneProcess | DataParallel:
    """The seam for a run: data-parallel over ``communicator``'s ranks, or one process without one."""
    if communicator is None:
        return OneProcess(net, optimizer)
    return DataParallel(net, optimizer, communicator)
