"""``chainrule export RUN_DIR``: a trained run's network as ONNX (to run elsewhere) or safetensors (weights)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..interop import export_run
from ..interop.extra import require
from ..interop.onnx_export import DEFAULT_OPSET
from ..interop.runs import format_of
from .types import int_in_range

EPILOG = """\
examples:
  chainrule export runs/mnist-mlp -o mlp.onnx                 the last epoch's network, ONNX opset 13
  chainrule export runs/mnist-cnn --checkpoint best -o cnn.onnx
  chainrule export runs/mnist-mlp -o mlp.safetensors          the weights under chainrule's names, with the config
  chainrule import mlp.onnx -o runs/imported                  and back (docs/interop.md)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a run's network as ONNX or safetensors",
        description="Rebuild the network saved in RUN_DIR and write its inference graph as ONNX (input "
        "'features' or 'images' with a dynamic batch dimension, output 'logits', the run's dtype), or its "
        "weights as safetensors under chainrule's names with the config that rebuilds it. Needs the interop "
        "extra: pip install 'chainrule[interop]'.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a directory written by `chainrule train`")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="the file to write (default: RUN_DIR/model.onnx, or model.safetensors)")
    parser.add_argument("--format", choices=["onnx", "safetensors"],
                        help="(default: safetensors for a .safetensors file, otherwise onnx)")
    parser.add_argument("--checkpoint", choices=["last", "best"], default="last",
                        help="the last epoch's weights or the best validation epoch's (default: %(default)s)")
    parser.add_argument("--opset", type=int_in_range(DEFAULT_OPSET, what=f"an ONNX opset >= {DEFAULT_OPSET}"),
                        default=DEFAULT_OPSET, help="ONNX opset version (default: %(default)s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    output = args.output or args.run_dir / ("model.safetensors" if args.format == "safetensors" else "model.onnx")
    format = format_of(output, args.format)
    require("onnx" if format == "onnx" else "safetensors", f"chainrule export --format {format}")
    path = export_run(args.run_dir, output, checkpoint=args.checkpoint, format=format, opset=args.opset)
    print(f"wrote {path} ({format}, {args.checkpoint} checkpoint of {args.run_dir})")
    return 0
