"""Layers: one family per module, each with ``forward`` and ``backward`` side by side."""

from .activations import LeakyRelu, Relu, Sigmoid, Tanh
from .affine import Affine
from .arithmetic import AddLayer, MulLayer
from .base import Layer
from .conv import AvgPooling, Convolution, Pooling, col2im, conv_output_size, im2col
from .losses import LossLayer, MeanSquaredError, Softmax, SoftmaxWithLoss
from .normalization import BatchNormalization
from .regularization import Dropout
from .shape import Flatten

__all__ = [
    "AddLayer",
    "Affine",
    "AvgPooling",
    "BatchNormalization",
    "Convolution",
    "Dropout",
    "Flatten",
    "Layer",
    "LeakyRelu",
    "LossLayer",
    "MeanSquaredError",
    "MulLayer",
    "Pooling",
    "Relu",
    "Sigmoid",
    "Softmax",
    "SoftmaxWithLoss",
    "Tanh",
    "col2im",
    "conv_output_size",
    "im2col",
]
