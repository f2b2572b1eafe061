"""``chainrule gradcheck``: backprop gradients of TwoLayerNet against numerical ones."""

from __future__ import annotations

import argparse

import numpy as np

from ..gradients import gradcheck_net
from ..nets import TwoLayerNet
from .types import positive_int, seed


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gradcheck",
        help="compare backprop and numerical gradients of TwoLayerNet",
        description="Build TwoLayerNet, compute the gradient of the loss for a small batch twice: by "
        "backpropagation and by central differences, and print how far apart they are per "
        "parameter. In float64 the book reports differences of 1e-13..1e-10.",
    )
    parser.add_argument("--input-size", type=positive_int, default=784, help="features per sample (default: 784, MNIST)")
    parser.add_argument("--hidden-size", type=positive_int, default=50, help="hidden units (default: 50)")
    parser.add_argument("--output-size", type=positive_int, default=10, help="classes (default: 10)")
    parser.add_argument("--batch-size", type=positive_int, default=3, help="samples in the batch (default: 3, as in the book)")
    parser.add_argument("--seed", type=seed, default=0, help="seed for the weights and the random batch (default: 0)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="(default: float64)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    net = TwoLayerNet(args.input_size, args.hidden_size, args.output_size, rng=rng, dtype=args.dtype)
    x = rng.random((args.batch_size, args.input_size))
    t = rng.integers(0, args.output_size, size=args.batch_size)
    report = gradcheck_net(net, x, t)
    print(f"TwoLayerNet({args.input_size}, {args.hidden_size}, {args.output_size}) {args.dtype}, batch of {args.batch_size}")
    print(report)
    print(f"largest relative difference: {report.max_rel:.3e}")
    return 0
