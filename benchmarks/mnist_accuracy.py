"""MNIST accuracy and wall time, chainrule side by side with PyTorch on the same recipes.

Each job runs in its own process (so its peak memory is its own) with the same data, initial
weights, batch order, optimizer and number of steps in both frameworks:

  textbook  TwoLayerNet 784-50-10, SGD lr 0.1, batch 100 drawn with replacement, 10,000 steps
  fixed     MLP 784-256-128-10 (He init), Adam lr 0.001, batch 100, 10 shuffled epochs, 3 seeds
  default   `chainrule train` with its defaults (chainrule only: it is chainrule's own recipe)

Usage:  python benchmarks/mnist_accuracy.py [--jobs textbook,fixed,default] [--seeds 0,1,2] [--json out.json]
Data comes from $CHAINRULE_DATA (or the usual lookup). PyTorch is optional (pip install torch==2.13.0);
without it the comparison columns say "skipped". Timings are wall clock on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

THREADS = int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def batches_textbook(seed: int, n: int, steps: int = 10_000, batch: int = 100) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(steps, batch))


def batches_epochs(seed: int, n: int, epochs: int, batch: int = 100) -> list[np.ndarray]:
    out = []
    for epoch in range(epochs):
        order = np.random.default_rng([seed, epoch]).permutation(n)
        out.extend(order[i : i + batch] for i in range(0, n, batch))
    return out


def chainrule_job(job: str, seed: int) -> dict:
    from chainrule.data import load_mnist
    from chainrule.nets import MultiLayerNet, TwoLayerNet
    from chainrule.optimizers import SGD, Adam
    from chainrule.training import evaluate

    (x, t), (xt, tt) = load_mnist()
    started = time.perf_counter()
    if job == "textbook":
        net = TwoLayerNet(784, 50, 10, rng=seed, dtype=np.float32)
        optimizer, steps = SGD(0.1), batches_textbook(seed, len(x))
    else:
        net = MultiLayerNet(784, [256, 128], 10, weight_init_std="he", rng=seed, dtype=np.float32)
        optimizer, steps = Adam(0.001, torch_compatible=True), batches_epochs(seed, len(x), 10)
    for index in steps:
        optimizer.update(net.params, net.gradient(x[index], t[index]))
    _, accuracy = evaluate(net, xt, tt)
    return {"accuracy": accuracy, "seconds": time.perf_counter() - started, "peak_mib": peak_mib()}


def torch_job(job: str, seed: int) -> dict:
    import torch

    from chainrule.data import load_mnist
    from chainrule.nets import MultiLayerNet, TwoLayerNet

    torch.set_num_threads(THREADS)
    (x, t), (xt, tt) = load_mnist()
    x, t, xt = torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(xt)
    started = time.perf_counter()
    if job == "textbook":
        reference = TwoLayerNet(784, 50, 10, rng=seed, dtype=np.float32)
        steps, make_opt = batches_textbook(seed, len(x)), lambda p: torch.optim.SGD(p, lr=0.1)
    else:
        reference = MultiLayerNet(784, [256, 128], 10, weight_init_std="he", rng=seed, dtype=np.float32)
        steps, make_opt = batches_epochs(seed, len(x), 10), lambda p: torch.optim.Adam(p, lr=0.001)
    weights = [reference.params[k] for k in reference.params]
    layers = []
    for i in range(0, len(weights), 2):  # the same initial weights, transposed to torch's (out, in)
        linear = torch.nn.Linear(*weights[i].shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights[i].T.copy()))
            linear.bias.copy_(torch.from_numpy(weights[i + 1]))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    optimizer = make_opt(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    for index in steps:
        index = torch.from_numpy(index)
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x[index]), t[index]).backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(xt).argmax(1).numpy() == tt).mean()
    return {"accuracy": float(accuracy), "seconds": time.perf_counter() - started, "peak_mib": peak_mib()}


def default_job(seed: int) -> dict:
    import tempfile

    from chainrule.cli.main import main

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        code = main(["train", "--seed", str(seed), "--output-dir", tmp, "-v", "0"])
        seconds = time.perf_counter() - started
        metrics = json.load(open(os.path.join(tmp, "metrics.json")))
        config = json.load(open(os.path.join(tmp, "config.json")))
    assert code == 0
    return {"accuracy": metrics["test_acc"][-1], "seconds": seconds, "peak_mib": peak_mib(),
            "recipe": f"{config['model']} {config['hidden_sizes']} {config['training']}"}


def run_child(framework: str, job: str, seed: int) -> dict | None:
    command = [sys.executable, __file__, "--child", framework, job, str(seed)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["?"]
        if framework == "torch" and "No module named 'torch'" in done.stderr:
            return None
        raise RuntimeError(f"{framework} {job} seed {seed} failed: {tail[0]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", default="textbook,fixed,default")
    parser.add_argument("--seeds", default="0,1,2", help="seeds for the fixed recipe (the others use the first)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        framework, job, seed = args.child
        result = {"chainrule": lambda: chainrule_job(job, int(seed)), "torch": lambda: torch_job(job, int(seed)),
                  "default": lambda: default_job(int(seed))}[framework]()
        print(json.dumps(result))
        return

    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict = {"threads": THREADS}
    print(f"MNIST, {THREADS} threads. Each row: test accuracy, wall time, peak memory (own process).")
    for job in args.jobs.split(","):
        job_seeds = seeds if job == "fixed" else seeds[:1]
        rows = {}
        for framework in (["default"] if job == "default" else ["chainrule", "torch"]):
            runs = [run_child(framework, job, s) for s in job_seeds]
            if any(r is None for r in runs):
                rows[framework] = None
                print(f"{job:<9} {framework:<10} skipped (PyTorch not installed: pip install torch==2.13.0)")
                continue
            accuracy = statistics.mean(r["accuracy"] for r in runs)
            seconds = statistics.median(r["seconds"] for r in runs)
            peak = max(r["peak_mib"] for r in runs)
            rows[framework] = {"runs": runs, "mean_accuracy": accuracy, "median_seconds": seconds, "peak_mib": peak}
            print(f"{job:<9} {framework:<10} acc {100 * accuracy:6.2f}% (mean of {len(runs)})  "
                  f"time {seconds:6.1f} s (median)  peak {peak:6.0f} MiB" + (f"  {runs[0].get('recipe', '')}" if job == "default" else ""))
        if rows.get("chainrule") and rows.get("torch"):
            c, p = rows["chainrule"], rows["torch"]
            print(f"{job:<9} chainrule - torch: accuracy {100 * (c['mean_accuracy'] - p['mean_accuracy']):+.2f} points, "
                  f"speed ratio torch/chainrule time {p['median_seconds'] / c['median_seconds']:.2f} (>1: chainrule faster)")
        results[job] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
