"""The book's ``common/optimizer.py``: chainrule's optimizers, which also update plain numbers.

The update rules, defaults and keyword names are chainrule's, which are the book's. The book's
``optimizer_compare_naive.py`` keeps its parameters as Python floats in a dict; chainrule updates
arrays in place, so here such a value is updated as a 0-d array and stored back as a float.
"""

import numpy as np

from chainrule import optimizers as _optimizers


class _UpdatesNumbers:
    """Mixin: ``update`` accepts Python numbers as parameters and gradients, as the book's does."""

    # The book's optimizers write NaN and go on; chainrule's say so (a warning here, not an error).
    on_nonfinite_gradient = "warn"

    def update(self, params, grads):
        numbers = [key for key in params if not hasattr(params[key], "shape")]
        if not numbers and all(hasattr(grad, "shape") for grad in grads.values()):
            return super().update(params, grads)
        arrays = {key: np.array(params[key], dtype=float) if key in numbers else params[key] for key in params}
        grads = {key: grad if hasattr(grad, "shape") else np.asarray(grad, dtype=float) for key, grad in grads.items()}
        super().update(arrays, grads)
        for key in numbers:
            params[key] = float(arrays[key])

    def _slot(self, name):
        """The book's attribute for one state array: a dict parameter name -> array (None before use)."""
        return {key: slots[name] for key, slots in self.state.items()} or None


class SGD(_UpdatesNumbers, _optimizers.SGD):
    pass


class Momentum(_UpdatesNumbers, _optimizers.Momentum):
    v = property(lambda self: self._slot("velocity"))


class Nesterov(_UpdatesNumbers, _optimizers.Nesterov):
    v = property(lambda self: self._slot("velocity"))


class AdaGrad(_UpdatesNumbers, _optimizers.AdaGrad):
    h = property(lambda self: self._slot("sum_of_squares"))


class RMSprop(_UpdatesNumbers, _optimizers.RMSprop):
    h = property(lambda self: self._slot("mean_square"))


class Adam(_UpdatesNumbers, _optimizers.Adam):
    m = property(lambda self: self._slot("first_moment"))
    v = property(lambda self: self._slot("second_moment"))
    iter = property(lambda self: self.iterations)
