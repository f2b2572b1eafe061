"""``chainrule book SCRIPT [ARGS...]``: run one of the book's scripts on chainrule."""

from __future__ import annotations

import argparse

from ..book import run_script
from ..errors import UsageError
from .types import seed


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "book",
        help="run a script of Deep Learning from Scratch (either book) unchanged, on chainrule",
        description="Run one of the book's scripts as `python SCRIPT` would, from its chapter folder, "
        "with its `common.*` and `dataset.*` imports served by chainrule (even inside the book's own "
        "tree; the tree tells whether it is the first book's or the sequel's) and its weight pickles "
        "read without running code. Same as `python -m chainrule.book`.",
        epilog="examples: cd deep-learning-from-scratch/ch05 && chainrule book train_neuralnet.py; "
        "cd deep-learning-from-scratch-2/ch06 && chainrule book --seed 1 train_rnnlm.py",
    )
    parser.add_argument("--seed", type=seed, metavar="N",
                        help="np.random.seed(N) before the script starts: the book's own code seeded the same way "
                        "draws the same initial weights (default: unseeded, as the book)")
    # Optional for argparse, so that a missing script gets our message, not "script_args is required".
    parser.add_argument("script", nargs="?", help="the book's script, e.g. train_neuralnet.py")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments passed on to the script")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.script:
        raise UsageError("name the book's script to run, e.g. `chainrule book train_neuralnet.py` in the book's "
                         "ch05 folder (chainrule book --help)")
    run_script(args.script, args.script_args, seed=args.seed)
    return 0
