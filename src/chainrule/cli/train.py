"""``chainrule train``: train a network on MNIST or Fashion-MNIST and save everything in a run directory."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


from ..checkpoint import load_checkpoint, save_checkpoint
from ..errors import ChainruleError, CheckpointError, UsageError
from ..models import IMAGE_MODELS, MODELS, build_model, model_config
from ..optimizers import OPTIMIZERS, make_optimizer
from ..plots import INSTALL_HINT, matplotlib_available, plot_learning_curve
from ..runs import fresh_run_dir, latest_run_dir, load_history, save_history
from ..training import Trainer, make_schedule
from ..training.schedules import SCHEDULES
from .datasets import add_data_arguments, data_location, load_dataset
from .types import (
    available_backend, non_negative_float, positive_float, positive_int, probability, seed, size_list,
)

def _recipes_text() -> str:
    return "\n".join(
        f"  {name:<10} " + ", ".join(f"{k} {v}" for k, v in recipe.items()) for name, recipe in RECIPES.items()
    )


EPILOG = """\
examples:
  chainrule train                                   the default recipe: an MLP on MNIST, about 98.5%
  chainrule train --model two-layer                 the textbook's run: SGD lr 0.1, batch 100, ~10,000 steps
  chainrule train --model cnn                       SimpleConvNet: conv 30x5x5, pool, affine 100, affine 10 (~99.1%)
  chainrule train --dataset fashion-mnist --epochs 5 --output-dir runs/fashion
  chainrule train --resume --epochs 20              continue the latest run up to 20 epochs
  chainrule evaluate runs/mnist-mlp                 accuracy and confusion matrix of a saved run
  mpiexec -n 4 chainrule train --distributed        data-parallel on 4 processes (the mpi extra; docs/distributed.md)

Data is read from --data-dir alone when it is given; otherwise from $CHAINRULE_DATA or the user
cache, and downloaded (with checksum checks) if it is in neither. The first line says which folder.
"""

# Each model's default recipe; any option given on the command line overrides its part.
# mlp is chainrule's own recipe (benchmarks/mnist_accuracy.py measures it): 784-512-256-10 with
# Adam at twice its usual rate on batches of 200, decayed along a cosine over 10 epochs.
RECIPES: dict[str, dict[str, Any]] = {
    "mlp": {"optimizer": "adam", "lr": 0.002, "batch_size": 200, "epochs": 10, "schedule": "cosine", "weight_decay": 0.0},
    "two-layer": {"optimizer": "sgd", "lr": 0.1, "batch_size": 100, "epochs": 17, "schedule": "constant", "weight_decay": 0.0},
    # SimpleConvNet, He init: 98.88% after 10 epochs without L2, 99.13% with it (train accuracy
    # reached 100% without it: the net overfits, and the decay is what holds it back).
    "cnn": {"optimizer": "adam", "lr": 0.001, "batch_size": 100, "epochs": 10, "schedule": "cosine", "weight_decay": 3e-4},
    "deep-cnn": {"optimizer": "adam", "lr": 0.001, "batch_size": 100, "epochs": 10, "schedule": "cosine", "weight_decay": 0.0},
}
DEFAULT_MODEL = "mlp"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network on MNIST or Fashion-MNIST",
        description="Train a network with mini-batch gradient descent (forward, backward by the chain "
        "rule, optimizer update), evaluating on the test set after every epoch. Writes a checkpoint, "
        "metrics (JSON, CSV) and a learning-curve PNG into the run directory.",
        epilog=EPILOG + "\nrecipes (defaults per model):\n" + _recipes_text() + "\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    model = parser.add_argument_group("model")
    model.add_argument("--model", choices=MODELS, default=DEFAULT_MODEL, help="network (default: %(default)s)")
    model.add_argument("--hidden-sizes", type=size_list, metavar="N,N,...", help="hidden layer sizes (default: 50 for two-layer, 512,256 for mlp)")
    model.add_argument("--activation", choices=["relu", "sigmoid", "tanh"], help="mlp activation (default: relu)")
    model.add_argument("--weight-init", metavar="he|xavier|STD", type=_weight_init,
                       help="initial weight scale: he (ReLU), xavier (sigmoid/tanh) or a standard deviation "
                       "(default: by activation for mlp and cnn, 0.01 for two-layer as in the book)")
    model.add_argument("--dropout", type=probability, metavar="RATIO", help="mlp: dropout after each hidden layer (deep-cnn: default 0.5)")
    model.add_argument("--batchnorm", action="store_true", help="mlp: batch normalisation before each hidden activation")
    model.add_argument("--weight-decay", type=non_negative_float,
                       help="L2 weight decay λ: the optimizer adds λ·W to the gradient of every weight "
                       "matrix and convolution kernel, not biases (default: the recipe's)")
    model.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="(default: %(default)s)")
    fit = parser.add_argument_group("training (defaults: the model's recipe, listed below)")
    fit.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="update rule")
    fit.add_argument("--lr", type=positive_float, help="learning rate (the optimizer's own default when the recipe's optimizer is replaced)")
    fit.add_argument("--schedule", choices=sorted(SCHEDULES), help="learning-rate schedule over the epochs")
    fit.add_argument("--epochs", type=positive_int, help="total number of epochs (with --resume: how far to continue)")
    fit.add_argument("--batch-size", type=positive_int, help="samples per mini-batch")
    fit.add_argument("--seed", type=seed, default=0, help="seed for weights, shuffling and dropout; same seed, same weights (default: 0)")
    fit.add_argument("--limit", type=positive_int, metavar="N", help="train on the first N training samples only (quick trials)")
    fit.add_argument("--backend", type=available_backend, choices=["numpy", "cupy", "auto"], default="numpy", help="array backend: cupy runs on an NVIDIA GPU (default: numpy)")
    fit.add_argument("-v", "--verbose", type=int, choices=[0, 1, 2], default=1, help="0 quiet, 1 progress bars, 2 one line per epoch (default: 1)")
    add_data_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--output-dir", type=Path, help="run directory (default: runs/DATASET-MODEL, numbered if taken)")
    out.add_argument("--resume", action="store_true", help="continue from the checkpoint in --output-dir (default: the latest run of this dataset and model)")
    parallel = parser.add_argument_group("distributed (data-parallel on MPI: start under mpiexec; needs the mpi extra)")
    parallel.add_argument("--distributed", action="store_true",
                          help="train one model on all the processes mpiexec started: each computes the gradient of its "
                          "share of every batch, one Allreduce averages them; --batch-size stays the global batch, "
                          "rank 0 alone prints and writes the run directory, each rank uses cores/ranks BLAS threads")
    parallel.add_argument("--sync-batchnorm", action="store_true",
                          help="with --batchnorm: batch statistics over the global batch (as one process would), "
                          "not each rank's share (the default, which needs no extra communication)")
    parser.set_defaults(func=run)


def _weight_init(text: str) -> str | float:
    if text.lower() in ("he", "xavier", "relu", "sigmoid", "tanh"):
        return text.lower()
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected he, xavier or a positive finite standard deviation, got {text!r}"
        ) from None


# Options that only some models have; anything else is refused rather than silently ignored.
MODEL_OPTIONS = {
    "--activation": ("activation", ("mlp",)),
    "--batchnorm": ("batchnorm", ("mlp",)),
    "--dropout": ("dropout", ("mlp", "deep-cnn")),
}
SINGLE_HIDDEN = ("two-layer", "cnn", "deep-cnn")


def _check_options(args: argparse.Namespace) -> None:
    for flag, (attribute, models) in MODEL_OPTIONS.items():
        if getattr(args, attribute) not in (None, False) and args.model not in models:
            raise UsageError(f"{flag} applies to --model {' or '.join(models)}, not {args.model}")
    if args.hidden_sizes and len(args.hidden_sizes) > 1 and args.model in SINGLE_HIDDEN:
        raise UsageError(f"--model {args.model} has one hidden layer; got --hidden-sizes {args.hidden_sizes}")
    if args.sync_batchnorm and not args.distributed:
        raise UsageError("--sync-batchnorm applies to --distributed training")


def _recipe(args: argparse.Namespace) -> dict[str, Any]:
    """The model's recipe with every option the user gave put over it."""
    recipe = dict(RECIPES[args.model])
    if args.optimizer and args.optimizer != recipe["optimizer"]:
        recipe["lr"] = None  # another optimizer starts from its own default rate
    given = {"optimizer": args.optimizer, "lr": args.lr, "schedule": args.schedule, "epochs": args.epochs,
             "batch_size": args.batch_size, "weight_decay": args.weight_decay}
    recipe.update({k: v for k, v in given.items() if v is not None})
    return recipe


def _config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    config = model_config(
        args.model, hidden_sizes=args.hidden_sizes, dtype=args.dtype, activation=args.activation,
        dropout_ratio=args.dropout,
        weight_init_std=args.weight_init,
        use_batchnorm=args.batchnorm or None,
    )
    config["dataset"] = args.dataset
    config["training"] = {**_recipe(args), "seed": args.seed, "limit": args.limit}
    return config


def _run_dir(args: argparse.Namespace) -> Path:
    name = f"{args.dataset}-{args.model}"
    if args.output_dir is not None:
        return args.output_dir
    if args.resume:
        found = latest_run_dir("runs", name)
        if found is None:
            raise CheckpointError(f"--resume: no run with a checkpoint under runs/{name}*; give --output-dir")
        return found
    return fresh_run_dir("runs", name)


def run(args: argparse.Namespace) -> int:
    _check_options(args)
    communicator = _start_distributed(args) if args.distributed else None
    try:
        return _run(args, communicator)
    except ChainruleError as error:
        if communicator is None or communicator.size == 1:
            raise
        from ..distributed.runtime import fail_job  # every rank must stop, or the others wait forever

        fail_job(communicator, f"chainrule train: error: {error}", 2 if isinstance(error, UsageError) else 1)
        raise  # not reached


def _run(args: argparse.Namespace, communicator: Any) -> int:
    root = communicator is None or communicator.is_root  # rank 0 alone reads and writes the run directory
    run_dir = _run_dir(args) if root else None
    history = None
    if not root:
        config = None
    elif args.resume:
        model_state, optimizer_state, config = load_checkpoint(run_dir)
        if args.epochs:  # the one thing a resume may change: how far to go
            config["training"]["epochs"] = args.epochs
        history = load_history(run_dir)
    else:
        config = _config_from_args(args)
    if communicator is not None:
        from ..distributed import broadcast_from_root

        config = broadcast_from_root(communicator, config)
        done = broadcast_from_root(communicator, len(history) if history is not None else 0)
    else:
        done = len(history) if history is not None else 0
    settings = config["training"]
    if args.resume and done >= settings["epochs"]:
        if root:
            print(f"{run_dir} already has {done} epochs; ask for more with --epochs", file=sys.stderr)
        return 0
    (x_train, t_train), (x_test, t_test) = _load_data_in_turn(config, args, communicator)
    if settings.get("limit"):
        x_train, t_train = x_train[: settings["limit"]], t_train[: settings["limit"]]

    net = build_model(config, rng=settings["seed"], backend=args.backend)
    optimizer = make_optimizer(settings["optimizer"], settings["lr"], weight_decay=settings.get("weight_decay", 0.0))
    settings["lr"] = optimizer.lr
    if args.resume and root:
        net.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state, params=net.params)
    if args.sync_batchnorm:
        from ..distributed import synchronize_batch_norm

        synchronize_batch_norm(net, communicator)
    if root:
        run_dir.mkdir(parents=True, exist_ok=True)

    def checkpoint(epoch: int, history: Any) -> None:
        save_checkpoint(run_dir, net.state_dict(), optimizer.state_dict(), config)
        save_history(run_dir, history)

    trainer = Trainer(
        net, optimizer, epochs=settings["epochs"], batch_size=settings["batch_size"], seed=settings["seed"],
        lr_schedule=make_schedule(settings["schedule"], optimizer.lr if not args.resume else settings["lr"], settings["epochs"]),
        verbose=args.verbose, communicator=communicator,
    )
    if args.verbose:
        action = f"resuming at epoch {done + 1}" if done else "training"
        print(f"{action}: {config['model']} {config['hidden_sizes']} on {config['dataset']} "
              f"({len(x_train)} train / {len(x_test)} test) from {data_location(config['dataset'], args)}, "
              f"{settings['optimizer']} lr {settings['lr']:g}, "
              f"{config['dtype']}, run directory {run_dir}")
    started = time.perf_counter()
    history = trainer.fit(x_train, t_train, x_test, t_test, history=history, on_epoch_end=checkpoint if root else None)
    elapsed = time.perf_counter() - started
    if not root:
        return 0
    _write_figures(run_dir, history, config, args.verbose)
    summary = {"test_acc": history.test_acc[-1], "test_loss": history.test_loss[-1], "epochs": len(history), "seconds": elapsed}
    print(f"test accuracy {100 * summary['test_acc']:.2f}% after {len(history)} epochs "
          f"({elapsed:.1f} s this session); saved to {run_dir}")
    if args.verbose == 0:
        print(json.dumps(summary))
    return 0


# -- --distributed ------------------------------------------------------------------------------


def _start_distributed(args: argparse.Namespace) -> Any:
    """The communicator of an ``mpiexec`` job, set up so the job behaves as one program.

    A failing rank ends the job; each rank gets its share of the cores' BLAS threads; only rank 0
    prints (the others' standard output goes nowhere; errors still reach standard error).
    """
    from ..distributed import Communicator, abort_on_failure, set_blas_threads

    communicator = Communicator()
    abort_on_failure(communicator)
    threads = set_blas_threads(communicator)
    processes = communicator.processes()
    if not communicator.is_root:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    elif args.verbose:
        each = f"{threads} BLAS thread{'s' if threads != 1 else ''} each" if threads else "BLAS threads not limited"
        where = ", ".join(f"{rank}: pid {pid} on {host}" for rank, (host, pid) in enumerate(processes))
        print(f"distributed: {communicator.size} ranks, {each} (ranks {where})", flush=True)
    return communicator


def _load_data_in_turn(config: dict[str, Any], args: argparse.Namespace, communicator: Any) -> Any:
    """Rank 0 loads (and downloads, if need be) first; the others then read what it cached."""
    flatten, dtype = config["model"] not in IMAGE_MODELS, config["dtype"]
    if communicator is None:
        return load_dataset(config["dataset"], args, flatten=flatten, dtype=dtype)
    data = load_dataset(config["dataset"], args, flatten=flatten, dtype=dtype) if communicator.is_root else None
    communicator.barrier()
    return data if data is not None else load_dataset(config["dataset"], args, flatten=flatten, dtype=dtype)


def _write_figures(run_dir: Path, history: Any, config: dict[str, Any], verbose: int) -> None:
    if not matplotlib_available():
        print(f"plots skipped: {INSTALL_HINT}", file=sys.stderr)
        return
    title = f"{config['model']} {config['hidden_sizes']} on {config['dataset']}"
    plot_learning_curve(history, run_dir / "learning_curve.png", title=title)
    if verbose:
        print(f"learning curve: {run_dir / 'learning_curve.png'}")
