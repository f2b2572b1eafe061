"""Training a language model on one long corpus: truncated backpropagation through time.

The corpus is read as the second book's ``RnnlmTrainer`` reads it: ``batch_size`` streams side by
side, row ``i`` starting at offset ``i * (len - 1) // batch_size``, each window of ``time_size``
words continuing where the row's last one stopped (:func:`~chainrule.nets.corpus_windows`), so
the stateful LSTMs carry their state from window to window; the gradients are clipped to a
global norm of ``max_grad`` before every update.

Every epoch is one pass from the corpus's start, from a fresh state, as the book's
``train_better_rnnlm.py`` runs it (``fit(max_epoch=1)`` per epoch, the state reset for the
validation perplexity). That makes an epoch a function of the weights alone, so a run resumed at
a checkpoint continues exactly as the uninterrupted run; the book's ``train_rnnlm.py`` (one
``fit`` over four epochs) instead carries the state and the window position across epochs, which
a checkpoint would have to save. Dropout masks come from generators seeded by ``(seed, epoch)``,
as in :class:`~chainrule.training.Trainer`.

The history's ``train_loss``/``val_loss``/``test_loss`` are mean cross-entropies per word;
perplexity is their exponential (:func:`perplexity_of`); the accuracy columns stay NaN.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from tqdm import tqdm

from ..checks import check_positive_int, is_integer
from ..clipping import clip_grads
from ..errors import ConfigError, NonFiniteError
from ..history import History
from ..nets import corpus_windows, perplexity
from ..threads import LoadAwareThreads
from .health import DIVERGENCE_FACTOR, DivergenceGuard, check_finite_start, diagnose_nonfinite
from .schedules import Schedule
from .trainer import RunRecord

# The book's eval_perplexity reads 10 streams of 35 words.
EVAL_BATCH_SIZE = 10


def perplexity_of(loss: float) -> float:
    """``exp`` of a mean cross-entropy per word: how many words the model hesitates between."""
    return math.exp(loss) if loss < 700 else math.inf


class LanguageModelTrainer:
    """Fit a language model (:class:`~chainrule.nets.Rnnlm`, :class:`~chainrule.nets.BetterRnnlm`)
    with ``optimizer`` on a corpus of word ids, as the book's ``RnnlmTrainer`` does.

    ``max_grad``: clip the gradients' global norm (None: no clipping). ``plateau_decay``: after
    an epoch whose validation loss is no lower than the best before it, multiply the rate by this
    factor (the book's ``lr /= 4``); the rate of every epoch follows from the history, so a resumed
    run applies the same decays. ``verbose``: 0 silent, 1 a progress bar per epoch plus a summary
    line, 2 the summary line only.
    """

    divergence_factor: float = DIVERGENCE_FACTOR

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        *,
        epochs: int = 4,
        batch_size: int = 20,
        time_size: int = 35,
        max_grad: float | None = 0.25,
        seed: int = 0,
        lr_schedule: Schedule | None = None,
        plateau_decay: float | None = None,
        verbose: int = 1,
        eval_batch_size: int = EVAL_BATCH_SIZE,
        threads: LoadAwareThreads | None = None,
    ) -> None:
        for label, value in (("epochs", epochs), ("batch_size", batch_size), ("time_size", time_size),
                             ("eval_batch_size", eval_batch_size)):
            check_positive_int(value, label, "LanguageModelTrainer")
        if not is_integer(seed) or seed < 0:
            raise ConfigError(f"LanguageModelTrainer: seed must be a non-negative integer, got {seed!r}")
        if plateau_decay is not None and not 0 < plateau_decay <= 1:
            raise ConfigError(f"LanguageModelTrainer: plateau_decay must be in (0, 1], got {plateau_decay!r}")
        self.model, self.optimizer = model, optimizer
        self.epochs, self.batch_size, self.time_size, self.max_grad = epochs, batch_size, time_size, max_grad
        self.seed, self.lr_schedule, self.plateau_decay = seed, lr_schedule, plateau_decay
        self.verbose, self.eval_batch_size = verbose, eval_batch_size
        self.threads = threads  # looked at every step: BLAS threads as the machine's load allows
        self.base_lr = float(optimizer.lr)  # without a schedule: the rate plateau_decay divides

    def fit(
        self,
        corpus: Any,
        *,
        validation_corpus: Any = None,
        history: History | None = None,
        run_dir: RunRecord | None = None,
    ) -> History:
        """Train until ``epochs`` epochs are done in total (a given ``history`` counts as done).

        ``validation_corpus`` is measured after every epoch (``val_loss``; with a ``run_dir`` it
        picks ``best.npz``). With ``run_dir`` and no ``history``, training continues from the run's
        last checkpoint, and every epoch ends with a checkpoint.
        """
        corpus = np.asarray(corpus)
        windows = _window_count(corpus, self.batch_size, self.time_size, "corpus", "batch_size")
        if self.plateau_decay is not None and validation_corpus is None:
            raise ConfigError("LanguageModelTrainer.fit: plateau_decay divides the rate when the validation "
                              "perplexity stalls: give a validation_corpus")
        if validation_corpus is not None:  # refused now, not after the first epoch
            _window_count(np.asarray(validation_corpus), self.eval_batch_size, self.time_size, "validation_corpus",
                          "eval_batch_size")
        if run_dir is not None and history is None:
            history = run_dir.restore(self.model, self.optimizer)
        history = history if history is not None else History()
        check_finite_start(self.model, self.optimizer, "LanguageModelTrainer.fit")
        if run_dir is not None:
            run_dir.prepare(self.model, self.optimizer, history)
        self._guard = DivergenceGuard(self.divergence_factor)
        for epoch in range(len(history), self.epochs):
            started = time.perf_counter()
            lr = self._set_learning_rate(epoch, history)
            train_loss = self._train_epoch(epoch, corpus, windows)
            val_loss = math.nan
            if validation_corpus is not None:
                val_loss = math.log(perplexity(self.model, validation_corpus, self.eval_batch_size, self.time_size))
            history.append(epoch=epoch + 1, train_loss=train_loss, val_loss=val_loss, lr=lr,
                           seconds=time.perf_counter() - started)
            if self.verbose:
                print(self._summary(history), flush=True)
            if run_dir is not None:
                run_dir.save(self.model, self.optimizer, history)
        return history

    def _set_learning_rate(self, epoch: int, history: History) -> float:
        """The schedule's rate, times ``plateau_decay`` for every past epoch that did not improve."""
        lr = self.lr_schedule(epoch) if self.lr_schedule is not None else self.base_lr
        if self.plateau_decay is not None:
            losses = history.val_loss[:epoch]
            stalled = sum(1 for i in range(1, len(losses)) if not losses[i] < min(losses[:i]))
            lr *= self.plateau_decay**stalled
        self.optimizer.lr = lr
        return float(lr)

    def _train_epoch(self, epoch: int, corpus: np.ndarray, steps: int) -> float:
        model = self.model
        for position, layer in enumerate(model.layers.values()):  # dropout masks from (seed, epoch)
            if hasattr(layer, "rng"):
                layer.rng = np.random.default_rng([self.seed, epoch, position])
        model.reset_state()
        model.train()
        total_loss = 0.0
        bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch",
                   disable=None if self.verbose == 1 else True, leave=False)  # None: only on a terminal
        with bar:
            for step, (xs, ts) in enumerate(corpus_windows(corpus, self.batch_size, self.time_size)):
                if self.threads is not None:
                    self.threads.tick()
                where = f"training stopped at epoch {epoch + 1}, step {step + 1}"
                try:
                    grads = model.gradient(xs, ts)
                    if self.max_grad is not None:
                        clip_grads(grads, self.max_grad)
                except NonFiniteError:
                    raise diagnose_nonfinite(model, self.optimizer, where, "the loss is NaN or inf") from None
                loss = float(model.last_loss)
                self._guard.check(loss, model, self.optimizer, where)  # before the update
                self.optimizer.update(model.params, grads)
                total_loss += loss
                if step % 20 == 0 or step == steps - 1:
                    bar.set_postfix_str(f"perplexity {perplexity_of(loss):.2f}")
                bar.update(1)
        model.reset_state()
        return total_loss / steps

    def _summary(self, history: History) -> str:
        row = history.last()
        text = f"epoch {row['epoch']}/{self.epochs}  perplexity {perplexity_of(row['train_loss']):.2f}"
        if not math.isnan(row["val_loss"]):
            text += f"  val perplexity {perplexity_of(row['val_loss']):.2f}"
        return text + f"  lr {row['lr']:.3g}  {row['seconds']:.1f}s"


def _window_count(corpus: np.ndarray, batch_size: int, time_size: int, name: str, batch_name: str) -> int:
    """How many ``batch_size x time_size`` windows one pass over ``corpus`` reads; refuse none."""
    count = (len(corpus) - 1) // (batch_size * time_size) if corpus.ndim == 1 else 0
    if count < 1 or corpus.dtype.kind not in "iu":
        what = f"{corpus.dtype} of shape {corpus.shape}" if corpus.ndim != 1 or corpus.dtype.kind not in "iu" else f"{len(corpus)} words"
        raise ConfigError(
            f"LanguageModelTrainer.fit: {name} must be 1-D word ids holding a window of {batch_name} {batch_size} x "
            f"time_size {time_size} (at least {batch_size * time_size + 1} words), got {what}")
    return count
