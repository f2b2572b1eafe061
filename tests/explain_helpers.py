"""Reading ``chainrule graph --trace`` back into numbers, to hold the explainer page against it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from chainrule.cli.main import main

PRODUCT = re.compile(r"^    (\S+):\s+local ∂\S+/∂\S+ = (\S+)(?: \(.*?\))? × upstream (.+?) = (.+)$")
JACOBIAN = re.compile(r"^    (\S+):\s+local Jacobian ∂\S+/∂\S+ applied to upstream (.+?) = (.+)$")
NO_GRADIENT = re.compile(r"^    (\S+):\s+no gradient")
NODE = re.compile(r"^  (\S+)\s+.*\s{4}upstream ∂")


@dataclass
class Trace:
    forward: dict[str, str] = field(default_factory=dict)  # node -> "total = fruit_price × tax = ..."
    products: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (node, input) -> numbers ({}: none)
    gradients: dict[str, str] = field(default_factory=dict)  # input -> "2.2"


def parse_trace(text: str) -> Trace:
    trace, section, node = Trace(), "", ""
    for line in text.splitlines():
        if line.startswith("forward,"):
            section = "forward"
        elif line.startswith("backward,"):
            section = "backward"
        elif line.startswith("gradients of"):
            section = "gradients"
        elif section == "forward" and line.startswith("  "):
            name, rest = line.strip().split(None, 1)
            trace.forward[name] = rest
        elif section == "backward":
            if match := NODE.match(line):
                node = match.group(1)
            elif match := PRODUCT.match(line):
                name, local, upstream, grad = match.groups()
                trace.products[(node, name)] = {"local": local, "upstream": upstream, "grad": grad}
            elif match := JACOBIAN.match(line):
                name, upstream, grad = match.groups()
                trace.products[(node, name)] = {"upstream": upstream, "grad": grad}
            elif match := NO_GRADIENT.match(line):
                trace.products[(node, match.group(1))] = {}
        elif section == "gradients" and line.startswith("  "):
            name, rest = line.strip().split(None, 1)
            trace.gradients[name] = rest
    return trace


def cli_trace(capsys, tmp_path, *argv: str) -> Trace:
    """Run ``chainrule graph ARGV --trace`` in this process and parse what it prints."""
    capsys.readouterr()
    assert main(["graph", *argv, "--trace", "-o", str(tmp_path / "trace.svg")]) == 0
    return parse_trace(capsys.readouterr().out)


def tiny_cnn_onnx(path, dtype=np.float64):
    """A small CNN of chainrule's layers written as an ONNX file (conv, batch norm, ReLU, max pool, flatten, affine)."""
    from chainrule.interop import to_onnx
    from chainrule.layers import Affine, BatchNormalization, Convolution, Flatten, Pooling, Relu
    from chainrule.nets import Sequential

    rng = np.random.default_rng(1)
    w = lambda *shape: (rng.standard_normal(shape) * 0.3).astype(dtype)  # noqa: E731
    net = Sequential([
        ("Conv1", Convolution(w(4, 1, 3, 3), w(4), stride=1, pad=1)),                                  # 28 -> 28
        ("BatchNorm1", BatchNormalization(1 + w(4), w(4), running_mean=w(4), running_var=1 + np.abs(w(4)))),
        ("Relu1", Relu()),
        ("Pool1", Pooling(2, 2, stride=2)),                                                             # 28 -> 14
        ("Flatten1", Flatten()),
        ("Affine1", Affine(w(4 * 14 * 14, 16) * 0.1, w(16))),
        ("Relu2", Relu()),
        ("Affine2", Affine(w(16, 10), w(10))),  # a hidden layer: a run's config wants one (hidden_sizes)
    ]).eval()
    to_onnx(net, path, input_shape=(1, 28, 28))
    return path
