"""The second book's models on chainrule: word2vec (CBOW, skip-gram), the LSTM language models,
the seq2seq family. Each is gradient-checked on tiny sizes in float64 and trained a few steps on
a tiny corpus, where its loss must fall."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.backend import array_module, to_numpy
from chainrule.clipping import clip_grads
from chainrule.errors import CheckpointError, ConfigError, ShapeError
from chainrule.gradients import gradcheck_net
from chainrule.nets import (
    CBOW,
    AttentionSeq2seq,
    BetterRnnlm,
    PeekySeq2seq,
    Rnnlm,
    Seq2seq,
    SkipGram,
    corpus_windows,
    perplexity,
)
from chainrule.optimizers import SGD, Adam
from chainrule.text import create_contexts_target
from helpers import ATOL
from strict_backend import STRICT

V = 7
RTOL = 1e-6  # a whole network, float64, h = 1e-5: round-off of a deeper objective than one layer's


def _scale_embeddings(net, factor=30.0):
    """The book's N(0, 0.01²) embeddings make every later gradient ~1e-6; scaled, the check is
    on gradients of order one."""
    for key in net.params:
        if key.endswith("embed.W"):
            net.params[key] *= factor
    return net


def _word2vec_case(cls, rng):
    corpus = rng.integers(0, V, 60)
    net = cls(V, 4, 1, corpus, sample_size=2, rng=0)
    contexts, target = rng.integers(0, V, (3, 2)), rng.integers(0, V, 3)
    words = target if cls is CBOW else contexts.reshape(-1)
    net.last_layer.fixed_negatives = net.last_layer.sampler.get_negative_sample(words)
    return (net, contexts, target) if cls is CBOW else (net, target, contexts)


def _cases(rng):
    xs, ts = rng.integers(0, V, (2, 3)), rng.integers(0, V, (2, 3))
    better = _scale_embeddings(BetterRnnlm(V, 4, 4, dropout_ratio=0.3, rng=0))
    for name in ("dropout1", "dropout2", "dropout3"):
        better.layers[name].fixed_mask = rng.random((2, 3, 4)) > 0.3
    source, target = rng.integers(0, V, (2, 4)), rng.integers(0, V, (2, 3))
    return {
        "CBOW": _word2vec_case(CBOW, rng),
        "SkipGram": _word2vec_case(SkipGram, rng),
        "Rnnlm": (_scale_embeddings(Rnnlm(V, 3, 4, rng=0)), xs, ts),
        "BetterRnnlm": (better, xs, ts),
        "Seq2seq": (_scale_embeddings(Seq2seq(V, 3, 4, rng=0)), source, target),
        "PeekySeq2seq": (_scale_embeddings(PeekySeq2seq(V, 3, 4, rng=0)), source, target),
        "AttentionSeq2seq": (_scale_embeddings(AttentionSeq2seq(V, 3, 4, rng=0)), source, target),
    }


NAMES = list(_cases(np.random.default_rng(0)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradients_match_central_differences(name, seed):
    net, x, t = _cases(np.random.default_rng(seed))[name]
    if hasattr(net, "reset_state") and name in ("Rnnlm", "BetterRnnlm"):
        net.loss(x, t)  # a first window: the check then runs from a carried, nonzero state
    report = gradcheck_net(net, x, t, h=1e-5)
    assert report.passed(RTOL, ATOL), f"{name}:\n{report}"


def test_weight_tying_shares_one_array_and_adds_both_gradients():
    rng = np.random.default_rng(0)
    net = BetterRnnlm(V, 4, 4, dropout_ratio=0.0, rng=0)
    assert "affine.W" not in net.params and "embed.W" in net.params
    xs, ts = rng.integers(0, V, (2, 3)), rng.integers(0, V, (2, 3))
    grads = net.gradient(xs, ts)
    expected = net.layers["embed"].grads["W"] + net.layers["affine"].grads["W"].T
    np.testing.assert_array_equal(grads["embed.W"], expected)
    # An update through params (even one that replaces the array) reaches the output layer.
    net.params["embed.W"] = net.params["embed.W"] + 1.0
    net.loss(xs, ts)
    np.testing.assert_array_equal(net.layers["affine"].params["W"], net.params["embed.W"].T)
    with pytest.raises(ConfigError, match="wordvec_size must equal hidden_size"):
        BetterRnnlm(V, 4, 5)


def test_parameters_are_named_by_layer_and_round_trip_through_a_state_dict():
    net, other = Seq2seq(V, 3, 4, rng=0), Seq2seq(V, 3, 4, rng=1)
    assert list(net.params)[:3] == ["encoder.embed.W", "encoder.lstm.Wx", "encoder.lstm.Wh"]
    assert "decoder.affine.W" in net.parameters()
    other.load_state_dict(net.state_dict())
    for key in net.params:
        np.testing.assert_array_equal(other.params[key], net.params[key])
    with pytest.raises(CheckpointError, match="missing keys"):
        Rnnlm(V, 3, 4).load_state_dict(net.state_dict())
    cbow = CBOW(V, 4, 1, np.arange(V), rng=0)
    assert list(cbow.params) == ["in_embed.W", "loss.W"] and cbow.word_vecs is cbow.params["in_embed.W"]


@pytest.mark.parametrize("cls", [Rnnlm, BetterRnnlm, AttentionSeq2seq, PeekySeq2seq])
def test_float32_models_stay_float32(cls):
    rng = np.random.default_rng(0)
    net = cls(V, 4, 4, rng=0, dtype=np.float32)
    xs, ts = rng.integers(0, V, (2, 3)), rng.integers(0, V, (2, 3))
    grads = net.gradient(xs, ts)
    assert net.last_loss.dtype == np.float32
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    with pytest.raises(ConfigError, match="perplexity"):
        net.accuracy(xs, ts)


def test_weights_in_the_books_list_format_round_trip_and_bad_files_are_refused(tmp_path):
    import pickle

    net = BetterRnnlm(V, 4, 4, rng=0)
    net.save_params(tmp_path / "better.pkl")
    with open(tmp_path / "better.pkl", "rb") as f:
        saved = pickle.load(f)
    assert len(saved) == 9 and all(a.dtype == np.float16 for a in saved)  # the tied weight listed twice, as the book does
    other = BetterRnnlm(V, 4, 4, rng=1)
    other.load_params(tmp_path / "better.pkl")
    np.testing.assert_allclose(other.params["embed.W"], net.params["embed.W"], rtol=1e-3)
    np.testing.assert_array_equal(other.layers["affine"].params["W"], other.params["embed.W"].T)
    with open(tmp_path / "short.pkl", "wb") as f:
        pickle.dump(saved[:3], f)
    with pytest.raises(CheckpointError, match="expected the book's list of 9 arrays"):
        other.load_params(tmp_path / "short.pkl")
    with open(tmp_path / "untied.pkl", "wb") as f:
        pickle.dump(saved[:7] + [np.zeros((3, 3), np.float16)] + saved[8:], f)
    with pytest.raises(CheckpointError, match="affine.W should be embed.W transposed"):
        other.load_params(tmp_path / "untied.pkl")
    with open(tmp_path / "by_name.pkl", "wb") as f:
        pickle.dump(net.state_dict(), f)
    other.load_params(tmp_path / "by_name.pkl")
    np.testing.assert_array_equal(other.params["lstm2.Wh"], net.params["lstm2.Wh"])


def test_eval_mode_turns_dropout_off():
    rng = np.random.default_rng(0)
    net = BetterRnnlm(V, 4, 4, dropout_ratio=0.5, rng=0)
    xs = rng.integers(0, V, (2, 3))
    net.eval()
    first = net.forward(xs)
    net.reset_state()
    np.testing.assert_array_equal(net.forward(xs), first)
    net.train()
    net.reset_state()
    assert not np.array_equal(net.forward(xs), first)


# -- training on a tiny corpus ----------------------------------------------------------------------

CORPUS = np.array([0, 1, 2, 3, 4, 1, 5, 6] * 12)  # "you say goodbye and i say hello ." repeated


@pytest.mark.parametrize("cls", [CBOW, SkipGram])
def test_word2vec_learns_the_tiny_corpus(cls):
    contexts, target = create_contexts_target(CORPUS, window_size=1)
    net = cls(V, 5, 1, CORPUS, sample_size=2, rng=0)
    optimizer = Adam(0.05)
    x, t = (contexts, target) if cls is CBOW else (target, contexts)
    losses = []
    for _ in range(60):
        grads = net.gradient(x, t)
        losses.append(float(net.last_loss))
        optimizer.update(net.params, grads)
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses[::10]


@pytest.mark.parametrize("cls", [Rnnlm, BetterRnnlm])
def test_language_models_lower_their_perplexity(cls):
    kwargs = {"dropout_ratio": 0.1} if cls is BetterRnnlm else {}
    net = cls(V, 8, 8, rng=0, **kwargs)
    before = perplexity(net, CORPUS, batch_size=2, time_size=5)
    assert before == pytest.approx(V, rel=0.05)  # untrained: close to guessing uniformly
    optimizer = SGD(20.0)  # the book's learning rate for its language models, with clipping at 0.25
    for _ in range(15):
        for xs, ts in corpus_windows(CORPUS, 4, 5):
            grads = net.gradient(xs, ts)
            clip_grads(grads, 0.25)
            optimizer.update(net.params, grads)
    after = perplexity(net, CORPUS, batch_size=2, time_size=5)
    assert after < 2.0, (before, after)  # the text is predictable from its context: perplexity near 1
    assert net.training  # perplexity leaves the mode as it found it
    words = net.generate(0, skip_ids=[6], sample_size=10, rng=0)
    assert len(words) == 10 and 6 not in words and all(0 <= w < V for w in words)
    net.reset_state()
    assert net.generate(0, sample_size=10, rng=0) == (net.reset_state() or net.generate(0, sample_size=10, rng=0))


@pytest.mark.parametrize("cls", [Seq2seq, PeekySeq2seq, AttentionSeq2seq])
def test_seq2seq_models_learn_to_reverse_short_sequences(cls):
    rng = np.random.default_rng(0)
    source = rng.integers(1, V, (16, 4))
    target = np.concatenate([np.zeros((16, 1), int), source[:, ::-1]], axis=1)  # 0 is the start symbol
    net = cls(V, 8, 16, rng=0)
    optimizer = Adam(0.02)
    losses = []
    for _ in range(80):
        grads = net.gradient(source, target)
        losses.append(float(net.last_loss))
        clip_grads(grads, 5.0)
        optimizer.update(net.params, grads)
    assert losses[-1] < 0.5 * losses[0], losses[::10]
    words = net.generate(source[:1], 0, 4)
    assert len(words) == 4 and all(0 <= w < V for w in words)


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    net = Rnnlm(V, 3, 4, rng=0)
    net.params["affine.W"][...] = 0
    assert perplexity(net, CORPUS, batch_size=3, time_size=4) == pytest.approx(V, rel=1e-12)


def test_corpus_windows_read_each_row_on_from_its_offset():
    corpus = np.arange(21)
    windows = list(corpus_windows(corpus, 2, 3))
    assert len(windows) == 3  # (21 - 1) // (2 * 3)
    np.testing.assert_array_equal(windows[0][0], [[0, 1, 2], [10, 11, 12]])
    np.testing.assert_array_equal(windows[1][0], [[3, 4, 5], [13, 14, 15]])
    np.testing.assert_array_equal(windows[0][1], [[1, 2, 3], [11, 12, 13]])
    with pytest.raises(ConfigError, match="needs at least 7 words"):
        next(corpus_windows(np.arange(5), 2, 3))
    with pytest.raises(ConfigError, match="1-D array of word ids"):
        next(corpus_windows(np.zeros((4, 30), int), 2, 3))


def test_bad_model_input_is_a_clear_error():
    with pytest.raises(ShapeError, match=r"contexts must have shape \(N, 4\) for window_size=2"):
        CBOW(V, 4, 2, np.arange(V)).loss(np.zeros((3, 2), int), np.zeros(3, int))
    with pytest.raises(ShapeError, match="ts must be"):
        Seq2seq(V, 3, 4).loss(np.zeros((2, 3), int), np.zeros((2, 1), int))
    with pytest.raises(ShapeError, match=r"one source sequence of shape \(1, T\)"):
        Seq2seq(V, 3, 4).generate(np.zeros((2, 3), int), 0, 3)
    with pytest.raises(ConfigError, match="vocab_size must be a positive integer"):
        Rnnlm(0)


# -- on device-like arrays ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Rnnlm, AttentionSeq2seq, PeekySeq2seq])
def test_models_compute_on_the_strict_backend_as_on_numpy(cls):
    rng = np.random.default_rng(0)
    xs, ts = rng.integers(0, V, (2, 4)), rng.integers(0, V, (2, 4 if cls is Rnnlm else 3))
    host, device = cls(V, 3, 4, rng=0), cls(V, 3, 4, rng=0, backend=STRICT)
    host_grads = host.gradient(xs, ts)
    device_grads = device.gradient(STRICT.asarray(xs), STRICT.asarray(ts))
    for key, grad in host_grads.items():
        assert array_module(device_grads[key]) is STRICT.xp, key
        np.testing.assert_allclose(to_numpy(device_grads[key]), grad, rtol=1e-12, atol=1e-15, err_msg=key)
    if cls is not Rnnlm:
        assert device.generate(STRICT.asarray(xs[:1]), 0, 3) == host.generate(xs[:1], 0, 3)
    assert all(array_module(v) is np for v in device.state_dict().values())
