"""``chainrule evaluate RUN_DIR``: reload a saved run and measure it on the test set (a language
model: the perplexity of the test text)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from ..checkpoint import atomic_write_text, read_checkpoint
from ..errors import CheckpointError, RunDirError, UsageError
from ..models import IMAGE_MODELS, LANGUAGE_MODELS, build_model, check_vocabulary
from ..nets import perplexity
from ..number_format import plural
from ..rundir import checkpoint_path
from ..plots import INSTALL_HINT, matplotlib_available, plot_confusion_matrix
from ..training import confusion_matrix, evaluate, predict_labels
from ..data.catalog import CLASS_NAMES
from .datasets import add_data_arguments, load_dataset, load_text_corpus
from .types import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="test accuracy and confusion matrix of a saved run (test perplexity for a language model)",
        description="Rebuild the network saved in RUN_DIR (config + weights, no pickle), run it over the "
        "test set of the dataset it was trained on, and print the accuracy, the loss and the "
        "confusion matrix; write evaluation.json and confusion_matrix.png into RUN_DIR "
        "(evaluation-best.json and confusion_matrix-best.png for --checkpoint best). A language model "
        "(rnnlm, better-rnnlm) reports the perplexity of the test text instead.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a directory written by `chainrule train`")
    parser.add_argument("--checkpoint", choices=["last", "best"], default="last",
                        help="the weights of the last epoch (checkpoint.npz) or of the epoch with the lowest "
                        "validation loss (best.npz) (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=1000, help="evaluation batch size, bounds memory "
                        "(default: %(default)s; a language model reads 10 streams of 35 words, as the book does)")
    add_data_arguments(parser, dataset_help="(default: the dataset the run was trained on; another one is refused)")
    parser.set_defaults(func=run)


def format_confusion(matrix: np.ndarray, names: list[str]) -> str:
    width = max(5, *(len(n) for n in names), len(str(matrix.max())) + 1)
    lines = ["true \\ predicted".ljust(width + 2) + "".join(n[:width].rjust(width + 1) for n in names)]
    for name, row in zip(names, matrix):
        lines.append(name[:width].ljust(width + 2) + "".join(str(v).rjust(width + 1) for v in row))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not args.run_dir.is_dir():
        what = "does not exist" if not args.run_dir.exists() else "is a file, not a folder"
        raise RunDirError(f"{args.run_dir} {what}: RUN_DIR is a run directory written by `chainrule train` "
                         "(such as runs/mnist-mlp)")
    checkpoint = read_checkpoint(checkpoint_path(args.run_dir, args.checkpoint))
    model_state, config = checkpoint.model, checkpoint.config
    dataset = config.get("dataset") or args.dataset  # a bare weights file (save_checkpoint) need not name one
    if dataset is None:
        raise CheckpointError(f"{args.run_dir}: the checkpoint's config names no dataset; pass --dataset")
    if args.dataset is not None and args.dataset != dataset:
        raise UsageError(f"--dataset {args.dataset}: the run in {args.run_dir} was trained on {dataset}, and its "
                         f"classes are {dataset}'s; leave --dataset out to evaluate it on {dataset}")
    net = build_model(config)
    net.load_state_dict(model_state)
    epochs = int(checkpoint.run.get("epoch", -1)) if checkpoint.run else -1
    trained = "" if epochs < 0 else f", trained {plural(epochs, 'epoch')}"
    suffix = "" if args.checkpoint == "last" else f"-{args.checkpoint}"  # never overwrite the other's report
    report_path, figure_path = args.run_dir / f"evaluation{suffix}.json", args.run_dir / f"confusion_matrix{suffix}.png"
    if config["model"] in LANGUAGE_MODELS:
        corpus = load_text_corpus(dataset, args)
        check_vocabulary(config, corpus.word_to_id, f"the run in {args.run_dir}")
        test_perplexity = perplexity(net, corpus.test)
        print(f"{args.run_dir} ({args.checkpoint} checkpoint{trained}): {config['model']} (hidden {config['hidden_size']}) "
              f"on the {dataset} test text ({len(corpus.test)} words)")
        _note_untrained(epochs, "perplexity")
        print(f"perplexity {test_perplexity:.2f}   loss {math.log(test_perplexity):.4f}")
        _write_report(report_path, {"dataset": dataset, "checkpoint": args.checkpoint, "epochs": epochs if epochs >= 0 else None,
                                    "perplexity": test_perplexity, "loss": math.log(test_perplexity)})
        return 0
    _, (x_test, t_test) = load_dataset(dataset, args, flatten=config["model"] not in IMAGE_MODELS, dtype=config["dtype"])
    loss, accuracy = evaluate(net, x_test, t_test, args.batch_size)
    names = CLASS_NAMES[dataset]
    matrix = confusion_matrix(t_test, predict_labels(net, x_test, args.batch_size), len(names))
    print(f"{args.run_dir} ({args.checkpoint} checkpoint{trained}): {config['model']} {config['hidden_sizes']} on "
          f"{dataset} test set ({len(x_test)} samples)")
    _note_untrained(epochs, "accuracy")
    print(f"accuracy {100 * accuracy:.2f}%   loss {loss:.4f}")
    print(format_confusion(matrix, names))
    report = {"dataset": dataset, "checkpoint": args.checkpoint, "epochs": epochs if epochs >= 0 else None,
              "accuracy": accuracy, "loss": loss, "confusion_matrix": matrix.tolist(), "classes": names}
    _write_report(report_path, report)
    if matplotlib_available():
        plot_confusion_matrix(matrix, figure_path, names, title=f"{dataset}: {100 * accuracy:.2f}% correct")
        print(f"confusion matrix: {figure_path}")
    else:
        print(f"plot skipped: {INSTALL_HINT}", file=sys.stderr)
    return 0


def _note_untrained(epochs: int, measure: str) -> None:
    if epochs == 0:
        print(f"note: this checkpoint was never trained (0 epochs): its {measure} is that of the initial weights",
              file=sys.stderr)


def _write_report(path: Path, report: dict) -> None:
    try:
        atomic_write_text(path, json.dumps(report, indent=2) + "\n")
    except OSError as error:
        raise RunDirError(f"cannot write {path}: {error.strerror or error}") from None
