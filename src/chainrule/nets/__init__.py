"""Networks: ordered stacks of layers with a loss layer on top."""

from .multi_layer import MultiLayerNet
from .sequential import LoadResult, ParamsView, Sequential
from .two_layer import TwoLayerNet

__all__ = ["LoadResult", "MultiLayerNet", "ParamsView", "Sequential", "TwoLayerNet"]
