"""The sequel's ``common/util.py``: chainrule's text functions, clipping and perplexity windows.

``preprocess``, ``create_co_matrix``, ``cos_similarity``, ``ppmi``, ``create_contexts_target`` and
``convert_one_hot`` are :mod:`chainrule.text`'s. ``most_similar`` and ``analogy`` print their
results and return None, as the book's do, and print ``... is not found`` for an unknown word
(chainrule's return the results and raise :class:`~chainrule.errors.UnknownWordError`).
``clip_grads`` is chainrule's (the clipped norm is exactly ``max_norm``; the book's divides by
``norm + 1e-6``). ``eval_perplexity`` reads the corpus in chainrule's windows, which are the book's.
"""

import inspect as _inspect
import os
import sys

import numpy as _numpy

from chainrule import text as _text
from chainrule.backend import array_module as _array_module
from chainrule.backend import to_numpy as _to_numpy
from chainrule.clipping import clip_grads as _clip_grads
from chainrule.errors import UnknownWordError as _UnknownWordError
from chainrule.nets.rnnlm import corpus_windows as _corpus_windows
from chainrule.text import convert_one_hot, cos_similarity, create_co_matrix, create_contexts_target, ppmi, preprocess  # noqa: F401

from .np import *  # noqa: F401,F403 - the book's module exposes np


def most_similar(query, word_to_id, id_to_word, word_matrix, top=5):
    """Print the ``top`` words closest in cosine to ``query``, as the book does; return None."""
    if _array_module(word_matrix).asarray(word_matrix).dtype.kind in "iub":  # counts (ch02): cosines in float64
        word_matrix = word_matrix.astype(_numpy.float64)
    try:
        _text.most_similar(query, word_to_id, id_to_word, word_matrix, top, verbose=True)
    except _UnknownWordError:
        print("%s is not found" % query)


def analogy(a, b, c, word_to_id, id_to_word, word_matrix, top=5, answer=None):
    """Print the ``top`` words nearest to ``b - a + c``, as the book does; return None."""
    for word in (a, b, c):
        if word not in word_to_id:
            print("%s is not found" % word)
            return
    _text.analogy(a, b, c, word_to_id, id_to_word, word_matrix, top, answer, verbose=True)


def normalize(x):
    """``x`` scaled in place to unit rows (2-D) or unit length (1-D), and returned, as the book's."""
    xp = _array_module(x)
    if x.ndim == 2:
        x /= xp.sqrt((x * x).sum(axis=1)).reshape(-1, 1)
    elif x.ndim == 1:
        x /= xp.sqrt((x * x).sum())
    return x


def to_cpu(x):
    return _to_numpy(x)


def to_gpu(x):
    from chainrule.book.sequel.device import gpu_module

    return gpu_module().asarray(x)


def clip_grads(grads, max_norm):
    """Scale ``grads`` in place so that their global norm is at most ``max_norm``."""
    _clip_grads(grads, max_norm)


def _forward_in_eval_mode(model, xs, ts):
    """``model.forward(xs, ts, train_flg=False)`` for a model whose forward takes it, else ``forward(xs, ts)``."""
    if "train_flg" in _inspect.signature(model.forward).parameters:
        return model.forward(xs, ts, train_flg=False)
    return model.forward(xs, ts)


def eval_perplexity(model, corpus, batch_size=10, time_size=35):
    """``exp`` of the mean loss over ``corpus`` read in windows of ``batch_size`` x ``time_size``."""
    print("evaluating perplexity ...")
    corpus = _to_numpy(corpus)
    max_iters = (len(corpus) - 1) // (batch_size * time_size)
    total_loss = 0
    for iters, (xs, ts) in enumerate(_corpus_windows(corpus, batch_size, time_size)):
        xs, ts = np.asarray(xs.astype(_numpy.int32)), np.asarray(ts.astype(_numpy.int32))
        total_loss += _forward_in_eval_mode(model, xs, ts)
        sys.stdout.write("\r%d / %d" % (iters, max_iters))
        sys.stdout.flush()
    print("")
    return np.exp(total_loss / max_iters)


def eval_seq2seq(model, question, correct, id_to_char, verbose=False, is_reverse=False):
    """1 if ``model.generate`` answers ``question`` with ``correct`` (after its start id), else 0;
    ``verbose`` prints question, answer and guess, marked, as the book does."""
    correct = correct.flatten()
    start_id, correct = correct[0], correct[1:]
    guess = model.generate(question, start_id, len(correct))
    question = "".join(id_to_char[int(c)] for c in question.flatten())
    correct = "".join(id_to_char[int(c)] for c in correct)
    guess = "".join(id_to_char[int(c)] for c in guess)
    if verbose:
        if is_reverse:
            question = question[::-1]
        print("Q", question)
        print("T", correct)
        windows = os.name == "nt"
        if correct == guess:
            print(("O" if windows else "\033[92m☑\033[0m") + " " + guess)
        else:
            print(("X" if windows else "\033[91m☒\033[0m") + " " + guess)
        print("---")
    return 1 if guess == correct else 0
