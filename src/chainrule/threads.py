"""How many CPU threads chainrule's arithmetic may use (BLAS, for the matrix products).

On a busy machine two BLAS threads can collapse (a thread that loses its core stalls the other):
an MNIST epoch of 0.19 s took 7-14 s under load, 0.33 s at one thread. ``chainrule train
--threads N`` and ``benchmarks/steps.py --threads N`` call :func:`set_threads`.
"""

from __future__ import annotations

import os

__all__ = ["set_threads", "THREAD_VARIABLES"]

# Read by OpenBLAS, OpenMP and MKL when they start (in this process or a child process).
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def set_threads(count: int) -> None:
    """Limit BLAS to ``count`` threads, from now on (the compiled optimizer updates use one).

    Libraries already loaded are limited through threadpoolctl; the environment variables cover
    libraries loaded later and child processes.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"set_threads: count must be a positive integer, got {count!r}")
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(count)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    else:
        threadpool_limits(limits=count)
