"""Batch normalization: normalise each feature (or channel) over the batch, then scale and shift."""

from __future__ import annotations

import math
from typing import Callable

from ..backend import Array, array_module
from ..errors import ConfigError, ShapeError
from .base import Layer, check_input_dtype, check_parameter_dtype

BatchMean = Callable[..., tuple]


def local_batch_mean(axes: tuple[int, ...], *arrays: Array, gradients: bool = False) -> tuple[Array, ...]:
    """The mean of each array over ``axes`` of this process's batch (kept dims).

    ``gradients`` says the arrays are gradients of a loss averaged over this batch; it matters
    only to a mean over several processes' batches, whose losses are averaged over other sizes.
    """
    return tuple(a.mean(axis=axes, keepdims=True) for a in arrays)


class BatchNormalization(Layer):
    """``out = gamma * (x - mean) / sqrt(var + eps) + beta``, per feature of ``(N, D)`` or per channel of ``(N, C, H, W)``.

    Training mode normalises with the batch's mean and (biased) variance and folds them into
    ``running_mean``/``running_var`` (``running = momentum * running + (1 - momentum) * batch``,
    the textbook's convention; PyTorch's ``momentum`` is our ``1 - momentum``). Eval mode uses
    the running statistics instead. For images the statistics are per channel, over ``N, H, W``
    (the textbook flattens images and normalises every pixel position separately).

    Backward with ``xn`` the normalised input and ``dxn = gamma * dout``: ``dbeta = Σ dout``,
    ``dgamma = Σ dout * xn``; in training mode ``dx = (dxn - mean(dxn) - xn * mean(dxn * xn)) / std``
    (the batch statistics depend on ``x`` too), in eval mode ``dx = dxn / std``.

    The running statistics live in ``buffers`` (saved in a state dict, not trained) and are
    updated in place. They start at 0 and 1; the textbook starts the variance at 0, which makes
    an untrained layer in eval mode divide by ``sqrt(eps)``. ``eps`` is 1e-6: the textbook
    writes ``10e-7``, which is 1e-6.

    ``batch_mean`` takes every batch mean of the training-mode forward and backward passes:
    this process's batch by default; :func:`chainrule.distributed.synchronize_batch_norm`
    replaces it by a mean over every rank's shard of the global batch.
    """

    def __init__(
        self,
        gamma: Array,
        beta: Array,
        momentum: float = 0.9,
        running_mean: Array | None = None,
        running_var: Array | None = None,
        eps: float = 1e-6,
        *,
        allow_single_sample: bool = False,
    ) -> None:
        super().__init__()
        if getattr(gamma, "ndim", 0) != 1:
            raise ShapeError(f"BatchNormalization: gamma must be 1-D (features,), got shape {getattr(gamma, 'shape', ())}")
        check_parameter_dtype("BatchNormalization", "gamma", gamma)
        check_parameter_dtype("BatchNormalization", "beta", beta)
        xp = array_module(gamma)
        running_mean = xp.zeros_like(gamma) if running_mean is None else running_mean
        running_var = xp.ones_like(gamma) if running_var is None else running_var
        for label, array in (("beta", beta), ("running_mean", running_mean), ("running_var", running_var)):
            if tuple(getattr(array, "shape", ())) != gamma.shape:
                raise ShapeError(
                    f"BatchNormalization: {label} must have the shape of gamma {gamma.shape}, "
                    f"got {tuple(getattr(array, 'shape', ()))}"
                )
        if not 0 <= momentum <= 1:
            raise ConfigError(f"BatchNormalization: momentum must be in [0, 1], got {momentum}")
        if not (eps > 0 and math.isfinite(eps)):  # eps=inf would scale every output to beta
            raise ConfigError(f"BatchNormalization: eps must be a positive finite number, got {eps}")
        self.params["gamma"] = gamma
        self.params["beta"] = beta
        self.buffers["running_mean"] = running_mean
        self.buffers["running_var"] = running_var
        self.momentum, self.eps = momentum, eps
        # The textbook trains on a batch of one (ch06's gradient check): output beta, gradient 0.
        self.allow_single_sample = allow_single_sample
        self.xn: Array = None
        self.std: Array = None
        self.used_batch_stats = True
        self.batch_mean: BatchMean = local_batch_mean

    # Textbook attribute names, as views of the dicts.
    @property
    def gamma(self) -> Array:
        return self.params["gamma"]

    @property
    def beta(self) -> Array:
        return self.params["beta"]

    @property
    def running_mean(self) -> Array:
        return self.buffers["running_mean"]

    @property
    def running_var(self) -> Array:
        return self.buffers["running_var"]

    @property
    def dgamma(self) -> Array | None:
        return self.grads.get("gamma")

    @property
    def dbeta(self) -> Array | None:
        return self.grads.get("beta")

    def _axes_and_shape(self, x: Array) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The axes statistics are taken over, and the shape ``gamma`` broadcasts as."""
        features = self.params["gamma"].shape[0]
        check_input_dtype(self, x)
        if getattr(x, "ndim", 0) not in (2, 4) or x.shape[1] != features:
            raise ShapeError(
                f"{self.name}: expected (N, {features}) or (N, {features}, H, W) to match gamma of "
                f"shape ({features},), got {getattr(x, 'shape', ())}"
            )
        return ((0,), (1, features)) if x.ndim == 2 else ((0, 2, 3), (1, features, 1, 1))

    def forward(self, x: Array) -> Array:
        axes, shape = self._axes_and_shape(x)
        xp = array_module(x)
        if self.training:
            # One sample's statistics normalise it to beta with a zero gradient, and an empty
            # batch's are NaN and would poison the running averages; PyTorch refuses both too.
            # (Statistics synchronised over several processes' batches check the global count.)
            values_per_feature = x.size // max(x.shape[1], 1)
            smallest = 1 if self.allow_single_sample else 2
            if values_per_feature < smallest and self.batch_mean is local_batch_mean:
                raise ShapeError(
                    f"{self.name}.forward: training mode needs more than 1 value per feature to "
                    f"take batch statistics, got x of shape {x.shape} ({values_per_feature}); "
                    "use eval() for single samples"
                )
            (mean,) = self.batch_mean(axes, x)
            centred = x - mean
            (var,) = self.batch_mean(axes, centred * centred)
            for name, batch_value in (("running_mean", mean), ("running_var", var)):
                running = self.buffers[name]
                running *= self.momentum
                running += (1 - self.momentum) * batch_value.reshape(-1).astype(running.dtype, copy=False)
        else:
            centred = x - self.buffers["running_mean"].reshape(shape)
            var = self.buffers["running_var"].reshape(shape)
        self.std = xp.sqrt(var + self.eps)
        self.xn = centred / self.std
        self.used_batch_stats = self.training
        return self.params["gamma"].reshape(shape) * self.xn + self.params["beta"].reshape(shape)

    def backward(self, dout: Array) -> Array:
        self._require_forward(self.xn)
        self._check_dout(dout, self.xn.shape)
        axes, shape = self._axes_and_shape(dout)
        xn = self.xn
        self.grads["beta"] = dout.sum(axis=axes)
        self.grads["gamma"] = (dout * xn).sum(axis=axes)
        dxn = self.params["gamma"].reshape(shape) * dout
        if not self.used_batch_stats:
            return dxn / self.std
        mean_dxn, mean_dxn_xn = self.batch_mean(axes, dxn, dxn * xn, gradients=True)
        return (dxn - mean_dxn - xn * mean_dxn_xn) / self.std
