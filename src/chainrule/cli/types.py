"""Argument types shared by the subcommands: every option is checked when it is parsed.

Each is an argparse ``type=`` callable: it turns the text into a value or raises
``argparse.ArgumentTypeError`` with what was expected and what was found, so a bad value is one
line (``chainrule train: error: argument --lr: expected a positive finite number, got '0'``,
exit 2) before any data is loaded or any file is written. Use them for every new option:

- counts: :func:`positive_int` (epochs, batch sizes, layer sizes, ``--limit``, repeats),
  :func:`non_negative_int`; both at most :data:`MAX_COUNT`.
- :func:`seed`: 0 .. 2**32 - 1.
- rates: :func:`positive_float` (learning rates, standard deviations), :func:`non_negative_float`
  (weight decay), :func:`probability` in [0, 1) (dropout); all finite.
- :func:`size_list`: ``512,256``, each a positive count.
- :func:`existing_directory`: a folder that exists (``--data-dir``).
- :func:`file_with_suffix`: an output file whose suffix picks a format (``-o cost.png``).
- :func:`available_backend`: ``numpy``, ``auto``, or ``cupy`` only where CuPy sees a GPU.

For another range, :func:`int_in_range` and :func:`float_in_range` build one in a line.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from ..backend import cupy_available

# Counts above a C int are a typo, never a wish: and NumPy would fail on them with an error that
# names no option ("Python int too large to convert to C long").
MAX_COUNT = 2**31 - 1
MAX_SEED = 2**32 - 1  # the range NumPy's legacy seeding and most tools accept


def int_in_range(minimum: int, maximum: int = MAX_COUNT, *, what: str | None = None) -> Callable[[str], int]:
    """A ``type=`` for integers in ``minimum..maximum``; ``what`` names them in the error."""
    expected = what or (f"an integer >= {minimum}")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"expected an integer <= {maximum}, got {text!r}")
        return value

    parse.__name__ = f"int_in_range({minimum}, {maximum})"
    return parse


def float_in_range(
    minimum: float, maximum: float = math.inf, *, include_minimum: bool = True, include_maximum: bool = False,
    what: str,
) -> Callable[[str], float]:
    """A ``type=`` for finite numbers between ``minimum`` and ``maximum``; NaN and inf never pass."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        above = value >= minimum if include_minimum else value > minimum
        below = value <= maximum if include_maximum else value < maximum
        if not (math.isfinite(value) and above and below):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = f"float_in_range({minimum}, {maximum})"
    return parse


positive_int = int_in_range(1, what="a positive integer")


def threads_option(text: str) -> int | str:
    """``--threads``: a positive number of threads, or ``auto`` (chosen from the machine's load)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got {text!r}") from None
non_negative_int = int_in_range(0, what="an integer >= 0")
seed = int_in_range(0, MAX_SEED, what="an integer >= 0")
positive_float = float_in_range(0.0, include_minimum=False, what="a positive finite number")
non_negative_float = float_in_range(0.0, what="a finite number >= 0")
probability = float_in_range(0.0, 1.0, what="a probability in [0, 1)")


def existing_directory(text: str) -> Path:
    """A folder that exists now: a typo in a path is caught before anything is loaded."""
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"expected a folder, but {text!r} does not exist")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"expected a folder, but {text!r} is a file, not a folder")
    return path


def file_with_suffix(*suffixes: str) -> Callable[[str], Path]:
    """A ``type=`` for an output file whose suffix (one of ``suffixes``) picks the format: a typo
    such as ``out.txt`` is refused before the work, not by the writer after it."""
    formats = ", ".join(suffixes)

    def parse(text: str) -> Path:
        path = Path(text).expanduser()
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"the suffix picks the format, one of {formats}; got {text!r}")
        return path

    parse.__name__ = f"file_with_suffix({formats})"
    return parse


def available_backend(text: str) -> str:
    """``--backend``: ``cupy`` is refused at once where it cannot run (choices= checks the rest)."""
    if text == "cupy" and not cupy_available():
        raise argparse.ArgumentTypeError(
            "CuPy is not installed or sees no CUDA device (install the `gpu` extra on a machine with an "
            f"NVIDIA GPU, or use numpy), got {text!r}"
        )
    return text


def size_list(text: str) -> list[int]:
    """``"512,256"`` -> ``[512, 256]``: layer sizes, each a positive integer."""
    expected = f"expected sizes as comma-separated integers such as 512,256, got {text!r}"
    try:
        sizes = [int(part) for part in text.split(",")]  # "10,,5" fails here: a typo, not two layers
    except ValueError:
        raise argparse.ArgumentTypeError(expected) from None
    if max(sizes) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected sizes <= {MAX_COUNT}, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return sizes


def assignment(text: str) -> tuple[str, str]:
    """``"apple=150"`` -> ``("apple", "150")``: an input's name and its value as typed (parsed by the graph)."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE such as apple=150, got {text!r}")
    return name.strip(), value.strip()
