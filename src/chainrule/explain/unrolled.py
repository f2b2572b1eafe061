"""A small recurrent net unrolled over a few time steps, run by chainrule's own cell layers.

One :class:`~chainrule.layers.RNN` (or :class:`~chainrule.layers.LSTM`) layer object per time
step, all holding the *same* weight arrays, reads ``x_t`` and the previous state; an
:class:`~chainrule.layers.Affine` and a :class:`~chainrule.layers.SoftmaxWithLoss` read the last
hidden state only. The loss sits at the last step on purpose: then every ``∂L/∂h_t`` with
``t < T`` arrives through the hidden state alone, so its norm shows what backpropagation through
time does to a gradient step after step. (A loss at every step would add a fresh gradient at
each ``h_t`` and hide the shrinking under it.)

The weights are drawn as the book draws them (``randn / sqrt(fan_in)``); the LSTM's forget-gate
bias starts at 1, the usual choice (Gers et al. 2000, Jozefowicz et al. 2015), so that its cell
state is carried rather than halved at each step. One sequence (a batch of one), so that a
norm is the norm of one vector and ``∂L/∂b`` of a step is exactly that step's ``∂L/∂A``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..layers import LSTM, RNN, Affine, SoftmaxWithLoss

KINDS = ("rnn", "lstm")
MIN_STEPS, MAX_STEPS = 3, 8
GATES = ("f", "g", "i", "o")  # the book's order of the LSTM's gate columns


@dataclass
class Unrolled:
    """The net, its inputs, and every value and gradient of one forward and backward pass.

    ``states[t]`` is ``(h_t,)`` or ``(h_t, c_t)`` for ``t = 0..T`` (``states[0]`` the zero start);
    ``dh[t]`` is ``∂L/∂h_t`` and, for an LSTM, ``dc[t]`` is ``∂L/∂c_t`` over every path
    (through ``c_{t+1}`` and through ``h_t``), ``dc_via_c[t]`` its part through ``c_{t+1}``.
    """

    kind: str
    cells: list[Any]
    head: Affine
    loss_layer: SoftmaxWithLoss
    xs: list[np.ndarray]
    label: np.ndarray
    states: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    score: np.ndarray | None = None
    loss: float = 0.0
    dscore: np.ndarray | None = None
    dh: dict[int, np.ndarray] = field(default_factory=dict)
    dc: dict[int, np.ndarray] = field(default_factory=dict)
    dc_via_c: dict[int, np.ndarray] = field(default_factory=dict)
    dxs: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return len(self.cells)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The shared cell weights, then the head's (``W_out``, ``b_out``)."""
        return {**self.cells[0].params, "W_out": self.head.params["W"], "b_out": self.head.params["b"]}

    def grads(self) -> dict[str, np.ndarray]:
        """The gradient of each parameter: a shared weight's is the sum of every step's share."""
        shared = {key: sum(cell.grads[key] for cell in self.cells) for key in self.cells[0].params}
        return {**shared, "W_out": self.head.grads["W"], "b_out": self.head.grads["b"]}

    def gates(self, t: int) -> dict[str, np.ndarray]:
        """The LSTM's gates ``f, g, i, o`` at step ``t`` (1-based), as its forward computed them."""
        _, _, f, g, i, o, _ = self.cells[t - 1].cache
        return dict(zip(GATES, (f, g, i, o)))

    def tanh_c(self, t: int) -> np.ndarray:
        return self.cells[t - 1].cache[-1]

    def dA(self, t: int) -> np.ndarray:
        """``∂L/∂A`` of step ``t``, the pre-activations (gates side by side): with one sequence, ``∂L/∂b``."""
        return self.cells[t - 1].grads["b"][None, :]

    def forward(self) -> float:
        state = self.states[0]
        self.states = [state]
        for cell, x in zip(self.cells, self.xs):
            out = cell.forward(x, *state)
            state = out if isinstance(out, tuple) else (out,)
            self.states.append(state)
        self.score = self.head.forward(self.states[-1][0])
        self.loss = float(self.loss_layer.forward(self.score, self.label))
        return self.loss

    def backward(self) -> None:
        """Back through the loss, the head, then the cells from the last step to the first."""
        T = self.steps
        self.dscore = self.loss_layer.backward(1.0)
        self.dh = {T: self.head.backward(self.dscore)}
        dc_next = np.zeros_like(self.states[T][0])  # the loss reads h_T only
        for t in range(T, 0, -1):
            cell = self.cells[t - 1]
            if self.kind == "rnn":
                self.dxs[t], self.dh[t - 1] = cell.backward(self.dh[t])
                continue
            self.dc_via_c[t] = dc_next
            # ∂L/∂c_t adds its two paths: on to c_{t+1}, and into h_t = o_t ⊙ tanh(c_t)
            self.dc[t] = dc_next + self.dh[t] * self.gates(t)["o"] * (1 - self.tanh_c(t) ** 2)
            self.dxs[t], self.dh[t - 1], dc_next = cell.backward(self.dh[t], dc_next)
        if self.kind == "lstm":
            self.dc_via_c[0] = self.dc[0] = dc_next  # c_0 reaches the loss through c_1 only


def check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not MIN_STEPS <= steps <= MAX_STEPS:
        raise ConfigError(f"explain: steps must be an integer in {MIN_STEPS}..{MAX_STEPS}, got {steps!r}")
    return int(steps)


def unroll(kind: str, *, steps: int = 4, seed: int = 0, input_size: int = 3, hidden_size: int = 4,
           classes: int = 3) -> Unrolled:
    """Draw weights, a sequence and its label with ``seed``; run forward and backward (float64)."""
    if kind not in KINDS:
        raise ConfigError(f"explain: the unrolled model must be one of {list(KINDS)}, got {kind!r}")
    steps = check_steps(steps)
    rng = np.random.default_rng(seed)
    gates = 4 if kind == "lstm" else 1
    D, H = input_size, hidden_size
    Wx = rng.standard_normal((D, gates * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, gates * H)) / np.sqrt(H)
    b = np.zeros(gates * H)
    if kind == "lstm":
        b[:H] = 1.0  # forget gate open: the cell state is carried
    cell_type = LSTM if kind == "lstm" else RNN
    cells = [cell_type(Wx, Wh, b) for _ in range(steps)]  # one layer object per step, the same arrays
    head = Affine(rng.standard_normal((H, classes)) / np.sqrt(H), np.zeros(classes))
    xs = [rng.standard_normal((1, D)) for _ in range(steps)]
    label = rng.integers(0, classes, size=1)
    zeros = np.zeros((1, H))
    net = Unrolled(kind, cells, head, SoftmaxWithLoss(), xs, label, states=[(zeros,) * (2 if kind == "lstm" else 1)])
    net.forward()
    net.backward()
    return net
