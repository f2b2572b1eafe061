"""``chainrule graph``: draw a computational graph with its values and gradients, or trace it."""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

from ..explain import apply_inputs
from ..explain.networks import open_network, random_batch
from ..graph import EXAMPLES, Graph, format_trace, network_graph, save
from ..graph.export import FORMATS, check_picture_path
from ..plots import require_matplotlib
from ..graph.text import grad_text, value_text
from ..errors import GraphError, UsageError
from ..nets import TwoLayerNet
from .types import assignment, positive_int, seed

MODELS = ["two-layer"]

EPILOG = """\
examples:
  chainrule graph apple-orange                 write apple-orange.svg and print every edge
  chainrule graph apple-orange --trace         the chain rule, product by product
  chainrule graph apple -o apple.png           PNG (needs matplotlib: pip install 'chainrule[plot]')
  chainrule graph apple -o apple.dot           Graphviz text: dot -Tpdf apple.dot -o apple.pdf
  chainrule graph --model two-layer            TwoLayerNet's layers: tensor shapes and gradient norms
  chainrule graph --run runs/mnist-cnn         the layers of the network a run directory holds
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="draw a computational graph: values forward, gradients backward",
        description="Build a computational graph, run it forward and backward, print every edge's value and "
        "gradient, and draw it: each arrow carries its forward value above and, in red, the gradient of the "
        "output below. Nodes are the layers (× MulLayer, + AddLayer, ReLU ...).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("example", nargs="?", choices=sorted(EXAMPLES), help="a shopping graph from the textbook")
    parser.add_argument(
        "--model", choices=MODELS, help="draw a network's layer pipeline instead (random batch of --batch-size)"
    )
    parser.add_argument(
        "--run", metavar="RUN_DIR", type=Path,
        help="draw the network of a run directory (chainrule train, chainrule import) on a random batch",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to draw it; the suffix picks the format: .svg (default NAME.svg), .png or .dot",
    )
    parser.add_argument("--trace", action="store_true", help="print each local derivative × upstream gradient")
    parser.add_argument("--exact", action="store_true", help="shopping graphs in exact fractions (same values)")
    parser.add_argument(
        "--input", metavar="NAME=VALUE", type=assignment, action="append", default=[],
        help="set an input of the shopping graph, e.g. --input apple=150 (as typed in chainrule explain --serve)",
    )
    network = parser.add_argument_group("--model two-layer (--run: --batch-size, --seed)")
    network.add_argument("--input-size", type=positive_int, default=784, help="features per sample (default: 784)")
    network.add_argument("--hidden-size", type=positive_int, default=50, help="hidden units (default: 50)")
    network.add_argument("--output-size", type=positive_int, default=10, help="classes (default: 10)")
    network.add_argument("--batch-size", type=positive_int, default=100, help="samples in the random batch (default: 100)")
    network.add_argument("--seed", type=seed, default=0, help="seed for the weights and the batch (default: 0)")
    parser.set_defaults(func=run, parser=parser)


def output_path(args: argparse.Namespace) -> Path:
    """``-o FILE``, or ``NAME.svg``; checked before any work, so a typo costs nothing."""
    given = [value for value in (args.example, args.model, args.run) if value is not None]
    if len(given) != 1:
        both = ("not both" if len(given) == 2 else "not all three") if given else "one of them"
        args.parser.error(f"give an example ({', '.join(sorted(EXAMPLES))}), --model two-layer or --run RUN_DIR, {both}")
    name = (args.run.resolve().name or "network") if args.run else args.example or args.model
    path = Path(args.output or f"{name}.svg")
    if path.suffix.lower() not in FORMATS:
        args.parser.error(f"-o {path}: the suffix picks the format, one of {', '.join(FORMATS)}")
    try:
        check_picture_path(path)
    except GraphError as error:
        args.parser.error(f"-o: {error}")
    if path.suffix.lower() == ".png":
        require_matplotlib("PNG pictures (.svg and .dot need nothing)")
    return path


def build(args: argparse.Namespace) -> Graph:
    if args.example:
        graph = EXAMPLES[args.example](Fraction if args.exact else float)
        if args.input:
            try:
                apply_inputs(graph, dict(args.input))
            except GraphError as error:
                raise UsageError(f"--input: {error}") from None
        return graph
    if args.run:
        found = open_network(run=args.run)
        x, t = random_batch(found.net, found.input_shape, args.batch_size, args.seed)
        graph = network_graph(found.net, x, t)
        graph.name = f"{found.name} on a random batch of {len(x)}"
        return graph
    net = TwoLayerNet(args.input_size, args.hidden_size, args.output_size, rng=args.seed)
    return network_graph(net, batch_size=args.batch_size, seed=args.seed)


def format_edges(graph: Graph) -> str:
    """Every edge, in the order it is computed, with its forward value and gradient."""
    names = [edge.name for edge in graph.inputs] + [node.output for node in graph.order()]
    width = max(len(name) for name in ["edge", *names])
    rows = [(name, value_text(graph[name].value), grad_text(graph[name].grad) or "-") for name in names]
    value_width = max(len(value) for _, value, _ in [("", "value", ""), *rows])
    lines = [f"{graph.name}: forward values and gradients of {graph.differentiated}"]
    lines.append(f"  {'edge':<{width}}  {'value':<{value_width}}  gradient")
    lines += [f"  {name:<{width}}  {value:<{value_width}}  {grad}" for name, value, grad in rows]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path = output_path(args)
    graph = build(args)
    print(format_trace(graph) if args.trace else format_edges(graph))
    print(f"\nwrote {save(graph, path)}")
    return 0
