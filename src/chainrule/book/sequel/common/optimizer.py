"""The sequel's ``common/optimizer.py``: chainrule's optimizers, updating lists of arrays.

The rules, defaults and keyword names are chainrule's, which are the book's. The sequel passes
``params`` and ``grads`` as lists (the first book: dicts); here element ``i`` of each is
parameter ``"i"`` of chainrule's optimizer, and is updated in place as the book's is.
"""

from chainrule import optimizers as _optimizers
from chainrule.errors import ConfigError as _ConfigError

from .np import *  # noqa: F401,F403 - the book's module exposes np


class _UpdatesLists:
    """Mixin: ``update(params, grads)`` with two lists of arrays of the same length."""

    # The book's optimizers write NaN and go on; chainrule's say so (a warning here, not an error).
    on_nonfinite_gradient = "warn"

    def update(self, params, grads):
        if len(params) != len(grads):
            raise _ConfigError(
                f"{type(self).__name__}.update: params and grads must be lists of the same length, "
                f"got {len(params)} parameters and {len(grads)} gradients"
            )
        keys = [str(index) for index in range(len(params))]
        super().update(dict(zip(keys, params)), dict(zip(keys, grads)))

    def _slot(self, name):
        """The book's list of one kind of state array (None before the first update)."""
        return [self.state[key][name] for key in sorted(self.state, key=int)] or None


class SGD(_UpdatesLists, _optimizers.SGD):
    pass


class Momentum(_UpdatesLists, _optimizers.Momentum):
    v = property(lambda self: self._slot("velocity"))


class Nesterov(_UpdatesLists, _optimizers.Nesterov):
    v = property(lambda self: self._slot("velocity"))


class AdaGrad(_UpdatesLists, _optimizers.AdaGrad):
    h = property(lambda self: self._slot("sum_of_squares"))


class RMSprop(_UpdatesLists, _optimizers.RMSprop):
    h = property(lambda self: self._slot("mean_square"))


class Adam(_UpdatesLists, _optimizers.Adam):
    m = property(lambda self: self._slot("first_moment"))
    v = property(lambda self: self._slot("second_moment"))
    iter = property(lambda self: self.iterations)
