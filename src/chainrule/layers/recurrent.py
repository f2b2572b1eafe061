"""Recurrent cells: one time step of an RNN, an LSTM and a GRU, as layers and as step functions.

Each cell computes ``A = x @ Wx + h_prev @ Wh + b`` (its gates side by side in the columns of
``A``) and the new state from ``A``. The step functions below take the input's share
``xw = x @ Wx + b`` already computed, so the time-unrolled layers (:mod:`.time_layers`) can do
that product for every time step in one matrix multiplication, and return from backward the
gradient ``dA`` of the pre-activations, from which ``dx = dA @ Wx.T``, ``dWx = x.T @ dA`` and
``db = Σ dA`` follow. A cell layer is the same functions around one step.

Gate order in the columns of ``Wx``, ``Wh``, ``b`` (the book's):

- LSTM: ``f, g, i, o`` (forget, candidate, input, output). PyTorch's ``nn.LSTM`` stacks
  ``i, f, g, o``; the tests map one to the other.
- GRU: ``z, r, h`` (update, reset, candidate), with the book's equations::

      z = σ(x Wxz + h Whz + bz)          r = σ(x Wxr + h Whr + br)
      ĥ = tanh(x Wxh + (r ⊙ h) Whh + bh)  h' = (1 - z) ⊙ h + z ⊙ ĥ

  PyTorch's ``nn.GRU`` differs in two ways: it applies the reset gate *after* the hidden
  product, ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``, and its update gate keeps the old
  state, ``h' = (1 - z) ⊙ n + z ⊙ h`` (its ``z`` is the book's ``1 - z``). The second is a
  relabelling; the first is a different function, so the two cannot be made equal by mapping
  weights and the tests check this GRU against the same equations written in PyTorch autograd.
"""

from __future__ import annotations

from typing import Any

from ..backend import Array, array_module
from ..errors import ShapeError
from ..functions import sigmoid
from .base import Layer, check_input_dtype, check_parameter_dtype

State = tuple[Array, ...]


# -- the step functions: forward and backward of one time step, side by side --------------------


def rnn_step(xw: Array, state: State, Wh: Array) -> tuple[State, Any]:
    """``h' = tanh(xw + h Wh)``."""
    (h_prev,) = state
    h_next = array_module(xw).tanh(xw + h_prev @ Wh)
    return (h_next,), (h_prev, h_next)


def rnn_step_backward(dstate: State, cache: Any, Wh: Array) -> tuple[Array, State, Array]:
    """``dA = dh' (1 - h'^2)``; ``dh = dA Wh^T``; ``dWh = h^T dA``."""
    (dh_next,) = dstate
    h_prev, h_next = cache
    dA = dh_next * (1 - h_next * h_next)
    return dA, (dA @ Wh.T,), h_prev.T @ dA


def lstm_step(xw: Array, state: State, Wh: Array) -> tuple[State, Any]:
    """``c' = f c + g i``, ``h' = o tanh(c')`` with ``f, i, o`` sigmoid and ``g`` tanh gates."""
    h_prev, c_prev = state
    xp = array_module(xw)
    H = Wh.shape[0]
    A = xw + h_prev @ Wh
    f, g, i, o = sigmoid(A[:, :H]), xp.tanh(A[:, H : 2 * H]), sigmoid(A[:, 2 * H : 3 * H]), sigmoid(A[:, 3 * H :])
    c_next = f * c_prev + g * i
    tanh_c = xp.tanh(c_next)
    h_next = o * tanh_c
    return (h_next, c_next), (h_prev, c_prev, f, g, i, o, tanh_c)


def lstm_step_backward(dstate: State, cache: Any, Wh: Array) -> tuple[Array, State, Array]:
    """Through ``h' = o tanh(c')`` into ``dc'``, then through ``c' = f c + g i`` into the gates."""
    dh_next, dc_next = dstate
    h_prev, c_prev, f, g, i, o, tanh_c = cache
    xp = array_module(dh_next)
    ds = dc_next + dh_next * o * (1 - tanh_c * tanh_c)
    dA = xp.concatenate(
        (
            ds * c_prev * f * (1 - f),  # forget gate
            ds * i * (1 - g * g),  # candidate
            ds * g * i * (1 - i),  # input gate
            dh_next * tanh_c * o * (1 - o),  # output gate
        ),
        axis=1,
    )
    return dA, (dA @ Wh.T, ds * f), h_prev.T @ dA


def gru_step(xw: Array, state: State, Wh: Array) -> tuple[State, Any]:
    """The book's GRU: the reset gate scales ``h`` before ``Whh``; ``z`` weighs the candidate."""
    (h_prev,) = state
    xp = array_module(xw)
    H = Wh.shape[0]
    zr = sigmoid(xw[:, : 2 * H] + h_prev @ Wh[:, : 2 * H])
    z, r = zr[:, :H], zr[:, H:]
    reset_h = r * h_prev
    h_hat = xp.tanh(xw[:, 2 * H :] + reset_h @ Wh[:, 2 * H :])
    h_next = (1 - z) * h_prev + z * h_hat
    return (h_next,), (h_prev, z, r, reset_h, h_hat)


def gru_step_backward(dstate: State, cache: Any, Wh: Array) -> tuple[Array, State, Array]:
    """``dĥ = dh' z``, ``dz = dh' (ĥ - h)``; the reset gate's gradient comes through ``(r ⊙ h) Whh``."""
    (dh_next,) = dstate
    h_prev, z, r, reset_h, h_hat = cache
    xp = array_module(dh_next)
    H = Wh.shape[0]
    dA_hat = dh_next * z * (1 - h_hat * h_hat)
    d_reset_h = dA_hat @ Wh[:, 2 * H :].T
    dA_z = dh_next * (h_hat - h_prev) * z * (1 - z)
    dA_r = d_reset_h * h_prev * r * (1 - r)
    dA_zr = xp.concatenate((dA_z, dA_r), axis=1)
    dh_prev = dh_next * (1 - z) + d_reset_h * r + dA_zr @ Wh[:, : 2 * H].T
    dWh = xp.concatenate((h_prev.T @ dA_zr, reset_h.T @ dA_hat), axis=1)
    return xp.concatenate((dA_zr, dA_hat), axis=1), (dh_prev,), dWh


# -- checks shared by the cells and the time layers -------------------------------------------------


def check_recurrent_weights(layer: str, Wx: Array, Wh: Array, b: Array, gates: int) -> int:
    """``Wx (D, gates*H)``, ``Wh (H, gates*H)``, ``b (gates*H,)``, all float; returns ``H``."""
    for label, array in (("Wx", Wx), ("Wh", Wh), ("b", b)):
        check_parameter_dtype(layer, label, array)
    H = Wh.shape[0] if Wh.ndim == 2 else -1
    expected = {"Wx": (Wx.shape[0] if Wx.ndim == 2 else -1, gates * H), "Wh": (H, gates * H), "b": (gates * H,)}
    for label, array in (("Wx", Wx), ("Wh", Wh), ("b", b)):
        if H < 0 or tuple(array.shape) != expected[label]:
            raise ShapeError(
                f"{layer}: expected Wx (D, {gates}H), Wh (H, {gates}H) and b ({gates}H,) for {gates} gate(s) "
                f"side by side; got Wx {tuple(Wx.shape)}, Wh {tuple(Wh.shape)}, b {tuple(b.shape)}"
            )
    return H


def check_state(layer: str, method: str, label: str, state: Any, batch: int | None, hidden: int) -> None:
    """A state is a real ``(batch, hidden)`` array (any batch when ``batch`` is None)."""
    shape = tuple(getattr(state, "shape", ()))
    if len(shape) != 2 or shape[1] != hidden or (batch is not None and shape[0] != batch):
        expected = f"({'N' if batch is None else batch}, {hidden})"
        raise ShapeError(f"{layer}.{method}: {label} must have shape {expected}, got {shape}")
    check_input_dtype(layer, state, label, method)


# -- the cells as layers ------------------------------------------------------------------------------


class _Cell(Layer):
    """One time step: ``forward(x, *state)`` and ``backward(*dstate)`` -> ``(dx, *dstate_prev)``."""

    gates = 1
    step = staticmethod(rnn_step)
    step_backward = staticmethod(rnn_step_backward)

    def __init__(self, Wx: Array, Wh: Array, b: Array) -> None:
        super().__init__()
        self.hidden_size = check_recurrent_weights(self.name, Wx, Wh, b, self.gates)
        self.params.update(Wx=Wx, Wh=Wh, b=b)
        self.x: Array = None
        self.cache: Any = None

    def _forward(self, x: Array, *state: Array) -> State:
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        check_input_dtype(self, x)
        if getattr(x, "ndim", 0) != 2 or x.shape[1] != Wx.shape[0]:
            raise ShapeError(f"{self.name}.forward: x must have shape (N, {Wx.shape[0]}), got {getattr(x, 'shape', ())}")
        for label, s in zip(("h_prev", "c_prev"), state):
            check_state(self.name, "forward", label, s, x.shape[0], self.hidden_size)
        self.x = x
        new_state, self.cache = self.step(x @ Wx + b, state, Wh)
        return new_state

    def _backward(self, *dstate: Array) -> tuple[Array, ...]:
        cache = self._require_forward(self.cache)
        for label, d in zip(("dh_next", "dc_next"), dstate):
            self._check_dout(d, (self.x.shape[0], self.hidden_size))
        Wx = self.params["Wx"]
        dA, dstate_prev, dWh = self.step_backward(dstate, cache, self.params["Wh"])
        self.grads.update(Wx=self.x.T @ dA, Wh=dWh, b=dA.sum(axis=0))
        return (dA @ Wx.T, *dstate_prev)


class RNN(_Cell):
    """``h_next = tanh(x Wx + h_prev Wh + b)``. ``backward(dh_next)`` -> ``(dx, dh_prev)``."""

    def forward(self, x: Array, h_prev: Array) -> Array:
        return self._forward(x, h_prev)[0]

    def backward(self, dh_next: Array) -> tuple[Array, Array]:
        return self._backward(dh_next)


class LSTM(_Cell):
    """Long short-term memory, gates ``f, g, i, o``: ``forward(x, h_prev, c_prev)`` -> ``(h_next, c_next)``.

    ``backward(dh_next, dc_next)`` -> ``(dx, dh_prev, dc_prev)``.
    """

    gates = 4
    step = staticmethod(lstm_step)
    step_backward = staticmethod(lstm_step_backward)

    def forward(self, x: Array, h_prev: Array, c_prev: Array) -> tuple[Array, Array]:
        h_next, c_next = self._forward(x, h_prev, c_prev)
        return h_next, c_next

    def backward(self, dh_next: Array, dc_next: Array) -> tuple[Array, Array, Array]:
        return self._backward(dh_next, dc_next)


class GRU(_Cell):
    """Gated recurrent unit, the book's equations (see the module docstring), gates ``z, r, h``.

    ``forward(x, h_prev)`` -> ``h_next``; ``backward(dh_next)`` -> ``(dx, dh_prev)``.
    """

    gates = 3
    step = staticmethod(gru_step)
    step_backward = staticmethod(gru_step_backward)

    def forward(self, x: Array, h_prev: Array) -> Array:
        return self._forward(x, h_prev)[0]

    def backward(self, dh_next: Array) -> tuple[Array, Array]:
        return self._backward(dh_next)
