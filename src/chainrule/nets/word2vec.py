"""word2vec with negative sampling: CBOW (the context predicts the word) and skip-gram (the word
predicts its context). The rows of ``W_in`` (``word_vecs``) are the learned word vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import init
from ..backend import Array, Backend, get_backend
from ..checks import check_positive_int
from ..errors import ShapeError
from ..layers import Embedding, NegativeSamplingLoss
from .sequence_net import SequenceNet


def _word2vec_weights(vocab_size: int, hidden_size: int, rng: Any, dtype: Any, backend: Any, where: str) -> tuple[Array, Array]:
    """Both embeddings ``N(0, 0.01²)``, as in the book."""
    check_positive_int(vocab_size, "vocab_size", where)
    check_positive_int(hidden_size, "hidden_size", where)
    generator = init.as_generator(rng)
    W_in = init.normal(generator, (vocab_size, hidden_size), 0.01, dtype, backend)
    W_out = init.normal(generator, (vocab_size, hidden_size), 0.01, dtype, backend)
    return W_in, W_out


class _Word2Vec(SequenceNet):
    def __init__(self, vocab_size: int, hidden_size: int, window_size: int, corpus: Any, *, sample_size: int,
                 rng: int | np.random.Generator | None, dtype: Any, backend: str | Backend) -> None:
        where = type(self).__name__
        check_positive_int(window_size, "window_size", where)
        generator = init.as_generator(rng)
        W_in, W_out = _word2vec_weights(vocab_size, hidden_size, generator, dtype, get_backend(backend), where)
        self.window_size = window_size
        super().__init__(
            {"in_embed": Embedding(W_in)}, NegativeSamplingLoss(W_out, corpus, sample_size=sample_size, rng=generator)
        )

    @property
    def word_vecs(self) -> Array:
        """The input embedding: one row per word id."""
        return self.params["in_embed.W"]

    def _check_contexts(self, contexts: Array) -> None:
        width = 2 * self.window_size
        if contexts.ndim != 2 or contexts.shape[1] != width:
            raise ShapeError(f"{type(self).__name__}: contexts must have shape (N, {width}) for window_size={self.window_size}, got {contexts.shape}")


class CBOW(_Word2Vec):
    """Continuous bag of words: ``h = mean_c W_in[context_c]`` scores the target by negative sampling.

    ``loss(contexts, target)``: ids ``(N, 2*window_size)`` and ``(N,)``. Backward sends ``dh / C``
    to each of the ``C`` context rows.
    """

    def __init__(self, vocab_size: int, hidden_size: int, window_size: int, corpus: Any, *, sample_size: int = 5,
                 rng: int | np.random.Generator | None = None, dtype: Any = np.float64, backend: str | Backend = "numpy") -> None:
        super().__init__(vocab_size, hidden_size, window_size, corpus, sample_size=sample_size, rng=rng, dtype=dtype, backend=backend)

    def forward(self, contexts: Array) -> Array:
        """The hidden vectors ``h`` (N, H): the mean of the context words' vectors."""
        contexts = self._as_input(contexts)
        self._check_contexts(contexts)
        return self.layers["in_embed"].forward(contexts).mean(axis=1)

    def backward(self, dout: Any = 1) -> None:
        dh = self.last_layer.backward(dout)
        C = 2 * self.window_size
        self.layers["in_embed"].backward(self.xp.broadcast_to(dh[:, None, :] / C, (dh.shape[0], C, dh.shape[1])))


class SkipGram(_Word2Vec):
    """Skip-gram: ``h = W_in[target]`` scores each of the ``2*window_size`` context words by
    negative sampling; the loss is the sum over context positions of their mean losses.

    ``loss(target, contexts)``: ids ``(N,)`` and ``(N, 2*window_size)``.
    """

    def __init__(self, vocab_size: int, hidden_size: int, window_size: int, corpus: Any, *, sample_size: int = 5,
                 rng: int | np.random.Generator | None = None, dtype: Any = np.float64, backend: str | Backend = "numpy") -> None:
        super().__init__(vocab_size, hidden_size, window_size, corpus, sample_size=sample_size, rng=rng, dtype=dtype, backend=backend)

    def forward(self, target: Array) -> Array:
        """The hidden vectors ``h`` (N, H): the target words' vectors."""
        return self.layers["in_embed"].forward(self._as_input(target))

    def loss(self, target: Array, contexts: Array) -> Array:
        """All context positions in one negative-sampling call over ``N*C`` rows, ``h`` repeated.

        That call averages over ``N*C`` rows; times ``C`` it is the sum over positions of the
        mean over the batch, the book's loss.
        """
        contexts = self._as_input(contexts)
        self._check_contexts(contexts)
        h = self.forward(target)
        N, C = contexts.shape
        repeated = self.xp.broadcast_to(h[:, None, :], (N, C, h.shape[1])).reshape(N * C, h.shape[1])
        self.last_loss = C * self.last_layer.forward(repeated, contexts.reshape(N * C))
        return self.last_loss

    def backward(self, dout: Any = 1) -> None:
        C = 2 * self.window_size
        d_repeated = self.last_layer.backward(dout * C)
        self.layers["in_embed"].backward(d_repeated.reshape(-1, C, d_repeated.shape[1]).sum(axis=1))
