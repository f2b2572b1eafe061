"""``chainrule train``: parse the options, call :func:`chainrule.train`, report.

Everything a run does (recipes, new-run defaults, resume rules, the loop, checkpoints, figures)
is the library's (:mod:`chainrule.experiment`, :mod:`chainrule.recipes`); this module only turns
the command line into that call and library errors into one-line messages naming the flags.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..distributed.runtime import MPI_SIZE_VARIABLES
from ..errors import UsageError
from ..experiment import train
from ..models import MODELS
from ..optimizers import OPTIMIZERS
from ..recipes import DEFAULT_MODEL, DEFAULT_VALIDATION_SPLIT, OPTION_NAMES, RECIPES, OptionError
from ..training.schedules import SCHEDULES
from .datasets import add_data_arguments, data_arguments, data_dir_errors_as_usage
from .types import (
    available_backend, float_in_range, non_negative_float, positive_float, positive_int, probability, seed, size_list,
    threads_option,
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
  chainrule train --resume --epochs 20              continue the latest run up to 20 epochs in all
  chainrule evaluate runs/mnist-mlp                 accuracy and confusion matrix of a saved run
  chainrule evaluate runs/mnist-mlp --checkpoint best   the same for its best validation epoch
  mpiexec -n 4 chainrule train --distributed        data-parallel on 4 processes (the mpi extra; docs/distributed.md)
  chainrule train --model rnnlm                     the second book's LSTM language model on PTB (4 epochs, minutes each)
  chainrule train --model rnnlm --limit 100000 --epochs 1   a quick trial on the first 100,000 words
  chainrule evaluate runs/ptb-rnnlm                 its test perplexity
  chainrule generate runs/ptb-rnnlm --start "the meaning of life is"   text sampled from it

From Python, chainrule.train(model="cnn", epochs=5) does the same and returns the network, its
history and the test accuracy.

Data is read from --data-dir alone when it is given; otherwise from $CHAINRULE_DATA or the user
cache, and downloaded (with checksum checks) if it is in neither. The first line says which folder.

run directory: checkpoint.npz is the run (weights, optimizer state, epoch, step, history, config),
written atomically after every epoch; best.npz is the epoch with the lowest validation loss;
config.json, metrics.json/.csv and learning_curve.png are derived from it. One process at a time
may write a run directory (a lock); a run killed at any instant resumes from its last checkpoint.
"""

validation_fraction = float_in_range(0.0, 1.0, what="a fraction in [0, 1) such as 0.1")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network on MNIST or Fashion-MNIST, or a language model on PTB",
        description="Train a network with mini-batch gradient descent (forward, backward by the chain "
        "rule, optimizer update), evaluating on a validation split after every epoch and on the test set "
        "at the end. Writes the last and the best checkpoint, metrics (JSON, CSV) and a learning-curve PNG "
        "into the run directory.",
        epilog=EPILOG + "\nrecipes (defaults per model):\n" + _recipes_text() + "\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    model = parser.add_argument_group("model")
    model.add_argument("--model", choices=MODELS, help=f"network (default: {DEFAULT_MODEL}; with --resume: the run's)")
    model.add_argument("--hidden-sizes", type=size_list, metavar="N,N,...", help="hidden layer sizes (default: 50 for two-layer, "
                       "512,256 for mlp; the LSTM's and the word vectors' size for rnnlm (100) and better-rnnlm (650))")
    model.add_argument("--activation", choices=["relu", "sigmoid", "tanh"], help="mlp activation (default: relu)")
    model.add_argument("--weight-init", metavar="he|xavier|STD", type=_weight_init,
                       help="initial weight scale: he (ReLU), xavier (sigmoid/tanh) or a standard deviation "
                       "(default: by activation for mlp and cnn, 0.01 for two-layer as in the book)")
    model.add_argument("--dropout", type=probability, metavar="RATIO", help="mlp: dropout after each hidden layer (deep-cnn, better-rnnlm: default 0.5)")
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
    fit.add_argument("--batch-size", type=positive_int, help="samples per mini-batch (a language model: streams read side by side)")
    fit.add_argument("--seed", type=seed, help="seed for weights, shuffling and dropout; same seed, same weights (default: 0)")
    fit.add_argument("--limit", type=positive_int, metavar="N", help="train on the first N training samples (words of a corpus) only (quick trials)")
    fit.add_argument("--validation-split", type=validation_fraction, metavar="FRACTION",
                     help="image datasets: hold out this last fraction of the training samples to pick the best epoch (best.npz); "
                     f"the test set is only for the final report; 0 keeps no best checkpoint (default: {DEFAULT_VALIDATION_SPLIT})")
    fit.add_argument("--backend", type=available_backend, choices=["numpy", "cupy", "auto"], default="numpy", help="array backend: cupy runs on an NVIDIA GPU (default: numpy)")
    fit.add_argument("--threads", type=threads_option, metavar="N|auto",
                     help="CPU threads for the matrix products (BLAS) (default: all cores). 'auto': as many as other "
                          "processes leave cores free, looked at every half second: faster on a busy machine, but the "
                          "weights then depend on the load (BLAS sums in another order at another thread count). To "
                          "share a machine and keep the numbers, keep N and start with OPENBLAS_THREAD_TIMEOUT=4 in the "
                          "environment: idle BLAS threads then sleep instead of spinning (README: Speed)")
    fit.add_argument("-v", "--verbose", type=int, choices=[0, 1, 2], default=1, help="0 quiet, 1 progress bars, 2 one line per epoch (default: 1)")
    add_data_arguments(parser, dataset_help="(default: mnist; ptb for rnnlm and better-rnnlm, which train on it alone)")
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


def flag(option: str) -> str:
    """``batch_size`` -> ``--batch-size``: how the command line spells a library option."""
    return "--" + option.replace("_", "-")


def _refuse_unannounced_mpi(args: argparse.Namespace) -> None:
    """Under ``mpiexec -n 2`` without ``--distributed`` every process would train a run of its own
    into a folder of its own, printing over each other: refuse, and say what was meant."""
    if args.distributed:
        return
    for variable in MPI_SIZE_VARIABLES:
        size = os.environ.get(variable, "")
        if size.isdigit() and int(size) > 1:
            raise UsageError(f"started by an MPI launcher with {size} processes (${variable}) but without "
                             "--distributed: each process would train a separate run; add --distributed to train "
                             "one model on all of them, or run one process")


def run(args: argparse.Namespace) -> int:
    _refuse_unannounced_mpi(args)
    options = {name: getattr(args, name) for name in OPTION_NAMES}
    options["weight_init"], options["batchnorm"] = args.weight_init, args.batchnorm or None
    options["dropout"] = args.dropout
    try:
        with data_dir_errors_as_usage():
            result = train(
                resume=(args.output_dir or True) if args.resume else None,
                output_dir=args.output_dir, backend=args.backend, threads=args.threads, verbose=args.verbose,
                distributed=args.distributed, sync_batchnorm=args.sync_batchnorm, **data_arguments(args), **options,
            )
    except OptionError as error:
        raise UsageError(error.naming(flag)) from None
    if args.verbose == 0 and result.test_loss is not None and result.run_dir is not None:
        print(json.dumps(result.summary()))
    return 0
