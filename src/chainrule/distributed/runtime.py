"""Process-level settings for a distributed job: BLAS threads per rank, and failing as one job."""

from __future__ import annotations

import os
import signal
import sys
import time
from types import TracebackType
from typing import Any

from ..errors import MissingExtraError
from ..threads import available_cores, set_threads
from .communicator import Communicator

ABORT_GRACE_SECONDS = 0.5
# Environment variables by which MPI launchers tell a process its job's size.
MPI_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")


def set_blas_threads(communicator: Communicator, threads: int | None = None) -> int:
    """Limit this rank's BLAS threads to ``threads`` (default ``cores // ranks on this machine``).

    Two ranks on two cores each running two BLAS threads would fight over the cores and run
    slower than one rank alone. Returns the number of threads set.
    """
    if threads is None:
        threads = max(1, available_cores() // communicator.ranks_on_this_node())
    set_threads(threads)
    return threads


def abort_on_failure(communicator: Communicator) -> None:
    """Make an uncaught exception or SIGTERM/SIGINT on this rank end the whole job, at once.

    Without this, a rank that dies of an exception leaves the others waiting forever in their
    next ``Allreduce``. The hook prints a line naming the rank, then the usual traceback, then
    calls ``MPI_Abort``, which makes ``mpiexec`` kill every process and exit non-zero. A rank
    killed outright (SIGKILL, out of memory) needs no hook: ``mpiexec`` sees it die and ends the
    job itself, naming the rank. A single-process job keeps Python's ordinary behaviour.
    """
    if communicator.size == 1:
        return
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
        try:
            report_failure(communicator, f"{kind.__name__}: {error}")
            previous(kind, error, traceback)
        finally:
            _abort(communicator, 1)

    def on_signal(number: int, frame: Any) -> None:
        report_failure(communicator, f"received {signal.Signals(number).name}")
        _abort(communicator, 128 + number)

    sys.excepthook = hook
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, on_signal)


def fail_job(communicator: Communicator, message: str, code: int = 1, *, on_this_rank: bool = True) -> None:
    """Print ``message`` naming this rank, then end every rank of the job (does not return).

    For errors a program reports itself (a bad option, a missing file) instead of raising.
    ``on_this_rank=False``: the message names the ranks at fault itself (rank 0 reporting what
    all ranks found out together).
    """
    where = f"rank {communicator.rank} of {communicator.size}; ending all ranks" if on_this_rank else (
        f"ending all {communicator.size} ranks")
    sys.stderr.write(f"{message} ({where})\n")
    _abort(communicator, code)


def launched_size() -> int:
    """How many processes the MPI launcher that started this one started in all (1: none)."""
    for variable in MPI_SIZE_VARIABLES:
        size = os.environ.get(variable, "")
        if size.isdigit() and int(size) > 1:
            return int(size)
    return 1


def end_launched_job(code: int, reason: str) -> None:
    """End every process of the MPI job this one belongs to, if it is one of several.

    For a rank that stops before its communicator exists (argparse refusing an option): the
    other ranks wait in ``MPI_Init`` or their first collective, and would wait for it forever.
    Joining the job (``MPI_Init``) and calling ``MPI_Abort`` ends them all, with this line on
    standard error. Without a launcher, or without mpi4py, it returns and does nothing.
    """
    if launched_size() < 2:
        return
    try:
        communicator = Communicator()
    except MissingExtraError:
        return
    if communicator.size > 1:
        report_failure(communicator, reason)
        _abort(communicator, code)


def _abort(communicator: Communicator, code: int) -> None:
    # MPI_Abort kills every process at once, and output still on its way through mpiexec's
    # forwarding is lost with them: a moment's pause lets the failure's message arrive.
    sys.stderr.flush()
    time.sleep(ABORT_GRACE_SECONDS)
    communicator.abort(code)


def report_failure(communicator: Communicator, reason: str) -> None:
    """One line on stderr that says which rank failed and that the job is being ended."""
    sys.stderr.write(
        f"chainrule: rank {communicator.rank} of {communicator.size} failed ({reason}); "
        "aborting all ranks\n"
    )
    sys.stderr.flush()
