"""The ``chainrule`` console script's entry point (``[project.scripts]`` in pyproject.toml).

It imports nothing heavy at its top, so a Ctrl-C while Python loads NumPy and the subcommands
is answered by :func:`~chainrule.cli.interrupts.run_guarded` (one line, exit 130), not a traceback.
"""

from .interrupts import run_guarded


def main(argv: list[str] | None = None) -> int:
    """Run ``chainrule ARGV`` (:func:`chainrule.cli.main.main`), Ctrl-C answered at any instant."""
    return run_guarded(_load_command, argv)


def _load_command():
    from .main import main as run_command

    return run_command
