"""Layers: one family per module, each with ``forward`` and ``backward`` side by side."""

from .activations import LeakyRelu, Relu, Sigmoid, Tanh
from .affine import Affine
from .arithmetic import AddLayer, MulLayer
from .base import Layer
from .losses import LossLayer, MeanSquaredError, Softmax, SoftmaxWithLoss

__all__ = [
    "AddLayer",
    "Affine",
    "Layer",
    "LeakyRelu",
    "LossLayer",
    "MeanSquaredError",
    "MulLayer",
    "Relu",
    "Sigmoid",
    "Softmax",
    "SoftmaxWithLoss",
    "Tanh",
]
