"""Process-level settings for a distributed job: BLAS threads per rank, and failing as one job."""

from __future__ import annotations

import os
import signal
import sys
import time
import warnings
from types import TracebackType
from typing import Any

from .communicator import Communicator

ABORT_GRACE_SECONDS = 0.5
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which a batch scheduler may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def set_blas_threads(communicator: Communicator, threads: int | None = None) -> int | None:
    """Limit this rank's BLAS threads to ``threads`` (default ``cores // ranks on this machine``).

    Two ranks on two cores each running two BLAS threads would fight over the cores and run
    slower than one rank alone. The limit is set through threadpoolctl (in the mpi extra), which
    works after NumPy is loaded. Without it, only ``OMP_NUM_THREADS`` set before the processes
    start works (``mpiexec -genv OMP_NUM_THREADS 1 ...``), so this warns unless one is set.
    Returns the number of threads set, or ``None`` when it could not set them.
    """
    if threads is None:
        threads = max(1, available_cores() // communicator.ranks_on_this_node())
    if threads < 1:
        raise ValueError(f"set_blas_threads: threads must be >= 1, got {threads}")
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found]
    except ImportError:
        if not any(os.environ.get(name) for name in THREAD_VARIABLES) and communicator.is_root:
            warnings.warn(
                f"cannot limit BLAS threads to {threads} per rank without threadpoolctl "
                f'(python -m pip install threadpoolctl, or "chainrule[mpi]"); ranks may oversubscribe the cores. '
                "Or start the job with OMP_NUM_THREADS set, e.g. mpiexec -genv OMP_NUM_THREADS 1",
                RuntimeWarning,
                stacklevel=2,
            )
        return None
    threadpool_limits(limits=threads, user_api="blas")
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


def fail_job(communicator: Communicator, message: str, code: int = 1) -> None:
    """Print ``message`` naming this rank, then end every rank of the job (does not return).

    For errors a program reports itself (a bad option, a missing file) instead of raising.
    """
    sys.stderr.write(f"{message} (rank {communicator.rank} of {communicator.size}; ending all ranks)\n")
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
