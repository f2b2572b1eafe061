"""The sequence layers against PyTorch in float64 (to 1e-10): ``nn.Embedding``, ``nn.RNN``,
``nn.LSTM`` (gate order mapped), the book's GRU written in PyTorch autograd (``nn.GRU`` computes
a different function; the last test shows where), attention and the sequence losses.

The recurrent layers are compared over two successive truncated windows: chainrule's stateful
layer against PyTorch fed the previous window's final state, detached.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.layers import (
    Embedding,
    NegativeSamplingLoss,
    TimeAttention,
    TimeBiLSTM,
    TimeGRU,
    TimeLSTM,
    TimeRNN,
    TimeSigmoidWithLoss,
    TimeSoftmaxWithLoss,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12


def close(mine, theirs, what=""):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def lstm_to_torch(W):
    """The book's LSTM columns ``f, g, i, o`` -> PyTorch's rows ``i, f, g, o``."""
    H = W.shape[-1] // 4
    f, g, i, o = (W[..., k * H : (k + 1) * H] for k in range(4))
    return np.concatenate([i, f, g, o], axis=-1)


def lstm_from_torch(W):
    H = W.shape[-1] // 4
    i, f, g, o = (W[..., k * H : (k + 1) * H] for k in range(4))
    return np.concatenate([f, g, i, o], axis=-1)


def book_gru_in_torch(xs, h, Wx, Wh, b):
    """The book's GRU equations, step by step, in PyTorch autograd."""
    H = Wh.shape[0]
    outputs = []
    for t in range(xs.shape[1]):
        x = xs[:, t]
        z = torch.sigmoid(x @ Wx[:, :H] + h @ Wh[:, :H] + b[:H])
        r = torch.sigmoid(x @ Wx[:, H : 2 * H] + h @ Wh[:, H : 2 * H] + b[H : 2 * H])
        h_hat = torch.tanh(x @ Wx[:, 2 * H :] + (r * h) @ Wh[:, 2 * H :] + b[2 * H :])
        h = (1 - z) * h + z * h_hat
        outputs.append(h)
    return torch.stack(outputs, dim=1), h


def test_embedding_matches_nn_embedding_with_repeated_ids():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((6, 4))
    ids = np.array([[1, 2, 1], [5, 1, 0]])
    layer = Embedding(W)
    out = layer.forward(ids)
    dout = rng.standard_normal(out.shape)
    layer.backward(dout)
    embedding = torch.nn.Embedding(6, 4, dtype=torch.float64)
    embedding.weight.data = torch.tensor(W)
    torch_out = embedding(torch.tensor(ids))
    torch_out.backward(torch.tensor(dout))
    close(out, torch_out)
    close(layer.grads["W"], embedding.weight.grad)


class TorchRecurrent:
    """A PyTorch recurrent layer on chainrule's weights, fed windows one after another."""

    def __init__(self, kind, Wx, Wh, b):
        self.kind = kind
        H = Wh.shape[0]
        if kind == "GRU":
            self.weights = [torch.tensor(a, requires_grad=True) for a in (Wx, Wh, b)]
            return
        module = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM}[kind](Wx.shape[0], H, batch_first=True, dtype=torch.float64)
        to_torch = lstm_to_torch if kind == "LSTM" else (lambda a: a)
        module.weight_ih_l0.data = torch.tensor(to_torch(Wx).T.copy())
        module.weight_hh_l0.data = torch.tensor(to_torch(Wh).T.copy())
        module.bias_ih_l0.data = torch.tensor(to_torch(b))
        module.bias_hh_l0.data = torch.zeros(module.bias_hh_l0.shape, dtype=torch.float64)
        self.module = module

    def window(self, xs, state, dout):
        """Outputs, the gradients (Wx, Wh, b in the book's layout), dxs and dh0 of one window."""
        xs = torch.tensor(xs, requires_grad=True)
        state = tuple(s.detach().requires_grad_(True) for s in state)
        if self.kind == "GRU":
            Wx, Wh, b = self.weights
            hs, h = book_gru_in_torch(xs, state[0], Wx, Wh, b)
            new_state = (h,)
            for w in self.weights:
                w.grad = None
        else:
            self.module.zero_grad()
            initial = tuple(s[None] for s in state)
            hs, final = self.module(xs, initial if self.kind == "LSTM" else initial[0])
            new_state = tuple(s[0] for s in final) if self.kind == "LSTM" else (final[0],)
        hs.backward(torch.tensor(dout))
        if self.kind == "GRU":
            grads = [w.grad.numpy() for w in self.weights]
        else:
            m = self.module
            from_torch = lstm_from_torch if self.kind == "LSTM" else (lambda a: a)
            grads = [from_torch(m.weight_ih_l0.grad.numpy().T), from_torch(m.weight_hh_l0.grad.numpy().T),
                     from_torch(m.bias_ih_l0.grad.numpy())]
        return hs, grads, xs.grad, state[0].grad, new_state


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("N, T, D, H", [(1, 1, 1, 1), (2, 3, 4, 5), (3, 5, 2, 3)])
def test_two_truncated_windows_match_pytorch(kind, N, T, D, H):
    rng = np.random.default_rng(N * T + D * H)
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    Wx, Wh, b = (0.7 * rng.standard_normal(s) for s in [(D, gates * H), (H, gates * H), (gates * H,)])
    layer = {"RNN": TimeRNN, "LSTM": TimeLSTM, "GRU": TimeGRU}[kind](Wx, Wh, b, stateful=True)
    reference = TorchRecurrent(kind, Wx, Wh, b)
    state = tuple(torch.zeros((N, H), dtype=torch.float64) for _ in range(2 if kind == "LSTM" else 1))
    for window in range(2):
        xs, dout = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
        hs = layer.forward(xs)
        dxs = layer.backward(dout)
        torch_hs, torch_grads, torch_dxs, torch_dh0, state = reference.window(xs, state, dout)
        close(hs, torch_hs, f"window {window}: hidden states")
        close(dxs, torch_dxs, f"window {window}: dxs")
        close(layer.dh, torch_dh0, f"window {window}: gradient of the window's first state")
        for name, theirs in zip(("Wx", "Wh", "b"), torch_grads):
            close(layer.grads[name], theirs, f"window {window}: d{name}")
        close(layer.state[0], state[0], f"window {window}: carried h")


def test_nn_gru_differs_from_the_books_gru_only_where_the_reset_gate_applies():
    """PyTorch: ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))``, ``h' = (1-z) n + z h``.
    The book: ``ĥ = tanh(x Wxh + (r h) Whh + bh)``, ``h' = (1-z) h + z ĥ``. With PyTorch's
    update gate negated (``σ(-a) = 1 - σ(a)``) the two agree exactly when ``r = 1`` (a huge reset
    bias), and differ otherwise: the reset gate scales ``h`` before or after the product."""
    rng = np.random.default_rng(0)
    N, T, D, H = 2, 3, 2, 3
    Wx, Wh, b = (rng.standard_normal(s) for s in [(D, 3 * H), (H, 3 * H), (3 * H,)])

    def nn_gru_outputs(b):
        gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
        z, r, n = (slice(k * H, (k + 1) * H) for k in range(3))
        to_torch = lambda a: np.concatenate([a[..., r], -a[..., z], a[..., n]], axis=-1)  # noqa: E731
        gru.weight_ih_l0.data = torch.tensor(to_torch(Wx).T.copy())
        gru.weight_hh_l0.data = torch.tensor(to_torch(Wh).T.copy())
        gru.bias_ih_l0.data = torch.tensor(to_torch(b))
        gru.bias_hh_l0.data = torch.zeros(3 * H, dtype=torch.float64)
        return gru(torch.tensor(xs))[0].detach().numpy()

    xs = rng.standard_normal((N, T, D))
    always_reset_open = b.copy()
    always_reset_open[H : 2 * H] = 50.0  # σ(50) rounds to 1 in float64
    close(TimeGRU(Wx, Wh, always_reset_open).forward(xs), nn_gru_outputs(always_reset_open))
    assert np.abs(TimeGRU(Wx, Wh, b).forward(xs) - nn_gru_outputs(b)).max() > 1e-3


def test_time_attention_matches_pytorch():
    rng = np.random.default_rng(0)
    hs_enc, hs_dec = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    layer = TimeAttention()
    out = layer.forward(hs_enc, hs_dec)
    dout = rng.standard_normal(out.shape)
    dhs_enc, dhs_dec = layer.backward(dout)
    enc, dec = torch.tensor(hs_enc, requires_grad=True), torch.tensor(hs_dec, requires_grad=True)
    weights = torch.softmax(dec @ enc.transpose(1, 2), dim=-1)
    torch_out = weights @ enc
    torch_out.backward(torch.tensor(dout))
    close(out, torch_out)
    close(layer.attention_weights, weights)
    close(dhs_enc, enc.grad)
    close(dhs_dec, dec.grad)


def test_time_softmax_with_loss_matches_cross_entropy_with_ignore_index():
    rng = np.random.default_rng(0)
    xs, ts = 3 * rng.standard_normal((3, 4, 5)), rng.integers(-1, 5, (3, 4))
    layer = TimeSoftmaxWithLoss()
    loss = layer.forward(xs, ts)
    dxs = layer.backward(0.7)
    x = torch.tensor(xs, requires_grad=True)
    torch_loss = F.cross_entropy(x.reshape(12, 5), torch.tensor(ts).reshape(12), ignore_index=-1)
    (0.7 * torch_loss).backward()
    close(loss, torch_loss)
    close(dxs, x.grad)


def test_time_sigmoid_and_negative_sampling_losses_match_pytorch():
    rng = np.random.default_rng(0)
    xs, ts = 4 * rng.standard_normal((3, 4)), rng.integers(0, 2, (3, 4)).astype(float)
    layer = TimeSigmoidWithLoss()
    loss, dxs = layer.forward(xs, ts), None
    dxs = layer.backward(1.0)
    x = torch.tensor(xs, requires_grad=True)
    torch_loss = F.binary_cross_entropy_with_logits(x, torch.tensor(ts))
    torch_loss.backward()
    close(loss, torch_loss)
    close(dxs, x.grad)

    W, h = rng.standard_normal((7, 3)), rng.standard_normal((4, 3))
    target = np.array([0, 3, 3, 6])
    sampling = NegativeSamplingLoss(W, np.arange(7), sample_size=3, rng=0)
    loss = sampling.forward(h, target)
    dh = sampling.backward()
    words = np.concatenate([target[:, None], sampling.negatives], axis=1)
    Wt, ht = torch.tensor(W, requires_grad=True), torch.tensor(h, requires_grad=True)
    scores = (Wt[torch.tensor(words)] * ht[:, None, :]).sum(-1)
    labels = torch.zeros(scores.shape, dtype=torch.float64)
    labels[:, 0] = 1
    torch_loss = F.binary_cross_entropy_with_logits(scores, labels, reduction="sum") / 4
    torch_loss.backward()
    close(loss, torch_loss)
    close(dh, ht.grad)
    close(sampling.grads["W"], Wt.grad)


def test_time_bilstm_matches_a_bidirectional_nn_lstm():
    rng = np.random.default_rng(0)
    N, T, D, H = 2, 4, 3, 2
    params = [0.7 * rng.standard_normal(s) for s in [(D, 4 * H), (H, 4 * H), (4 * H,)] * 2]
    layer = TimeBiLSTM(*params)
    xs, dout = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, 2 * H))
    hs = layer.forward(xs)
    dxs = layer.backward(dout)
    lstm = torch.nn.LSTM(D, H, batch_first=True, bidirectional=True, dtype=torch.float64)
    for suffix, (Wx, Wh, b) in (("", params[:3]), ("_reverse", params[3:])):
        getattr(lstm, f"weight_ih_l0{suffix}").data = torch.tensor(lstm_to_torch(Wx).T.copy())
        getattr(lstm, f"weight_hh_l0{suffix}").data = torch.tensor(lstm_to_torch(Wh).T.copy())
        getattr(lstm, f"bias_ih_l0{suffix}").data = torch.tensor(lstm_to_torch(b))
        getattr(lstm, f"bias_hh_l0{suffix}").data = torch.zeros(4 * H, dtype=torch.float64)
    x = torch.tensor(xs, requires_grad=True)
    torch_hs = lstm(x)[0]
    torch_hs.backward(torch.tensor(dout))
    close(hs, torch_hs)
    close(dxs, x.grad)
    for suffix, direction in (("", "forward"), ("_reverse", "backward")):
        close(layer.grads[f"{direction}_Wx"], lstm_from_torch(getattr(lstm, f"weight_ih_l0{suffix}").grad.numpy().T))
        close(layer.grads[f"{direction}_Wh"], lstm_from_torch(getattr(lstm, f"weight_hh_l0{suffix}").grad.numpy().T))
        close(layer.grads[f"{direction}_b"], lstm_from_torch(getattr(lstm, f"bias_ih_l0{suffix}").grad.numpy()))
