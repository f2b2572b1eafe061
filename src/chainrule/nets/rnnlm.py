"""Recurrent language models: ``Rnnlm`` (embedding, LSTM, affine) and ``BetterRnnlm`` (two LSTMs,
dropout, the output weights tied to the embedding), with perplexity and text generation.

A language model reads words ``w_1 .. w_t`` and scores every vocabulary word as ``w_{t+1}``.
Training feeds a long corpus in windows of ``time_size`` words to stateful LSTMs (truncated
backpropagation through time), ``batch_size`` streams side by side, each starting at its own
offset of the corpus (:func:`corpus_windows`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import init
from ..backend import Array, Backend, get_backend, to_numpy
from ..checks import check_positive_int
from ..errors import ConfigError
from ..functions import softmax
from ..layers import TimeAffine, TimeDropout, TimeEmbedding, TimeLSTM, TimeSoftmaxWithLoss
from .sequence_net import SequenceNet


def corpus_windows(corpus: Any, batch_size: int, time_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Windows ``(xs, ts)`` of shape ``(batch_size, time_size)`` over ``corpus``, in reading order.

    Row ``i`` reads from offset ``i * (len - 1) // batch_size``, so the rows are far apart in the
    text and each continues where its previous window stopped (what a stateful LSTM expects);
    ``ts`` is ``xs`` shifted by one word. One pass yields ``(len - 1) // (batch_size * time_size)``
    windows.
    """
    corpus = to_numpy(corpus)
    if corpus.ndim != 1 or corpus.dtype.kind not in "iu":
        raise ConfigError(f"corpus_windows: corpus must be a 1-D array of word ids, got {corpus.dtype} of shape {corpus.shape}")
    check_positive_int(batch_size, "batch_size", "corpus_windows")
    check_positive_int(time_size, "time_size", "corpus_windows")
    count = (len(corpus) - 1) // (batch_size * time_size)
    if count < 1:
        raise ConfigError(
            f"corpus_windows: a corpus of {len(corpus)} words holds no window of {batch_size} x {time_size} "
            f"(needs at least {batch_size * time_size + 1} words)"
        )
    jump = (len(corpus) - 1) // batch_size
    offsets = np.arange(batch_size)[:, None] * jump + np.arange(time_size)[None, :]
    for window in range(count):
        positions = (offsets + window * time_size) % len(corpus)
        yield corpus[positions], corpus[(positions + 1) % len(corpus)]


def perplexity(model: SequenceNet, corpus: Any, batch_size: int = 10, time_size: int = 35) -> float:
    """``exp`` of the mean cross-entropy of predicting each next word of ``corpus`` (the book's
    ``eval_perplexity``): 1 for a model that is always sure and right, the vocabulary size for
    one that guesses uniformly. The model runs in eval mode from a reset state, and is reset after.
    """
    training = model.training
    model.eval()
    model.reset_state()
    total, count = 0.0, 0
    try:
        for xs, ts in corpus_windows(corpus, batch_size, time_size):
            total += float(model.loss(xs, ts))
            count += 1
    finally:
        model.reset_state()
        model.train(training)
    return math.exp(total / count)


# Words the book's generate_text.py never samples: numbers, unknown words and the dollar sign.
SKIP_WORDS = ("N", "<unk>", "$")


def generate_text(model: "_LanguageModel", start_words: list[str], word_to_id: dict[str, int], id_to_word: dict[int, str],
                  length: int = 100, *, rng: int | np.random.Generator | None = None,
                  skip_words: tuple[str, ...] = SKIP_WORDS) -> str:
    """``start_words`` and ``length`` words sampled after them, as the book's ``generate_better_text.py``:
    the start is read word by word from a fresh state, then :meth:`~_LanguageModel.generate` draws
    the rest (never one of ``skip_words``); each ``<eos>`` is written as a full stop and a newline."""
    check_positive_int(length, "length", "generate_text")
    if not start_words:
        raise ConfigError("generate_text: start_words is empty: give at least one word to start from")
    unknown = [word for word in start_words if word not in word_to_id]
    if unknown:
        raise ConfigError(f"generate_text: the word {unknown[0]!r} is not in the vocabulary ({len(word_to_id)} words)")
    start_ids = [word_to_id[word] for word in start_words]
    model.reset_state()
    for word_id in start_ids[:-1]:  # only the state they leave matters
        model.predict(np.array([[word_id]]))
    skip_ids = [word_to_id[word] for word in skip_words if word in word_to_id]
    sampled = model.generate(start_ids[-1], skip_ids, length + 1, rng=rng)
    model.reset_state()
    text = " ".join(id_to_word[word_id] for word_id in start_ids[:-1] + sampled)
    return "\n".join(line.lstrip() for line in text.replace(" <eos>", ".\n").split("\n"))


def _lstm_weights(generator: np.random.Generator, D: int, H: int, dtype: Any, backend: Backend) -> tuple[Array, Array, Array]:
    """``Wx ~ N(0, 1/D)``, ``Wh ~ N(0, 1/H)`` (Xavier), ``b = 0``, as in the book."""
    return (
        init.normal(generator, (D, 4 * H), 1 / math.sqrt(D), dtype, backend),
        init.normal(generator, (H, 4 * H), 1 / math.sqrt(H), dtype, backend),
        init.zeros((4 * H,), dtype, backend),
    )


class _LanguageModel(SequenceNet):
    def generate(self, start_id: int, skip_ids: list[int] | None = None, sample_size: int = 100,
                 *, rng: int | np.random.Generator | None = None) -> list[int]:
        """``sample_size`` word ids, starting from ``start_id``, each drawn from the model's
        softmax given the words so far (never one of ``skip_ids``). Uses (and advances) the
        carried state: call :meth:`reset_state` first for a fresh text."""
        generator = init.as_generator(rng)
        skip = set(skip_ids or ())
        word_ids, x = [start_id], start_id
        with self._mode(False):
            while len(word_ids) < sample_size:
                scores = self.forward(self.xp.asarray([[x]]))
                p = to_numpy(softmax(scores.reshape(-1))).astype(np.float64)
                x = int(generator.choice(p.size, p=p / p.sum()))
                if x not in skip:
                    word_ids.append(x)
        return word_ids


class Rnnlm(_LanguageModel):
    """``TimeEmbedding -> TimeLSTM (stateful) -> TimeAffine -> TimeSoftmaxWithLoss``.

    ``loss(xs, ts)``: word ids ``(N, T)`` and next-word ids ``(N, T)``. Embedding ``N(0, 0.01²)``,
    LSTM and affine Xavier, biases zero, as in the book.
    """

    def __init__(self, vocab_size: int = 10000, wordvec_size: int = 100, hidden_size: int = 100, *,
                 rng: int | np.random.Generator | None = None, dtype: Any = np.float64, backend: str | Backend = "numpy") -> None:
        for label, size in (("vocab_size", vocab_size), ("wordvec_size", wordvec_size), ("hidden_size", hidden_size)):
            check_positive_int(size, label, type(self).__name__)
        generator, backend = init.as_generator(rng), get_backend(backend)
        V, D, H = vocab_size, wordvec_size, hidden_size
        super().__init__(
            {
                "embed": TimeEmbedding(init.normal(generator, (V, D), 0.01, dtype, backend)),
                "lstm": TimeLSTM(*_lstm_weights(generator, D, H, dtype, backend), stateful=True),
                "affine": TimeAffine(init.normal(generator, (H, V), 1 / math.sqrt(H), dtype, backend), init.zeros((V,), dtype, backend)),
            },
            TimeSoftmaxWithLoss(),
        )


class BetterRnnlm(_LanguageModel):
    """The book's improved language model: two stacked LSTMs, dropout before and after each, and
    the output affine's weight tied to the embedding (``affine.W = embed.W.T``), which needs
    ``wordvec_size == hidden_size``.

    ``embed -> dropout -> lstm1 -> dropout -> lstm2 -> dropout -> affine``; dropout draws from
    ``rng`` too, so a seed makes a training run repeatable.
    """

    tied = {"affine.W": "embed.W"}

    def __init__(self, vocab_size: int = 10000, wordvec_size: int = 650, hidden_size: int = 650, dropout_ratio: float = 0.5, *,
                 rng: int | np.random.Generator | None = None, dtype: Any = np.float64, backend: str | Backend = "numpy") -> None:
        for label, size in (("vocab_size", vocab_size), ("wordvec_size", wordvec_size), ("hidden_size", hidden_size)):
            check_positive_int(size, label, type(self).__name__)
        if wordvec_size != hidden_size:
            raise ConfigError(
                f"BetterRnnlm: weight tying uses the embedding (vocab_size, wordvec_size) as the output weight "
                f"(hidden_size, vocab_size) transposed, so wordvec_size must equal hidden_size; got {wordvec_size} and {hidden_size}"
            )
        generator, backend = init.as_generator(rng), get_backend(backend)
        V, H = vocab_size, hidden_size
        embed_W = init.normal(generator, (V, H), 0.01, dtype, backend)
        super().__init__(
            {
                "embed": TimeEmbedding(embed_W),
                "dropout1": TimeDropout(dropout_ratio, rng=generator),
                "lstm1": TimeLSTM(*_lstm_weights(generator, H, H, dtype, backend), stateful=True),
                "dropout2": TimeDropout(dropout_ratio, rng=generator),
                "lstm2": TimeLSTM(*_lstm_weights(generator, H, H, dtype, backend), stateful=True),
                "dropout3": TimeDropout(dropout_ratio, rng=generator),
                "affine": TimeAffine(embed_W.T, init.zeros((V,), dtype, backend)),
            },
            TimeSoftmaxWithLoss(),
        )
