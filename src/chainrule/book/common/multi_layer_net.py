"""The book's ``common/multi_layer_net.py``: chainrule's :class:`~chainrule.nets.MultiLayerNet`
with the book's signature (He initialisation by default, weights drawn from ``np.random``)."""

import numpy as np

from chainrule import nets as _nets

from .layers import SoftmaxWithLoss, _generator_from_numpy_random


class MultiLayerNet(_nets.MultiLayerNet):
    """``MultiLayerNet(input_size, hidden_size_list, output_size, activation='relu',
    weight_init_std='relu', weight_decay_lambda=0)``: (Affine → activation) × k → Affine → softmax."""

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu", weight_init_std="relu",
                 weight_decay_lambda=0, **extend):
        super().__init__(input_size, hidden_size_list, output_size, activation, weight_init_std,
                         weight_decay_lambda, rng=_generator_from_numpy_random(), **extend)
        self.hidden_layer_num = len(hidden_size_list)
        self.last_layer = SoftmaxWithLoss()  # the book's: a diverging net's loss is NaN, not an error
