"""How many CPU threads chainrule's arithmetic may use (BLAS, for the matrix products).

On a busy machine two BLAS threads can collapse (a thread that loses its core stalls the other):
an MNIST epoch of 0.19 s took 7-14 s under load, 0.33 s at one thread. ``chainrule train
--threads N`` and ``benchmarks/steps.py --threads N`` call :func:`set_threads`; ``--threads
auto`` uses :class:`LoadAwareThreads`: as many threads as the other processes leave CPUs free,
looked at again every half second. Not the default: OpenBLAS sums in another order at another
thread count, so the trained weights would depend on the machine's load.

The other lever is what BLAS threads do between two products: OpenBLAS's spin for about 2**28
cycles (OpenMP's, by default, a while too), which on a shared machine takes the core from the
other program and from chainrule's own thread. :data:`SLEEP_BETWEEN_PRODUCTS` makes them sleep at
once: the thread count, and so every number, stays as it is. It must be in the environment before
NumPy loads (OpenBLAS reads it once), so it is not a switch chainrule can flip for itself; and it
costs a wake-up per product on a quiet machine (docs in the README's Speed section, with figures).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

__all__ = ["set_threads", "THREAD_VARIABLES", "SLEEP_BETWEEN_PRODUCTS", "available_cores", "LoadAwareThreads", "threads_for_load"]

# Read by OpenBLAS, OpenMP and MKL when they start (in this process or a child process).
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# Idle BLAS threads sleep at once instead of spinning: OpenBLAS's shortest wait (2**4 cycles) and
# OpenMP's passive policy (MKL and PyTorch builds). Read when the library loads, as above.
SLEEP_BETWEEN_PRODUCTS = {"OPENBLAS_THREAD_TIMEOUT": "4", "OMP_WAIT_POLICY": "PASSIVE"}


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


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which a batch scheduler may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


# Two threads only when the others leave nearly two CPUs free: a BLAS thread that shares its core
# with another process stalls its partner at every synchronisation, which costs more than it gains.
SPARE_CPU_MARGIN = 0.2


def threads_for_load(cores: int, busy_elsewhere: float, most: int) -> int:
    """BLAS threads for ``cores`` CPUs of which other processes keep ``busy_elsewhere`` busy (1..most)."""
    free = cores - max(busy_elsewhere, 0.0)
    return max(1, min(most, math.floor(free + SPARE_CPU_MARGIN)))


def _busy_cpu_seconds(cpus: set[int]) -> float | None:
    """CPU seconds spent busy so far on ``cpus``, all processes together (``/proc/stat``; None elsewhere)."""
    try:
        with open("/proc/stat") as stat:
            lines = stat.read().splitlines()
    except OSError:
        return None
    ticks = 0
    for line in lines:
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
            ticks += sum(values) - values[3] - values[4]
    return ticks / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system  # every thread of this process, not its children


class LoadAwareThreads:
    """BLAS threads chosen from the load: as many as the *other* processes leave CPUs free.

    ``tick()`` is meant for every training step: it costs a clock read, and every ``interval``
    seconds it reads how busy the CPUs were (``/proc/stat``) less this process's own share
    (``os.times``) and sets BLAS to :func:`threads_for_load` threads when that changes. One
    CPU-bound neighbour on two cores thus leaves chainrule one BLAS thread on the free core,
    instead of two that wait for each other. Where ``/proc/stat`` is missing it does nothing.
    """

    def __init__(self, most: int | None = None, interval: float = 0.5, *,
                 read_busy: Callable[[set[int]], float | None] = _busy_cpu_seconds,
                 read_own: Callable[[], float] = _own_cpu_seconds,
                 clock: Callable[[], float] = time.monotonic,
                 apply: Callable[[int], None] | None = None) -> None:
        try:
            self.cpus = set(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - macOS, Windows
            self.cpus = set(range(os.cpu_count() or 1))
        self.most = most if most is not None else min(len(self.cpus), _blas_threads() or len(self.cpus))
        self.interval = interval
        self._read_busy, self._read_own, self._clock = read_busy, read_own, clock
        self._apply = apply if apply is not None else _blas_thread_setter()
        self.threads = self.most
        self._start = self._sample()
        self._next = self._clock() + min(interval, 0.1)  # the first look comes early

    def _sample(self) -> tuple[float, float | None, float]:
        return self._clock(), self._read_busy(self.cpus), self._read_own()

    def tick(self) -> int:
        """Look at the load if ``interval`` has passed; return the BLAS threads now in use."""
        if self._clock() < self._next:
            return self.threads
        now = self._sample()
        (t0, busy0, own0), (t1, busy1, own1) = self._start, now
        self._start, self._next = now, t1 + self.interval
        if busy0 is None or busy1 is None or t1 <= t0:
            return self.threads
        elsewhere = ((busy1 - busy0) - (own1 - own0)) / (t1 - t0)
        threads = threads_for_load(len(self.cpus), elsewhere, self.most)
        if threads != self.threads:
            self._apply(threads)
            self.threads = threads
        return self.threads

    def restore(self) -> None:
        """Back to ``most`` threads (what BLAS had before), e.g. when training ends."""
        if self.threads != self.most:
            self._apply(self.most)
            self.threads = self.most


_blas_controllers: list[Any] | None = None  # threadpoolctl's handles on the loaded BLAS libraries


def _blas() -> list[Any]:
    """The BLAS libraries loaded now (found once NumPy has loaded its own; none without threadpoolctl)."""
    global _blas_controllers
    if not _blas_controllers:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            return []
        _blas_controllers = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    return _blas_controllers


def _blas_threads() -> int | None:
    """The loaded BLAS libraries' thread count (what ``OPENBLAS_NUM_THREADS`` or :func:`set_threads` chose)."""
    counts = [c.num_threads for c in _blas()]
    return max(counts) if counts else None


def _blas_thread_setter() -> Callable[[int], None]:
    """Set the loaded BLAS libraries' thread count (a few microseconds a call)."""

    def apply(count: int) -> None:
        for controller in _blas():
            controller.set_num_threads(count)

    return apply
