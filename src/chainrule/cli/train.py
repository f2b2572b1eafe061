"""``chainrule train``: train a network on MNIST or Fashion-MNIST and save everything in a run directory."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


from ..checkpoint import load_checkpoint, save_checkpoint
from ..errors import CheckpointError, UsageError
from ..models import IMAGE_MODELS, MODELS, build_model, model_config
from ..optimizers import OPTIMIZERS, make_optimizer
from ..plots import INSTALL_HINT, matplotlib_available, plot_learning_curve
from ..runs import fresh_run_dir, latest_run_dir, load_history, save_history
from ..threads import set_threads
from ..training import Trainer, make_schedule
from ..training.schedules import SCHEDULES
from .datasets import add_data_arguments, load_dataset
from .types import size_list

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

Data is read from --data-dir, $CHAINRULE_DATA, or the user cache, and downloaded (with checksum
checks) if it is in none of them.
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
    model.add_argument("--dropout", type=float, metavar="RATIO", help="mlp: dropout after each hidden layer (deep-cnn: default 0.5)")
    model.add_argument("--batchnorm", action="store_true", help="mlp: batch normalisation before each hidden activation")
    model.add_argument("--weight-decay", type=float,
                       help="L2 weight decay λ: the optimizer adds λ·W to the gradient of every weight "
                       "matrix and convolution kernel, not biases (default: the recipe's)")
    model.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="(default: %(default)s)")
    fit = parser.add_argument_group("training (defaults: the model's recipe, listed below)")
    fit.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="update rule")
    fit.add_argument("--lr", type=float, help="learning rate (the optimizer's own default when the recipe's optimizer is replaced)")
    fit.add_argument("--schedule", choices=sorted(SCHEDULES), help="learning-rate schedule over the epochs")
    fit.add_argument("--epochs", type=int, help="total number of epochs (with --resume: how far to continue)")
    fit.add_argument("--batch-size", type=int, help="samples per mini-batch")
    fit.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling and dropout; same seed, same weights (default: 0)")
    fit.add_argument("--limit", type=int, metavar="N", help="train on the first N training samples only (quick trials)")
    fit.add_argument("--backend", choices=["numpy", "cupy", "auto"], default="numpy", help="array backend: cupy runs on an NVIDIA GPU (default: numpy)")
    fit.add_argument("--threads", type=_thread_count, metavar="N",
                     help="CPU threads for matrix products and optimizer updates (default: all cores; on a busy "
                          "machine 1 is often fastest)")
    fit.add_argument("-v", "--verbose", type=int, choices=[0, 1, 2], default=1, help="0 quiet, 1 progress bars, 2 one line per epoch (default: 1)")
    add_data_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--output-dir", type=Path, help="run directory (default: runs/DATASET-MODEL, numbered if taken)")
    out.add_argument("--resume", action="store_true", help="continue from the checkpoint in --output-dir (default: the latest run of this dataset and model)")
    parser.set_defaults(func=run)


def _weight_init(text: str) -> str | float:
    if text.lower() in ("he", "xavier", "relu", "sigmoid", "tanh"):
        return text.lower()
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected he, xavier or a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive standard deviation, got {text!r}")
    return value


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
    if args.weight_decay is not None and args.weight_decay < 0:
        raise UsageError(f"--weight-decay must be >= 0, got {args.weight_decay}")


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


def _thread_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return count


def run(args: argparse.Namespace) -> int:
    _check_options(args)
    if args.threads:
        set_threads(args.threads)
    run_dir = _run_dir(args)
    if args.resume:
        model_state, optimizer_state, config = load_checkpoint(run_dir)
        if args.epochs:  # the one thing a resume may change: how far to go
            config["training"]["epochs"] = args.epochs
    else:
        config = _config_from_args(args)
    settings = config["training"]
    (x_train, t_train), (x_test, t_test) = load_dataset(
        config["dataset"], args, flatten=config["model"] not in IMAGE_MODELS, dtype=config["dtype"]
    )
    if settings.get("limit"):
        x_train, t_train = x_train[: settings["limit"]], t_train[: settings["limit"]]

    net = build_model(config, rng=settings["seed"], backend=args.backend)
    optimizer = make_optimizer(settings["optimizer"], settings["lr"], weight_decay=settings.get("weight_decay", 0.0))
    settings["lr"] = optimizer.lr
    history = None
    if args.resume:
        net.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state, params=net.params)
        history = load_history(run_dir)
        if len(history) >= settings["epochs"]:
            print(f"{run_dir} already has {len(history)} epochs; ask for more with --epochs", file=sys.stderr)
            return 0
    run_dir.mkdir(parents=True, exist_ok=True)

    def checkpoint(epoch: int, history: Any) -> None:
        save_checkpoint(run_dir, net.state_dict(), optimizer.state_dict(), config)
        save_history(run_dir, history)

    trainer = Trainer(
        net, optimizer, epochs=settings["epochs"], batch_size=settings["batch_size"], seed=settings["seed"],
        lr_schedule=make_schedule(settings["schedule"], optimizer.lr if not args.resume else settings["lr"], settings["epochs"]),
        verbose=args.verbose,
    )
    if args.verbose:
        action = f"resuming at epoch {len(history) + 1}" if history else "training"
        print(f"{action}: {config['model']} {config['hidden_sizes']} on {config['dataset']} "
              f"({len(x_train)} train / {len(x_test)} test), {settings['optimizer']} lr {settings['lr']:g}, "
              f"{config['dtype']}, run directory {run_dir}")
    started = time.perf_counter()
    history = trainer.fit(x_train, t_train, x_test, t_test, history=history, on_epoch_end=checkpoint)
    elapsed = time.perf_counter() - started
    _write_figures(run_dir, history, config, args.verbose)
    summary = {"test_acc": history.test_acc[-1], "test_loss": history.test_loss[-1], "epochs": len(history), "seconds": elapsed}
    print(f"test accuracy {100 * summary['test_acc']:.2f}% after {len(history)} epochs "
          f"({elapsed:.1f} s this session); saved to {run_dir}")
    if args.verbose == 0:
        print(json.dumps(summary))
    return 0


def _write_figures(run_dir: Path, history: Any, config: dict[str, Any], verbose: int) -> None:
    if not matplotlib_available():
        print(f"plots skipped: {INSTALL_HINT}", file=sys.stderr)
        return
    title = f"{config['model']} {config['hidden_sizes']} on {config['dataset']}"
    plot_learning_curve(history, run_dir / "learning_curve.png", title=title)
    if verbose:
        print(f"learning curve: {run_dir / 'learning_curve.png'}")
