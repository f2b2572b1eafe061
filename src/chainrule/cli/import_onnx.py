"""``chainrule import MODEL``: an ONNX model (or chainrule safetensors) as a run directory of chainrule's layers."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..interop import import_run
from ..interop.extra import require
from ..interop.runs import FINE_TUNING, format_of
from ..optimizers import OPTIMIZERS
from .datasets import SOURCES
from .types import positive_float, positive_int

EPILOG = """\
examples:
  chainrule import model.onnx -o runs/imported            chainrule's layers, weights from the file
  chainrule evaluate runs/imported                        its accuracy on the MNIST test set
  chainrule explain --run runs/imported                   watch its forward and backward pass, layer by layer
  chainrule train --resume --output-dir runs/imported --epochs 2    fine-tune it
  chainrule import mlp.safetensors -o runs/mlp-again      a file written by chainrule export
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="turn an ONNX model into a run directory to evaluate or fine-tune",
        description="Rebuild the ONNX model in MODEL from chainrule's own layers (so backward works) and "
        "write it as a run directory at epoch 0: `chainrule evaluate` measures it, `chainrule train --resume` "
        "fine-tunes it. Supported operators: Gemm, MatMul+Add, Conv, Relu, LeakyRelu, Sigmoid, Tanh, MaxPool, "
        "AveragePool, Flatten, Reshape to (N, -1), BatchNormalization, Dropout, Identity, Softmax/LogSoftmax "
        "at the end. A .safetensors file written by `chainrule export` is rebuilt from its config. Needs the "
        "interop extra: pip install 'chainrule[interop]'.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", type=Path, metavar="MODEL", help="an .onnx file (or a chainrule .safetensors file)")
    parser.add_argument("-o", "--output-dir", type=Path, required=True, metavar="RUN_DIR",
                        help="the run directory to create (new, or without a checkpoint yet)")
    parser.add_argument("--dataset", choices=sorted(SOURCES), default="mnist",
                        help="the data evaluate and train --resume use (default: %(default)s)")
    tuning = parser.add_argument_group("fine-tuning with `chainrule train --resume` (fixed once imported)")
    tuning.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=FINE_TUNING["optimizer"],
                        help="(default: %(default)s)")
    tuning.add_argument("--lr", type=positive_float, default=FINE_TUNING["lr"], help="(default: %(default)s)")
    tuning.add_argument("--batch-size", type=positive_int, default=FINE_TUNING["batch_size"], help="(default: %(default)s)")
    tuning.add_argument("--limit", type=positive_int, metavar="N", help="fine-tune on the first N training samples only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    format = format_of(args.model)
    require("onnx" if format == "onnx" else "safetensors", f"chainrule import of a {format} file")
    if not args.model.is_file():
        raise FileNotFoundError(2, "No such file", str(args.model))
    run_dir, config = import_run(args.model, args.output_dir, dataset=args.dataset, optimizer=args.optimizer,
                                 lr=args.lr, batch_size=args.batch_size, limit=args.limit)
    layers = " -> ".join(spec["type"] for spec in config.get("layers", [])) or config["model"]
    dropped = (config.get("source") or {}).get("dropped_final_activation")
    print(f"imported {args.model}: {layers}" + (f" (the final {dropped} is the loss layer's part)" if dropped else ""))
    print(f"wrote {run_dir.path} (epoch 0): chainrule evaluate {run_dir.path}; "
          f"chainrule train --resume --output-dir {run_dir.path} --epochs N fine-tunes it")
    return 0
