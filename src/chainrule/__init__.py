"""chainrule: neural networks as the error backpropagation method explains them.

Every operation is a layer with ``forward`` and ``backward``; a network is an ordered stack of
layers; training is the chain rule run backwards through that stack.
"""

from .backend import Backend, array_module, get_backend, to_numpy
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
from .functions import cross_entropy_error, log_softmax, mean_squared_error, sigmoid, softmax
from .graph import Graph
from .gradients import GradcheckReport, gradcheck, gradcheck_layer, gradcheck_net, numerical_gradient
from .layers import (
    AddLayer,
    Affine,
    AvgPooling,
    BatchNormalization,
    Convolution,
    Dropout,
    Flatten,
    Layer,
    LeakyRelu,
    LossLayer,
    MeanSquaredError,
    MulLayer,
    Pooling,
    Relu,
    Sigmoid,
    Softmax,
    SoftmaxWithLoss,
    Tanh,
)
from .nets import DeepConvNet, MultiLayerNet, Sequential, SimpleConvNet, TwoLayerNet
from .optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from .experiment import TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "AddLayer",
    "Affine",
    "AvgPooling",
    "BatchNormalization",
    "Convolution",
    "DeepConvNet",
    "Dropout",
    "Flatten",
    "Momentum",
    "MultiLayerNet",
    "Nesterov",
    "Pooling",
    "RMSprop",
    "SimpleConvNet",
    "Backend",
    "ChainruleError",
    "CheckpointError",
    "DTypeError",
    "DataError",
    "DivergenceError",
    "GradcheckReport",
    "Graph",
    "GraphError",
    "LabelError",
    "Layer",
    "LeakyRelu",
    "LossLayer",
    "MeanSquaredError",
    "MissingExtraError",
    "MulLayer",
    "NonFiniteError",
    "NotForwardedError",
    "Relu",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "SoftmaxWithLoss",
    "Tanh",
    "TrainResult",
    "TwoLayerNet",
    "array_module",
    "cross_entropy_error",
    "get_backend",
    "gradcheck",
    "gradcheck_layer",
    "gradcheck_net",
    "log_softmax",
    "mean_squared_error",
    "numerical_gradient",
    "sigmoid",
    "softmax",
    "to_numpy",
    "train",
]
