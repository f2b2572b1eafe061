"""Layers: one family per module, each with ``forward`` and ``backward`` side by side."""

from .activations import LeakyRelu, Relu, Sigmoid, Tanh
from .affine import Affine
from .arithmetic import AddLayer, MulLayer
from .attention import Attention, AttentionWeight, TimeAttention, WeightSum
from .base import Layer
from .conv import AvgPooling, Convolution, Pooling, col2im, conv_output_size, im2col
from .embedding import Embedding, EmbeddingDot, TimeEmbedding
from .losses import LossLayer, MeanSquaredError, Softmax, SoftmaxWithLoss
from .negative_sampling import NegativeSamplingLoss, UnigramSampler
from .normalization import BatchNormalization
from .recurrent import GRU, LSTM, RNN
from .regularization import Dropout
from .sequence_losses import TimeSigmoidWithLoss, TimeSoftmaxWithLoss, sigmoid_cross_entropy
from .shape import Flatten
from .time_layers import TimeAffine, TimeBiLSTM, TimeDropout, TimeGRU, TimeLSTM, TimeRNN

__all__ = [
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
    "col2im",
    "conv_output_size",
    "im2col",
    "sigmoid_cross_entropy",
]
