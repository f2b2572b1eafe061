"""The ``chainrule`` command: one subcommand per module in this package.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed arguments, returning an exit code). Adding a command is adding a
module and one line in ``COMMANDS``; give every option a ``type=`` from :mod:`.types`.

A user's mistake is never a traceback: a bad option is argparse's one-line error (exit 2), a
``UsageError`` the same, any other ``ChainruleError``, an unreadable or unwritable file, or
running out of memory one line with exit 1, Ctrl-C one line with exit 130, and a reader that
closes the pipe early (``| head -1``) a quiet exit 141. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # `python -m chainrule.cli.main`: Ctrl-C answered before the imports below too

    def _load_command():
        from chainrule.cli.main import main  # this file again, under its own name, inside the guard

        return main

    from chainrule.cli.interrupts import run_guarded

    sys.exit(run_guarded(_load_command))

import argparse
import os
from importlib import import_module
from typing import NoReturn, Sequence

from .. import __version__
from ..errors import ChainruleError, UsageError

COMMANDS = ["train", "evaluate", "generate", "demo", "graph", "explain", "gradcheck", "bench", "book", "export", "import_onnx"]

DESCRIPTION = """\
chainrule: neural networks as the error backpropagation method explains them.
Every operation is a layer with forward and backward; training is the chain rule run backwards.

examples:
  chainrule train                 train an MLP on MNIST (downloads the data if needed)
  chainrule evaluate runs/mnist-mlp
  chainrule generate runs/ptb-rnnlm --start "the meaning of life is"   text from a trained language model
  chainrule demo apple-orange     forward total and every gradient of the shopping graph
  chainrule graph apple-orange --trace   the chain rule step by step; writes apple-orange.svg
  chainrule explain apple-orange  an interactive page: watch the forward and backward pass
  chainrule gradcheck             backprop vs numerical gradients of TwoLayerNet
  chainrule book train_neuralnet.py   a script of the book, unchanged, on chainrule (from ch05/)
  chainrule COMMAND --help        options of one command
"""


# What a command killed by SIGPIPE reports (128 + 13), as `yes | head -1` does.
EXIT_BROKEN_PIPE = 141

# NumPy's words for an array larger than any address space (sizes in the billions on two axes):
# the same user mistake as a MemoryError, raised as a ValueError.
NUMPY_TOO_BIG = "array is too big"


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line: the usage block of ``train`` would bury the message."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="chainrule", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")  # subcommands inherit Parser
    for name in COMMANDS:
        import_module(f".{name}", __package__).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chainrule ARGV``; return the exit status (argparse's own exits raise SystemExit)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        code = _main(argv)
    except SystemExit as stop:  # argparse refused an option
        _end_distributed_job(argv, stop.code)
        raise
    _end_distributed_job(argv, code)
    return code


def _end_distributed_job(argv: list[str], code: int | str | None) -> None:
    """One rank of ``mpiexec ... chainrule train --distributed`` that stops with an error (a bad
    option, a --data-dir missing on its node) ends every rank: the others would wait for it forever."""
    if code in (0, None) or not any(arg.startswith("--di") and "--distributed".startswith(arg) for arg in argv):
        return
    from ..distributed.runtime import end_launched_job

    end_launched_job(code if isinstance(code, int) else 1, f"stopped with exit status {code}")


def _main(argv: list[str]) -> int:
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # a reader gone early shows up here, inside the try, not at exit
    except BrokenPipeError:
        # ``chainrule demo apple | head -1``: the reader has all it wanted. Python's recipe: point
        # stdout at devnull so the interpreter's last flush does not complain, and stop.
        _discard_stdout()
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    prog = "chainrule"
    try:
        parser = build_parser()
        args, extras = parser.parse_known_args(argv)
        if extras:  # argparse would blame "chainrule", not the command whose options these are not
            command = " ".join(filter(None, ["chainrule", getattr(args, "command", None)]))
            parser.exit(2, f"{command}: error: unrecognized arguments: {' '.join(extras)} "
                        f"({command} --help lists the options)\n")
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        prog = f"chainrule {args.command}"
        return int(args.func(args) or 0)
    except UsageError as error:
        return _fail(prog, str(error), 2)
    except ChainruleError as error:
        return _fail(prog, str(error), 1)
    except MemoryError as error:  # a network or batch too large for this machine
        return _fail(prog, f"out of memory: {error}", 1)
    except ValueError as error:
        if not str(error).startswith(NUMPY_TOO_BIG):
            raise  # any other ValueError is a bug: keep its traceback
        return _fail(prog, f"out of memory: {error}", 1)
    except BrokenPipeError:
        raise
    except OSError as error:  # a file that cannot be read or written: the path says which
        return _fail(prog, _describe_os_error(error), 1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def _fail(prog: str, message: str, code: int) -> int:
    print(f"{prog}: error: {one_line(message)}", file=sys.stderr)
    return code


def one_line(message: str) -> str:
    r"""A multi-line message (a list of places looked in) as one line: "a:\n  b\n  c" -> "a: b; c"."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else ""
    for line in lines[1:]:
        text += (" " if text.endswith((":", ".", ";")) else "; ") + line
    return text


def _describe_os_error(error: OSError) -> str:
    if error.strerror and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no real file (captured in a test): nothing to silence
        pass
