"""What the networks over word ids share: :class:`Sequential`'s bookkeeping (live ``params`` by
name, ``state_dict``, ``train``/``eval``) with the names, inputs and state sequences need.

- Parameters are named ``"<layer>.<key>"`` (``"lstm.Wx"``, ``"affine.b"``), the loss layer's
  included (negative sampling owns the output embedding): a network with two LSTMs has two
  ``Wx``, and the textbook's ``W1, b1`` numbering cannot tell them apart.
- Inputs are word ids and stay integers (a float network would otherwise cast them).
- Recurrent layers carry a state between calls; :meth:`reset_state` forgets it and the numerical
  gradient evaluates every perturbed loss from the same state.
- ``tied`` lists weights that are another's transpose (weight tying): the tied copy is not a
  parameter of its own, and its gradient is added to the original's.
"""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import restricted_pickle
from ..backend import Array, to_numpy
from ..checkpoint import atomic_write_bytes
from ..errors import CheckpointError, ConfigError
from ..gradients import numerical_gradient
from ..layers import Layer, LossLayer
from ..layers.base import check_input_dtype
from .sequential import Sequential


class SequenceNet(Sequential):
    """A network of sequence layers; subclasses write out ``forward``/``backward`` where the data
    flow is not a plain stack (encoders, decoders, attention)."""

    #: ``"layer.key"`` -> ``"other.key"``: the first is kept equal to the second's transpose.
    tied: dict[str, str] = {}

    def __init__(self, layers: Mapping[str, Layer], loss_layer: LossLayer) -> None:
        super().__init__(layers, loss_layer)
        self._tie()

    def _index_arrays(self, slot: str) -> "OrderedDict[str, tuple[Layer, str]]":
        owners = {**self.layers, "loss": self.last_layer}
        return OrderedDict(
            (f"{layer_name}.{key}", (layer, key))
            for layer_name, layer in owners.items()
            for key in getattr(layer, slot, {})
            if f"{layer_name}.{key}" not in self.tied
        )

    def _slot(self, name: str) -> tuple[Layer, str]:
        layer_name, key = name.rsplit(".", 1)
        return (self.last_layer if layer_name == "loss" else self.layers[layer_name]), key

    def _tie(self) -> None:
        """Point each tied weight at the transpose (a view) of its original, which the optimizer
        may have replaced since the last call."""
        for copy, original in self.tied.items():
            layer, key = self._slot(copy)
            layer.params[key] = self.params[original].T

    # -- the passes ----------------------------------------------------------------------------

    def _as_input(self, x: Any) -> Array:
        """Word ids stay integers; only real numbers are accepted."""
        x = self.xp.asarray(x)
        check_input_dtype(self, x)
        return x

    def forward(self, x: Array) -> Array:
        self._tie()
        return super().forward(x)

    def gradient(self, x: Array, t: Array) -> dict[str, Array]:
        """Gradients of :meth:`loss` by backpropagation, tied copies' added to their originals."""
        self.loss(x, t)
        self.backward(1)
        return self.collect_grads()

    def collect_grads(self) -> dict[str, Array]:
        """Each parameter's gradient from the last backward pass, by the parameter's name."""
        grads = {key: layer.grads[name] for key, (layer, name) in self._param_index.items()}
        for copy, original in self.tied.items():
            layer, key = self._slot(copy)
            grads[original] = grads[original] + layer.grads[key].T
        return grads

    def numerical_gradient(self, x: Array, t: Array, h: float = 1e-4) -> dict[str, Array]:
        """Central differences of :meth:`loss`, every evaluation starting from the current state.

        Random draws must be pinned first (dropout's ``fixed_mask``, negative sampling's
        ``fixed_negatives``), or each evaluation sees another network.
        """
        x, saved = self._as_input(x), self._states()

        def loss(_: Any) -> Any:
            self._restore(saved)
            return self.loss(x, t)

        grads = {key: numerical_gradient(loss, self.params[key], h) for key in self.params}
        self._restore(saved)
        return grads

    def accuracy(self, x: Array, t: Array, batch_size: int | None = None) -> float:
        """Not defined here: ``Sequential.accuracy`` reads scores as ``(N, classes)`` and would
        count the wrong axis of ``(N, T, V)``. Language models report :func:`perplexity` instead."""
        raise ConfigError(
            f"{type(self).__name__}.accuracy: classification accuracy does not apply to a sequence model; "
            "use chainrule.nets.perplexity for a language model, or compare generate() with the targets"
        )

    # -- the book's weight files -------------------------------------------------------------------

    def _book_order(self) -> list[str]:
        """Every layer's arrays in layer order, tied copies included: how the book's ``BaseModel``
        lists ``params``."""
        owners = {**self.layers, "loss": self.last_layer}
        return [f"{layer_name}.{key}" for layer_name, layer in owners.items() for key in layer.params]

    def load_params(self, file_name: str | os.PathLike = "params.pkl") -> None:
        """Load the second book's weight file (``BaseModel.save_params``: a pickled list of arrays
        in layer order, float16, a tied weight listed again as its transpose), or a dict by name.

        Read with :mod:`chainrule.restricted_pickle`; the values are cast to the network's dtype.
        """
        params = restricted_pickle.load_file(file_name)
        if isinstance(params, Mapping):
            self.load_state_dict(params)
            return
        order = self._book_order()
        if not isinstance(params, (list, tuple)) or len(params) != len(order):
            found = f"a list of {len(params)} arrays" if isinstance(params, (list, tuple)) else type(params).__name__
            raise CheckpointError(f"{file_name}: expected the book's list of {len(order)} arrays ({', '.join(order)}), got {found}")
        state = {}
        for name, value in zip(order, params):
            value = np.asarray(value)
            if name in self.tied:
                original = state.get(self.tied[name])
                if original is None or value.shape != original.T.shape:
                    raise CheckpointError(f"{file_name}: {name} should be {self.tied[name]} transposed, got shape {value.shape}")
                continue
            state[name] = value
        self.load_state_dict(state)

    def save_params(self, file_name: str | os.PathLike = "params.pkl") -> None:
        """Write the second book's weight file (a pickled list of float16 arrays in layer order),
        which its ``load_params`` reads. float16 keeps about three digits: for resuming training,
        save :meth:`state_dict` instead."""
        params = [to_numpy(layer.params[key]).astype(np.float16) for layer, key in map(self._slot, self._book_order())]
        atomic_write_bytes(file_name, pickle.dumps(params, protocol=4))

    # -- the recurrent state ---------------------------------------------------------------------

    def _recurrent_layers(self) -> list[Layer]:
        found = []
        for layer in self.layers.values():
            found.extend(getattr(layer, "lstms", {}).values() or [layer])
        return [layer for layer in found if hasattr(layer, "reset_state")]

    def reset_state(self) -> None:
        """Forget the state every recurrent layer carries: the next text starts afresh."""
        for layer in self._recurrent_layers():
            layer.reset_state()

    def _states(self) -> list[Any]:
        return [layer.state for layer in self._recurrent_layers()]

    def _restore(self, states: list[Any]) -> None:
        for layer, state in zip(self._recurrent_layers(), states):
            layer.state = state
