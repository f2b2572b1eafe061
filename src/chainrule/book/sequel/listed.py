"""The sequel's layer interface on chainrule's layers: ``params`` and ``grads`` as lists.

The sequel's models gather their layers' arrays once, ``self.params += layer.params``, and its
optimizers update ``params[i]`` in place from ``grads[i]``. So the list must hold the very arrays
the chainrule layer computes with (an in-place update then reaches the layer), and ``grads[i]``
must stay the same array from step to step: chainrule's layers store a fresh gradient each
backward pass, which :class:`Listed` copies into the list's arrays.
"""

from __future__ import annotations

from typing import Any

from ...backend import array_module
from ...layers import Layer


class Listed:
    """One chainrule ``layer`` behind the book's interface; ``names`` orders its parameters as the
    book lists them (``Wx, Wh, b``)."""

    def __init__(self, layer: Layer, names: tuple[str, ...] = ()) -> None:
        self.layer = layer
        self._names = names
        self.params = [layer.params[name] for name in names]
        self.grads = [array_module(param).zeros_like(param) for param in self.params]

    def __repr__(self) -> str:
        return f"{type(self).__name__} over {self.layer!r}"

    def forward(self, *inputs: Any) -> Any:
        return self.layer.forward(*inputs)

    def backward(self, *douts: Any) -> Any:
        result = self.layer.backward(*douts)
        for grad, name in zip(self.grads, self._names):
            grad[...] = self.layer.grads[name]
        return result


class Recurrent(Listed):
    """A chainrule time layer that carries a state: the book's ``h``, ``c``, ``dh``, ``stateful``,
    ``set_state`` and ``reset_state`` are the layer's."""

    h = property(lambda self: self.layer.h)
    dh = property(lambda self: self.layer.dh)

    @property
    def stateful(self) -> bool:
        return self.layer.stateful

    @stateful.setter
    def stateful(self, value: bool) -> None:
        self.layer.stateful = bool(value)

    def set_state(self, *state: Any) -> None:
        self.layer.set_state(*state)

    def reset_state(self) -> None:
        self.layer.reset_state()


class Trainable:
    """The book's ``train_flg`` attribute, read and set as the chainrule layer's mode."""

    layer: Layer

    @property
    def train_flg(self) -> bool:
        return self.layer.training

    @train_flg.setter
    def train_flg(self, value: bool) -> None:
        self.layer.train(bool(value))
