"""Reading ``chainrule graph --trace`` back into numbers, to hold the explainer page against it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
