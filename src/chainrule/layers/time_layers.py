"""Layers over whole sequences: batches of shape ``(N, T, ...)``, N sequences of T time steps.

The recurrent ones unroll a cell of :mod:`.recurrent` over the T steps, and backward runs
backpropagation through time over that window. With ``stateful=True`` the last state of one
call is the first state of the next, so a long text can be fed in windows while the network
still sees the past; the gradient stops at the window's start (truncated BPTT), because the
carried state is a constant for the window. ``reset_state()`` forgets it.
"""

from __future__ import annotations

from typing import Any, Callable

from ..backend import Array, array_module
from ..errors import ConfigError, ShapeError
from .base import Layer, check_input_dtype, check_parameter_dtype
from .recurrent import (
    State,
    check_recurrent_weights,
    check_state,
    gru_step,
    gru_step_backward,
    lstm_step,
    lstm_step_backward,
    rnn_step,
    rnn_step_backward,
)
from .regularization import Dropout


def check_sequences(layer: Any, xs: Any, features: int, label: str = "xs") -> None:
    """``xs`` must be a real ``(N, T, features)`` array."""
    check_input_dtype(layer, xs, label)
    shape = tuple(getattr(xs, "shape", ()))
    if len(shape) != 3 or shape[2] != features:
        name = layer if isinstance(layer, str) else layer.name
        raise ShapeError(f"{name}.forward: {label} must have shape (N, T, {features}), got {shape}")


class TimeAffine(Layer):
    """``out[:, t] = xs[:, t] @ W + b`` for every t, as one product over the ``N*T`` rows.

    Backward: ``dxs = dout @ W.T``, ``dW = Σ_{n,t} xs[n,t]^T dout[n,t]``, ``db = Σ dout``.
    """

    def __init__(self, W: Array, b: Array) -> None:
        super().__init__()
        check_parameter_dtype(self.name, "W", W)
        check_parameter_dtype(self.name, "b", b)
        if getattr(W, "ndim", 0) != 2 or tuple(b.shape) != (W.shape[1],):
            raise ShapeError(f"{self.name}: expected W (D, M) and b (M,), got W {tuple(W.shape)} and b {tuple(b.shape)}")
        self.params.update(W=W, b=b)
        self.xs: Array = None

    def forward(self, xs: Array) -> Array:
        W, b = self.params["W"], self.params["b"]
        check_sequences(self, xs, W.shape[0])
        self.xs = xs
        N, T, D = xs.shape
        return (xs.reshape(N * T, D) @ W + b).reshape(N, T, W.shape[1])

    def backward(self, dout: Array) -> Array:
        xs = self._require_forward(self.xs)
        W = self.params["W"]
        N, T, D = xs.shape
        self._check_dout(dout, (N, T, W.shape[1]))
        flat = dout.reshape(N * T, W.shape[1])
        self.grads.update(W=xs.reshape(N * T, D).T @ flat, b=flat.sum(axis=0))
        return (flat @ W.T).reshape(N, T, D)


class TimeDropout(Dropout):
    """:class:`Dropout` on ``(N, T, D)`` sequences: an independent mask per element and step.

    Inverted dropout, as the book's ``TimeDropout`` (kept units scaled by ``1 / (1 - p)``).
    """


class _TimeRecurrent(Layer):
    """A cell unrolled over T steps. Subclasses name the cell's step functions and state."""

    gates = 1
    state_names: tuple[str, ...] = ("h",)
    step: Callable[..., Any] = staticmethod(rnn_step)
    step_backward: Callable[..., Any] = staticmethod(rnn_step_backward)

    def __init__(self, Wx: Array, Wh: Array, b: Array, stateful: bool = False) -> None:
        super().__init__()
        self.hidden_size = check_recurrent_weights(self.name, Wx, Wh, b, self.gates)
        self.params.update(Wx=Wx, Wh=Wh, b=b)
        self.stateful = bool(stateful)
        self.state: State | None = None  # the last step's state: carried to the next call when stateful
        self.dstate: State | None = None  # gradient w.r.t. the window's first state (an encoder's ``dh``)
        self.xs: Array = None
        self.caches: list[Any] = []

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, stateful={self.stateful})"

    # -- the carried state ------------------------------------------------------------------------

    @property
    def h(self) -> Array | None:
        return None if self.state is None else self.state[0]

    @property
    def dh(self) -> Array | None:
        return None if self.dstate is None else self.dstate[0]

    def reset_state(self) -> None:
        """Forget the carried state: the next call starts from zeros."""
        self.state = None

    def _require_stateful(self) -> None:
        if not self.stateful:
            raise ConfigError(
                f"{self.name}.set_state: a layer with stateful=False starts every call from zeros, so the state "
                "would be ignored; build it with stateful=True"
            )

    def _initial_state(self, batch: int, xp: Any, dtype: Any) -> State:
        if self.stateful and self.state is not None:
            if tuple(self.state[0].shape) != (batch, self.hidden_size):
                raise ShapeError(
                    f"{self.name}.forward: the carried state is for a batch of {self.state[0].shape[0]} sequences, "
                    f"this batch has {batch}; call reset_state() when the batch size changes"
                )
            return self.state
        return tuple(xp.zeros((batch, self.hidden_size), dtype=dtype) for _ in self.state_names)

    # -- forward and backward through time ----------------------------------------------------------

    def forward(self, xs: Array) -> Array:
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        check_sequences(self, xs, Wx.shape[0])
        xp = array_module(xs)
        N, T, D = xs.shape
        self.xs = xs
        xw = (xs.reshape(N * T, D) @ Wx + b).reshape(N, T, -1)  # every step's input product at once
        state = self._initial_state(N, xp, xw.dtype)
        hs = xp.empty((N, T, self.hidden_size), dtype=xp.result_type(xw, Wh))
        self.caches = []
        for t in range(T):
            state, cache = self.step(xw[:, t], state, Wh)
            self.caches.append(cache)
            hs[:, t] = state[0]
        self.state = state
        return hs

    def backward(self, dhs: Array) -> Array:
        xs = self._require_forward(self.xs)
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        N, T, D = xs.shape
        self._check_dout(dhs, (N, T, self.hidden_size))
        xp = array_module(dhs)
        dtype = xp.result_type(dhs, Wh)
        dA = xp.empty((N, T, Wx.shape[1]), dtype=dtype)
        dWh = xp.zeros_like(Wh)
        # Nothing flows back from after the window: the gradient of the last state starts at 0.
        dstate = tuple(xp.zeros((N, self.hidden_size), dtype=dtype) for _ in self.state_names)
        for t in reversed(range(T)):
            dstate = (dstate[0] + dhs[:, t], *dstate[1:])
            dA_t, dstate, dWh_t = self.step_backward(dstate, self.caches[t], Wh)
            dA[:, t] = dA_t
            dWh += dWh_t
        self.dstate = dstate
        flat = dA.reshape(N * T, -1)
        self.grads.update(Wx=xs.reshape(N * T, D).T @ flat, Wh=dWh, b=flat.sum(axis=0))
        return (flat @ Wx.T).reshape(N, T, D)


class TimeRNN(_TimeRecurrent):
    """:class:`~chainrule.layers.RNN` over ``(N, T, D)`` -> hidden states ``(N, T, H)``."""

    def set_state(self, h: Array) -> None:
        """Start the next call from ``h`` (a stateful layer only, as the book's decoder)."""
        self._require_stateful()
        check_state(self.name, "set_state", "h", h, None, self.hidden_size)
        self.state = (h,)


class TimeGRU(TimeRNN):
    """:class:`~chainrule.layers.GRU` (the book's equations) over ``(N, T, D)`` -> ``(N, T, H)``."""

    gates = 3
    step = staticmethod(gru_step)
    step_backward = staticmethod(gru_step_backward)


class TimeLSTM(_TimeRecurrent):
    """:class:`~chainrule.layers.LSTM` over ``(N, T, D)`` -> hidden states ``(N, T, H)``; the cell
    state ``c`` is carried with ``h`` but not returned."""

    gates = 4
    state_names = ("h", "c")
    step = staticmethod(lstm_step)
    step_backward = staticmethod(lstm_step_backward)

    @property
    def c(self) -> Array | None:
        return None if self.state is None else self.state[1]

    def set_state(self, h: Array, c: Array | None = None) -> None:
        """Start the next call from ``h`` (and ``c``, zeros if omitted); a stateful layer only."""
        self._require_stateful()
        check_state(self.name, "set_state", "h", h, None, self.hidden_size)
        if c is None:
            c = array_module(h).zeros_like(h)
        check_state(self.name, "set_state", "c", c, h.shape[0], self.hidden_size)
        self.state = (h, c)


class TimeBiLSTM(Layer):
    """Two :class:`TimeLSTM` s, one reading left to right and one right to left; their hidden
    states are concatenated: ``(N, T, D)`` -> ``(N, T, 2H)``.

    Parameters are ``forward_Wx, forward_Wh, forward_b`` and ``backward_Wx, ...``; backward
    splits ``dhs`` in two halves, runs each LSTM's backward and adds the input gradients.
    """

    DIRECTIONS = ("forward", "backward")

    def __init__(
        self, Wx1: Array, Wh1: Array, b1: Array, Wx2: Array, Wh2: Array, b2: Array, stateful: bool = False
    ) -> None:
        super().__init__()
        self.lstms = {"forward": TimeLSTM(Wx1, Wh1, b1, stateful), "backward": TimeLSTM(Wx2, Wh2, b2, stateful)}
        if self.lstms["forward"].hidden_size != self.lstms["backward"].hidden_size:
            raise ShapeError(f"{self.name}: both directions need the same hidden size, got Wh1 {Wh1.shape} and Wh2 {Wh2.shape}")
        for direction, lstm in self.lstms.items():
            self.params.update({f"{direction}_{k}": v for k, v in lstm.params.items()})
        self.hidden_size = self.lstms["forward"].hidden_size

    def reset_state(self) -> None:
        for lstm in self.lstms.values():
            lstm.reset_state()

    def forward(self, xs: Array) -> Array:
        xp = array_module(xs)
        for direction, lstm in self.lstms.items():  # a replaced parameter reaches the LSTM that uses it
            lstm.params.update({k: self.params[f"{direction}_{k}"] for k in lstm.params})
        left_to_right = self.lstms["forward"].forward(xs)
        right_to_left = self.lstms["backward"].forward(xs[:, ::-1])[:, ::-1]
        return xp.concatenate((left_to_right, right_to_left), axis=2)

    def backward(self, dhs: Array) -> Array:
        H = self.hidden_size
        dxs = self.lstms["forward"].backward(dhs[:, :, :H])
        dxs = dxs + self.lstms["backward"].backward(dhs[:, ::-1, H:])[:, ::-1]
        for direction, lstm in self.lstms.items():
            self.grads.update({f"{direction}_{k}": v for k, v in lstm.grads.items()})
        return dxs
