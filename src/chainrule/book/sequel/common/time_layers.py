"""The sequel's ``common/time_layers.py``: chainrule's cells and time layers, list ``params``.

What differs from the book's classes (see ``docs/book2.md``): outputs keep the input's dtype (the
book's time layers write into float32 buffers whatever they are given); the recurrent layers
compute every step's input product at once; ``TimeDropout`` draws its masks from a generator
seeded from ``np.random``; ``Simple_TimeAffine`` and ``Simple_TimeSoftmaxWithLoss``, the book's
step-by-step versions of the same functions, are the fast ones here.
"""

from chainrule import layers as _layers
from chainrule.book.sequel.listed import Listed as _Listed
from chainrule.book.sequel.listed import Recurrent as _Recurrent
from chainrule.book.sequel.listed import Trainable as _Trainable

from .functions import sigmoid, softmax  # noqa: F401 - the book's module exposes them
from .layers import *  # noqa: F401,F403 - as the book's module does (np, GPU, every layer)
from .layers import _generator_from_numpy_random
from .np import *  # noqa: F401,F403

_RECURRENT_WEIGHTS = ("Wx", "Wh", "b")


class RNN(_Listed):
    """One step, ``h_next = tanh(x Wx + h_prev Wh + b)``; ``backward(dh_next)`` -> ``(dx, dh_prev)``."""

    def __init__(self, Wx, Wh, b):
        super().__init__(_layers.RNN(Wx, Wh, b), _RECURRENT_WEIGHTS)


class LSTM(_Listed):
    """One step, gates ``f, g, i, o``; ``forward(x, h_prev, c_prev)`` -> ``(h_next, c_next)``."""

    def __init__(self, Wx, Wh, b):
        super().__init__(_layers.LSTM(Wx, Wh, b), _RECURRENT_WEIGHTS)


class GRU(_Listed):
    """One step with the book's equations (reset gate before the hidden product)."""

    def __init__(self, Wx, Wh, b):
        super().__init__(_layers.GRU(Wx, Wh, b), _RECURRENT_WEIGHTS)


class TimeRNN(_Recurrent):
    def __init__(self, Wx, Wh, b, stateful=False):
        super().__init__(_layers.TimeRNN(Wx, Wh, b, stateful), _RECURRENT_WEIGHTS)


class TimeLSTM(_Recurrent):
    c = property(lambda self: self.layer.c)

    def __init__(self, Wx, Wh, b, stateful=False):
        super().__init__(_layers.TimeLSTM(Wx, Wh, b, stateful), _RECURRENT_WEIGHTS)


class TimeGRU(_Recurrent):
    def __init__(self, Wx, Wh, b, stateful=False):
        super().__init__(_layers.TimeGRU(Wx, Wh, b, stateful), _RECURRENT_WEIGHTS)


class TimeBiLSTM(_Listed):
    """A left-to-right and a right-to-left LSTM, hidden states concatenated: ``(N, T, 2H)``."""

    def __init__(self, Wx1, Wh1, b1, Wx2, Wh2, b2, stateful=False):
        names = tuple(f"{direction}_{name}" for direction in ("forward", "backward") for name in _RECURRENT_WEIGHTS)
        super().__init__(_layers.TimeBiLSTM(Wx1, Wh1, b1, Wx2, Wh2, b2, stateful), names)


class TimeEmbedding(_Listed):
    """Word ids ``(N, T)`` -> vectors ``(N, T, D)``; ``W`` is the book's attribute too."""

    def __init__(self, W):
        super().__init__(_layers.TimeEmbedding(W), ("W",))
        self.W = W


class TimeAffine(_Listed):
    def __init__(self, W, b):
        super().__init__(_layers.TimeAffine(W, b), ("W", "b"))


class TimeSoftmaxWithLoss(_Listed):
    """Softmax cross-entropy at every step, averaged over the labels that are not ``ignore_label`` (-1)."""

    def __init__(self):
        super().__init__(_layers.TimeSoftmaxWithLoss(ignore_label=-1))

    @property
    def ignore_label(self):
        return self.layer.ignore_label

    @ignore_label.setter
    def ignore_label(self, value):
        self.layer.ignore_label = value


class TimeSigmoidWithLoss(_Listed):
    def __init__(self):
        super().__init__(_layers.TimeSigmoidWithLoss())


class TimeDropout(_Trainable, _Listed):
    """Inverted dropout on ``(N, T, D)``, as the book's; set ``train_flg`` to False to evaluate."""

    def __init__(self, dropout_ratio=0.5):
        super().__init__(_layers.TimeDropout(dropout_ratio, rng=_generator_from_numpy_random()))
        self.dropout_ratio = dropout_ratio


Simple_TimeSoftmaxWithLoss = TimeSoftmaxWithLoss
Simple_TimeAffine = TimeAffine
