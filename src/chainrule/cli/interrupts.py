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
    answers interrupts while it runs (``chainrule train: interrupted``), this guard the rest.
    """
    lost: list[BaseException] = []
    previous_hook = sys.unraisablehook

    def keep_lost_interrupts(unraisable: "sys.UnraisableHookArgs") -> None:
        # An interrupt raised inside a __del__ or a weakref callback (imports run some) cannot
        # propagate: Python would print "Exception ignored in ..." with a traceback and go on.
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            lost.append(unraisable.exc_value)
        else:
            previous_hook(unraisable)

    sys.unraisablehook = keep_lost_interrupts
    try:
        code = load_command()(argv)
        if lost and code != EXIT_INTERRUPTED:  # the command did not see it: say so now
            raise KeyboardInterrupt
        return code
    except KeyboardInterrupt:  # before the command had a name, or after it said its last word
        print("chainrule: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        sys.unraisablehook = previous_hook
        _forget_caught_interrupts()


def _forget_caught_interrupts() -> None:
    """Clear CPython's "unhandled KeyboardInterrupt" flag, so ``python -m`` exits with our code.

    CPython sets the flag when a KeyboardInterrupt leaves code run from a string (``exec(text)``,
    as ``dataclasses`` and ``namedtuple`` do while modules load), even if a caller catches it; under
    ``python -m`` it then ends the process by SIGINT (status -2) instead of the exit code. Every
    string ``exec`` clears the flag as it starts; the guard has answered every interrupt it saw.
    """
    exec("pass", {})
