"""Scenarios for tests/test_distributed.py, run under ``mpiexec -n K python tests/mpi_worker.py``.

Each scenario trains a small network with :class:`~chainrule.training.Trainer` on synthetic data;
the test runs the same scenario in one process without MPI and compares the weights. Rank ``r``
writes its final weights to ``OUT.rank{r}.npz`` so the test can also check that all ranks agree.
Not collected by pytest (the file name does not start with ``test_``).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.nets import MultiLayerNet, SimpleConvNet
from chainrule.optimizers import Adam, Momentum
from chainrule.training import History, Trainer

SCENARIOS = ("mlp", "mlp32", "cnn", "batchnorm-sync", "batchnorm", "dropout", "fail-raise", "fail-kill", "resume")


def data(shape: tuple[int, ...], n: int = 61, classes: int = 4, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Learnable synthetic data: labels from a fixed random projection of the inputs."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape))
    labels = (x.reshape(n, -1) @ rng.standard_normal((x[0].size, classes))).argmax(axis=1)
    return x, labels


def build(scenario: str, seed: int) -> tuple[Any, Any, dict[str, Any], tuple[np.ndarray, ...]]:
    """(net, optimizer, Trainer keywords, (x_train, t_train, x_test, t_test)) of a scenario."""
    fit: dict[str, Any] = {"epochs": 2, "batch_size": 10, "verbose": 0, "seed": 3}
    if scenario == "cnn":
        net = SimpleConvNet((1, 8, 8), {"filter_num": 4, "filter_size": 3, "pad": 0, "stride": 1}, 12, 4,
                            "he", rng=seed)
        x, t = data((1, 8, 8))
        return net, Adam(0.01), fit, (x[:45], t[:45], x[45:], t[45:])
    dtype = np.float32 if scenario == "mlp32" else np.float64
    net = MultiLayerNet(12, [16, 16], 4, rng=seed, dtype=dtype, weight_decay_lambda=1e-3,
                        use_batchnorm=scenario.startswith("batchnorm"), dropout_ratio=0.2 if scenario == "dropout" else 0.0)
    x, t = data((12,))
    # 45 samples in batches of 10: the last batch of 5 splits 3/2 on 2 ranks (unequal shards).
    optimizer = Momentum(0.05) if scenario == "batchnorm-sync" else Adam(0.01)
    return net, optimizer, fit, (x[:45], t[:45], x[45:], t[45:])


def train(
    scenario: str, communicator: Any = None, epochs: int | None = None, state: dict[str, Any] | None = None
) -> tuple[Any, History]:
    """Run a scenario; ranks other than 0 build their net from another seed (the broadcast fixes it)."""
    rank = communicator.rank if communicator is not None else 0
    net, optimizer, fit, (x, t, x_test, t_test) = build(scenario, seed=0 if rank == 0 else 100 + rank)
    if scenario == "batchnorm-sync" and communicator is not None:
        from chainrule.distributed import synchronize_batch_norm

        synchronize_batch_norm(net, communicator)
        fit["batch_size"] = 9  # 45 = 5 x 9: no shard is ever empty
    elif scenario == "batchnorm-sync":
        fit["batch_size"] = 9
    history = None
    if state is not None and rank == 0:  # resume: rank 0 alone reads; the Trainer sends it on
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"], params=net.params)
        history = History.from_dict(state["history"])
    if epochs is not None:
        fit["epochs"] = epochs
    if scenario.startswith("fail-"):
        fit.update(epochs=1000, batch_size=2)
        _fail_at_step(net, communicator, scenario, step=5)
    trainer = Trainer(net, optimizer, communicator=communicator, **fit)
    history = trainer.fit(x, t, x_test, t_test, history=history)
    return (net, optimizer), history


def _fail_at_step(net: Any, communicator: Any, scenario: str, step: int) -> None:
    """Rank 1 raises (or kills itself) on its ``step``-th gradient; the others go on waiting."""
    if communicator is None or communicator.rank != 1:
        return
    gradient, calls = net.gradient, [0]

    def failing(x: Any, t: Any) -> Any:
        calls[0] += 1
        if calls[0] == step:
            if scenario == "fail-kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("injected failure")
        return gradient(x, t)

    net.gradient = failing


def main(scenarios: str, out: str, *args: str) -> None:
    """Run each of the comma-separated ``scenarios``; rank r writes ``OUT-SCENARIO.rank{r}.npz``."""
    from chainrule.distributed import Communicator, abort_on_failure, set_blas_threads

    communicator = Communicator()
    abort_on_failure(communicator)
    set_blas_threads(communicator)
    for scenario in scenarios.split(","):
        communicator.allreduce_calls = 0
        if scenario == "resume":  # continue a saved run (by any number of ranks) up to EPOCHS epochs
            source, epochs, base = args[0], int(args[1]), args[2]
            state = load(source) if communicator.is_root else None
            (net, optimizer), history = train(base, communicator, epochs=epochs, state=state)
        else:
            (net, optimizer), history = train(scenario, communicator)
        save(f"{out}-{scenario}.rank{communicator.rank}.npz", net, optimizer, history, communicator.allreduce_calls)


def load(path: str) -> dict[str, Any]:
    with np.load(path) as saved:
        return {
            "model": {k[6:]: saved[k] for k in saved.files if k.startswith("model/")},
            "optimizer": {k[10:]: saved[k] for k in saved.files if k.startswith("optimizer/")},
            "history": {k[8:]: saved[k].tolist() for k in saved.files if k.startswith("history/")},
        }


def save(path: str, net: Any, optimizer: Any, history: History, allreduce_calls: int = 0) -> None:
    """Everything a resume needs, flat in one ``.npz`` (the test's stand-in for a checkpoint)."""
    arrays = {f"model/{k}": v for k, v in net.state_dict().items()}
    arrays.update({f"optimizer/{k}": np.asarray(v) for k, v in optimizer.state_dict().items()})
    arrays.update({f"history/{k}": np.asarray(v, dtype=float) for k, v in history.as_dict().items()})
    arrays["allreduce_calls"] = np.asarray(allreduce_calls)
    np.savez(path, **arrays)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main(*sys.argv[1:])
