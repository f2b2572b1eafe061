"""Negative sampling: word2vec's output layer as a few binary questions instead of a softmax.

Rather than scoring all V words of the vocabulary, the layer asks "is this the right word?" of
the target (answer yes) and of ``sample_size`` words drawn at random (answer no), and sums
their sigmoid cross-entropies. The random words are drawn from the unigram distribution raised
to the power 0.75, which gives rare words a better chance than their frequency alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import Array, array_module, to_numpy
from ..errors import ConfigError, ShapeError
from ..functions import sigmoid
from .embedding import EmbeddingDot, check_indices
from .losses import LossLayer
from .sequence_losses import sigmoid_cross_entropy


class UnigramSampler:
    """Draws negative words with probability ``count(w) ** power / Σ count ** power``.

    ``corpus`` is a sequence of word ids. ``rng`` (a seed or a ``numpy.random.Generator``) is
    the sampler's own generator, never NumPy's global one. As the book does on the CPU, each row
    of samples holds ``sample_size`` distinct words and never the row's target.
    """

    def __init__(self, corpus: Any, power: float = 0.75, sample_size: int = 5, *, rng: int | np.random.Generator | None = None) -> None:
        corpus = to_numpy(corpus)
        if corpus.ndim != 1 or corpus.dtype.kind not in "iu" or corpus.size == 0 or int(corpus.min()) < 0:
            raise ConfigError(f"UnigramSampler: corpus must be a non-empty 1-D array of word ids >= 0, got {corpus.dtype} of shape {corpus.shape}")
        if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)) or sample_size < 1:
            raise ConfigError(f"UnigramSampler: sample_size must be an integer >= 1, got {sample_size!r}")
        if isinstance(power, bool) or not isinstance(power, (int, float)) or not (math.isfinite(power) and power > 0):
            raise ConfigError(f"UnigramSampler: power must be a positive finite number (the book's 0.75), got {power!r}")
        counts = np.bincount(corpus).astype(np.float64)
        if int((counts > 0).sum()) <= sample_size:
            raise ConfigError(
                f"UnigramSampler: sample_size={sample_size} distinct negatives besides the target need at least "
                f"{sample_size + 1} distinct words in the corpus, it has {int((counts > 0).sum())}"
            )
        self.power = power
        self.sample_size = int(sample_size)
        self.vocab_size = counts.size
        weights = counts**power
        self.word_p = weights / weights.sum()
        self._cdf = np.cumsum(self.word_p)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def get_negative_sample(self, target: Any) -> np.ndarray:
        """``(N, sample_size)`` word ids for targets ``(N,)``, drawn on the host.

        Column by column, each row draws from ``word_p`` and draws again where it hit its target
        or a word it already holds: the distribution of drawing without replacement from ``p``
        with the target's probability zeroed (the book's per-row ``np.random.choice``), for all
        rows at once. A per-row ``choice`` spent 36 ms of CBOW's 45 ms iteration on PTB.
        """
        target = to_numpy(target)
        samples = np.empty((target.shape[0], self.sample_size), dtype=np.int64)
        for column in range(self.sample_size):
            rows = np.arange(target.shape[0])
            while rows.size:
                drawn = np.minimum(np.searchsorted(self._cdf, self.rng.random(rows.size) * self._cdf[-1], side="right"), self.vocab_size - 1)
                repeated = (drawn == target[rows]) | (samples[rows, :column] == drawn[:, None]).any(axis=1)
                samples[rows[~repeated], column] = drawn[~repeated]
                rows = rows[repeated]
        return samples


class NegativeSamplingLoss(LossLayer):
    """``loss = Σ_n [BCE(h_n · W[target_n], 1) + Σ_s BCE(h_n · W[neg_ns], 0)] / N``.

    ``forward(h, target)``: hidden vectors ``(N, D)`` and target ids ``(N,)``. ``W`` (V, D) is
    the output embedding (the only parameter). Backward returns ``dh`` and fills ``grads["W"]``.
    Set ``fixed_negatives`` (ids ``(N, sample_size)``) to use those instead of drawing, e.g. for
    gradient checks; ``negatives`` holds the last ones used.
    """

    def __init__(
        self,
        W: Array,
        corpus: Any,
        power: float = 0.75,
        sample_size: int = 5,
        *,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.sampler = UnigramSampler(corpus, power, sample_size, rng=rng)
        if self.sampler.vocab_size > W.shape[0]:
            raise ShapeError(f"{self.name}: the corpus holds word ids up to {self.sampler.vocab_size - 1}, W has only {W.shape[0]} rows")
        self.sample_size = self.sampler.sample_size
        self.embed_dot = EmbeddingDot(W)
        self.params["W"] = W
        self.fixed_negatives: Any = None
        self.negatives: Array = None
        self.cache: tuple[Array, Array] | None = None

    def forward(self, h: Array, target: Any) -> Array:
        W = self.params["W"]
        xp = array_module(W)
        self.embed_dot.params["W"] = W
        target = check_indices(self.name, target, W.shape[0], xp, "target")
        if target.ndim != 1 or target.shape[0] != getattr(h, "shape", (None,))[0]:
            raise ShapeError(f"{self.name}.forward: target must have shape (N,) for h of shape {getattr(h, 'shape', ())}, got {target.shape}")
        if self.fixed_negatives is None:
            negatives = xp.asarray(self.sampler.get_negative_sample(target))
        else:
            negatives = xp.asarray(self.fixed_negatives)
            if negatives.shape != (target.shape[0], self.sample_size):
                raise ShapeError(f"{self.name}.forward: fixed_negatives must have shape {(target.shape[0], self.sample_size)}, got {negatives.shape}")
        self.negatives = negatives
        words = xp.concatenate((target[:, None].astype(negatives.dtype), negatives), axis=1)
        scores = self.embed_dot.forward(h, words)  # (N, 1 + sample_size)
        labels = xp.zeros(scores.shape, dtype=scores.dtype)
        labels[:, 0] = 1
        loss = sigmoid_cross_entropy(scores, labels).sum() / max(h.shape[0], 1)
        self._require_finite(loss, xp)
        self.cache = (scores, labels)
        return loss

    def backward(self, dout: Any = 1) -> Array:
        scores, labels = self._require_forward(self.cache)
        self._check_scalar_dout(dout)
        dscores = (sigmoid(scores) - labels) * (dout / max(scores.shape[0], 1))
        dh = self.embed_dot.backward(dscores)
        self.grads["W"] = self.embed_dot.grads["W"]
        return dh
