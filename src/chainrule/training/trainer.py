"""The training loop: epochs of shuffled mini-batches, each a forward, a backward and an update.

Reproducible by construction: the order of the samples in epoch ``e`` and every random mask
drawn in it come from generators seeded with ``(seed, e)``, so a run resumed at epoch ``e``
continues exactly as the uninterrupted run would have. Given a :class:`~chainrule.rundir.RunDir`,
``fit`` resumes from its checkpoint and checkpoints every epoch into it.

Data-parallel on MPI: given a ``communicator`` (:mod:`chainrule.distributed`), every rank runs
this same loop on its shard of each global mini-batch, and the optimizer is wrapped so that its
update averages the gradients over the ranks first. ``batch_size`` stays the global batch. Only
rank 0 is given the run directory: it restores, and the trainer sends its state to the others.
All of that is one seam (:mod:`chainrule.distributed.parallel`) chosen in the constructor; the
loop itself is the same for one process and for many, and has no branch on the communicator.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Protocol

import numpy as np
from tqdm import tqdm

from ..backend import Array, to_numpy
from ..checks import check_positive_int, check_same_length, is_integer
from ..distributed.batchnorm import check_batch_norm_batches
from ..distributed.parallel import parallelism
from ..errors import ConfigError, NonFiniteError
from .evaluation import evaluate
from .health import DIVERGENCE_FACTOR, DivergenceGuard, check_finite_data, check_finite_start, diagnose_nonfinite, named
from ..history import History
from ..threads import LoadAwareThreads
from .schedules import Schedule

EpochCallback = Callable[[int, History], None]


class RunRecord(Protocol):
    """What ``fit`` needs of a run directory (:class:`chainrule.rundir.RunDir` is one)."""

    def restore(self, net: Any, optimizer: Any) -> History: ...

    def prepare(self, net: Any, optimizer: Any, history: History) -> None: ...

    def save(self, net: Any, optimizer: Any, history: History) -> None: ...


class Trainer:
    """Fit ``net`` with ``optimizer`` on in-memory arrays.

    ``verbose``: 0 silent, 1 a progress bar per epoch plus a summary line, 2 the summary line
    only. ``eval_batch_size`` bounds the memory used to evaluate the test set.

    ``fit`` refuses data holding NaN or inf, and stops with a
    :class:`~chainrule.errors.DivergenceError` naming the cause when a step's loss is not finite
    or exceeds ``divergence_factor`` times the first step's (see :mod:`chainrule.training.health`).

    ``communicator``: train data-parallel over its ranks (see the module docstring); only rank 0
    prints, every rank returns the same history and ends with the same weights.
    ``threads``: a :class:`~chainrule.threads.LoadAwareThreads` looked at every step, which sets
    the BLAS threads as the machine's load allows (``chainrule.train(threads="auto")`` gives
    one); None leaves them as they are.
    """

    divergence_factor: float = DIVERGENCE_FACTOR

    def __init__(
        self,
        net: Any,
        optimizer: Any,
        *,
        epochs: int = 10,
        batch_size: int = 100,
        seed: int = 0,
        lr_schedule: Schedule | None = None,
        verbose: int = 1,
        eval_batch_size: int = 1000,
        communicator: Any = None,
        threads: LoadAwareThreads | None = None,
    ) -> None:
        for label, value in (("epochs", epochs), ("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
            check_positive_int(value, label, "Trainer")
        if not is_integer(seed) or seed < 0:  # NumPy's seed sequences take non-negative integers
            raise ConfigError(f"Trainer: seed must be a non-negative integer, got {seed!r}")
        self.net, self.optimizer = net, optimizer
        self.epochs, self.batch_size, self.seed = epochs, batch_size, seed
        self.lr_schedule, self.verbose, self.eval_batch_size = lr_schedule, verbose, eval_batch_size
        self.communicator = communicator
        self.threads = threads  # looked at every step: BLAS threads as the machine's load allows
        self.parallel = parallelism(net, optimizer, communicator)  # one process, or this rank's share
        self.optimizer = self.parallel.optimizer
        self.verbose = verbose if self.parallel.is_root else 0

    def fit(
        self,
        x_train: Array,
        t_train: Array,
        x_test: Array | None = None,
        t_test: Array | None = None,
        *,
        history: History | None = None,
        on_epoch_end: EpochCallback | None = None,
        validation_data: tuple[Array, Array] | None = None,
        run_dir: RunRecord | None = None,
    ) -> History:
        """Train until ``epochs`` epochs are done in total (a given ``history`` counts as done).

        ``validation_data`` is evaluated after every epoch (``val_*`` in the history; with a
        ``run_dir`` it picks ``best.npz``); ``x_test``/``t_test`` likewise fill ``test_*``.
        With ``run_dir`` and no ``history``, training continues from the run's last checkpoint,
        and every epoch ends with a checkpoint; a full disk or an unwritable directory shows before
        the first epoch (free space is checked, and a new run writes its epoch-0 checkpoint).
        """
        check_same_length(x_train, t_train, "Trainer.fit")
        if len(x_train) == 0:
            raise ConfigError("Trainer.fit: x_train is empty: expected at least 1 training sample, got 0")
        if (x_test is None) != (t_test is None):
            raise ConfigError("Trainer.fit: give both x_test and t_test, or neither")
        check_batch_norm_batches(self.net, len(x_train), self.batch_size, self.communicator)
        if run_dir is not None and history is None:
            history = run_dir.restore(self.net, self.optimizer)
        history = history if history is not None else History()
        xp = self.net.xp
        # Move the data to the network's device once, not once per batch.
        x_train, t_train = xp.asarray(x_train), xp.asarray(t_train)
        evaluated = {}  # history column prefix -> data measured after every epoch
        if validation_data is not None:
            check_same_length(validation_data[0], validation_data[1], "Trainer.fit validation_data")
            evaluated["val"] = (xp.asarray(validation_data[0]), xp.asarray(validation_data[1]))
        if x_test is not None:
            evaluated["test"] = (xp.asarray(x_test), xp.asarray(t_test))
        arrays = named([("x_train", x_train), ("t_train", t_train)]
                       + [(f"{x}_{prefix}", a) for prefix, pair in evaluated.items() for x, a in zip("xt", pair)])
        check_finite_data(arrays, "Trainer.fit")
        check_finite_start(self.net, self.optimizer, "Trainer.fit")
        if run_dir is not None:  # after every check: a run refused here leaves no checkpoint
            run_dir.prepare(self.net, self.optimizer, history)
        self._guard = DivergenceGuard(self.divergence_factor)
        history = self.parallel.start(history)  # distributed: every rank from rank 0's state
        for epoch in range(len(history), self.epochs):
            started = time.perf_counter()
            lr = self._set_learning_rate(epoch)
            train_loss, train_acc = self._train_epoch(epoch, x_train, t_train, xp)
            metrics = {}
            for name, (x, t) in evaluated.items():
                metrics[f"{name}_loss"], metrics[f"{name}_acc"] = evaluate(
                    self.net, x, t, self.eval_batch_size, self.communicator
                )
            history.append(
                epoch=epoch + 1, train_loss=train_loss, train_acc=train_acc, **metrics,
                lr=lr, seconds=time.perf_counter() - started,
            )
            if self.verbose:
                print(self._summary(history), flush=True)
            if run_dir is not None:
                run_dir.save(self.net, self.optimizer, history)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, history)
        return history

    def _set_learning_rate(self, epoch: int) -> float:
        if self.lr_schedule is not None:
            self.optimizer.lr = self.lr_schedule(epoch)
        return float(self.optimizer.lr)

    def _train_epoch(self, epoch: int, x: Array, t: Array, xp: Any) -> tuple[float, float]:
        net = self.net
        order = xp.asarray(np.random.default_rng([self.seed, epoch]).permutation(len(x)))
        self._reseed_layers(epoch)
        net.train()
        steps = math.ceil(len(x) / self.batch_size)
        losses, hits = [], []  # device scalars, summed once per epoch (no per-step sync on a GPU)
        bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch", disable=None if self.verbose == 1 else True, leave=False)  # None: only on a terminal
        with bar:
            for step, index in self.parallel.batches(order, self.batch_size):  # this process's share
                if self.threads is not None:
                    self.threads.tick()
                xb, tb = x[index], t[index]
                where = f"training stopped at epoch {epoch + 1}, step {step + 1}"
                try:
                    grads = net.gradient(xb, tb)
                except NonFiniteError:
                    raise diagnose_nonfinite(net, self.optimizer, where, "the loss is NaN or inf") from None
                self._guard.check(float(net.last_loss), net, self.optimizer, where)  # before the update
                self.optimizer.update(net.params, grads)
                losses.append(net.last_loss * len(index))
                labels = tb if tb.ndim == 1 else tb.argmax(axis=1)
                hits.append((net.last_scores.argmax(axis=1) == labels).sum())
                if step % 50 == 0 or step == steps - 1:
                    bar.set_postfix_str(f"loss {float(net.last_loss):.4f}")
                bar.update(1)
        total_loss = float(to_numpy(xp.stack([xp.asarray(v, dtype=xp.float64) for v in losses]).sum())) if losses else 0.0
        correct = int(to_numpy(xp.stack([xp.asarray(v) for v in hits]).sum())) if hits else 0
        total_loss, correct = self.parallel.sum(total_loss, correct)  # over the ranks
        self.parallel.end_epoch()  # per-rank batch-norm running statistics -> one model
        return total_loss / len(x), correct / len(x)

    def _reseed_layers(self, epoch: int) -> None:
        """Give every random layer (dropout) a generator seeded by (seed, epoch, position)."""
        for position, layer in enumerate(self.net.layers.values()):
            if hasattr(layer, "rng"):  # ranks draw from streams of their own (see the seam)
                layer.rng = np.random.default_rng([self.seed, epoch, position, *self.parallel.stream])

    def _summary(self, history: History) -> str:
        row = history.last()
        text = f"epoch {row['epoch']}/{self.epochs}  loss {row['train_loss']:.4f}  acc {row['train_acc']:.4f}"
        for name, label in (("val", "val"), ("test", "test")):
            if not math.isnan(row[f"{name}_acc"]):
                text += f"  {label} loss {row[f'{name}_loss']:.4f}  {label} acc {row[f'{name}_acc']:.4f}"
        return text + f"  lr {row['lr']:.3g}  {row['seconds']:.1f}s"
