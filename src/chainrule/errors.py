"""Exceptions chainrule raises, so callers can catch ours apart from NumPy's.

Each also derives from the built-in exception a Python user would expect (ValueError for a bad
shape, RuntimeError for calling things in the wrong order), so ``except ValueError`` still works.
"""

from __future__ import annotations


class ChainruleError(Exception):
    """Base class of every error chainrule raises on purpose."""


class ShapeError(ChainruleError, ValueError):
    """An array has a shape the layer cannot work with."""


class DTypeError(ChainruleError, TypeError):
    """An array has a dtype the layer cannot work with."""


class LabelError(ChainruleError, ValueError):
    """Target labels are out of range, of the wrong length, or not integers/one-hot."""


class NotForwardedError(ChainruleError, RuntimeError):
    """``backward`` was called before ``forward`` (there is nothing cached to differentiate)."""


class NonFiniteError(ChainruleError, FloatingPointError):
    """A loss or value became NaN or infinite."""


class DataError(ChainruleError, ValueError):
    """A dataset file is missing, corrupt, truncated, or fails its checksum."""


class CheckpointError(ChainruleError, ValueError):
    """A checkpoint or state dict does not match the model it is loaded into."""


class UnsafePickleError(CheckpointError):
    """A pickle asks to build something other than arrays and plain containers; it was not run."""


class MissingExtraError(ChainruleError, ImportError):
    """An optional dependency (an extra such as ``plot``) is needed for this and is not installed."""


class GraphError(ChainruleError, ValueError):
    """A computational graph cannot run: a cycle, a value nothing defines, a name used twice."""


class UsageError(ChainruleError, ValueError):
    """Command-line options that do not fit together (exit status 2, like argparse's own errors)."""
