"""MNIST accuracy and wall time, chainrule side by side with PyTorch on the same recipes.

Each job runs in its own process (so its peak memory is its own) with the same data, initial
weights, batch order, optimizer and number of steps in both frameworks:

  textbook  TwoLayerNet 784-50-10, SGD lr 0.1, batch 100 drawn with replacement, 10,000 steps
  fixed     MLP 784-256-128-10 (He init), Adam lr 0.001, batch 100, 10 shuffled epochs, 3 seeds
  default   `chainrule train` with its defaults (chainrule only: it is chainrule's own recipe)
  cnn       SimpleConvNet (conv 30x5x5, pool 2, affine 100, affine 10), Adam lr 0.001, batch 100,
            --cnn-epochs shuffled epochs (not in the default job list: minutes per epoch pair)
  deep-cnn  DeepConvNet (dropout masks differ between frameworks), as cnn
  cnn-recipe  `chainrule train --model cnn`'s recipe (Adam, cosine decay per epoch, L2 weight decay
            on weights only, He init) on all 60,000 training images (as --validation-split 0), for
            --recipe-epochs epochs; prints the training time until test accuracy first reaches 99%
  cnn-cli   what the command does (chainrule.train, the call it makes), `chainrule train --model cnn --validation-split 0 --epochs
            --recipe-epochs` (chainrule only): its wall time and final test accuracy

Usage:  python benchmarks/mnist_accuracy.py [--jobs textbook,fixed,default,cnn,cnn-recipe,cnn-cli] [--seeds 0,1,2]
                                           [--cnn-epochs 4] [--recipe-epochs 5] [--json out.json]
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


IMAGE_JOBS = ("cnn", "deep-cnn", "cnn-recipe")
EPOCHS = {"fixed": 10, "cnn": 4, "deep-cnn": 4, "cnn-recipe": 5}
TARGET = 0.99  # the cnn-recipe job reports the training time until test accuracy first reaches this


def cnn_recipe() -> dict:
    from chainrule.recipes import RECIPES

    return RECIPES["cnn"]


def reference_net(job: str, seed: int):
    """The chainrule network of a job; the PyTorch side copies its initial weights."""
    from chainrule.nets import DeepConvNet, MultiLayerNet, SimpleConvNet, TwoLayerNet

    if job == "textbook":
        return TwoLayerNet(784, 50, 10, rng=seed, dtype=np.float32)
    if job == "fixed":
        return MultiLayerNet(784, [256, 128], 10, weight_init_std="he", rng=seed, dtype=np.float32)
    if job == "cnn":
        return SimpleConvNet(rng=seed, dtype=np.float32)
    if job == "cnn-recipe":  # as `chainrule train --model cnn` builds it
        from chainrule.models import build_model, model_config

        return build_model(model_config("cnn"), rng=seed)
    return DeepConvNet(rng=seed, dtype=np.float32)


def step_plan(job: str, seed: int, n: int) -> list[list[np.ndarray]]:
    """Mini-batch indices grouped by epoch (the textbook run counts as one 'epoch')."""
    if job == "textbook":
        return [list(batches_textbook(seed, n))]
    return [batches_epoch(seed, epoch, n) for epoch in range(EPOCHS[job])]


def chainrule_job(job: str, seed: int) -> dict:
    from chainrule.data import load_mnist
    from chainrule.optimizers import SGD, Adam, make_optimizer
    from chainrule.training import evaluate
    from chainrule.training.schedules import make_schedule

    (x, t), (xt, tt) = load_mnist(flatten=job not in IMAGE_JOBS)
    net = reference_net(job, seed)
    optimizer = SGD(0.1) if job == "textbook" else Adam(0.001, torch_compatible=True)
    if job == "cnn-recipe":
        recipe = cnn_recipe()
        optimizer = make_optimizer(recipe["optimizer"], recipe["lr"], weight_decay=recipe["weight_decay"])
        schedule = make_schedule(recipe["schedule"], recipe["lr"], EPOCHS[job])
    started, epoch_seconds, epoch_accuracy = time.perf_counter(), [], []
    for epoch, steps in enumerate(step_plan(job, seed, len(x))):
        if job == "cnn-recipe":
            optimizer.lr = schedule(epoch)
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

    modules, images = [], False  # images: the data between layers is still (N, C, H, W)
    for layer in reference.layers.values():
        kind = type(layer).__name__
        if kind in ("Affine", "Convolution"):
            W, b = layer.params["W"], layer.params["b"]
            if kind == "Affine":
                module = torch.nn.Linear(*W.shape)
                weight = W.T  # chainrule keeps (in, out), torch (out, in)
                if images:
                    modules.append(torch.nn.Flatten())
                    images = False
            else:
                module = torch.nn.Conv2d(W.shape[1], W.shape[0], W.shape[2:], stride=layer.stride, padding=layer.pad)
                weight = W
                images = True
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
    (x, t), (xt, tt) = load_mnist(flatten=job not in IMAGE_JOBS)
    x, t, xt = torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(xt)
    model = torch_model(reference_net(job, seed))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1) if job == "textbook" else torch.optim.Adam(model.parameters(), lr=0.001)
    if job == "cnn-recipe":  # L2 on weights only, as chainrule's weight_decay (which skips biases)
        recipe = cnn_recipe()
        weights = [p for p in model.parameters() if p.ndim >= 2]
        biases = [p for p in model.parameters() if p.ndim < 2]
        optimizer = torch.optim.Adam([{"params": weights, "weight_decay": recipe["weight_decay"]}, {"params": biases}],
                                     lr=recipe["lr"], eps=1e-7)
        from chainrule.training.schedules import make_schedule

        schedule = make_schedule(recipe["schedule"], recipe["lr"], EPOCHS[job])
    loss_fn = torch.nn.CrossEntropyLoss()
    started, epoch_seconds, epoch_accuracy = time.perf_counter(), [], []
    for epoch, steps in enumerate(step_plan(job, seed, len(x))):
        if job == "cnn-recipe":
            for group in optimizer.param_groups:
                group["lr"] = schedule(epoch)
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


def default_job(seed: int, **options: object) -> dict:
    """What `chainrule train` does (its default recipe, or ``options``), through the library call
    the command makes (:func:`chainrule.train`), timed end to end.

    ``training_seconds`` is the training time alone (without data loading and the final
    evaluation), as the command reports it.
    """
    import tempfile

    import chainrule

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = chainrule.train(seed=seed, output_dir=tmp, verbose=0, **options)
        seconds = time.perf_counter() - started
    config = result.config
    return {"accuracy": result.test_accuracy, "seconds": seconds, "training_seconds": result.seconds,
            "peak_mib": peak_mib(), "recipe": f"{config['model']} {config['hidden_sizes']} {config['training']}"}


def positive_int(text: str) -> int:
    """A count given on the command line: a one-line error (exit 2) for anything else."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


JOBS = ("textbook", "fixed", "default", "cnn", "deep-cnn", "cnn-recipe", "cnn-cli")


def job_list(text: str) -> list[str]:
    jobs = [job for job in text.split(",") if job]
    unknown = [job for job in jobs if job not in JOBS]
    if unknown or not jobs:
        raise argparse.ArgumentTypeError(f"unknown job(s) {unknown or text!r}: choose from {','.join(JOBS)}")
    return jobs


def time_to_target(run: dict) -> float | None:
    """Training seconds (evaluation excluded) until the first epoch whose test accuracy reaches TARGET."""
    elapsed = 0.0
    for seconds, accuracy in zip(run["epoch_seconds"], run["epoch_accuracy"]):
        elapsed += seconds
        if accuracy >= TARGET:
            return elapsed
    return None


def run_child(framework: str, job: str, seed: int) -> dict | None:
    command = [sys.executable, __file__, "--child", framework, job, str(seed), "--cnn-epochs", str(EPOCHS["cnn"]),
               "--recipe-epochs", str(EPOCHS["cnn-recipe"])]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["?"]
        if framework == "torch" and "No module named 'torch'" in done.stderr:
            return None
        raise RuntimeError(f"{framework} {job} seed {seed} failed: {tail[0]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=job_list, default="textbook,fixed,default", help=f"comma-separated, from {','.join(JOBS)}")
    parser.add_argument("--seeds", default="0,1,2", help="seeds for the fixed recipe (the others use the first)")
    parser.add_argument("--cnn-epochs", type=positive_int, default=4, help="epochs for the cnn and deep-cnn jobs")
    parser.add_argument("--recipe-epochs", type=positive_int, default=None,
                        help="epochs for the cnn-recipe and cnn-cli jobs (default: the cnn recipe's own)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    EPOCHS["cnn"] = EPOCHS["deep-cnn"] = args.cnn_epochs
    EPOCHS["cnn-recipe"] = args.recipe_epochs or cnn_recipe()["epochs"]
    if args.child:
        framework, job, seed = args.child
        cli_options = {"model": "cnn", "validation_split": 0.0, "epochs": EPOCHS["cnn-recipe"]}
        result = {"chainrule": lambda: chainrule_job(job, int(seed)), "torch": lambda: torch_job(job, int(seed)),
                  "default": lambda: default_job(int(seed), **(cli_options if job == "cnn-cli" else {}))}[framework]()
        print(json.dumps(result))
        return

    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict = {"threads": THREADS}
    print(f"MNIST, {THREADS} threads. Each row: test accuracy, wall time, peak memory (own process).")
    for job in args.jobs:
        job_seeds = seeds if job == "fixed" else seeds[:1]
        rows = {}
        for framework in (["default"] if job in ("default", "cnn-cli") else ["chainrule", "torch"]):
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
                  f"time {seconds:6.1f} s (median)  peak {peak:6.0f} MiB"
                  + (f"  of which training {runs[0]['training_seconds']:.1f} s" if "training_seconds" in runs[0] else "")
                  + (f"  {runs[0].get('recipe', '')}" if framework == "default" else ""))
            if job in ("cnn", "deep-cnn", "cnn-recipe"):
                print(f"{'':<20} per epoch: acc " + " ".join(f"{100 * a:.2f}" for a in runs[0]["epoch_accuracy"])
                      + "  s " + " ".join(f"{v:.1f}" for v in runs[0]["epoch_seconds"]))
            if job == "cnn-recipe":
                reached = time_to_target(runs[0])
                rows[framework]["seconds_to_target"] = reached
                print(f"{'':<20} training time until test accuracy >= {100 * TARGET:.1f}%: "
                      + (f"{reached:.1f} s" if reached is not None else f"not reached in {len(runs[0]['epoch_accuracy'])} epochs"))
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
