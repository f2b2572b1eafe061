"""The seam between chainrule and MPI: the few collective operations data-parallel training uses.

Everything else in :mod:`chainrule.distributed` talks to MPI through :class:`Communicator`, so
the MPI surface is one short class: ``Allreduce`` (sum, in place), ``Bcast`` from rank 0,
``Allgather`` (of a few words per rank, before training), ``Barrier`` and ``Abort``. All calls use mpi4py's buffer interface (upper-case methods), which
sends the arrays' memory as it is, never a pickle.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np

from ..backend import Array, array_module, to_numpy
from ..errors import MissingExtraError

INSTALL_HINT = 'install the mpi extra: python -m pip install "chainrule[mpi]" (mpi4py and an MPI library)'


def mpi_available() -> bool:
    """True when mpi4py imports (and with it an MPI library)."""
    try:
        _import_mpi()
    except MissingExtraError:
        return False
    return True


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI  # type: ignore[import-not-found]
    except ImportError as error:  # also the MPI shared library failing to load
        raise MissingExtraError(f"distributed training needs mpi4py: {INSTALL_HINT} ({error})") from None
    return MPI


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """``[start, stop)`` of rank ``rank``'s contiguous share of ``n`` items among ``size`` ranks.

    Shares differ by at most one item, the larger ones first (so rank 0 is never empty while
    ``n > 0``); together they cover ``0..n`` exactly once, in order.
    """
    if not 0 <= rank < size:
        raise ValueError(f"shard_bounds: rank must be in [0, {size}), got {rank}")
    base, remainder = divmod(n, size)
    start = rank * base + min(rank, remainder)
    return start, start + base + (1 if rank < remainder else 0)


class Communicator:
    """One process's view of an MPI communicator (default ``MPI.COMM_WORLD``).

    ``allreduce_seconds``/``allreduce_calls``/``allreduce_bytes`` count the time, calls and bytes
    of :meth:`allreduce_sum` (what ``benchmarks/distributed.py`` reports).
    """

    def __init__(self, mpi_comm: Any | None = None) -> None:
        self.MPI = _import_mpi()
        self.comm = mpi_comm if mpi_comm is not None else self.MPI.COMM_WORLD
        self.rank: int = self.comm.Get_rank()
        self.size: int = self.comm.Get_size()
        self.allreduce_seconds = 0.0
        self.allreduce_calls = 0
        self.allreduce_bytes = 0

    def __repr__(self) -> str:
        return f"Communicator(rank={self.rank}, size={self.size})"

    @property
    def is_root(self) -> bool:
        """Rank 0: the one that reads and writes files and prints."""
        return self.rank == 0

    def shard(self, n: int) -> slice:
        """This rank's contiguous share of ``n`` items (see :func:`shard_bounds`)."""
        return slice(*shard_bounds(n, self.rank, self.size))

    # -- collectives ----------------------------------------------------------------------------

    def allreduce_sum(self, buffer: Array) -> Array:
        """Sum ``buffer`` over all ranks, in place (a contiguous NumPy or CuPy array); returns it.

        A CuPy buffer goes through host memory: an MPI built with CUDA support could take it
        directly, but a plain one (the ``mpich`` wheel) cannot.
        """
        host = to_numpy(buffer)
        if not host.flags.c_contiguous:
            raise ValueError("Communicator.allreduce_sum: the buffer must be contiguous")
        started = time.perf_counter()
        self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM)
        self.allreduce_seconds += time.perf_counter() - started
        self.allreduce_calls += 1
        self.allreduce_bytes += host.nbytes
        if host is not buffer:
            buffer[...] = array_module(buffer).asarray(host)
        return buffer

    def sum(self, *values: float) -> list[float]:
        """The sums over all ranks of a few numbers (in float64, one call)."""
        totals = self.allreduce_sum(np.array(values, dtype=np.float64))
        return [float(v) for v in totals]

    def broadcast(self, buffer: Array) -> Array:
        """Overwrite ``buffer`` on every rank with rank 0's (in place); returns it."""
        host = to_numpy(buffer)
        if not host.flags.c_contiguous:
            raise ValueError("Communicator.broadcast: the buffer must be contiguous")
        self.comm.Bcast(host, root=0)
        if host is not buffer:
            buffer[...] = array_module(buffer).asarray(host)
        return buffer

    def allgather_text(self, text: str) -> list[str]:
        """Every rank's ``text``, in rank order, on every rank: its length, then its UTF-8 bytes."""
        data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        lengths = np.zeros(self.size, dtype=np.int64)
        self.comm.Allgather(np.array([data.size], dtype=np.int64), lengths)
        gathered = np.empty(int(lengths.sum()), dtype=np.uint8)
        self.comm.Allgatherv(data, [gathered, lengths.tolist()])
        ends = np.cumsum(lengths).tolist()
        return [gathered[end - length : end].tobytes().decode("utf-8") for end, length in zip(ends, lengths.tolist())]

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int = 1) -> None:
        """End every process of the job now (MPI_Abort); does not return."""
        self.comm.Abort(code)
        os._exit(code)  # MPICH's MPI_Abort can return before mpiexec has killed this process

    def processes(self) -> list[tuple[str, int]]:
        """``(host, pid)`` of every rank, in rank order, on every rank.

        ``mpiexec`` names a rank that was killed outright only by its host and pid; printed at
        the start, this table turns that into a rank. One ``Allreduce`` of fixed-width slots.
        """
        width = 64 + 8
        table = np.zeros((self.size, width), dtype=np.uint8)
        host = self.MPI.Get_processor_name().encode("utf-8")[:64]
        table[self.rank, : len(host)] = np.frombuffer(host, dtype=np.uint8)
        table[self.rank, 64:] = np.frombuffer(np.int64(os.getpid()).tobytes(), dtype=np.uint8)
        self.comm.Allreduce(self.MPI.IN_PLACE, table, op=self.MPI.SUM)
        return [
            (bytes(row[:64]).rstrip(b"\0").decode("utf-8", "replace"), int(np.frombuffer(bytes(row[64:]), dtype=np.int64)[0]))
            for row in table
        ]

    def ranks_on_this_node(self) -> int:
        """How many ranks share this machine (and so its cores)."""
        local = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED)
        try:
            return local.Get_size()
        finally:
            local.Free()


def broadcast_from_root(comm: Communicator, value: Any) -> Any:
    """Rank 0's ``value`` on every rank: nested dicts/lists of JSON scalars and NumPy arrays.

    What a resume needs (a checkpoint's weights, optimizer state and config) is read by rank 0
    alone, which also works on a cluster without a shared file system. The structure travels as
    JSON and each array as raw memory: no pickle, so nothing is executed on arrival.
    """
    arrays: list[np.ndarray] = []

    def encode(item: Any) -> Any:
        if isinstance(item, dict):
            return {"dict": [[str(k), encode(v)] for k, v in item.items()]}
        if isinstance(item, (list, tuple)):
            return {"list": [encode(v) for v in item]}
        if isinstance(item, np.ndarray) and item.ndim == 0:
            item = item.item()  # what numpy.load gives for a saved scalar, e.g. an optimizer's name
        elif isinstance(item, np.ndarray) or hasattr(item, "__array__") and not np.isscalar(item):
            array = np.ascontiguousarray(to_numpy(item))
            if array.dtype.kind not in "biuf":
                raise TypeError(f"broadcast_from_root: cannot send an array of dtype {array.dtype}")
            arrays.append(array)
            return {"array": [array.dtype.str, list(array.shape)]}
        if isinstance(item, np.generic):
            item = item.item()
        if item is not None and not isinstance(item, (bool, int, float, str)):
            raise TypeError(f"broadcast_from_root: cannot send a {type(item).__name__}")
        return {"value": item}

    header = np.zeros(1, dtype=np.int64)
    payload = b""
    if comm.is_root:
        payload = json.dumps(encode(value), allow_nan=True).encode("utf-8")
        header[0] = len(payload)
    comm.broadcast(header)
    text = np.frombuffer(payload, dtype=np.uint8).copy() if comm.is_root else np.empty(int(header[0]), dtype=np.uint8)
    comm.broadcast(text)
    received = iter(arrays) if comm.is_root else None

    def decode(node: dict[str, Any]) -> Any:
        (kind, content), = node.items()
        if kind == "dict":
            return {k: decode(v) for k, v in content}
        if kind == "list":
            return [decode(v) for v in content]
        if kind == "array":
            array = next(received) if received is not None else np.empty(content[1], dtype=np.dtype(content[0]))
            return comm.broadcast(array)
        return content

    return decode(json.loads(text.tobytes().decode("utf-8")))
