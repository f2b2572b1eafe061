"""Ctrl-C at any instant of a command, imports included: one line on stderr and exit 130.

Python answers Ctrl-C with a ``KeyboardInterrupt`` wherever the program is, and loading NumPy,
matplotlib and the subcommands takes most of a second: an interrupt there would be a traceback.
:func:`run_guarded` loads the command inside its guard, so an interrupt while importing is
answered as one while running is. This module, :mod:`chainrule.cli.entry` and the package's
``__init__`` files import nothing heavy, so what runs unguarded takes a few milliseconds.
"""

import sys

# What a shell reports for a command that Ctrl-C (SIGINT, 2) stopped: 128 + 2.
EXIT_INTERRUPTED = 130


def run_guarded(load_command, argv: list[str] | None = None) -> int:
    """``load_command()(argv)``: the command's exit status, or 130 after Ctrl-C at any point.

    ``load_command`` imports the command and returns its ``main(argv) -> int``; the command
    answers interrupts while it runs (``chainrule train: interrupted``; ``explain --serve`` stops
    with 0), this guard the rest, including those that never surface as a ``KeyboardInterrupt``:
    C code that turns one into another error (NumPy's import reports an ``ImportError``), or a
    callback that cannot raise. With ``argv`` None the command is this process's own, and a
    Ctrl-C once it has ended stops the process at once (status -2, which a shell shows as 130)
    rather than raising inside Python's exit handlers.
    """
    arrived: list[int] = []  # every Ctrl-C, whether or not it surfaced as a KeyboardInterrupt
    lost: list[object] = []  # those raised where nothing could catch them
    previous_hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: _keep_lost_interrupt(unraisable, lost, previous_hook)
    signal = previous_handler = None
    try:
        import signal  # inside the guard: it imports enum

        def count_and_raise(signum: int, frame: object) -> None:
            arrived.append(signum)
            raise KeyboardInterrupt

        try:
            previous_handler = signal.signal(signal.SIGINT, count_and_raise)
        except ValueError:  # not the main thread: Python delivers no SIGINT here anyway
            pass
        code = load_command()(argv)
        # An interrupt lost in a callback, or one that some code swallowed into a failure.
        if code != EXIT_INTERRUPTED and (lost or (arrived and code != 0)):
            raise KeyboardInterrupt
        return code
    except BaseException as error:
        if not isinstance(error, KeyboardInterrupt) and not arrived:
            raise  # a bug keeps its traceback; argparse's exits keep their status
        print("chainrule: interrupted", file=sys.stderr)  # before the command had a name
        return EXIT_INTERRUPTED
    finally:
        sys.unraisablehook = previous_hook
        if previous_handler is not None:
            signal.signal(signal.SIGINT, signal.SIG_DFL if argv is None else previous_handler)
        _forget_caught_interrupts()


def _keep_lost_interrupt(unraisable: "sys.UnraisableHookArgs", lost: list, previous_hook) -> None:
    """An interrupt raised in a ``__del__`` or a weakref callback cannot propagate: Python would
    print "Exception ignored in ..." with a traceback and go on. The guard answers it at the end."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        lost.append(unraisable.exc_value)
    else:
        previous_hook(unraisable)


def _forget_caught_interrupts() -> None:
    """Clear CPython's "unhandled KeyboardInterrupt" flag, so ``python -m`` exits with our code.

    CPython sets the flag when a KeyboardInterrupt leaves code run from a string (``exec(text)``,
    as ``dataclasses`` and ``namedtuple`` do while modules load), even if a caller catches it; under
    ``python -m`` it then ends the process by SIGINT (status -2) instead of the exit code. Every
    string ``exec`` clears the flag as it starts; the guard has answered every interrupt it saw.
    """
    exec("pass", {})
