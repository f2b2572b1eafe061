"""Data-parallel speed on this machine, and a scaling model for a cluster built from it.

Usage:  python benchmarks/distributed.py [--ranks 1,2] [--rounds 3] [--steps 30] [--json out.json]

Measured (each configuration in its own ``mpiexec -n K`` job; 1 and 2 ranks take turns for
--rounds rounds and the median is reported; one BLAS thread per rank; synthetic MNIST-shaped
data, as speed does not depend on the values):

  samples/s     global batch / time per training step (shard, forward, backward, Allreduce of
                the gradients, optimizer update), for the default MLP 784-512-256-10 (batch 200,
                Adam, float32) and SimpleConvNet (batch 100, Adam, float32).
  allreduce     seconds per step inside the one gradient ``Allreduce``; this includes waiting
                for the slower rank. "pure" times the same ``Allreduce`` after a barrier, with
                nothing else running: the transfer alone.

Predicted (printed after the measurements, and what docs/distributed.md tabulates): the speed-up
of p workers on one global batch B, from the 1-rank compute time per sample t and the gradient
bytes G, with a ring allreduce over a network of bandwidth b and per-message latency a:

  allreduce(p) = 2 (p-1) a + 2 (p-1)/p * G / b
  one global batch B (results as one process):   speed-up(p) = B t / (B/p * t + allreduce(p))
  B per worker (global batch p B, a new recipe):  speed-up(p) = p B t / (B t + allreduce(p))

Optimistic on purpose: it assumes a per-worker batch of B/p runs at the per-sample speed of a
batch of B (small batches use BLAS less well) and that nothing overlaps or stalls. --from-json
reprints the tables from a saved run's measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MODELS = {"mlp": 200, "cnn": 100}  # model -> the recipe's global batch size
LATENCY_SECONDS = {10: 20e-6, 100: 5e-6}  # assumed per-message latency: 10 Gbit/s TCP, 100 Gbit/s RDMA
WORKERS = (1, 2, 4, 8, 16, 32, 64)


# -- one rank of a measuring job ----------------------------------------------------------------


def worker(model: str, steps: int, warmup: int) -> None:
    import numpy as np

    from chainrule.distributed import Communicator, FlatBuffer, create_multi_node_optimizer, set_blas_threads
    from chainrule.nets import MultiLayerNet, SimpleConvNet
    from chainrule.optimizers import Adam

    comm = Communicator()
    threads = set_blas_threads(comm, 1)
    batch = MODELS[model]
    if model == "mlp":
        net, shape = MultiLayerNet(784, [512, 256], 10, rng=0, dtype=np.float32), (784,)
    else:
        net, shape = SimpleConvNet((1, 28, 28), weight_init_std="he", rng=0, dtype=np.float32), (1, 28, 28)
    rng = np.random.default_rng(comm.rank)
    x = rng.random((batch, *shape), dtype=np.float32)
    t = rng.integers(0, 10, batch)
    shard = comm.shard(batch)
    optimizer = create_multi_node_optimizer(Adam(0.001), comm, share=lambda: shard.stop - shard.start)

    def step() -> None:
        optimizer.update(net.params, net.gradient(x[shard], t[shard]))

    for _ in range(warmup):
        step()
    comm.barrier()
    comm.allreduce_seconds, comm.allreduce_calls, comm.allreduce_bytes = 0.0, 0, 0
    started = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - started
    in_allreduce, calls, nbytes = comm.allreduce_seconds, comm.allreduce_calls, comm.allreduce_bytes
    # The transfer alone: the same buffer, every rank ready (after a barrier), nothing else running.
    buffer = FlatBuffer.like(dict(net.params), extra=1).data
    pure = []
    for _ in range(20):
        comm.barrier()
        before = time.perf_counter()
        comm.comm.Allreduce(comm.MPI.IN_PLACE, buffer, op=comm.MPI.SUM)
        pure.append(time.perf_counter() - before)
    if comm.is_root:
        print(json.dumps({
            "model": model, "ranks": comm.size, "threads_per_rank": threads, "batch": batch,
            "step_seconds": elapsed / steps, "samples_per_second": batch * steps / elapsed,
            "allreduce_seconds_per_step": in_allreduce / calls, "allreduce_calls": calls,
            "allreduce_bytes_per_step": nbytes // calls, "pure_allreduce_seconds": statistics.median(pure),
            "gradient_bytes": int(sum(p.size * p.itemsize for p in net.params.values())),
        }), flush=True)


# -- the driver ---------------------------------------------------------------------------------


def mpiexec() -> str:
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.is_file() else "mpiexec"


def measure(model: str, ranks: int, steps: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    src = Path(__file__).resolve().parents[1] / "src"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    command = [mpiexec(), "-n", str(ranks), sys.executable, __file__, "--worker", model, "--steps", str(steps)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def allreduce_seconds(gradient_bytes: int, workers: int, gbit: float) -> float:
    """A ring allreduce: 2 (p-1) messages of G/p bytes each way, one after another."""
    bandwidth, latency = gbit * 1e9 / 8, LATENCY_SECONDS[gbit]
    return 2 * (workers - 1) * latency + 2 * (workers - 1) / workers * gradient_bytes / bandwidth


def predict(t_sample: float, gradient_bytes: int, batch: int, workers: int, gbit: float, *, per_worker: bool = False) -> float:
    """Predicted speed-up of ``workers`` over one worker (see the module docstring)."""
    communicate = allreduce_seconds(gradient_bytes, workers, gbit)
    if per_worker:
        return workers * batch * t_sample / (batch * t_sample + communicate)
    return batch * t_sample / (batch / workers * t_sample + communicate)


def print_predictions(summary: dict[str, dict[int, dict[str, float]]], compute_us: dict[str, float]) -> None:
    for per_worker, title in ((False, "one global batch B (the recipe's; same result as 1 process)"),
                              (True, "B per worker (global batch p*B: faster, but a different recipe)")):
        print(f"\npredicted speed-up over 1 worker, {title}; ring allreduce")
        print(f"{'model':<5} {'Gbit/s':>6} " + " ".join(f"{p:>6}" for p in WORKERS))
        for model, by_ranks in summary.items():
            one = by_ranks[min(by_ranks)]
            t_sample = compute_us[model] * 1e-6 if model in compute_us else one["step_seconds"] / MODELS[model]
            for gbit in (10, 100):
                speedups = [predict(t_sample, one["gradient_bytes"], MODELS[model], p, gbit, per_worker=per_worker) for p in WORKERS]
                print(f"{model:<5} {gbit:>6} " + " ".join(f"{s:>6.2f}" for s in speedups))
    for model, by_ranks in summary.items():
        one = by_ranks[min(by_ranks)]
        measured = 1e6 * one["step_seconds"] / MODELS[model]
        used = f"; the tables assume {compute_us[model]:g} us/sample (--compute-us)" if model in compute_us else ""
        print(f"{model}: compute {measured:.1f} us/sample (1 rank, 1 thread, measured){used}, "
              f"gradient {one['gradient_bytes'] / 1e6:.2f} MB per step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", choices=sorted(MODELS), help=argparse.SUPPRESS)
    parser.add_argument("--ranks", default="1,2", help="rank counts to compare (default: 1,2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per job (after 5 warm-up steps)")
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--from-json", type=Path, help="print the tables of a run saved with --json; measure nothing")
    parser.add_argument("--compute-us", default="", metavar="MODEL=US,...",
                        help="predict with this compute time per sample instead of the measured one (e.g. a quiet machine's)")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.steps, warmup=5)
        return
    ranks = [int(r) for r in args.ranks.split(",")]
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        runs, (load_before, load_after) = saved["runs"], saved["load"]
        ranks = sorted({r["ranks"] for r in runs})
        args.models = ",".join(dict.fromkeys(r["model"] for r in runs))
    else:
        load_before = os.getloadavg()[0]
        runs = []
        for model in args.models.split(","):
            for _ in range(args.rounds):
                for k in ranks:  # taking turns: a busy spell slows both, not one
                    runs.append(measure(model, k, args.steps))
        load_after = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.2f} before, {load_after:.2f} after"
          + ("  (busy: other work shared the cores; compare ratios within this run only)" if max(load_before, load_after) > 0.5 else ""))
    print(f"{'model':<5} {'ranks':>5} {'samples/s':>10} {'vs 1 rank':>9} {'step ms':>8} {'allreduce ms':>13} "
          f"{'pure ms':>8} {'MB/step':>8}")
    summary: dict[str, dict[int, dict[str, float]]] = {}
    for model in args.models.split(","):
        for k in ranks:
            mine = [r for r in runs if r["model"] == model and r["ranks"] == k]
            med = {key: statistics.median(r[key] for r in mine) for key in
                   ("samples_per_second", "step_seconds", "allreduce_seconds_per_step", "pure_allreduce_seconds")}
            med["gradient_bytes"] = mine[0]["gradient_bytes"]
            summary.setdefault(model, {})[k] = med
            base = summary[model][ranks[0]]["samples_per_second"]
            print(f"{model:<5} {k:>5} {med['samples_per_second']:>10.0f} {med['samples_per_second'] / base:>8.2f}x "
                  f"{1e3 * med['step_seconds']:>8.2f} {1e3 * med['allreduce_seconds_per_step']:>13.3f} "
                  f"{1e3 * med['pure_allreduce_seconds']:>8.3f} {mine[0]['allreduce_bytes_per_step'] / 1e6:>8.2f}")
    compute_us = {k: float(v) for k, v in (item.split("=") for item in args.compute_us.split(",") if item)}
    print_predictions(summary, compute_us)
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "load": [load_before, load_after]}, indent=2))


if __name__ == "__main__":
    main()
