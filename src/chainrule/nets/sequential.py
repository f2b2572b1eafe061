"""A network as the method draws it: an ordered stack of layers ending in a loss layer.

``forward`` runs the layers left to right; ``backward`` runs the chain rule right to left,
starting from the loss layer with ``dout = 1``. Parameters are owned by the layers; the network
names them (``W1``, ``b1``, ``W2`` ...) and exposes them through a live ``params`` mapping.
"""

from __future__ import annotations

import math
import os
import pickle
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from .. import restricted_pickle
from ..backend import Array, array_module, to_numpy
from ..checkpoint import atomic_write_bytes
from ..checks import check_batch_size, check_same_length
from ..errors import CheckpointError, ConfigError, ConfigTypeError, ShapeError
from ..gradients import numerical_gradient
from ..layers import Dropout, Layer, LossLayer, SoftmaxWithLoss
from ..layers.base import check_input_dtype, check_parameter_dtype
from ..weight_decay import l2_penalty, with_weight_decay


class ParamsView(MutableMapping):
    """``net.params``: parameter name -> the very array its layer computes with.

    Reading gives the layer's array, so ``net.params["W1"] -= lr * grad`` updates the layer in
    place, and assigning a new array of the same shape replaces it in the layer too.
    """

    def __init__(self, index: Mapping[str, tuple[Layer, str]], slot: str = "params") -> None:
        self._index = index
        self._slot = slot

    def __getitem__(self, key: str) -> Array:
        layer, name = self._index[key]
        return getattr(layer, self._slot)[name]

    def __setitem__(self, key: str, value: Array) -> None:
        if key not in self._index:
            raise KeyError(f"{key!r} is not a parameter of this network; it has {list(self._index)}")
        layer, name = self._index[key]
        current = getattr(layer, self._slot)[name]
        if value is not current and tuple(getattr(value, "shape", ())) != tuple(current.shape):
            raise ShapeError(f"params[{key!r}]: expected shape {tuple(current.shape)}, got {tuple(getattr(value, 'shape', ()))}")
        if self._slot == "params":  # a complex or integer weight would compute, and be wrong or frozen
            check_parameter_dtype(f"params[{key!r}]", "the new value", value)
        getattr(layer, self._slot)[name] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError("parameters cannot be deleted from a network")

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: array{tuple(self[k].shape)}" for k in self) + "}"


class LoadResult(NamedTuple):
    """What ``load_state_dict`` could not match, as in PyTorch."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def _name_layers(layers: Any) -> "OrderedDict[str, Layer]":
    """Accept a mapping, ``(name, layer)`` pairs, or bare layers (named ``Affine1``, ``Relu1`` ...)."""
    if isinstance(layers, Mapping):
        items = list(layers.items())
    else:
        items = []
        counts: dict[str, int] = {}
        for entry in layers:
            if isinstance(entry, tuple):
                items.append(entry)
            else:
                kind = type(entry).__name__
                counts[kind] = counts.get(kind, 0) + 1
                items.append((f"{kind}{counts[kind]}", entry))
    named: OrderedDict[str, Layer] = OrderedDict()
    for name, layer in items:
        if name in named:
            raise ConfigError(f"two layers are named {name!r}; layer names must be unique")
        if not hasattr(layer, "forward") or not hasattr(layer, "backward"):
            raise ConfigTypeError(f"layer {name!r} ({type(layer).__name__}) has no forward/backward")
        named[name] = layer
    return named


def _number_parameters(layers: Mapping[str, Layer], slot: str) -> "OrderedDict[str, tuple[Layer, str]]":
    """Name each layer's arrays in the textbook way: ``W1, b1`` for the first layer with weights.

    The number counts layers holding a weight ``W`` so far; a layer without one (batch norm's
    ``gamma``, ``beta``) shares the number of the weight layer before it, as in the book.
    """
    index: OrderedDict[str, tuple[Layer, str]] = OrderedDict()
    number = 0
    for layer_name, layer in layers.items():
        if "W" in getattr(layer, "params", {}):
            number += 1
        for name in getattr(layer, slot, {}):
            key = f"{name}{max(number, 1)}"
            if key in index:
                raise ConfigError(f"parameter name {key!r} would be used twice (layer {layer_name!r})")
            index[key] = (layer, name)
    return index


class Sequential:
    """Layers applied in order, then ``loss_layer`` (default :class:`SoftmaxWithLoss`).

    ``weight_decay_lambda`` adds the textbook's L2 penalty ``0.5 * λ * Σ W²`` over the weight
    matrices to :meth:`loss` and ``λ * W`` to their gradients (both from
    :mod:`chainrule.weight_decay`, which the optimizers' ``weight_decay`` uses too).
    """

    def __init__(
        self,
        layers: Iterable[Layer] | Iterable[tuple[str, Layer]] | Mapping[str, Layer],
        loss_layer: LossLayer | None = None,
        *,
        weight_decay_lambda: float = 0.0,
    ) -> None:
        self.layers = _name_layers(layers)
        self.last_layer = loss_layer if loss_layer is not None else SoftmaxWithLoss()
        if isinstance(weight_decay_lambda, bool) or not isinstance(weight_decay_lambda, (int, float, np.number)) or not (
            math.isfinite(weight_decay_lambda) and weight_decay_lambda >= 0
        ):
            raise ConfigError(
                f"{type(self).__name__}: weight_decay_lambda must be a finite number >= 0, got {weight_decay_lambda!r}"
            )
        self.weight_decay_lambda = weight_decay_lambda
        self._param_index = self._index_arrays("params")
        self._buffer_index = self._index_arrays("buffers")
        self.params = ParamsView(self._param_index)
        self.buffers = ParamsView(self._buffer_index, slot="buffers")
        self.training = True
        self.last_scores: Array | None = None
        self.last_loss: Array | None = None

    def _index_arrays(self, slot: str) -> "OrderedDict[str, tuple[Layer, str]]":
        """Public name -> (layer, its key) for ``slot`` ("params" or "buffers"); subclasses may
        name their arrays another way."""
        return _number_parameters(self.layers, slot)

    # -- what the network is ----------------------------------------------------------------

    @property
    def dtype(self) -> np.dtype | None:
        """The parameters' dtype; inputs are cast to it so a float32 net stays float32."""
        for key in self.params:
            return self.params[key].dtype
        return None

    @property
    def xp(self) -> Any:
        for key in self.params:
            return array_module(self.params[key])
        return np

    def parameters(self) -> dict[str, Array]:
        """Name -> parameter array (the layers' own arrays, not copies)."""
        return dict(self.params)

    def __repr__(self) -> str:
        lines = [f"  ({name}): {layer!r}" for name, layer in self.layers.items()]
        lines.append(f"  (loss): {self.last_layer!r}")
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    # -- modes ------------------------------------------------------------------------------

    def train(self, mode: bool = True) -> "Sequential":
        """Training mode: dropout drops, batch norm uses batch statistics."""
        self.training = mode
        for layer in self.layers.values():
            if hasattr(layer, "train"):
                layer.train(mode)
        return self

    def eval(self) -> "Sequential":
        """Inference mode: dropout off, batch norm uses its running averages."""
        return self.train(False)

    @contextmanager
    def _mode(self, training: bool) -> Iterator[None]:
        previous = self.training
        self.train(training)
        try:
            yield
        finally:
            self.train(previous)

    # -- the forward and backward passes ----------------------------------------------------

    def _as_input(self, x: Any) -> Array:
        # Checked before the cast: casting would drop an imaginary part or parse strings.
        check_input_dtype(self, x if hasattr(x, "dtype") else np.asarray(x))
        dtype = self.dtype
        return self.xp.asarray(x) if dtype is None else self.xp.asarray(x, dtype=dtype)

    def forward(self, x: Array) -> Array:
        """Scores (before the loss layer) in the current mode."""
        x = self._as_input(x)
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def predict(self, x: Array) -> Array:
        """Scores in inference mode, whatever the current mode is."""
        with self._mode(False):
            return self.forward(x)

    def loss(self, x: Array, t: Array) -> Array:
        """The loss of the batch ``(x, t)`` in the current mode, plus the L2 penalty if any.

        The scores and the loss are kept in ``last_scores``/``last_loss``, so a training loop can
        report accuracy without running the batch forward a second time.
        """
        self.last_scores = self.forward(x)
        loss = self.last_layer.forward(self.last_scores, t)
        if self.weight_decay_lambda:
            loss = loss + l2_penalty(self.params.values(), self.weight_decay_lambda)
        self.last_loss = loss
        return loss

    def backward(self, dout: Any = 1) -> Array:
        """Run the chain rule from the loss back to the input; return the input's gradient."""
        dout = self.last_layer.backward(dout)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        return dout

    def gradient(self, x: Array, t: Array) -> dict[str, Array]:
        """Gradients of :meth:`loss` with respect to every parameter, by backpropagation.

        The arrays returned are the layers' own ``grads``: the next backward pass replaces them.
        """
        self.loss(x, t)
        self._backward_to_parameters()
        grads = {key: layer.grads[name] for key, (layer, name) in self._param_index.items()}
        if self.weight_decay_lambda:
            grads = {key: with_weight_decay(self.params[key], grad, self.weight_decay_lambda) for key, grad in grads.items()}
        return grads

    def _backward_to_parameters(self) -> None:
        """:meth:`backward` from ``dout = 1``, stopping where the parameters stop needing it.

        The first layer with parameters only computes their gradients (``backward_params``), and
        the parameter-free layers before it are not run backwards at all: the input's gradient
        is never used by :meth:`gradient`. For an MLP this skips ``dout @ W1.T``, the largest
        product of the backward pass (TwoLayerNet, batch 100, one thread: a training step
        0.43 -> 0.31 ms).
        """
        layers = list(self.layers.values())
        first = next((i for i, layer in enumerate(layers) if getattr(layer, "params", None)), len(layers))
        dout = self.last_layer.backward(1)
        for layer in reversed(layers[first + 1 :]):
            dout = layer.backward(dout)
        if first < len(layers):
            layer = layers[first]
            getattr(layer, "backward_params", layer.backward)(dout)

    def numerical_gradient(self, x: Array, t: Array, h: float = 1e-4) -> dict[str, Array]:
        """Gradients of :meth:`loss` by central differences: slow, for checking :meth:`gradient`."""
        x = self._as_input(x)
        return {key: numerical_gradient(lambda _: self.loss(x, t), self.params[key], h) for key in self.params}

    def accuracy(self, x: Array, t: Array, batch_size: int | None = None) -> float:
        """Fraction of samples whose highest score is the true class (labels or one-hot ``t``)."""
        xp = self.xp
        t = xp.asarray(t)
        if t.ndim != 1:
            t = t.argmax(axis=1)
        check_same_length(x, t, f"{type(self).__name__}.accuracy")
        if batch_size is not None:
            check_batch_size(batch_size, f"{type(self).__name__}.accuracy")
        n = len(t)
        step = batch_size or max(n, 1)
        correct = 0
        for start in range(0, n, step):
            y = self.predict(x[start : start + step])
            correct += int((y.argmax(axis=1) == t[start : start + step]).sum())
        return correct / n if n else 0.0

    # -- saving and loading ---------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Host copies of every parameter and buffer, by name (what a checkpoint stores)."""
        state = {k: to_numpy(self.params[k]).copy() for k in self.params}
        state.update({k: to_numpy(self.buffers[k]).copy() for k in self.buffers})
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy ``state`` into the network's arrays in place (dtype and device are kept).

        With ``strict`` (the default), any missing or unexpected key is an error; otherwise they
        are returned. A wrong shape, a non-float dtype or a NaN/inf value is always an error
        (loading it would be silently wrong), found before anything is written.
        """
        where = f"{type(self).__name__}.load_state_dict"
        targets = {**{k: self.params for k in self.params}, **{k: self.buffers for k in self.buffers}}
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            raise CheckpointError(
                f"state dict does not match {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        for key, view in targets.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            target = view[key]
            if value.shape != tuple(target.shape):
                raise CheckpointError(f"{where}: {key}: expected shape {tuple(target.shape)}, got {value.shape}")
            # Casting would drop an imaginary part or parse strings; NaN weights would only
            # surface later as a NaN loss that blames the learning rate.
            if value.dtype.kind != "f":
                raise CheckpointError(f"{where}: {key}: expected a floating-point array ({target.dtype}), got dtype {value.dtype}")
            if not np.isfinite(value).all():
                raise CheckpointError(
                    f"{where}: {key}: holds {int((~np.isfinite(value)).sum())} NaN or infinite values, expected finite numbers"
                )
        for key, view in targets.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            target = view[key]
            target[...] = array_module(target).asarray(value, dtype=target.dtype)
        return LoadResult(missing, unexpected)

    # -- the book's weight files ----------------------------------------------------------

    def load_params(self, file_name: str | os.PathLike = "params.pkl") -> None:
        """Load the book's weight file (a pickled dict ``W1, b1, ...`` of arrays) into this network.

        Read with :mod:`chainrule.restricted_pickle`, so a file that asks to run code is refused.
        Every parameter must be present with its shape; buffers (batch-norm statistics) are kept.
        The book trains with dropout that scales at test time, so its weights expect that: the
        network's Dropout layers switch to it (``inverted=False``), as the book's code computes.
        """
        params = restricted_pickle.load_file(file_name)
        if not isinstance(params, Mapping):
            raise CheckpointError(f"{file_name}: expected a dict of parameter arrays, got {type(params).__name__}")
        missing = [key for key in self.params if key not in params]
        unexpected = [key for key in params if key not in self.params]
        if missing or unexpected:
            raise CheckpointError(
                f"{file_name} does not match {type(self).__name__}: missing parameters {missing}, "
                f"unexpected parameters {unexpected}"
            )
        self.load_state_dict(params, strict=False)
        for layer in self.layers.values():
            if isinstance(layer, Dropout):
                layer.inverted = False

    def save_params(self, file_name: str | os.PathLike = "params.pkl") -> None:
        """Write the parameters in the book's format (a pickled dict of NumPy arrays), atomically."""
        params = {key: to_numpy(self.params[key]).copy() for key in self.params}
        atomic_write_bytes(file_name, pickle.dumps(params, protocol=4))
