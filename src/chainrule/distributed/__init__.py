"""Data-parallel training on MPI (through mpi4py), in the manner of ChainerMN.

Every rank holds the whole model. Each step, every rank computes the gradient of its shard of
the global mini-batch; one ``Allreduce`` on a single flat buffer averages the gradients; every
rank applies the same update, so the weights stay identical without ever being sent again.

The pieces are small and separate; :class:`DataParallel` puts them together as the one seam
:class:`~chainrule.training.Trainer` uses when it is given a ``communicator``:

- :class:`Communicator`: the seam to MPI (rank, size, the collective calls, sharding).
- :class:`DataParallel`: this rank's share of every batch, the wrapped optimizer, the sums over
  ranks (:class:`OneProcess` is the same interface for a single process).
- :func:`broadcast_parameters`: every rank starts from rank 0's weights.
- :func:`create_multi_node_optimizer`: wraps any optimizer; its ``update`` averages the
  gradients across ranks first (the only piece that talks to MPI every step).
- :func:`synchronize_batch_norm`: batch statistics over the global batch instead of per rank.
- :func:`set_blas_threads`, :func:`abort_on_failure`: one process per core share, and a failing
  rank ends the whole job instead of leaving the others waiting forever.
- :mod:`~chainrule.distributed.agreement`: before training, every rank checks with all others
  that it can start (its options, its data's sizes and fingerprint), or all stop with one message.

mpi4py is imported only when a :class:`Communicator` is made; ``pip install "chainrule[mpi]"``
installs it with the MPICH wheel. See ``docs/distributed.md``.
"""

from .batchnorm import synchronize_batch_norm
from .communicator import Communicator, broadcast_from_root, mpi_available, shard_bounds
from .flat import FlatBuffer
from .optimizer import (
    MultiNodeOptimizer,
    average_buffers,
    broadcast_optimizer_state,
    broadcast_parameters,
    create_multi_node_optimizer,
)
from .parallel import DataParallel, OneProcess, parallelism
from .runtime import abort_on_failure, set_blas_threads

__all__ = [
    "Communicator",
    "DataParallel",
    "FlatBuffer",
    "MultiNodeOptimizer",
    "OneProcess",
    "abort_on_failure",
    "average_buffers",
    "broadcast_from_root",
    "broadcast_optimizer_state",
    "broadcast_parameters",
    "create_multi_node_optimizer",
    "mpi_available",
    "parallelism",
    "set_blas_threads",
    "shard_bounds",
    "synchronize_batch_norm",
]
