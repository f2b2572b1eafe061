"""The ``chainrule`` command: one subcommand per module in this package.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed arguments, returning an exit code). Adding a command is adding a
module and one line in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module
from typing import Sequence

from .. import __version__
from ..errors import ChainruleError, UsageError

COMMANDS = ["train", "evaluate", "demo", "graph", "gradcheck", "bench", "book"]

DESCRIPTION = """\
chainrule: neural networks as the error backpropagation method explains them.
Every operation is a layer with forward and backward; training is the chain rule run backwards.

examples:
  chainrule train                 train an MLP on MNIST (downloads the data if needed)
  chainrule evaluate runs/mnist-mlp
  chainrule demo apple-orange     forward total and every gradient of the shopping graph
  chainrule graph apple-orange --trace   the chain rule step by step; writes apple-orange.svg
  chainrule gradcheck             backprop vs numerical gradients of TwoLayerNet
  chainrule book train_neuralnet.py   a script of the book, unchanged, on chainrule (from ch05/)
  chainrule COMMAND --help        options of one command
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        import_module(f".{name}", __package__).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as error:
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        return 2
    except ChainruleError as error:
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
