"""Networks: ordered stacks of layers with a loss layer on top."""

from .conv_nets import DeepConvNet, SimpleConvNet
from .multi_layer import MultiLayerNet
from .rnnlm import BetterRnnlm, Rnnlm, corpus_windows, generate_text, perplexity
from .seq2seq import AttentionSeq2seq, PeekySeq2seq, Seq2seq
from .sequence_net import SequenceNet
from .sequential import LoadResult, ParamsView, Sequential
from .two_layer import TwoLayerNet
from .word2vec import CBOW, SkipGram

__all__ = [
    "AttentionSeq2seq",
    "BetterRnnlm",
    "CBOW",
    "DeepConvNet",
    "LoadResult",
    "MultiLayerNet",
    "ParamsView",
    "PeekySeq2seq",
    "Rnnlm",
    "Seq2seq",
    "SequenceNet",
    "Sequential",
    "SimpleConvNet",
    "SkipGram",
    "TwoLayerNet",
    "corpus_windows",
    "generate_text",
    "perplexity",
]
