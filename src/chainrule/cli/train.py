"""``chainrule train``: train a network on MNIST or Fashion-MNIST and save everything in a run directory."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


from ..distributed import broadcast_from_root, synchronize_batch_norm
from ..errors import ChainruleError, CheckpointError, RunDirError, UsageError
from ..models import IMAGE_MODELS, MODELS, build_model, model_config
from ..optimizers import OPTIMIZERS, make_optimizer
from ..plots import INSTALL_HINT, matplotlib_available, plot_learning_curve
from ..rundir import BEST, RunDir
from ..threads import set_threads
from ..training import History, Trainer, evaluate, make_schedule, split_validation
from ..training.schedules import SCHEDULES
from .datasets import add_data_arguments, data_location, load_dataset
from .types import (
    available_backend, float_in_range, non_negative_float, positive_float, positive_int, probability, seed, size_list,
)

def _recipes_text() -> str:
    return "\n".join(
        f"  {name:<10} " + ", ".join(f"{k} {v}" for k, v in recipe.items()) for name, recipe in RECIPES.items()
    )


EPILOG = """\
examples:
  chainrule train                                   the default recipe: an MLP on MNIST, about 98.5%
  chainrule train --model two-layer                 the textbook's run: SGD lr 0.1, batch 100, ~10,000 steps
  chainrule train --model cnn                       SimpleConvNet: conv 30x5x5, pool, affine 100, affine 10 (~99.0%, 1 min)
  chainrule train --dataset fashion-mnist --epochs 5 --output-dir runs/fashion
  chainrule train --resume --epochs 20              continue the latest run up to 20 epochs
  chainrule evaluate runs/mnist-mlp                 accuracy and confusion matrix of a saved run
  chainrule evaluate runs/mnist-mlp --checkpoint best   the same for its best validation epoch
  mpiexec -n 4 chainrule train --distributed        data-parallel on 4 processes (the mpi extra; docs/distributed.md)

Data is read from --data-dir alone when it is given; otherwise from $CHAINRULE_DATA or the user
cache, and downloaded (with checksum checks) if it is in neither. The first line says which folder.

run directory: checkpoint.npz is the run (weights, optimizer state, epoch, step, history, config),
written atomically after every epoch; best.npz is the epoch with the lowest validation loss;
config.json, metrics.json/.csv and learning_curve.png are derived from it. One process at a time
may write a run directory (a lock); a run killed at any instant resumes from its last checkpoint.
"""

# Each model's default recipe; any option given on the command line overrides its part.
# mlp is chainrule's own recipe (benchmarks/mnist_accuracy.py measures it): 784-512-256-10 with
# Adam at twice its usual rate on batches of 200, decayed along a cosine over 10 epochs.
RECIPES: dict[str, dict[str, Any]] = {
    "mlp": {"optimizer": "adam", "lr": 0.002, "batch_size": 200, "epochs": 10, "schedule": "cosine", "weight_decay": 0.0},
    "two-layer": {"optimizer": "sgd", "lr": 0.1, "batch_size": 100, "epochs": 17, "schedule": "constant", "weight_decay": 0.0},
    # SimpleConvNet, He init. L2 3e-4: 98.88% after 10 epochs at lr 0.001 without it, 99.13% with it
    # (without, train accuracy reached 100%: the net overfits). 5 epochs at lr 0.002 train in about
    # a minute on two cores and still reach 99.0%; chosen over 5 at lr 0.001 by validation loss
    # (0.0335 against 0.0361). `--epochs 10 --lr 0.001` is the slower, 0.1-point-better recipe.
    "cnn": {"optimizer": "adam", "lr": 0.002, "batch_size": 100, "epochs": 5, "schedule": "cosine", "weight_decay": 3e-4},
    "deep-cnn": {"optimizer": "adam", "lr": 0.001, "batch_size": 100, "epochs": 10, "schedule": "cosine", "weight_decay": 0.0},
}
DEFAULT_MODEL = "mlp"
# Keras' validation_split: the last 10% of the training samples pick the best epoch (best.npz).
DEFAULT_VALIDATION_SPLIT = 0.1
validation_fraction = float_in_range(0.0, 1.0, what="a fraction in [0, 1) such as 0.1")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network on MNIST or Fashion-MNIST",
        description="Train a network with mini-batch gradient descent (forward, backward by the chain "
        "rule, optimizer update), evaluating on a validation split after every epoch and on the test set "
        "at the end. Writes the last and the best checkpoint, metrics (JSON, CSV) and a learning-curve PNG "
        "into the run directory.",
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
    model.add_argument("--dtype", choices=["float32", "float64"], help="(default: float32)")
    fit = parser.add_argument_group("training (defaults: the model's recipe, listed below)")
    fit.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="update rule")
    fit.add_argument("--lr", type=positive_float, help="learning rate (the optimizer's own default when the recipe's optimizer is replaced)")
    fit.add_argument("--schedule", choices=sorted(SCHEDULES), help="learning-rate schedule over the epochs")
    fit.add_argument("--epochs", type=positive_int, help="total number of epochs (with --resume: how far to continue)")
    fit.add_argument("--batch-size", type=positive_int, help="samples per mini-batch")
    fit.add_argument("--seed", type=seed, help="seed for weights, shuffling and dropout; same seed, same weights (default: 0)")
    fit.add_argument("--limit", type=positive_int, metavar="N", help="train on the first N training samples only (quick trials)")
    fit.add_argument("--validation-split", type=validation_fraction, metavar="FRACTION",
                     help="hold out this last fraction of the training samples to pick the best epoch (best.npz); "
                     f"the test set is only for the final report; 0 keeps no best checkpoint (default: {DEFAULT_VALIDATION_SPLIT})")
    fit.add_argument("--backend", type=available_backend, choices=["numpy", "cupy", "auto"], default="numpy", help="array backend: cupy runs on an NVIDIA GPU (default: numpy)")
    fit.add_argument("--threads", type=positive_int, metavar="N",
                     help="CPU threads for the matrix products (BLAS) (default: all cores; on a busy machine 1 is "
                          "often fastest)")
    fit.add_argument("-v", "--verbose", type=int, choices=[0, 1, 2], default=1, help="0 quiet, 1 progress bars, 2 one line per epoch (default: 1)")
    add_data_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--output-dir", type=Path, help="run directory, new or without a checkpoint yet "
                     "(default: runs/DATASET-MODEL, numbered if taken)")
    out.add_argument("--resume", action="store_true",
                     help="continue the run in --output-dir (default: the latest run of this dataset and model) "
                     "exactly where its last checkpoint ends; --epochs and --lr may change (as may -v, --backend "
                     "and where the data is read from), other options must match the run's")
    parallel = parser.add_argument_group("distributed (data-parallel on MPI: start under mpiexec; needs the mpi extra)")
    parallel.add_argument("--distributed", action="store_true",
                          help="train one model on all the processes mpiexec started: each computes the gradient of its "
                          "share of every batch, one Allreduce averages them; --batch-size stays the global batch, "
                          "rank 0 alone prints and writes the run directory, each rank uses cores/ranks BLAS threads; "
                          "--resume works with any number of processes")
    parallel.add_argument("--sync-batchnorm", action="store_true",
                          help="with --batchnorm: batch statistics over the global batch (as one process would), "
                          "not each rank's share (the default, which needs no extra communication)")
    # On --resume an option equal to its parser default (--model mlp, ...) counts as not given (see
    # _apply_resume_options); --seed, --dtype and --validation-split have none (NEW_RUN_DEFAULTS).
    dests = [attribute for _, attribute, _ in FIXED_ON_RESUME]
    parser.set_defaults(func=run, option_defaults={dest: parser.get_default(dest) for dest in dests})


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
    recipe = _recipe(args)
    config["training"] = {**recipe, "seed": args.seed, "limit": args.limit, "validation_split": args.validation_split}
    return config


def _open_run(args: argparse.Namespace) -> RunDir:
    """Lock the run directory before any data is loaded: a new one, or the one to resume."""
    name = f"{args.dataset}-{args.model}"
    if not args.resume:
        return RunDir.create(args.output_dir, config=_config_from_args(args), root="runs", name=name)
    path = args.output_dir or RunDir.latest("runs", name)
    if path is None:
        raise CheckpointError(f"--resume: no run with a checkpoint under runs/{name}*; give --output-dir")
    run = RunDir.open(path)
    try:
        _apply_resume_options(args, run)
    except BaseException:
        run.close()
        raise
    return run


# What a resumed run cannot change: (flag, attribute of args, where the run keeps its value).
FIXED_ON_RESUME = [
    ("--model", "model", lambda c: c["model"]),
    ("--dataset", "dataset", lambda c: c["dataset"]),
    ("--hidden-sizes", "hidden_sizes", lambda c: c["hidden_sizes"]),
    ("--activation", "activation", lambda c: c.get("activation")),
    ("--weight-init", "weight_init", lambda c: c.get("weight_init_std")),
    ("--dropout", "dropout", lambda c: c.get("dropout_ratio")),
    ("--batchnorm", "batchnorm", lambda c: c.get("use_batchnorm", False)),
    ("--dtype", "dtype", lambda c: c["dtype"]),
    ("--optimizer", "optimizer", lambda c: c["training"]["optimizer"]),
    ("--schedule", "schedule", lambda c: c["training"]["schedule"]),
    ("--batch-size", "batch_size", lambda c: c["training"]["batch_size"]),
    ("--seed", "seed", lambda c: c["training"]["seed"]),
    ("--limit", "limit", lambda c: c["training"].get("limit")),
    ("--weight-decay", "weight_decay", lambda c: c["training"].get("weight_decay", 0.0)),
    ("--validation-split", "validation_split", lambda c: c["training"].get("validation_split", 0.0)),
]


def _apply_resume_options(args: argparse.Namespace, run: RunDir) -> None:
    """Refuse an option a resumed run cannot change; apply and print the ones it can.

    An option left at its default is taken from the run (so `--resume` alone continues as trained).
    ``--epochs`` and ``--lr`` change the run. The schedule is planned over the run's epochs, so
    `--resume --epochs N` continues exactly as a run started with `--epochs N` would have; when
    that raises the rate (extending a finished cosine run), it says so.
    """
    config = run.config
    defaults = getattr(args, "option_defaults", {})
    for flag, attribute, saved in FIXED_ON_RESUME:
        given = getattr(args, attribute, None)
        if given is None or given is False or given == defaults.get(attribute):
            continue
        if given != saved(config):
            value = saved(config)
            trained = f"without {flag}" if value is None or value is False else f"with {flag} {_option_text(value)}"
            raise UsageError(f"{flag} cannot change when resuming: the run in {run.path} was trained {trained}, "
                             f"got {flag} {_option_text(given)}; start a new run (another --output-dir) to change it")
    settings = config["training"]
    last_rate = make_schedule(settings["schedule"], settings["lr"], settings["epochs"])(run.epoch - 1)
    changes = []
    if args.epochs is not None and args.epochs != settings["epochs"]:
        changes.append(f"epochs {settings['epochs']} -> {args.epochs}")
        settings["epochs"] = args.epochs
    if args.lr is not None and args.lr != settings["lr"]:
        changes.append(f"lr {settings['lr']:g} -> {args.lr:g} (the base rate of the {settings['schedule']} schedule)")
        settings["lr"] = args.lr
    next_rate = make_schedule(settings["schedule"], settings["lr"], settings["epochs"])(run.epoch)
    if changes and run.epoch < settings["epochs"] and next_rate > last_rate * (1 + 1e-9):
        changes.append(f"the {settings['schedule']} schedule is re-planned over {settings['epochs']} epochs, so the "
                       f"learning rate rises from {last_rate:.3g} (epoch {run.epoch}) to {next_rate:.3g} (epoch {run.epoch + 1})")
    if changes:
        print("resume: " + "; ".join(changes))


def _option_text(value: Any) -> str:
    if value is True:
        return ""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


# Options whose default is filled in only for a new run, so that giving one explicitly on
# --resume (even with the default's value) is compared with the run's value rather than ignored.
NEW_RUN_DEFAULTS = {"seed": 0, "dtype": "float32", "validation_split": DEFAULT_VALIDATION_SPLIT}


def run(args: argparse.Namespace) -> int:
    _check_options(args)
    if args.threads and not args.distributed:  # distributed: per rank, in _start_distributed
        set_threads(args.threads)
    if not args.resume:
        for attribute, default in NEW_RUN_DEFAULTS.items():
            if getattr(args, attribute) is None:
                setattr(args, attribute, default)
    communicator = _start_distributed(args) if args.distributed else None
    try:
        if communicator is None or communicator.is_root:  # rank 0 alone opens, reads and writes the run
            with _open_run(args) as run_dir:
                return _train(args, run_dir, communicator)
        return _train(args, None, communicator)
    except ChainruleError as error:
        if communicator is None or communicator.size == 1:
            raise
        from ..distributed.runtime import fail_job  # every rank must stop, or the others wait forever

        fail_job(communicator, f"chainrule train: error: {error}", 2 if isinstance(error, UsageError) else 1)
        raise  # not reached


def _train(args: argparse.Namespace, run: RunDir | None, communicator: Any = None) -> int:
    """Train the run in ``run``; with ``--distributed``, ``run`` is rank 0's and None elsewhere."""
    config = run.config if run is not None else None
    if communicator is not None:
        config = broadcast_from_root(communicator, config)
    settings = config["training"]
    net = build_model(config, rng=settings["seed"], backend=args.backend)
    optimizer = make_optimizer(settings["optimizer"], settings["lr"], weight_decay=settings.get("weight_decay", 0.0))
    settings["lr"] = optimizer.lr
    # Empty for a new run; the schedule sets the rate of every epoch. The other ranks receive rank
    # 0's weights, optimizer state and history from the trainer.
    history = run.restore(net, optimizer) if run is not None else History()
    done = len(history) if communicator is None else broadcast_from_root(communicator, len(history))
    if done and done >= settings["epochs"]:
        if run is not None:
            print(f"{run.path} already has {done} epochs; ask for more with --epochs", file=sys.stderr)
        return 0
    (x_train, t_train), (x_test, t_test) = _load_data_in_turn(config, args, communicator)
    if settings.get("limit"):
        x_train, t_train = x_train[: settings["limit"]], t_train[: settings["limit"]]
    (x_train, t_train), validation = split_validation(x_train, t_train, settings.get("validation_split", 0.0))
    if args.sync_batchnorm:
        synchronize_batch_norm(net, communicator)
    trainer = Trainer(
        net, optimizer, epochs=settings["epochs"], batch_size=settings["batch_size"], seed=settings["seed"],
        lr_schedule=make_schedule(settings["schedule"], settings["lr"], settings["epochs"]), verbose=args.verbose,
        communicator=communicator,
    )
    if args.verbose and run is not None:
        action = f"resuming at epoch {done + 1}" if done else "training"
        sizes = " / ".join(f"{n} {part}" for n, part in
                           ((len(x_train), "train"), (len(validation[0]), "validation"), (len(x_test), "test")) if n)
        print(f"{action}: {config['model']} {config['hidden_sizes']} on {config['dataset']} ({sizes}) "
              f"from {data_location(config['dataset'], args)}, "
              f"{settings['optimizer']} lr {settings['lr']:g}, {config['dtype']}, run directory {run.path}", flush=True)
    started = time.perf_counter()
    history = trainer.fit(x_train, t_train, validation_data=validation if len(validation[0]) else None,
                          history=history, run_dir=run)
    elapsed = time.perf_counter() - started
    test_loss, test_acc = evaluate(net, net.xp.asarray(x_test), net.xp.asarray(t_test), communicator=communicator)
    if run is None:  # not rank 0: it reports and draws
        return 0
    summary = {"test_acc": test_acc, "test_loss": test_loss, "epochs": len(history), "seconds": elapsed,
               "best_epoch": run.best.get("epoch")}
    best = f"; best validation loss at epoch {run.best['epoch']} ({BEST})" if run.best else ""
    print(f"test accuracy {100 * test_acc:.2f}% after {len(history)} epochs "
          f"({elapsed:.1f} s this session); saved to {run.path}{best}")
    if args.verbose == 0:
        print(json.dumps(summary))
    _write_figures(run.path, history, config, args.verbose)
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
    threads = set_blas_threads(communicator, args.threads)  # --threads N overrides cores // ranks
    processes = communicator.processes()
    if not communicator.is_root:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    elif args.verbose:
        each = f"{threads} BLAS thread{'s' if threads != 1 else ''} each"
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
    try:
        plot_learning_curve(history, run_dir / "learning_curve.png", title=title)
    except OSError as error:
        raise RunDirError(f"cannot write {run_dir / 'learning_curve.png'}: {error.strerror or error}; "
                          "the checkpoints are saved") from None
    if verbose:
        print(f"learning curve: {run_dir / 'learning_curve.png'}")
