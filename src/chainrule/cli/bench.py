"""``chainrule bench BENCHMARK``: measurements behind the method's claims.

Each benchmark is a function in ``BENCHMARKS`` that adds its subparser to ``chainrule bench``
and sets ``func``; adding a benchmark is adding such a function and one entry in that list.
"""

from __future__ import annotations

import argparse

from ..gradient_cost import HEADER, format_cost_row, kink_note, plot_gradient_cost, sweep_gradient_cost
from ..plots import require_matplotlib
from .types import file_with_suffix, positive_int, seed, size_list

# The formats offered: PNG, SVG for the web, PDF for print (matplotlib would refuse .txt only after the sweep).
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def register_gradients(benchmarks: argparse._SubParsersAction) -> None:
    parser = benchmarks.add_parser(
        "gradients",
        help="time one gradient by numerical differentiation and by backpropagation",
        description="For TwoLayerNet on one batch, compute the gradient of the loss by central differences "
        "(two forward passes per parameter) and by backpropagation (one forward and one backward pass), "
        "time both, and compare them: their ratio, and the largest absolute difference between the two "
        "gradients. The hidden size is swept so you can see the numerical cost grow with the number of "
        "parameters while backprop stays cheap.",
    )
    parser.add_argument(
        "--hidden-sizes",
        type=size_list,
        default=[10, 20, 50, 100],
        metavar="N,N,...",
        help="hidden layer sizes to sweep (default: 10,20,50,100; about 20 s on two cores)",
    )
    parser.add_argument("--input-size", type=positive_int, default=784, help="features per sample (default: 784, MNIST)")
    parser.add_argument("--output-size", type=positive_int, default=10, help="classes (default: 10)")
    parser.add_argument("--batch-size", type=positive_int, default=10, help="samples in the batch (default: 10)")
    parser.add_argument(
        "--repeats", type=positive_int, default=20, help="backprop runs to take the fastest of (default: 20; it takes < 1 ms)"
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed for the weights and the batch (default: 0)")
    parser.add_argument(
        "-o",
        "--output",
        type=file_with_suffix(*PLOT_SUFFIXES),
        metavar="FILE.png",
        help="also draw seconds against parameters, log-log (.png, .svg or .pdf)",
    )
    parser.set_defaults(func=run_gradients)


def run_gradients(args: argparse.Namespace) -> int:
    if args.output:
        require_matplotlib("the cost plot")  # say so now, not after the timings
    title = f"TwoLayerNet({args.input_size}, hidden, {args.output_size}), float64, batch of {args.batch_size}"
    print(f"{title}: one gradient of the loss")
    print(
        "numerical (one run): 2 forward passes per parameter; "
        f"backprop (fastest of {args.repeats}): 1 forward + 1 backward pass\n"
    )
    print(HEADER, flush=True)
    results = sweep_gradient_cost(
        args.hidden_sizes,
        report=lambda cost: print(format_cost_row(cost), flush=True),
        input_size=args.input_size,
        output_size=args.output_size,
        batch_size=args.batch_size,
        seed=args.seed,
        repeats=args.repeats,
    )
    if kink_note(results):
        print("\n" + kink_note(results))
    if args.output:
        print(f"\nwrote {plot_gradient_cost(results, args.output, title)}")
    return 0


BENCHMARKS = [register_gradients]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure what backpropagation saves",
        description="Benchmarks that measure the claims the method rests on. "
        "`chainrule bench BENCHMARK --help` for the options of one.",
    )
    benchmarks = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    for add in BENCHMARKS:
        add(benchmarks)

    def show_help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)
