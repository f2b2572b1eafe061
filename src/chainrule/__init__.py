"""chainrule: neural networks as the error backpropagation method explains them.

Every operation is a layer with ``forward`` and ``backward``; a network is an ordered stack of
layers; training is the chain rule run backwards through that stack.
"""

from __future__ import annotations

from importlib import import_module

from .errors import (
    ChainruleError,
    CheckpointError,
    DataError,
    DivergenceError,
    DTypeError,
    GraphError,
    LabelError,
    MissingExtraError,
    NonFiniteError,
    NotForwardedError,
    ShapeError,
)

# The rest of the public names, by the module that defines them, imported on first use (PEP 562):
# `import chainrule` loads no NumPy, so the `chainrule` command starts at once and a Ctrl-C
# while it loads the rest is answered by the command (one line, exit 130), not a traceback.
_LAZY_EXPORTS = {
    "backend": ("Backend", "array_module", "get_backend", "to_numpy"),
    "clipping": ("clip_grads",),
    "functions": ("cross_entropy_error", "log_softmax", "mean_squared_error", "sigmoid", "softmax"),
    "graph": ("Graph",),
    "gradients": ("GradcheckReport", "gradcheck", "gradcheck_layer", "gradcheck_net", "numerical_gradient"),
    "layers": (
        "AddLayer",
        "Affine",
        "Attention",
        "AttentionWeight",
        "AvgPooling",
        "BatchNormalization",
        "Convolution",
        "Dropout",
        "Embedding",
        "EmbeddingDot",
        "Flatten",
        "GRU",
        "LSTM",
        "Layer",
        "LeakyRelu",
        "LossLayer",
        "MeanSquaredError",
        "MulLayer",
        "NegativeSamplingLoss",
        "Pooling",
        "RNN",
        "Relu",
        "Sigmoid",
        "Softmax",
        "SoftmaxWithLoss",
        "Tanh",
        "TimeAffine",
        "TimeAttention",
        "TimeBiLSTM",
        "TimeDropout",
        "TimeEmbedding",
        "TimeGRU",
        "TimeLSTM",
        "TimeRNN",
        "TimeSigmoidWithLoss",
        "TimeSoftmaxWithLoss",
        "UnigramSampler",
        "WeightSum",
    ),
    "nets": (
        "AttentionSeq2seq",
        "BetterRnnlm",
        "CBOW",
        "DeepConvNet",
        "MultiLayerNet",
        "PeekySeq2seq",
        "Rnnlm",
        "Seq2seq",
        "Sequential",
        "SimpleConvNet",
        "SkipGram",
        "TwoLayerNet",
        "perplexity",
    ),
    "optimizers": ("SGD", "AdaGrad", "Adam", "Momentum", "Nesterov", "RMSprop"),
    "experiment": ("TrainResult", "train"),
}
_DEFINED_IN = {name: module for module, names in _LAZY_EXPORTS.items() for name in names}


def __getattr__(name: str) -> object:
    """``chainrule.Relu`` imports :mod:`chainrule.layers` the first time; ``chainrule.data``, a
    subpackage not imported yet, is imported as ``import chainrule`` used to import them all."""
    module = _DEFINED_IN.get(name)
    if module is not None:
        value = getattr(import_module(f".{module}", __name__), name)
        globals()[name] = value  # the next lookup is a plain attribute
        return value
    if not name.startswith("_"):
        try:
            return import_module(f".{name}", __name__)
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise  # the subpackage exists but something it imports does not
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_DEFINED_IN})


__version__ = "0.1.0"

_ERRORS = ("ChainruleError", "CheckpointError", "DataError", "DivergenceError", "DTypeError", "GraphError",
           "LabelError", "MissingExtraError", "NonFiniteError", "NotForwardedError", "ShapeError")
__all__ = sorted([*_ERRORS, *_DEFINED_IN])  # the public names: the errors and the table above
