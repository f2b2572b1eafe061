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


class DataDirError(DataError):
    """A data folder named on purpose (``data_dir``, ``--data-dir``) lacks the dataset's files."""


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


class DivergenceError(NonFiniteError):
    """Training diverged: the loss grew absurdly large, or the parameters became NaN or inf."""


class UnverifiedDataWarning(UserWarning):
    """A dataset file was loaded without a digest to check it against (said loudly, not silently)."""


class ConfigError(ChainruleError, ValueError):
    """An argument or hyperparameter outside what it may be: a learning rate of 0, a dropout
    ratio of 1, a batch size of -5, a layer size of 10.5."""


class ConfigTypeError(ConfigError, TypeError):
    """An argument of the wrong type (``lr="0.1"``); also a ``TypeError``, as Python would raise."""


class RunDirError(ChainruleError, OSError):
    """A run directory cannot be used: locked by another process, unwritable, or the disk is full."""


class UnknownWordError(ChainruleError, KeyError):
    """A word asked for is not in the vocabulary (a ``KeyError``, as a dict lookup would raise)."""

    def __str__(self) -> str:  # KeyError's own quotes the message as a repr
        return str(self.args[0]) if self.args else ""
