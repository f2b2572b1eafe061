"""Command-line interface: ``chainrule COMMAND``; see :mod:`chainrule.cli.main`."""
