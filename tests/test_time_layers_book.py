"""The sequence layers and language models against the second book's own code, read in place
(``CHAINRULE_BOOK2_DIR``, see ``book2_support``; skipped where it is absent). Same weights, same
inputs: the outputs and gradients must agree. The book's modules are imported in this process
(arrays cross by reference, not through a subprocess) under their own ``common`` package, which
the fixture puts away afterwards.

The book computes its time layers in float32 (``np.empty(..., dtype='f')``) and guards its
sigmoid loss with ``1e-7``, so agreement is to float32 precision; the PyTorch tests hold the
float64 1e-10 line. What this pins down is the book's *semantics*: gate order, the carried
state, how the losses average, the GRU's equations, weight tying.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from chainrule.clipping import clip_grads
from chainrule.data import PTB, load_ptb
from chainrule.layers import (
    EmbeddingDot,
    NegativeSamplingLoss,
    TimeAffine,
    TimeBiLSTM,
    TimeEmbedding,
    TimeGRU,
    TimeLSTM,
    TimeRNN,
    TimeSoftmaxWithLoss,
)
from chainrule.nets import BetterRnnlm, Rnnlm, perplexity

from book2_support import BOOK2

REAL_DATA = os.environ.get("CHAINRULE_DATA")
HAVE_PTB = bool(REAL_DATA) and all((Path(REAL_DATA) / "ptb" / f.name).is_file() for f in PTB.files.values())
pytestmark = pytest.mark.skipif(not (BOOK2 / "common" / "time_layers.py").is_file(), reason=f"no second book at {BOOK2}")
TOL = dict(rtol=2e-4, atol=2e-6)  # float32 arithmetic in the book's layers


@pytest.fixture(scope="module")
def book():
    """The book's modules, imported under its own ``common`` package and put away afterwards
    (the first book's ``common`` may be imported by other tests)."""
    saved_modules = {name: module for name, module in sys.modules.items() if name == "common" or name.startswith("common.")}
    saved_path = list(sys.path)  # the book's modules also append '..' to it
    for name in saved_modules:
        del sys.modules[name]
    sys.path[:0] = [str(BOOK2), str(BOOK2 / "ch04"), str(BOOK2 / "ch06")]
    try:
        yield SimpleNamespace(
            time_layers=importlib.import_module("common.time_layers"),
            util=importlib.import_module("common.util"),
            negative_sampling=importlib.import_module("negative_sampling_layer"),
            rnnlm=importlib.import_module("rnnlm"),
            better_rnnlm=importlib.import_module("better_rnnlm"),
        )
    finally:
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if n == "common" or n.startswith("common.")]:
            del sys.modules[name]
        for name in ("negative_sampling_layer", "rnnlm", "better_rnnlm"):
            sys.modules.pop(name, None)
        sys.modules.update(saved_modules)


@pytest.fixture(autouse=True)
def _global_generator_restored():
    """The book draws from NumPy's global generator (its initial weights, its samplers): the
    tests seed it, and leave it as they found it."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def close(mine, theirs, what=""):
    np.testing.assert_allclose(mine, np.asarray(theirs, dtype=np.float64), **TOL, err_msg=what)


@pytest.mark.parametrize("kind, gates", [("RNN", 1), ("LSTM", 4), ("GRU", 3)])
def test_recurrent_layers_over_two_windows_match_the_book(book, kind, gates):
    rng = np.random.default_rng(gates)
    N, T, D, H = 3, 4, 2, 5
    params = [0.7 * rng.standard_normal(s) for s in [(D, gates * H), (H, gates * H), (gates * H,)]]
    theirs = getattr(book.time_layers, f"Time{kind}")(*[p.copy() for p in params], stateful=True)
    mine = {"RNN": TimeRNN, "LSTM": TimeLSTM, "GRU": TimeGRU}[kind](*params, stateful=True)
    for window in range(2):
        xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
        close(mine.forward(xs), theirs.forward(xs.copy()), f"window {window}: hs")
        close(mine.backward(dhs), theirs.backward(dhs.copy()), f"window {window}: dxs")
        close(mine.dh, theirs.dh, f"window {window}: dh")
        for name, grad in zip(("Wx", "Wh", "b"), theirs.grads):
            close(mine.grads[name], grad, f"window {window}: d{name}")


def test_bilstm_matches_the_book(book):
    rng = np.random.default_rng(0)
    params = [0.7 * rng.standard_normal(s) for s in [(2, 12), (3, 12), (12,)] * 2]
    theirs, mine = book.time_layers.TimeBiLSTM(*[p.copy() for p in params]), TimeBiLSTM(*params)
    xs, dhs = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 6))
    close(mine.forward(xs), theirs.forward(xs.copy()))
    close(mine.backward(dhs), theirs.backward(dhs.copy()))
    for name, grad in zip(["forward_Wx", "forward_Wh", "forward_b", "backward_Wx", "backward_Wh", "backward_b"], theirs.grads):
        close(mine.grads[name], grad, name)


def test_embedding_affine_and_softmax_loss_with_ignored_labels_match_the_book(book):
    rng = np.random.default_rng(0)
    W_embed, W, b = rng.standard_normal((6, 3)), rng.standard_normal((3, 6)), rng.standard_normal(6)
    xs, ts = rng.integers(0, 6, (2, 5)), rng.integers(0, 6, (2, 5))
    ts[1, 2:] = -1
    book_layers = [book.time_layers.TimeEmbedding(W_embed.copy()), book.time_layers.TimeAffine(W.copy(), b.copy())]
    book_loss = book.time_layers.TimeSoftmaxWithLoss()
    mine, my_loss = [TimeEmbedding(W_embed), TimeAffine(W, b)], TimeSoftmaxWithLoss()
    out_book, out_mine = xs, xs
    for theirs_layer, my_layer in zip(book_layers, mine):
        out_book, out_mine = theirs_layer.forward(out_book), my_layer.forward(out_mine)
    close(my_loss.forward(out_mine, ts), book_loss.forward(out_book, ts))
    d_book, d_mine = book_loss.backward(), my_loss.backward()
    close(d_mine, d_book)
    for theirs_layer, my_layer in zip(reversed(book_layers), reversed(mine)):
        d_book, d_mine = theirs_layer.backward(d_book), my_layer.backward(d_mine)
        for name, grad in zip(my_layer.params, theirs_layer.grads):
            close(my_layer.grads[name], grad, f"{my_layer.name}.{name}")


def test_embedding_dot_and_negative_sampling_match_the_book(book, monkeypatch):
    rng = np.random.default_rng(0)
    W, h = rng.standard_normal((8, 3)), rng.standard_normal((4, 3))
    target, corpus = np.array([0, 3, 3, 7]), np.arange(8).repeat(2)
    theirs_dot, mine_dot = book.negative_sampling.EmbeddingDot(W.copy()), EmbeddingDot(W)
    dout = rng.standard_normal(4)
    close(mine_dot.forward(h, target), theirs_dot.forward(h, target))
    close(mine_dot.backward(dout), theirs_dot.backward(dout))
    close(mine_dot.grads["W"], theirs_dot.grads[0])

    mine = NegativeSamplingLoss(W, corpus, sample_size=3, rng=0)
    theirs = book.negative_sampling.NegativeSamplingLoss(W.copy(), corpus, sample_size=3)
    negatives = mine.sampler.get_negative_sample(target)
    mine.fixed_negatives = negatives
    monkeypatch.setattr(theirs.sampler, "get_negative_sample", lambda _: negatives)
    close(mine.forward(h, target), theirs.forward(h, target))
    close(mine.backward(), theirs.backward())
    close(mine.grads["W"], sum(theirs.grads))


def test_clip_grads_matches_the_book(book):
    rng = np.random.default_rng(0)
    grads = [5 * rng.standard_normal((3, 4)), 5 * rng.standard_normal(4)]
    theirs = [g.copy() for g in grads]
    clip_grads(grads, 0.25)
    book.util.clip_grads(theirs, 0.25)
    for mine, book_grad in zip(grads, theirs):
        np.testing.assert_allclose(mine, book_grad, rtol=1e-5)


def _copy_book_params(book_model, net, names):
    for name, value in zip(names, book_model.params):
        net.params[name][...] = value


def test_rnnlm_matches_the_books_over_two_windows(book):
    np.random.seed(0)  # the book draws its initial weights from NumPy's global generator
    theirs = book.rnnlm.Rnnlm(9, 3, 4)
    mine = Rnnlm(9, 3, 4)
    _copy_book_params(theirs, mine, ["embed.W", "lstm.Wx", "lstm.Wh", "lstm.b", "affine.W", "affine.b"])
    rng = np.random.default_rng(0)
    for window in range(2):
        xs, ts = rng.integers(0, 9, (2, 5)), rng.integers(0, 9, (2, 5))
        close(mine.loss(xs, ts), theirs.forward(xs, ts), f"window {window}: loss")
        mine.backward()
        theirs.backward()
        grads = mine.collect_grads()
        for name, grad in zip(mine.params, theirs.grads):
            close(grads[name], grad, f"window {window}: {name}")


def test_better_rnnlm_with_weight_tying_matches_the_book(book):
    np.random.seed(0)
    theirs = book.better_rnnlm.BetterRnnlm(9, 4, 4, dropout_ratio=0.0)
    mine = BetterRnnlm(9, 4, 4, dropout_ratio=0.0)
    names = ["embed.W", "lstm1.Wx", "lstm1.Wh", "lstm1.b", "lstm2.Wx", "lstm2.Wh", "lstm2.b"]
    _copy_book_params(theirs, mine, names)
    mine.params["affine.b"][...] = theirs.params[-1]
    rng = np.random.default_rng(0)
    xs, ts = rng.integers(0, 9, (2, 5)), rng.integers(0, 9, (2, 5))
    close(mine.loss(xs, ts), theirs.forward(xs, ts))
    mine.backward()
    theirs.backward()
    grads = mine.collect_grads()
    # The book keeps the tied weight twice (embed_W and embed_W.T) and sums the two gradients
    # in its trainer (remove_duplicate); chainrule names it once.
    close(grads["embed.W"], theirs.grads[0] + theirs.grads[-2].T, "embed.W")
    for name, grad in zip(names[1:], theirs.grads[1:-2]):
        close(grads[name], grad, name)
    close(grads["affine.b"], theirs.grads[-1], "affine.b")


def test_the_books_trained_rnnlm_loads_and_predicts_as_in_the_book(book):
    """``ch06/Rnnlm.pkl`` (the book's trained PTB model; its test perplexity through
    chainrule.nets.perplexity is 136.08, the book reports about 136)."""
    weights = BOOK2 / "ch06" / "Rnnlm.pkl"
    theirs = book.rnnlm.Rnnlm()
    theirs.load_params(str(weights))
    mine = Rnnlm(dtype=np.float32)
    mine.load_params(weights)
    xs = np.random.default_rng(0).integers(0, 10000, (2, 6))
    close(mine.predict(xs), theirs.predict(xs))


@pytest.mark.skipif(not HAVE_PTB, reason="set CHAINRULE_DATA to a folder with ptb/ptb.*.txt to run")
def test_the_books_trained_rnnlm_has_the_books_perplexity_on_ptb(book):
    """Through chainrule's loader, model and :func:`perplexity` as through the book's
    ``eval_perplexity``, on the start of the PTB test set (the whole set, 82,430 words, gives
    136.08 here, the book's ch06/eval.py figure; too slow for every run)."""
    corpus, word_to_id, _ = load_ptb("test", download=False, progress=False)
    corpus = corpus[: 10 * 35 * 8 + 1]  # 8 windows of batch 10 x 35 words
    weights = BOOK2 / "ch06" / "Rnnlm.pkl"
    mine = Rnnlm(len(word_to_id), 100, 100, dtype=np.float32)
    mine.load_params(weights)
    theirs = book.rnnlm.Rnnlm()
    theirs.load_params(str(weights))
    expected = book.util.eval_perplexity(theirs, corpus)
    assert 100 < expected < 300
    assert perplexity(mine, corpus) == pytest.approx(expected, rel=1e-5)


def test_saved_weights_load_into_the_books_model(book, tmp_path):
    rng = np.random.default_rng(0)
    mine = BetterRnnlm(9, 4, 4, rng=0)
    mine.save_params(tmp_path / "better.pkl")
    theirs = book.better_rnnlm.BetterRnnlm(9, 4, 4)
    theirs.load_params(str(tmp_path / "better.pkl"))
    mine.eval()
    xs = rng.integers(0, 9, (2, 5))
    np.testing.assert_allclose(mine.predict(xs), theirs.predict(xs), rtol=1e-2, atol=1e-3)  # float16 weights
