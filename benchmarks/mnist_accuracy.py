"""MNIST accuracy and wall time, chainrule side by side with PyTorch on the same recipes.

Each job runs in its own process (so its peak memory is its own) with the same data, initial
weights, batch order, optimizer and number of steps in both frameworks:

  textbook  TwoLayerNet 784-50-10, SGD lr 0.1, batch 100 drawn with replacement, 10,000 steps
  fixed     MLP 784-256-128-10 (He init), Adam lr 0.001, batch 100, 10 shuffled epochs, 3 seeds
  default   `chainrule train` with its defaults (chainrule only: it is chainrule's own recipe)
  cnn       SimpleConvNet (conv 30x5x5, pool 2, affine 100, affine 10), Adam lr 0.001, batch 100,
            --cnn-epochs shuffled epochs (not in the default job list: minutes per epoch pair)
  deep-cnn  DeepConvNet (dropout masks differ between frameworks), as cnn

Usage:  python benchmarks/mnist_accuracy.py [--jobs textbook,fixed,default,cnn] [--seeds 0,1,2] [--cnn-epochs 4] [--json out.json]
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


def batches_epoch(seed: int, epoch: int, n: int, batch: int = 100) -> list[np.ndarray]:
    """One epoch of shuffled mini-batches, ordered as chainrule's Trainer orders them."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i : i + batch] for i in range(0, n, batch)]


EPOCHS = {"fixed": 10, "cnn": 4, "deep-cnn": 4}


def reference_net(job: str, seed: int):
    """The chainrule network of a job; the PyTorch side copies its initial weights."""
    from chainrule.nets import DeepConvNet, MultiLayerNet, SimpleConvNet, TwoLayerNet

    if job == "textbook":
        return TwoLayerNet(784, 50, 10, rng=seed, dtype=np.float32)
    if job == "fixed":
        return MultiLayerNet(784, [256, 128], 10, weight_init_std="he", rng=seed, dtype=np.float32)
    if job == "cnn":
        return SimpleConvNet(rng=seed, dtype=np.float32)
    return DeepConvNet(rng=seed, dtype=np.float32)


def step_plan(job: str, seed: int, n: int) -> list[list[np.ndarray]]:
    """Mini-batch indices grouped by epoch (the textbook run counts as one 'epoch')."""
    if job == "textbook":
        return [list(batches_textbook(seed, n))]
    return [batches_epoch(seed, epoch, n) for epoch in range(EPOCHS[job])]


def chainrule_job(job: str, seed: int) -> dict:
    from chainrule.data import load_mnist
    from chainrule.optimizers import SGD, Adam
    from chainrule.training import evaluate

    (x, t), (xt, tt) = load_mnist(flatten=job not in ("cnn", "deep-cnn"))
    net = reference_net(job, seed)
    optimizer = SGD(0.1) if job == "textbook" else Adam(0.001, torch_compatible=True)
    started, epoch_seconds, epoch_accuracy = time.perf_counter(), [], []
    for epoch, steps in enumerate(step_plan(job, seed, len(x))):
        for layer in net.layers.values():  # dropout masks: seeded per epoch, as the Trainer does
            if hasattr(layer, "rng"):
                layer.rng = np.random.default_rng([seed, epoch])
        epoch_started = time.perf_counter()
        net.train()
        for index in steps:
            optimizer.update(net.params, net.gradient(x[index], t[index]))
        epoch_seconds.append(time.perf_counter() - epoch_started)
        epoch_accuracy.append(evaluate(net, xt, tt, batch_size=500)[1])
    return {"accuracy": epoch_accuracy[-1], "seconds": time.perf_counter() - started, "peak_mib": peak_mib(),
            "epoch_seconds": epoch_seconds, "epoch_accuracy": epoch_accuracy}


def torch_model(reference):
    """The same network in PyTorch, layer for layer, with the reference's initial weights."""
    import torch

    modules = []
    for layer in reference.layers.values():
        kind = type(layer).__name__
        if kind in ("Affine", "Convolution"):
            W, b = layer.params["W"], layer.params["b"]
            if kind == "Affine":
                module = torch.nn.Linear(*W.shape)
                weight = W.T  # chainrule keeps (in, out), torch (out, in)
                if modules and not isinstance(modules[-1], (torch.nn.Linear, torch.nn.ReLU, torch.nn.Dropout)):
                    modules.append(torch.nn.Flatten())
            else:
                module = torch.nn.Conv2d(W.shape[1], W.shape[0], W.shape[2:], stride=layer.stride, padding=layer.pad)
                weight = W
            with torch.no_grad():
                module.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
                module.bias.copy_(torch.from_numpy(b))
            modules.append(module)
        elif kind == "Relu":
            modules.append(torch.nn.ReLU())
        elif kind == "Pooling":
            modules.append(torch.nn.MaxPool2d(layer.pool_h, layer.stride))
        elif kind == "Dropout":
            modules.append(torch.nn.Dropout(layer.dropout_ratio))
        else:
            raise ValueError(f"no PyTorch counterpart for {kind}")
    return torch.nn.Sequential(*modules)


def torch_job(job: str, seed: int) -> dict:
    import torch

    from chainrule.data import load_mnist

    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    (x, t), (xt, tt) = load_mnist(flatten=job not in ("cnn", "deep-cnn"))
    x, t, xt = torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(xt)
    model = torch_model(reference_net(job, seed))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1) if job == "textbook" else torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    started, epoch_seconds, epoch_accuracy = time.perf_counter(), [], []
    for steps in step_plan(job, seed, len(x)):
        epoch_started = time.perf_counter()
        model.train()
        for index in steps:
            index = torch.from_numpy(index)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x[index]), t[index]).backward()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - epoch_started)
        model.eval()
        with torch.no_grad():
            predicted = torch.cat([model(xt[i : i + 500]).argmax(1) for i in range(0, len(xt), 500)])
        epoch_accuracy.append(float((predicted.numpy() == tt).mean()))
    return {"accuracy": epoch_accuracy[-1], "seconds": time.perf_counter() - started, "peak_mib": peak_mib(),
            "epoch_seconds": epoch_seconds, "epoch_accuracy": epoch_accuracy}


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
    command = [sys.executable, __file__, "--child", framework, job, str(seed), "--cnn-epochs", str(EPOCHS["cnn"])]
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
    parser.add_argument("--cnn-epochs", type=int, default=4, help="epochs for the cnn and deep-cnn jobs")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    EPOCHS["cnn"] = EPOCHS["deep-cnn"] = args.cnn_epochs
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
            if job in ("cnn", "deep-cnn"):
                print(f"{'':<20} per epoch: acc " + " ".join(f"{100 * a:.2f}" for a in runs[0]["epoch_accuracy"])
                      + "  s " + " ".join(f"{v:.1f}" for v in runs[0]["epoch_seconds"]))
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
