"""``chainrule.threads.set_threads`` limits BLAS (checked in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chainrule.threads import set_threads

CHILD = """
import json, numpy as np
from threadpoolctl import threadpool_info
from chainrule.threads import set_threads
set_threads(1)
blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
print(json.dumps({"blas": blas}))
"""


def test_set_threads_limits_blas():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["blas"] and set(result["blas"]) == {1}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_threads_refuses_what_is_not_a_positive_integer(bad):
    with pytest.raises(ValueError, match="positive integer"):
        set_threads(bad)


# -- LoadAwareThreads: BLAS threads from how busy the other processes keep the CPUs -------------

from chainrule.threads import LoadAwareThreads, threads_for_load  # noqa: E402


@pytest.mark.parametrize(
    "cores, elsewhere, most, expected",
    [(2, 0.0, 2, 2), (2, 0.1, 2, 2), (2, 0.3, 2, 1), (2, 1.0, 2, 1), (2, 3.0, 2, 1), (2, -0.2, 2, 2),
     (8, 1.0, 8, 7), (8, 0.0, 4, 4), (1, 0.0, 1, 1)],
)
def test_threads_for_load_leaves_the_busy_cores_to_their_processes(cores, elsewhere, most, expected):
    assert threads_for_load(cores, elsewhere, most) == expected


class FakeMachine:
    """Clock, /proc/stat and os.times, moved by hand: ``run(seconds, own=..., others=...)``."""

    def __init__(self):
        self.now, self.busy, self.own = 100.0, 5000.0, 10.0

    def run(self, seconds, own, others):
        self.now += seconds
        self.own += own * seconds
        self.busy += (own + others) * seconds

    def policy(self, most=2):
        self.applied = []
        return LoadAwareThreads(most, interval=0.5, read_busy=lambda cpus: self.busy, read_own=lambda: self.own,
                                clock=lambda: self.now, apply=self.applied.append)


def test_one_cpu_bound_neighbour_leaves_one_thread_and_going_away_gives_it_back():
    machine = FakeMachine()
    policy = machine.policy()
    assert policy.tick() == 2 and machine.applied == []  # nothing measured yet
    machine.run(0.1, own=2.0, others=0.0)
    assert policy.tick() == 2 and machine.applied == []  # quiet: two threads stay
    machine.run(0.2, own=1.0, others=1.0)
    assert policy.tick() == 2  # before the interval: not looked at
    machine.run(0.4, own=1.0, others=1.0)
    assert policy.tick() == 1 and machine.applied == [1]  # a neighbour on one core
    policy.restore()
    assert policy.threads == 2 and machine.applied == [1, 2]  # what the process had before
    machine.run(0.6, own=1.0, others=1.0)
    assert policy.tick() == 1 and machine.applied == [1, 2, 1]
    machine.run(0.6, own=1.0, others=0.0)
    assert policy.tick() == 2 and machine.applied == [1, 2, 1, 2]  # it left


def test_this_process_own_threads_do_not_count_as_load():
    machine = FakeMachine()
    policy = machine.policy()
    for _ in range(5):
        machine.run(0.6, own=2.0, others=0.05)  # two busy (even spinning) BLAS threads of our own
        assert policy.tick() == 2
    assert machine.applied == []


def test_without_proc_stat_nothing_changes():
    applied = []
    clock = iter(range(0, 100, 1)).__next__
    policy = LoadAwareThreads(2, interval=0.5, read_busy=lambda cpus: None, read_own=lambda: 0.0,
                              clock=lambda: float(clock()), apply=applied.append)
    for _ in range(5):
        assert policy.tick() == 2
    assert applied == []


LOAD_CHILD = """
import json, os, subprocess, sys, time
import numpy as np
from threadpoolctl import threadpool_info
from chainrule.threads import LoadAwareThreads
two = sorted(os.sched_getaffinity(0))[:2]
os.sched_setaffinity(0, set(two))  # two CPUs, one of which a neighbour keeps busy
neighbour = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{two[0]}}})\\nwhile True: pass"])
try:
    policy = LoadAwareThreads(most=2)
    time.sleep(1.0)
    chosen = policy.tick()
finally:
    neighbour.kill()
blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
print(json.dumps({"chosen": chosen, "blas": blas}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat")
@pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: ())(0)) < 2, reason="needs two CPUs")
def test_a_real_cpu_bound_neighbour_leaves_one_thread_of_two():
    done = subprocess.run([sys.executable, "-c", LOAD_CHILD], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["chosen"] == 1 and set(result["blas"]) == {1}


def test_the_trainer_looks_at_the_load_every_step():
    import numpy as np

    from chainrule.nets import TwoLayerNet
    from chainrule.optimizers import SGD
    from chainrule.training import Trainer

    class Counting:
        ticks = 0

        def tick(self):
            self.ticks += 1
            return 1

    rng = np.random.default_rng(0)
    x, t = rng.random((50, 4)), rng.integers(0, 3, 50)
    policy = Counting()
    Trainer(TwoLayerNet(4, 5, 3), SGD(0.1), epochs=2, batch_size=10, verbose=0, threads=policy).fit(x, t)
    assert policy.ticks == 2 * 5


@pytest.mark.parametrize("threads, policy", [("auto", LoadAwareThreads), (None, type(None)), (1, type(None))])
def test_train_gives_the_trainer_a_load_aware_policy_only_when_asked(data_dir, tmp_path, monkeypatch, threads, policy):
    import chainrule
    import chainrule.experiment as experiment

    seen = []
    real = experiment.Trainer

    def spy(*args, **kwargs):
        seen.append(kwargs.get("threads"))
        return real(*args, **kwargs)

    monkeypatch.setattr(experiment, "Trainer", spy)
    monkeypatch.setattr(experiment, "set_threads", lambda count: None)
    chainrule.train(model="two-layer", epochs=1, data_dir=data_dir, download=False, verify=False, verbose=0,
                    plots=False, output_dir=tmp_path / "run", threads=threads)
    assert len(seen) == 1 and type(seen[0]) is policy


def test_the_threads_option_takes_a_count_or_auto():
    import argparse

    from chainrule.cli.types import threads_option

    assert threads_option("3") == 3 and threads_option("auto") == "auto" and threads_option(" AUTO ") == "auto"
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError, match="positive integer or 'auto'"):
            threads_option(bad)


IDLE_CHILD = """
import json, time
import numpy as np
from threadpoolctl import threadpool_info
a = np.ones((512, 512), dtype=np.float32)
idle_cpu = 0.0
for _ in range(5):
    a @ a  # wakes the second BLAS thread
    cpu = time.process_time()
    time.sleep(0.1)  # a spinning thread keeps burning CPU here (OpenBLAS: ~2**28 cycles, 0.1 s)
    idle_cpu += time.process_time() - cpu
print(json.dumps({"idle_cpu": idle_cpu, "apis": [pool["internal_api"] for pool in threadpool_info()]}))
"""


@pytest.mark.skipif(len(getattr(os, "sched_getaffinity", lambda _: ())(0)) < 2, reason="needs two CPUs")
def test_sleep_between_products_makes_idle_blas_threads_sleep():
    """The environment chainrule documents does what it says in NumPy's own BLAS: while the process
    sleeps, its idle BLAS thread takes (almost) no CPU. Without it, OpenBLAS's thread spins."""
    from chainrule.threads import SLEEP_BETWEEN_PRODUCTS

    env = {k: v for k, v in os.environ.items() if k not in SLEEP_BETWEEN_PRODUCTS}
    env.update(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2", MKL_NUM_THREADS="2", **SLEEP_BETWEEN_PRODUCTS)
    done = subprocess.run([sys.executable, "-c", IDLE_CHILD], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    if "openblas" not in result["apis"]:
        pytest.skip(f"NumPy's BLAS is {result['apis']}, not OpenBLAS")
    assert result["idle_cpu"] < 0.05, f"idle BLAS threads used {result['idle_cpu']:.3f} s of CPU in 0.5 s of sleep"
