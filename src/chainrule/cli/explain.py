"""``chainrule explain``: the interactive explainer of a graph, as one HTML file or a local server."""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..explain import Explanation, ThroughTimeExplanation, apply_inputs
from ..explain.networks import FileNetwork, explain_network, mnist_shaped, open_network, output_classes, random_batch
from ..explain.words import LANGUAGES
from ..graph import EXAMPLES, Graph, format_trace, network_graph
from ..graph.export import check_destination
from ..errors import GraphError, LabelError, UsageError
from ..interop.extra import require
from ..nets import TwoLayerNet
from .datasets import add_data_arguments, load_dataset
from ..explain.unrolled import MAX_STEPS, MIN_STEPS
from .types import assignment, int_in_range, positive_int, seed

MODELS = ["two-layer", "rnn", "lstm"]
THROUGH_TIME = ("rnn", "lstm")  # unrolled over --steps time steps

EPILOG = """\
examples:
  chainrule explain apple-orange               write apple-orange.html: open it, press Next (or →)
  chainrule explain apple --lang zh            the page starts in Chinese (switchable in the page)
  chainrule explain apple --input apple=150    the same page for 150 per apple
  chainrule explain apple-orange --serve       a local server: type new inputs, every gradient updates
  chainrule explain --model two-layer          TwoLayerNet on a batch of real MNIST digits
  chainrule explain --model rnn                an RNN over 4 time steps: watch ∂L/∂h_t shrink going back
  chainrule explain --model lstm --steps 6     an LSTM's gates, and its cell state carrying the gradient
  chainrule explain --onnx model.onnx          an imported ONNX model, layer by layer, on 10 MNIST digits
  chainrule explain --run runs/mnist-cnn       the network a run directory holds (train, import)
"""
FILE_BATCH = 10  # --onnx, --run: images in the batch unless --batch-size says


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="an interactive page that steps through the forward and backward pass",
        description="Write one self-contained HTML page (no server, no network) that plays a computational "
        "graph's forward pass node by node, then its backward pass, writing out each chain-rule product with "
        "its numbers, and counting backpropagation's operations against numerical differentiation's. "
        "English and Chinese. --serve instead runs a small server on 127.0.0.1 so that inputs typed in the "
        "page are recomputed by chainrule's own layers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("example", nargs="?", choices=sorted(EXAMPLES), help="a shopping graph from the textbook")
    parser.add_argument(
        "--model", choices=MODELS,
        help="explain a network's layers instead: two-layer on a batch of MNIST; rnn or lstm unrolled in time",
    )
    parser.add_argument(
        "--onnx", metavar="FILE", type=Path,
        help="explain the layers of an ONNX model (read as chainrule's own layers; needs the interop extra)",
    )
    parser.add_argument(
        "--run", metavar="RUN_DIR", type=Path,
        help="explain the network of a run directory (written by chainrule train or chainrule import)",
    )
    parser.add_argument("--checkpoint", choices=["last", "best"], help="--run: the weights to explain (default: last)")
    parser.add_argument("-o", "--output", metavar="FILE", help="the page to write (default: NAME.html)")
    parser.add_argument(
        "--input", metavar="NAME=VALUE", type=assignment, action="append", default=[],
        help="set an input of the shopping graph, e.g. --input apple=150 (repeatable)",
    )
    parser.add_argument(
        "--exact", action="store_true", help="the shopping graph in exact fractions (a fixed page: not with --serve)"
    )
    parser.add_argument("--lang", choices=sorted(LANGUAGES), default="en", help="the page's first language (default: en)")
    parser.add_argument("--trace", action="store_true", help="also print the chain rule as text (as chainrule graph --trace)")
    parser.add_argument("--serve", action="store_true", help="serve the page on 127.0.0.1 and recompute edited inputs")
    parser.add_argument("--port", type=int_in_range(0, 65535, what="a port number in 0..65535"), default=0, help="port for --serve (default: 0, a free port)")
    network = parser.add_argument_group("--model two-layer, --onnx, --run")
    network.add_argument("--hidden-size", type=positive_int, default=50, help="two-layer: hidden units (default: 50)")
    network.add_argument(
        "--batch-size", type=positive_int,
        help=f"MNIST training images in the batch (default: 100 for two-layer, {FILE_BATCH} for --onnx and --run)",
    )
    network.add_argument("--seed", type=seed, default=0, help="seed for the weights and the choice of images (default: 0)")
    network.add_argument(
        "--random-batch", action="store_true",
        help="random features and labels instead of MNIST (two-layer: the batch chainrule graph --model two-layer draws)",
    )
    recurrent = parser.add_argument_group("--model rnn, --model lstm")
    recurrent.add_argument(
        "--steps", type=int_in_range(MIN_STEPS, MAX_STEPS, what=f"a number of time steps in {MIN_STEPS}..{MAX_STEPS}"),
        help="time steps to unroll (default: 4); the weights and the sequence come from --seed",
    )
    add_data_arguments(parser)
    parser.set_defaults(func=run, parser=parser)


def _check(args: argparse.Namespace) -> None:
    given = [what for what, value in (("an example", args.example), ("--model", args.model), ("--onnx", args.onnx),
                                      ("--run", args.run)) if value is not None]
    if len(given) != 1:
        both = f"not both {' and '.join(given)}" if len(given) == 2 else "only one" if given else "one of them"
        args.parser.error(f"give an example ({', '.join(sorted(EXAMPLES))}), --model {'/'.join(MODELS)}, --onnx FILE "
                          f"or --run RUN_DIR, {both}")
    if args.checkpoint and not args.run:
        args.parser.error("--checkpoint picks the weights of --run RUN_DIR")
    if (args.onnx or args.run) and (args.input or args.exact or args.steps is not None):
        option = "--input" if args.input else "--exact" if args.exact else "--steps"
        args.parser.error(f"{option} is not for a network from a file (--onnx, --run): its inputs are a batch of images")
    if args.steps is not None and args.model not in THROUGH_TIME:
        args.parser.error("--steps unrolls --model rnn or --model lstm in time")
    if args.model in THROUGH_TIME and args.trace:
        args.parser.error(f"--trace prints a graph's chain rule; --model {args.model} prints its gradient norms by time step")
    if args.model in THROUGH_TIME and args.serve:
        args.parser.error(f"--model {args.model} is a fixed page (its inputs are a sequence of arrays): not with --serve")
    if args.model in THROUGH_TIME and args.random_batch:
        args.parser.error(f"--random-batch draws TwoLayerNet's batch; --model {args.model} draws its sequence from --seed")
    if args.model and args.input:
        args.parser.error("--input sets a shopping graph's inputs; a network's inputs are a batch of data")
    if args.exact and (args.model or args.serve):
        args.parser.error(
            "--exact computes a shopping graph in fractions; not with --model or --serve (which recomputes in floats)"
        )
    if args.output or not args.serve:
        try:
            check_destination(page_path(args))
        except GraphError as error:
            args.parser.error(f"-o: {error}")


def page_name(args: argparse.Namespace) -> str:
    """What the page explains: the example, the model, the ONNX file's stem or the run directory's name."""
    if args.onnx or args.run:
        return (args.onnx.stem if args.onnx else args.run.resolve().name) or "network"
    return args.example or args.model


def page_path(args: argparse.Namespace) -> Path:
    """``-o FILE``, or ``NAME.html`` in the current folder."""
    return Path(args.output or f"{page_name(args)}.html")


def dataset_name(args: argparse.Namespace) -> str:
    return args.dataset or "mnist"  # --dataset has no default value: "(default: mnist)"


def mnist_batch(args: argparse.Namespace, dataset: str | None = None, size: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``--batch-size`` training images chosen with ``--seed``: real digits, the same ones every time."""
    (x_train, t_train), _ = load_dataset(dataset or dataset_name(args), args, flatten=True, dtype=np.float64)
    count = args.batch_size or size
    if count > len(x_train):
        raise UsageError(f"--batch-size {count}: the dataset has only {len(x_train)} training images")
    index = np.sort(np.random.default_rng(args.seed).choice(len(x_train), size=count, replace=False))
    return x_train[index], t_train[index]


def file_network(args: argparse.Namespace) -> FileNetwork:
    """The network of ``--onnx FILE`` or ``--run RUN_DIR``: a missing file or folder is one line, before any data."""
    if args.onnx:
        require("onnx", "chainrule explain --onnx")
        if not args.onnx.is_file():
            raise FileNotFoundError(2, "No such file" if not args.onnx.exists() else "Not a file", str(args.onnx))
        return open_network(onnx=args.onnx)
    return open_network(run=args.run, checkpoint=args.checkpoint or "last")


def explain_file_network(args: argparse.Namespace) -> Explanation:
    """``--onnx``/``--run``: the network on ``--batch-size`` real digits shaped to its input (or a random batch)."""
    found = file_network(args)
    net = found.net
    if args.random_batch:
        x, t = random_batch(net, found.input_shape, args.batch_size or FILE_BATCH, args.seed)
        title = f"{found.name} on a random batch of {len(x)}"
    else:
        mnist_shaped(np.zeros((1, 784)), found.input_shape)  # a network digits cannot feed: said before loading them
        dataset = args.dataset or found.dataset or "mnist"
        x, t = mnist_batch(args, dataset, FILE_BATCH)
        x = mnist_shaped(x, found.input_shape)
        classes = output_classes(net, x)
        if classes <= int(t.max()):
            raise LabelError(f"{found.name} gives {classes} scores per sample, but {dataset}'s labels go up to "
                             f"{int(t.max())}: explain it on --random-batch (labels below {classes})")
        title = f"{found.name} on {len(x)} {dataset} images"
    return explain_network(net, x, t, title=title, language=args.lang)


def build(args: argparse.Namespace) -> Graph:
    if args.example:
        graph = EXAMPLES[args.example](Fraction if args.exact else float)
        if args.input:
            try:
                apply_inputs(graph, dict(args.input))
            except GraphError as error:
                raise UsageError(f"--input: {error}") from None
        return graph
    if args.random_batch:
        net = TwoLayerNet(784, args.hidden_size, 10, rng=args.seed)
        return network_graph(net, batch_size=args.batch_size or 100, seed=args.seed)
    x, t = mnist_batch(args)
    net = TwoLayerNet(x.shape[1], args.hidden_size, 10, rng=args.seed)
    graph = network_graph(net, x, t)
    graph.name = f"TwoLayerNet on {len(x)} {dataset_name(args)} images"
    return graph


def run(args: argparse.Namespace) -> int:
    _check(args)
    name = args.example or args.model
    if args.model in THROUGH_TIME:
        explanation = ThroughTimeExplanation(args.model, steps=args.steps or 4, seed=args.seed, language=args.lang)
        path = explanation.save(page_path(args))
        print(f"wrote {path}: open it in a browser (one file, no server needed)")
        print(explanation.norms_text())
        return 0
    if args.onnx or args.run:
        explanation = explain_file_network(args)
        graph = explanation.graph
    else:
        graph = build(args)
        explanation = Explanation(graph, language=args.lang, serve_command=f"chainrule explain {name} --serve")
    if args.trace:
        print(format_trace(graph) + "\n")
    if args.output or not args.serve:
        path = explanation.save(page_path(args))
        print(f"wrote {path}: open it in a browser (one file, no server needed)")
    if args.serve:
        server = explanation.serve(args.port)
        print(f"serving the explainer of {graph.name} at {server.url}  (Ctrl-C stops it)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped")
        finally:
            server.server_close()
    return 0
