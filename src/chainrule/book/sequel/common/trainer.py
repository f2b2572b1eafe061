"""The sequel's ``common/trainer.py``: its two training loops, over the adapters' lists.

The loops are the book's, kept because its scripts print from them and read their lists:
``Trainer`` shuffles with ``numpy.random.permutation`` each epoch and prints the mean loss every
``eval_interval`` steps; ``RnnlmTrainer`` reads the corpus as ``batch_size`` streams
``jump = len // batch_size`` words apart, carrying its position from call to call, and prints the
perplexity. Both merge shared weights (:func:`remove_duplicate`) and clip gradients with
chainrule's ``clip_grads`` before the optimizer's step.
"""

import time

import numpy

from chainrule.backend import array_module as _array_module
from chainrule.clipping import clip_grads as _clip_grads

from .np import *  # noqa: F401,F403 - the book's module exposes np


def _plot(values, eval_interval, ylabel, ylim):
    import matplotlib.pyplot as plt  # only when a script plots

    if ylim is not None:
        plt.ylim(*ylim)
    plt.plot(numpy.arange(len(values)), values, label="train")
    plt.xlabel("iterations (x" + str(eval_interval) + ")")
    plt.ylabel(ylabel)
    plt.show()


def _step(model, optimizer, max_grad):
    model.backward()
    params, grads = remove_duplicate(model.params, model.grads)  # shared weights: one update each
    if max_grad is not None:
        _clip_grads(grads, max_grad)
    optimizer.update(params, grads)


class Trainer:
    """``Trainer(model, optimizer).fit(x, t, max_epoch=10, batch_size=32, max_grad=None, eval_interval=20)``."""

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.loss_list = []
        self.eval_interval = None
        self.current_epoch = 0

    def fit(self, x, t, max_epoch=10, batch_size=32, max_grad=None, eval_interval=20):
        data_size = len(x)
        max_iters = data_size // batch_size
        self.eval_interval = eval_interval
        total_loss, loss_count = 0, 0
        start_time = time.time()
        for _ in range(max_epoch):
            order = _array_module(x).asarray(numpy.random.permutation(numpy.arange(data_size)))
            x, t = x[order], t[order]
            for iters in range(max_iters):
                batch_x = x[iters * batch_size : (iters + 1) * batch_size]
                batch_t = t[iters * batch_size : (iters + 1) * batch_size]
                loss = self.model.forward(batch_x, batch_t)
                _step(self.model, self.optimizer, max_grad)
                total_loss += loss
                loss_count += 1
                if eval_interval is not None and iters % eval_interval == 0:
                    avg_loss = total_loss / loss_count
                    print("| epoch %d |  iter %d / %d | time %d[s] | loss %.2f"
                          % (self.current_epoch + 1, iters + 1, max_iters, time.time() - start_time, avg_loss))
                    self.loss_list.append(float(avg_loss))
                    total_loss, loss_count = 0, 0
            self.current_epoch += 1

    def plot(self, ylim=None):
        _plot(self.loss_list, self.eval_interval, "loss", ylim)


class RnnlmTrainer:
    """``RnnlmTrainer(model, optimizer).fit(xs, ts, max_epoch=10, batch_size=20, time_size=35,
    max_grad=None, eval_interval=20)``: truncated BPTT over one long corpus."""

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.time_idx = None
        self.ppl_list = None
        self.eval_interval = None
        self.current_epoch = 0

    def get_batch(self, x, t, batch_size, time_size):
        """The next ``(batch_size, time_size)`` window of each stream, as int32 arrays."""
        data_size = len(x)
        jump = data_size // batch_size
        positions = (numpy.arange(batch_size)[:, None] * jump + self.time_idx + numpy.arange(time_size)[None, :]) % data_size
        self.time_idx += time_size
        xp = _array_module(x)
        positions = xp.asarray(positions)
        return np.asarray(x[positions].astype("i")), np.asarray(t[positions].astype("i"))

    def fit(self, xs, ts, max_epoch=10, batch_size=20, time_size=35, max_grad=None, eval_interval=20):
        max_iters = len(xs) // (batch_size * time_size)
        self.time_idx = 0
        self.ppl_list = []
        self.eval_interval = eval_interval
        total_loss, loss_count = 0, 0
        start_time = time.time()
        for _ in range(max_epoch):
            for iters in range(max_iters):
                batch_x, batch_t = self.get_batch(xs, ts, batch_size, time_size)
                loss = self.model.forward(batch_x, batch_t)
                _step(self.model, self.optimizer, max_grad)
                total_loss += loss
                loss_count += 1
                if eval_interval is not None and iters % eval_interval == 0:
                    ppl = np.exp(total_loss / loss_count)
                    print("| epoch %d |  iter %d / %d | time %d[s] | perplexity %.2f"
                          % (self.current_epoch + 1, iters + 1, max_iters, time.time() - start_time, ppl))
                    self.ppl_list.append(float(ppl))
                    total_loss, loss_count = 0, 0
            self.current_epoch += 1

    def plot(self, ylim=None):
        _plot(self.ppl_list, self.eval_interval, "perplexity", ylim)


def _tied(kept, other):
    """``other`` is ``kept`` transposed (weight tying): same values, transposed shape."""
    return (kept.ndim == 2 and other.ndim == 2 and kept.T.shape == other.shape
            and bool(_array_module(kept).all(kept.T == other)))


def remove_duplicate(params, grads):
    """``params`` with each shared weight once, and ``grads`` with the shared copies' gradients
    added into the first's (in place, as the book does); a copy that is another weight
    transposed adds its gradient transposed. Returns new lists."""
    kept_params, kept_grads = [], []
    for param, grad in zip(params, grads):
        for index, kept in enumerate(kept_params):
            if param is kept:
                kept_grads[index] += grad
                break
            if _tied(kept, param):
                kept_grads[index] += grad.T
                break
        else:
            kept_params.append(param)
            kept_grads.append(grad)
    return kept_params, kept_grads
