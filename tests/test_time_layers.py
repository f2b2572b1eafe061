"""The sequence layers (embeddings, recurrent cells, time-unrolled layers, attention, sequence
losses, negative sampling) against central differences in float64, plus their contract:
inputs untouched, float32 kept, the carried state, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule import LabelError, NotForwardedError, ShapeError
from chainrule.errors import ConfigError, DTypeError, NonFiniteError
from chainrule.clipping import clip_grads, global_norm
from chainrule.layers import (
    GRU,
    LSTM,
    RNN,
    Attention,
    AttentionWeight,
    Embedding,
    EmbeddingDot,
    NegativeSamplingLoss,
    TimeAffine,
    TimeAttention,
    TimeBiLSTM,
    TimeDropout,
    TimeEmbedding,
    TimeGRU,
    TimeLSTM,
    TimeRNN,
    TimeSigmoidWithLoss,
    TimeSoftmaxWithLoss,
    UnigramSampler,
    WeightSum,
)
from helpers import check_layer, check_no_mutation

SEEDS = [0, 1]
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
TIME_LAYERS = {"RNN": TimeRNN, "GRU": TimeGRU, "LSTM": TimeLSTM}


def weights(rng, D, H, gates, dtype=np.float64, scale=0.5):
    return tuple((scale * rng.standard_normal(s)).astype(dtype) for s in [(D, gates * H), (H, gates * H), (gates * H,)])


class CellAsOneOutput:
    """An LSTM cell seen as one layer: ``(h_next, c_next)`` side by side, so the shared checker
    can weigh both outputs and differentiate with respect to ``x``, ``h_prev`` and ``c_prev``."""

    def __init__(self, cell: LSTM) -> None:
        self.cell, self.params, self.grads = cell, cell.params, cell.grads

    def forward(self, x, h, c):
        return np.concatenate(self.cell.forward(x, h, c), axis=1)

    def backward(self, dout):
        H = dout.shape[1] // 2
        return self.cell.backward(dout[:, :H], dout[:, H:])


# -- gradients ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ids_shape", [(1,), (5,), (2, 3), (3, 4)])
@pytest.mark.parametrize("seed", SEEDS)
def test_embedding_with_repeated_ids(ids_shape, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 3, ids_shape)  # a vocabulary of 3 in 4+ draws: ids repeat
    layer = Embedding(rng.standard_normal((4, 5)))
    check_layer(layer, [ids], seed=seed)
    dout = rng.standard_normal(ids_shape + (5,))
    layer.forward(ids)
    layer.backward(dout)
    expected = np.zeros((4, 5))
    for i, row in zip(ids.reshape(-1), dout.reshape(-1, 5)):
        expected[i] += row
    np.testing.assert_allclose(layer.grads["W"], expected, rtol=1e-14)


@pytest.mark.parametrize("ids_shape", [(3,), (3, 1), (2, 4)])
@pytest.mark.parametrize("seed", SEEDS)
def test_embedding_dot(ids_shape, seed):
    rng = np.random.default_rng(seed)
    check_layer(EmbeddingDot(rng.standard_normal((5, 4))), [rng.standard_normal((ids_shape[0], 4)), rng.integers(0, 5, ids_shape)], seed=seed)


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
@pytest.mark.parametrize("N, D, H", [(1, 1, 1), (2, 3, 4), (4, 2, 3)])
def test_rnn_and_gru_cells(kind, N, D, H):
    rng = np.random.default_rng(N + D + H)
    cell = {"RNN": RNN, "GRU": GRU}[kind](*weights(rng, D, H, GATES[kind], scale=1.0))
    check_layer(cell, [rng.standard_normal((N, D)), rng.standard_normal((N, H))])


@pytest.mark.parametrize("N, D, H", [(1, 1, 1), (2, 3, 4), (4, 2, 3)])
def test_lstm_cell(N, D, H):
    rng = np.random.default_rng(N + D + H)
    cell = CellAsOneOutput(LSTM(*weights(rng, D, H, 4, scale=1.0)))
    check_layer(cell, [rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))])


@pytest.mark.parametrize("kind", TIME_LAYERS)
@pytest.mark.parametrize("N, T, D, H", [(1, 1, 1, 1), (2, 4, 3, 2), (3, 2, 2, 5)])
@pytest.mark.parametrize("seed", SEEDS)
def test_time_recurrent_layers(kind, N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    layer = TIME_LAYERS[kind](*weights(rng, D, H, GATES[kind], scale=1.0))
    check_layer(layer, [rng.standard_normal((N, T, D))], seed=seed)


@pytest.mark.parametrize("kind", TIME_LAYERS)
def test_stateful_layer_differentiates_from_its_carried_state(kind):
    """Within a window the carried state is a constant: a stateful layer whose state is pinned
    before every evaluation has the gradients of the stateless layer started from that state."""
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 3, 2, 3
    layer = TIME_LAYERS[kind](*weights(rng, D, H, GATES[kind], scale=1.0), stateful=True)
    layer.forward(rng.standard_normal((N, T, D)))  # a first window leaves a nonzero state
    carried = layer.state

    class Pinned:
        params, grads = layer.params, layer.grads

        def forward(self, xs):
            layer.state = carried
            return layer.forward(xs)

        def backward(self, dhs):
            return layer.backward(dhs)

    check_layer(Pinned(), [rng.standard_normal((N, T, D))])


@pytest.mark.parametrize("N, T, D, H", [(1, 2, 1, 1), (2, 3, 3, 2)])
def test_time_bilstm(N, T, D, H):
    rng = np.random.default_rng(T)
    layer = TimeBiLSTM(*weights(rng, D, H, 4, scale=1.0), *weights(rng, D, H, 4, scale=1.0))
    check_layer(layer, [rng.standard_normal((N, T, D))])


@pytest.mark.parametrize("shape", [(1, 1, 2), (2, 3, 4)])
def test_time_affine_and_embedding(shape):
    rng = np.random.default_rng(0)
    check_layer(TimeAffine(rng.standard_normal((shape[2], 3)), rng.standard_normal(3)), [rng.standard_normal(shape)])
    check_layer(TimeEmbedding(rng.standard_normal((4, shape[2]))), [rng.integers(0, 4, shape[:2])])


def test_time_dropout_with_a_fixed_mask():
    rng = np.random.default_rng(0)
    layer = TimeDropout(0.4)
    layer.fixed_mask = rng.random((2, 3, 4)) > 0.4
    check_layer(layer, [rng.standard_normal((2, 3, 4))])


@pytest.mark.parametrize("N, T, T_dec, H", [(1, 1, 1, 1), (2, 3, 4, 2), (3, 5, 2, 3)])
def test_attention_layers(N, T, T_dec, H):
    rng = np.random.default_rng(T * T_dec)
    hs, h = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    check_layer(AttentionWeight(), [hs, h])
    check_layer(WeightSum(), [hs, rng.random((N, T))])
    check_layer(Attention(), [hs, h])
    check_layer(TimeAttention(), [hs, rng.standard_normal((N, T_dec, H))])


def test_time_attention_is_attention_at_every_decoder_step():
    rng = np.random.default_rng(0)
    hs_enc, hs_dec = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    layer = TimeAttention()
    out = layer.forward(hs_enc, hs_dec)
    dout = rng.standard_normal(out.shape)
    dhs_enc, dhs_dec = layer.backward(dout)
    expected_dhs_enc = np.zeros_like(hs_enc)
    for t in range(5):
        step = Attention()
        np.testing.assert_allclose(out[:, t], step.forward(hs_enc, hs_dec[:, t]), rtol=1e-13)
        np.testing.assert_allclose(layer.attention_weights[:, t], step.attention_weight, rtol=1e-13)
        d_enc, d_dec = step.backward(dout[:, t])
        expected_dhs_enc += d_enc
        np.testing.assert_allclose(dhs_dec[:, t], d_dec, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dhs_enc, expected_dhs_enc, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("N, T, V", [(1, 1, 2), (2, 3, 4), (3, 5, 6)])
def test_time_softmax_with_loss_ignores_label_minus_one(N, T, V):
    rng = np.random.default_rng(V)
    xs = rng.standard_normal((N, T, V))
    ts = rng.integers(0, V, (N, T))
    ts[0, -1] = -1
    check_layer(TimeSoftmaxWithLoss(), [xs, ts])
    # The loss is the mean cross-entropy over the counted positions only.
    logp = xs - np.log(np.exp(xs).sum(axis=2, keepdims=True))
    counted = [(n, t) for n in range(N) for t in range(T) if ts[n, t] != -1]
    expected = -np.mean([logp[n, t, ts[n, t]] for n, t in counted]) if counted else 0.0
    layer = TimeSoftmaxWithLoss()
    assert float(layer.forward(xs, ts)) == pytest.approx(expected, rel=1e-13)
    assert np.all(layer.backward()[0, -1] == 0)


def test_time_softmax_with_loss_takes_one_hot_targets():
    rng = np.random.default_rng(0)
    xs, ts = rng.standard_normal((2, 3, 4)), rng.integers(0, 4, (2, 3))
    one_hot = np.eye(4)[ts]
    assert float(TimeSoftmaxWithLoss().forward(xs, one_hot)) == float(TimeSoftmaxWithLoss().forward(xs, ts))


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (4, 2)])
def test_time_sigmoid_with_loss(shape):
    rng = np.random.default_rng(0)
    xs, ts = 3 * rng.standard_normal(shape), rng.integers(0, 2, shape)
    check_layer(TimeSigmoidWithLoss(), [xs, ts])
    y = 1 / (1 + np.exp(-xs))
    expected = -np.mean(ts * np.log(y) + (1 - ts) * np.log(1 - y))
    assert float(TimeSigmoidWithLoss().forward(xs, ts)) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(float(TimeSigmoidWithLoss().forward(np.array([[800.0, -800.0]]), np.array([[0, 1]]))))


@pytest.mark.parametrize("N, sample_size", [(1, 1), (3, 2), (4, 4)])
def test_negative_sampling_loss(N, sample_size):
    rng = np.random.default_rng(N)
    corpus = np.array([0, 1, 2, 3, 4, 5, 1, 1, 2])
    layer = NegativeSamplingLoss(rng.standard_normal((6, 3)), corpus, sample_size=sample_size, rng=0)
    target = rng.integers(0, 6, N)
    layer.fixed_negatives = layer.sampler.get_negative_sample(target)
    check_layer(layer, [rng.standard_normal((N, 3)), target])


def test_negative_sampling_loss_is_the_sum_of_the_binary_questions():
    rng = np.random.default_rng(0)
    W, h = rng.standard_normal((6, 3)), rng.standard_normal((2, 3))
    layer = NegativeSamplingLoss(W, np.arange(6), sample_size=2, rng=0)
    layer.fixed_negatives = np.array([[3, 4], [0, 5]])
    target = np.array([1, 2])
    expected = 0.0
    for n in range(2):
        expected -= np.log(1 / (1 + np.exp(-W[target[n]] @ h[n])))
        for w in layer.fixed_negatives[n]:
            expected -= np.log(1 - 1 / (1 + np.exp(-W[w] @ h[n])))
    assert float(layer.forward(h, target)) == pytest.approx(expected / 2, rel=1e-13)


# -- property tests ----------------------------------------------------------------------------------

dims = st.integers(1, 4)


@settings(max_examples=25, deadline=None)
@given(N=dims, T=dims, D=dims, H=dims, kind=st.sampled_from(sorted(TIME_LAYERS)), seed=st.integers(0, 2**32 - 1))
def test_time_recurrent_layers_property(N, T, D, H, kind, seed):
    rng = np.random.default_rng(seed)
    layer = TIME_LAYERS[kind](*weights(rng, D, H, GATES[kind], scale=1.0))
    check_layer(layer, [rng.standard_normal((N, T, D))], seed=seed % 1000)


@settings(max_examples=25, deadline=None)
@given(N=dims, T=dims, V=st.integers(1, 5), D=dims, seed=st.integers(0, 2**32 - 1))
def test_embedding_property(N, T, V, D, seed):
    rng = np.random.default_rng(seed)
    check_layer(TimeEmbedding(rng.standard_normal((V, D))), [rng.integers(0, V, (N, T))], seed=seed % 1000)


@settings(max_examples=25, deadline=None)
@given(N=dims, T=dims, T_dec=dims, H=dims, scale=st.floats(0.1, 3), seed=st.integers(0, 2**32 - 1))
def test_time_attention_property(N, T, T_dec, H, scale, seed):
    rng = np.random.default_rng(seed)
    inputs = [scale * rng.standard_normal((N, T, H)), scale * rng.standard_normal((N, T_dec, H))]
    check_layer(TimeAttention(), inputs, seed=seed % 1000)


@settings(max_examples=25, deadline=None)
@given(N=dims, T=dims, V=st.integers(2, 6), scale=st.floats(0.1, 10), seed=st.integers(0, 2**32 - 1))
def test_time_softmax_with_loss_property(N, T, V, scale, seed):
    rng = np.random.default_rng(seed)
    ts = rng.integers(-1, V, (N, T))  # about one position in V+1 ignored
    check_layer(TimeSoftmaxWithLoss(), [scale * rng.standard_normal((N, T, V)), ts])


# -- the carried state ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TIME_LAYERS)
def test_stateful_windows_continue_one_sequence(kind):
    """Two windows of a stateful layer give the hidden states of one pass over both."""
    rng = np.random.default_rng(0)
    params = weights(rng, 3, 4, GATES[kind])
    xs = rng.standard_normal((2, 6, 3))
    whole = TIME_LAYERS[kind](*params).forward(xs)
    windows = TIME_LAYERS[kind](*params, stateful=True)
    first, second = windows.forward(xs[:, :4]), windows.forward(xs[:, 4:])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-14)
    windows.reset_state()
    np.testing.assert_array_equal(windows.forward(xs[:, :4]), first)
    stateless = TIME_LAYERS[kind](*params)
    stateless.forward(xs[:, :4])
    np.testing.assert_array_equal(stateless.forward(xs[:, :4]), first)  # not stateful: starts from zeros


def test_set_state_starts_the_next_window_and_a_new_batch_size_needs_a_reset():
    rng = np.random.default_rng(0)
    layer = TimeLSTM(*weights(rng, 2, 3, 4), stateful=True)
    h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    layer.set_state(h, c)
    xs = rng.standard_normal((2, 1, 2))
    cell = LSTM(*layer.params.values())
    np.testing.assert_allclose(layer.forward(xs)[:, 0], cell.forward(xs[:, 0], h, c)[0], rtol=1e-14)
    with pytest.raises(ShapeError, match="reset_state"):
        layer.forward(rng.standard_normal((3, 1, 2)))
    layer.reset_state()
    assert layer.forward(rng.standard_normal((3, 1, 2))).shape == (3, 1, 3)
    with pytest.raises(ShapeError, match=r"TimeLSTM.set_state: h must have shape \(N, 3\), got \(2, 5\)"):
        layer.set_state(np.zeros((2, 5)))
    with pytest.raises(ShapeError, match=r"c must have shape \(2, 3\)"):
        layer.set_state(h, np.zeros((1, 3)))
    with pytest.raises(ConfigError, match="stateful=False"):
        TimeRNN(*weights(rng, 2, 3, 1)).set_state(np.zeros((2, 3)))


def test_backward_stops_at_the_window_start_and_reports_the_first_state_gradient():
    rng = np.random.default_rng(0)
    params = weights(rng, 2, 3, 1)
    layer = TimeRNN(*params)
    xs = rng.standard_normal((2, 4, 2))
    dhs = rng.standard_normal((2, 4, 3))
    layer.forward(xs)
    layer.backward(dhs)
    # dh of the first state by hand, through the cell, step by step from the back.
    cells = [RNN(*params) for _ in range(4)]
    h = np.zeros((2, 3))
    for t, cell in enumerate(cells):
        h = cell.forward(xs[:, t], h)
    dh = np.zeros((2, 3))
    for t in reversed(range(4)):
        _, dh = cells[t].backward(dhs[:, t] + dh)
    np.testing.assert_allclose(layer.dh, dh, rtol=1e-13)


# -- contract ------------------------------------------------------------------------------------------


def _all_layers(rng, dtype=np.float64):
    """(layer, inputs) for every sequence layer, small sizes."""
    f = lambda *shape: rng.standard_normal(shape).astype(dtype)  # noqa: E731
    ids = rng.integers(0, 5, (2, 3))
    sampler_layer = NegativeSamplingLoss(f(5, 4), np.arange(5), sample_size=2, rng=0)
    return {
        "Embedding": (Embedding(f(5, 4)), [ids]),
        "EmbeddingDot": (EmbeddingDot(f(5, 4)), [f(2, 4), ids]),
        "RNN": (RNN(*weights(rng, 4, 3, 1, dtype)), [f(2, 4), f(2, 3)]),
        "GRU": (GRU(*weights(rng, 4, 3, 3, dtype)), [f(2, 4), f(2, 3)]),
        "TimeRNN": (TimeRNN(*weights(rng, 4, 3, 1, dtype)), [f(2, 3, 4)]),
        "TimeLSTM": (TimeLSTM(*weights(rng, 4, 3, 4, dtype)), [f(2, 3, 4)]),
        "TimeGRU": (TimeGRU(*weights(rng, 4, 3, 3, dtype)), [f(2, 3, 4)]),
        "TimeBiLSTM": (TimeBiLSTM(*weights(rng, 4, 3, 4, dtype), *weights(rng, 4, 3, 4, dtype)), [f(2, 3, 4)]),
        "TimeAffine": (TimeAffine(f(4, 5), f(5)), [f(2, 3, 4)]),
        "TimeEmbedding": (TimeEmbedding(f(5, 4)), [ids]),
        "AttentionWeight": (AttentionWeight(), [f(2, 3, 4), f(2, 4)]),
        "WeightSum": (WeightSum(), [f(2, 3, 4), f(2, 3)]),
        "Attention": (Attention(), [f(2, 3, 4), f(2, 4)]),
        "TimeAttention": (TimeAttention(), [f(2, 3, 4), f(2, 5, 4)]),
        "TimeSoftmaxWithLoss": (TimeSoftmaxWithLoss(), [f(2, 3, 5), ids]),
        "TimeSigmoidWithLoss": (TimeSigmoidWithLoss(), [f(2, 3), ids % 2]),
        "NegativeSamplingLoss": (sampler_layer, [f(2, 4), np.array([0, 3])]),
    }


LAYER_NAMES = list(_all_layers(np.random.default_rng(0)))


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_layers_do_not_mutate_their_inputs(name):
    rng = np.random.default_rng(0)
    layer, inputs = _all_layers(rng)[name]
    check_no_mutation(layer, inputs)


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_float32_stays_float32(name):
    rng = np.random.default_rng(0)
    layer, inputs = _all_layers(rng, np.float32)[name]
    out = layer.forward(*inputs)
    assert np.asarray(out).dtype == np.float32
    layer.backward(np.ones_like(out) if np.ndim(out) else 1.0)
    for key, grad in layer.grads.items():
        assert grad.dtype == np.float32, key


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_backward_before_forward_is_a_clear_error(name):
    layer, inputs = _all_layers(np.random.default_rng(0))[name]
    out = layer.forward(*inputs)
    fresh, _ = _all_layers(np.random.default_rng(0))[name]
    with pytest.raises(NotForwardedError, match="before"):
        fresh.backward(np.ones_like(out) if np.ndim(out) else 1.0)


def test_lstm_cell_contract():
    rng = np.random.default_rng(0)
    cell = LSTM(*weights(rng, 4, 3, 4, np.float32))
    x, h, c = (rng.standard_normal(s).astype(np.float32) for s in [(2, 4), (2, 3), (2, 3)])
    before = [a.copy() for a in (x, h, c)]
    h_next, c_next = cell.forward(x, h, c)
    dx, dh, dc = cell.backward(np.ones_like(h_next), np.ones_like(c_next))
    assert {a.dtype for a in (h_next, c_next, dx, dh, dc, *cell.grads.values())} == {np.dtype(np.float32)}
    for a, b in zip(before, (x, h, c)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ShapeError, match="c_prev"):
        cell.forward(x, h, np.zeros((2, 4), np.float32))


def test_bad_input_is_a_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(LabelError, match=r"Embedding.forward: idx must lie in \[0, 4\].*-1 to"):
        Embedding(rng.standard_normal((5, 2))).forward(np.array([-1, 2]))
    with pytest.raises(LabelError, match="integer word ids"):
        Embedding(rng.standard_normal((5, 2))).forward(np.array([1.0, 2.0]))
    with pytest.raises(ShapeError, match=r"TimeEmbedding.forward: expected word ids of shape \(N, T\)"):
        TimeEmbedding(rng.standard_normal((5, 2))).forward(np.array([1, 2]))
    with pytest.raises(ShapeError, match=r"TimeLSTM: expected Wx \(D, 4H\)"):
        TimeLSTM(*weights(rng, 2, 3, 1))
    with pytest.raises(DTypeError, match="TimeRNN: Wx must be a float32 or float64"):
        TimeRNN(np.zeros((2, 3), int), np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(ShapeError, match=r"TimeGRU.forward: xs must have shape \(N, T, 2\)"):
        TimeGRU(*weights(rng, 2, 3, 3)).forward(np.zeros((2, 3)))
    with pytest.raises(DTypeError, match="complex"):
        TimeRNN(*weights(rng, 2, 3, 1)).forward(np.zeros((1, 1, 2), complex))
    with pytest.raises(LabelError, match=r"labels must lie in \[0, 3\] \(or be the ignore label -1\)"):
        TimeSoftmaxWithLoss().forward(np.zeros((1, 2, 4)), np.array([[0, -2]]))
    with pytest.raises(LabelError, match=r"expected labels of shape \(1, 2\)"):
        TimeSoftmaxWithLoss().forward(np.zeros((1, 2, 4)), np.array([0, 1]))
    with pytest.raises(NonFiniteError):
        TimeSoftmaxWithLoss().forward(np.full((1, 2, 4), np.nan), np.array([[0, 1]]))
    with pytest.raises(LabelError, match=r"targets must lie in \[0, 1\]"):
        TimeSigmoidWithLoss().forward(np.zeros((1, 2)), np.array([[0, 2]]))
    with pytest.raises(ShapeError, match="hs_dec"):
        TimeAttention().forward(np.zeros((2, 3, 4)), np.zeros((2, 3, 5)))
    with pytest.raises(ShapeError, match="dout must have the shape"):
        layer = TimeRNN(*weights(rng, 2, 3, 1))
        layer.forward(np.zeros((1, 2, 2)))
        layer.backward(np.zeros((1, 2, 2)))


def test_a_sequence_of_ignored_labels_gives_zero_loss_and_gradient():
    layer = TimeSoftmaxWithLoss()
    assert float(layer.forward(np.ones((1, 2, 3)), np.array([[-1, -1]]))) == 0.0
    assert not layer.backward().any()


# -- the sampler --------------------------------------------------------------------------------------


def test_unigram_sampler_draws_distinct_words_other_than_the_target_from_counts_to_the_075():
    corpus = np.array([0] * 50 + [1] * 20 + [2] * 10 + [3] * 5 + [4] * 1)
    sampler = UnigramSampler(corpus, 0.75, 2, rng=0)
    expected_p = np.array([50, 20, 10, 5, 1]) ** 0.75
    np.testing.assert_allclose(sampler.word_p, expected_p / expected_p.sum())
    target = np.array([0, 1, 4] * 2000)
    samples = sampler.get_negative_sample(target)
    assert samples.shape == (6000, 2)
    assert not (samples == target[:, None]).any()
    assert (samples[:, 0] != samples[:, 1]).all()
    # Same seed, same draws; the global generator is not used.
    np.random.seed(1)
    again = UnigramSampler(corpus, 0.75, 2, rng=0).get_negative_sample(target)
    np.testing.assert_array_equal(samples, again)
    # With target 4 (the rarest), word 0 is the most frequent first draw, in proportion to p.
    first = samples[2::3, 0]
    p = expected_p[:4] / expected_p[:4].sum()
    np.testing.assert_allclose(np.bincount(first, minlength=5)[:4] / len(first), p, atol=0.03)


def test_unigram_sampler_refuses_a_corpus_too_small_for_the_sample():
    with pytest.raises(ConfigError, match="at least 3 distinct words"):
        UnigramSampler(np.array([0, 1, 1]), sample_size=2)
    with pytest.raises(ConfigError, match="word ids"):
        UnigramSampler(np.array([0.5, 1.0]))
    with pytest.raises(ConfigError, match="power must be a positive finite number"):
        UnigramSampler(np.arange(8), power=-0.75)


# -- gradient clipping --------------------------------------------------------------------------------


def test_clip_grads_scales_to_the_max_norm_in_place_and_only_when_above():
    grads = {"W": np.array([[3.0, 0.0]]), "b": np.array([4.0])}
    assert clip_grads(grads, 10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(grads["b"], [4.0])
    W = grads["W"]
    assert clip_grads(grads, 1.0) == pytest.approx(5.0)
    assert grads["W"] is W
    assert global_norm(grads) == pytest.approx(1.0, rel=1e-15)
    np.testing.assert_allclose(grads["W"], [[0.6, 0.0]])
    with pytest.raises(ConfigError, match="max_norm"):
        clip_grads(grads, 0)
    with pytest.raises(NonFiniteError, match="NaN"):
        clip_grads([np.array([np.nan])], 1.0)


def test_sequence_losses_refuse_an_empty_batch():
    """A mean over no sample is no loss (issue 18): never 0.0 read as a perfect score."""
    with pytest.raises(ShapeError, match="empty batch"):
        TimeSoftmaxWithLoss().forward(np.zeros((0, 3, 4)), np.zeros((0, 3), dtype=int))
    with pytest.raises(ShapeError, match="empty batch"):
        TimeSigmoidWithLoss().forward(np.zeros((0, 3)), np.zeros((0, 3)))
