"""Networks: ordered stacks of layers with a loss layer on top."""

from .conv_nets import DeepConvNet, SimpleConvNet
from .multi_layer import MultiLayerNet
from .sequential import LoadResult, ParamsView, Sequential
from .two_layer import TwoLayerNet

__all__ = ["DeepConvNet", "LoadResult", "MultiLayerNet", "ParamsView", "Sequential", "SimpleConvNet", "TwoLayerNet"]
