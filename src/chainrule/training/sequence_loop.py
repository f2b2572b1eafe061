"""The loop for networks over word ids (word2vec, seq2seq), and seq2seq's exact-match accuracy.

:class:`~chainrule.training.Trainer` drives classification networks: it scores ``(N, classes)``
outputs, which these networks do not have (a seq2seq model is judged by the answers it
generates). Their loop is the book's ``Trainer.fit`` in a few lines: shuffle, cut full batches,
backpropagate, clip the gradients' global norm, update.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..backend import to_numpy
from ..checks import check_positive_int
from ..clipping import clip_grads
from ..errors import ConfigError, ShapeError


def train_epoch(
    net: Any,
    optimizer: Any,
    x: Any,
    t: Any,
    batch_size: int,
    *,
    rng: np.random.Generator,
    max_grad: float | None = None,
    max_iters: int | None = None,
    on_iteration: Callable[[int, float], None] | None = None,
) -> list[float]:
    """One pass over ``(x, t)`` in a random order; returns each iteration's loss.

    As the book's ``Trainer.fit``, only full batches are used (the last ``len(x) % batch_size``
    samples of the shuffled order wait for the next epoch). ``max_iters`` stops earlier (smoke
    runs); ``on_iteration(i, loss)`` is called after each update (progress lines).
    """
    check_positive_int(batch_size, "batch_size", "train_epoch")
    if len(x) != len(t):
        raise ShapeError(f"train_epoch: x and t must have one row per sample, got {len(x)} and {len(t)}")
    iterations = len(x) // batch_size
    if iterations == 0:
        raise ConfigError(f"train_epoch: batch_size={batch_size} is larger than the {len(x)} samples")
    if max_iters is not None:
        iterations = min(iterations, max_iters)
    order = rng.permutation(len(x))
    losses = []
    for i in range(iterations):
        batch = order[i * batch_size:(i + 1) * batch_size]
        grads = net.gradient(x[batch], t[batch])
        if max_grad is not None:
            clip_grads(grads, max_grad)
        optimizer.update(net.params, grads)
        losses.append(float(net.last_loss))
        if on_iteration is not None:
            on_iteration(i, losses[-1])
    return losses


def generate_answers(net: Any, questions: Any, starts: Any, length: int) -> np.ndarray:
    """Greedy answers ``(N, length)``: ``net.generate`` for each question ``(N, T)`` from its start id."""
    questions, starts = to_numpy(questions), to_numpy(starts)
    answers = np.empty((len(questions), length), dtype=np.int64)
    for row, (question, start) in enumerate(zip(questions, starts)):
        answers[row] = net.generate(question[None, :], int(start), length)
    return answers


def exact_match(guesses: Any, targets: Any) -> float:
    """The fraction of rows where every id of the guess equals the target's, padding included.

    The book's ``eval_seq2seq`` counts a question right only when the whole generated string
    (``len(answer)`` characters, trailing spaces too) equals the answer: one wrong character, or
    a correct number followed by a stray digit, makes it wrong.
    """
    guesses, targets = np.asarray(to_numpy(guesses)), np.asarray(to_numpy(targets))
    if guesses.shape != targets.shape or guesses.ndim != 2:
        raise ShapeError(f"exact_match: guesses and targets must be (N, T) of one shape, got {guesses.shape} and {targets.shape}")
    if len(guesses) == 0:
        raise ShapeError("exact_match: no rows to compare")
    return float((guesses == targets).all(axis=1).mean())


def seq2seq_accuracy(net: Any, questions: Any, answers: Any) -> float:
    """Exact-match accuracy of greedy generation, as the book's ``eval_seq2seq`` counts it.

    ``answers`` ``(N, T')`` start with the decoder's start symbol; the model generates the
    remaining ``T' - 1`` ids from it.
    """
    answers = to_numpy(answers)
    guesses = generate_answers(net, questions, answers[:, 0], answers.shape[1] - 1)
    return exact_match(guesses, answers[:, 1:])
