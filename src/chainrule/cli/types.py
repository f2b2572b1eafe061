"""Argument types shared by the subcommands (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse


def size_list(text: str) -> list[int]:
    """``"512,256"`` -> ``[512, 256]``: layer sizes, each a positive integer."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 512,256, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return sizes


def assignment(text: str) -> tuple[str, str]:
    """``"apple=150"`` -> ``("apple", "150")``: an input's name and its value as typed (parsed by the graph)."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE such as apple=150, got {text!r}")
    return name.strip(), value.strip()
