"""``chainrule demo``: the shopping examples, forward total and every gradient."""

from __future__ import annotations

import argparse
from fractions import Fraction

from ..demos import EXAMPLES
from ..number_format import format_number


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run a textbook computational-graph example",
        description="Run a shopping example from the backpropagation chapter: the forward pass gives "
        "the total price, the backward pass the gradient of the total with respect to every input.",
    )
    parser.add_argument("example", choices=sorted(EXAMPLES), help="which graph to run")
    parser.add_argument(
        "--exact", action="store_true", help="compute in exact fractions instead of floats (same answers, no rounding)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = EXAMPLES[args.example](Fraction if args.exact else float)
    print(f"{result.title}: " + ", ".join(f"{k} = {format_number(v)}" for k, v in result.inputs.items()))
    print(f"forward:  total price = {format_number(result.total)}")
    print("backward: gradient of the total price with respect to")
    width = max(len(k) for k in result.gradients)
    for name, grad in result.gradients.items():
        print(f"  {name:<{width}}  {format_number(grad)}")
    return 0
