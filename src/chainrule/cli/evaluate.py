"""``chainrule evaluate RUN_DIR``: reload a saved run and measure it on the test set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..checkpoint import atomic_write_text, read_checkpoint
from ..errors import CheckpointError, RunDirError
from ..models import IMAGE_MODELS, build_model
from ..rundir import checkpoint_path
from ..plots import INSTALL_HINT, matplotlib_available, plot_confusion_matrix
from ..training import confusion_matrix, evaluate, predict_labels
from .datasets import CLASS_NAMES, add_data_arguments, load_dataset
from .types import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="test accuracy and confusion matrix of a saved run",
        description="Rebuild the network saved in RUN_DIR (config + weights, no pickle), run it over the "
        "test set of the dataset it was trained on, and print the accuracy, the loss and the "
        "confusion matrix; write evaluation.json and confusion_matrix.png into RUN_DIR.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a directory written by `chainrule train`")
    parser.add_argument("--checkpoint", choices=["last", "best"], default="last",
                        help="the weights of the last epoch (checkpoint.npz) or of the epoch with the lowest "
                        "validation loss (best.npz) (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=1000, help="evaluation batch size, bounds memory (default: %(default)s)")
    add_data_arguments(parser)
    parser.set_defaults(func=run, dataset=None)


def format_confusion(matrix: np.ndarray, names: list[str]) -> str:
    width = max(5, *(len(n) for n in names), len(str(matrix.max())) + 1)
    lines = ["true \\ predicted".ljust(width + 2) + "".join(n[:width].rjust(width + 1) for n in names)]
    for name, row in zip(names, matrix):
        lines.append(name[:width].ljust(width + 2) + "".join(str(v).rjust(width + 1) for v in row))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    checkpoint = read_checkpoint(checkpoint_path(args.run_dir, args.checkpoint))
    model_state, config = checkpoint.model, checkpoint.config
    dataset = args.dataset or config.get("dataset")
    if dataset is None:  # a bare weights file (save_checkpoint) need not name one
        raise CheckpointError(f"{args.run_dir}: the checkpoint's config names no dataset; pass --dataset")
    net = build_model(config)
    net.load_state_dict(model_state)
    _, (x_test, t_test) = load_dataset(dataset, args, flatten=config["model"] not in IMAGE_MODELS, dtype=config["dtype"])
    loss, accuracy = evaluate(net, x_test, t_test, args.batch_size)
    names = CLASS_NAMES[dataset]
    matrix = confusion_matrix(t_test, predict_labels(net, x_test, args.batch_size), len(names))
    print(f"{args.run_dir} ({args.checkpoint} checkpoint): {config['model']} {config['hidden_sizes']} on {dataset} test set ({len(x_test)} samples)")
    print(f"accuracy {100 * accuracy:.2f}%   loss {loss:.4f}")
    print(format_confusion(matrix, names))
    report = {"dataset": dataset, "accuracy": accuracy, "loss": loss, "confusion_matrix": matrix.tolist(), "classes": names}
    try:
        atomic_write_text(args.run_dir / "evaluation.json", json.dumps(report, indent=2) + "\n")
    except OSError as error:
        raise RunDirError(f"cannot write {args.run_dir / 'evaluation.json'}: {error.strerror or error}") from None
    if matplotlib_available():
        plot_confusion_matrix(matrix, args.run_dir / "confusion_matrix.png", names,
                              title=f"{dataset}: {100 * accuracy:.2f}% correct")
        print(f"confusion matrix: {args.run_dir / 'confusion_matrix.png'}")
    else:
        print(f"plot skipped: {INSTALL_HINT}", file=sys.stderr)
    return 0
