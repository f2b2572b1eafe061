"""The book's ``common/multi_layer_net_extend.py``: MultiLayerNet plus the book's dropout and
batch normalisation, and the book's ``train_flg`` arguments.

chainrule's MultiLayerNet already builds the same stack with the same layer names; this adapter
switches its Dropout layers to the book's test-time scaling, starts batch norm's running variance
at 0 and lets it train on a batch of one as the book does, and maps ``train_flg`` onto
chainrule's train/eval mode.
"""

from chainrule.gradients import numerical_gradient as _numerical_gradient
from chainrule.layers import BatchNormalization as _BatchNormalization
from chainrule.layers import Dropout as _Dropout

from .multi_layer_net import MultiLayerNet as _MultiLayerNet


class MultiLayerNetExtend(_MultiLayerNet):
    """``MultiLayerNetExtend(..., weight_decay_lambda=0, use_dropout=False, dropout_ration=0.5,
    use_batchnorm=False)`` (``dropout_ration`` is the book's spelling)."""

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu", weight_init_std="relu",
                 weight_decay_lambda=0, use_dropout=False, dropout_ration=0.5, use_batchnorm=False):
        super().__init__(input_size, hidden_size_list, output_size, activation, weight_init_std, weight_decay_lambda,
                         dropout_ratio=dropout_ration if use_dropout else 0.0, use_batchnorm=use_batchnorm)
        self.use_dropout = use_dropout
        self._gradient_pass = False
        for layer in self.layers.values():
            if isinstance(layer, _Dropout):
                layer.inverted = False
            if isinstance(layer, _BatchNormalization):
                layer.running_var[...] = 0
                layer.allow_single_sample = True

    def predict(self, x, train_flg=False):
        with self._mode(bool(train_flg)):
            return self.forward(x)

    def loss(self, x, t, train_flg=False):
        # Inside gradient() the loss must run in training mode, whatever the caller's default.
        with self._mode(bool(train_flg) or self._gradient_pass):
            return super().loss(x, t)

    def gradient(self, x, t):
        self._gradient_pass = True
        try:
            return super().gradient(x, t)
        finally:
            self._gradient_pass = False

    def numerical_gradient(self, x, t):
        def loss_w(_):
            return self.loss(x, t, train_flg=True)

        return {key: _numerical_gradient(loss_w, self.params[key]) for key in self.params}
