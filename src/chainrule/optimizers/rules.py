"""The textbook's update rules (Deep Learning from Scratch, section 6.1), one function each.

Each rule is the formula, written with in-place operators: on whole arrays NumPy and CuPy run it
as written; on single numbers it is one element, which :mod:`~chainrule.optimizers.compiled`
compiles into a single pass over memory. It returns the parameter and state it updated.
``@update_rule`` checks, as the module is imported, that a rule stays within what both paths
compute identically (:mod:`~chainrule.optimizers.contract`).
"""

from __future__ import annotations

import numpy as np

from .contract import update_rule

__all__ = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "torch_adam"]


@update_rule
def sgd(param, grad, lr):  # type: ignore[no-untyped-def]
    param -= lr * grad
    return (param,)


@update_rule
def momentum(param, grad, velocity, lr, momentum):  # type: ignore[no-untyped-def]
    velocity *= momentum
    velocity -= lr * grad  # v = momentum * v - lr * g
    param += velocity
    return param, velocity


@update_rule
def nesterov(param, grad, velocity, lr, momentum):  # type: ignore[no-untyped-def]
    param += momentum * momentum * velocity  # the look-ahead through the previous velocity
    param -= (1 + momentum) * lr * grad
    velocity *= momentum
    velocity -= lr * grad
    return param, velocity


@update_rule
def adagrad(param, grad, h, lr, eps):  # type: ignore[no-untyped-def]
    h += grad * grad
    param -= lr * grad / (np.sqrt(h) + eps)
    return param, h


@update_rule
def rmsprop(param, grad, h, lr, decay_rate, eps):  # type: ignore[no-untyped-def]
    h *= decay_rate
    h += (1 - decay_rate) * grad * grad  # h = decay_rate * h + (1 - decay_rate) * g * g
    param -= lr * grad / (np.sqrt(h) + eps)
    return param, h


@update_rule
def adam(param, grad, m, v, lr_t, beta1, beta2, eps):  # type: ignore[no-untyped-def]
    m += (1 - beta1) * (grad - m)
    v += (1 - beta2) * (grad * grad - v)
    param -= lr_t * m / (np.sqrt(v) + eps)
    return param, m, v


@update_rule
def torch_adam(param, grad, m, v, step_size, beta1, beta2, eps, sqrt_bias_correction2):  # type: ignore[no-untyped-def]
    # torch.optim.Adam's single-tensor path, operation for operation (m is its lerp).
    m += (1 - beta1) * (grad - m)
    v *= beta2
    v += grad * (1 - beta2) * grad
    param -= m / (np.sqrt(v) / sqrt_bias_correction2 + eps) * step_size
    return param, m, v
