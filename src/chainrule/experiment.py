"""One training run end to end, as one library call: what ``chainrule train`` does, from Python.

    import chainrule
    result = chainrule.train(model="cnn", epochs=5, output_dir="runs/cnn")
    result.test_accuracy, result.history, result.net, result.run_dir
    chainrule.train(resume="runs/cnn", epochs=8)            # continue it to 8 epochs
    chainrule.train(model="rnnlm", limit=100_000, epochs=1)  # the book's language model on PTB

:func:`train` opens (and locks) the run directory before any data is loaded, builds the network
and optimizer from the run's config, loads the data, fits with a
:class:`~chainrule.training.Trainer` that checkpoints every epoch, measures the test set once at
the end and draws the learning curve. A language model (``rnnlm``, ``better-rnnlm``) reads its
corpus (PTB) instead, is fitted by a :class:`~chainrule.training.LanguageModelTrainer` and reports
perplexities. The recipes and the resume rules are :mod:`chainrule.recipes`; the run directory
is :mod:`chainrule.rundir`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data.catalog import data_location, load_corpus, load_dataset
from .distributed.agreement import RanksDisagree, agree, attempt, fingerprint
from .errors import ChainruleError, CheckpointError, ConfigError, RunDirError, UsageError
from .history import History
from .models import IMAGE_MODELS, LANGUAGE_MODELS, build_model, check_vocabulary, hidden_sizes_of
from .nets import perplexity
from .number_format import plural
from .optimizers import make_optimizer
from .plots import INSTALL_HINT, matplotlib_available, plot_learning_curve
from .recipes import OptionError, TrainOptions, model_and_dataset, new_run_config, resume_config
from .rundir import BEST, RunDir
from .threads import LoadAwareThreads, set_threads
from .training import Trainer, evaluate, make_schedule, split_validation
from .training.language_model import LanguageModelTrainer

RUNS_ROOT = "runs"


@dataclass
class TrainResult:
    """What a run produced: the trained network, its whole history and the test-set figures.

    ``test_accuracy``/``test_loss`` are None when nothing was trained (the run already had its
    epochs); a language model has ``test_perplexity`` (``exp(test_loss)``) and no accuracy.
    ``epochs_trained`` counts this call's epochs, ``seconds`` their time.
    """

    net: Any
    history: History
    config: dict[str, Any]
    run_dir: Path | None
    test_accuracy: float | None = None
    test_loss: float | None = None
    epochs_trained: int = 0
    seconds: float = 0.0
    best_epoch: int | None = None
    figures: list[Path] = field(default_factory=list)
    test_perplexity: float | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON line ``chainrule train -v 0`` prints."""
        measured = {"test_ppl": self.test_perplexity} if self.test_perplexity is not None else {"test_acc": self.test_accuracy}
        return {**measured, "test_loss": self.test_loss, "epochs": len(self.history),
                "seconds": self.seconds, "best_epoch": self.best_epoch}


def train(
    model: str | None = None,
    *,
    resume: bool | str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    verify: bool = True,
    backend: str = "numpy",
    threads: int | str | None = None,
    verbose: int = 1,
    distributed: bool = False,
    sync_batchnorm: bool = False,
    plots: bool = True,
    runs_root: str | os.PathLike[str] = RUNS_ROOT,
    **options: Any,
) -> TrainResult:
    """Train a network on MNIST or Fashion-MNIST, or a language model on PTB, into a run directory,
    as ``chainrule train`` does.

    ``model`` and ``options`` are :class:`~chainrule.recipes.TrainOptions` (``dataset``,
    ``hidden_sizes``, ``optimizer``, ``lr``, ``epochs``, ``batch_size``, ``seed``, ...); what is
    not given comes from the model's recipe. ``output_dir``: the run directory (default:
    ``runs/DATASET-MODEL``, numbered if taken). ``resume``: a run directory to continue, or True
    for the latest run of this dataset and model (or ``output_dir``); only ``epochs`` and ``lr``
    may differ from the run's. ``data_dir``: read the dataset from that folder alone; otherwise
    ``$CHAINRULE_DATA``, the user cache, or a (checksummed) download unless ``download=False``.
    ``verbose``: 0 silent, 1 progress bars, 2 a line per epoch. ``distributed``: train on every
    process ``mpiexec`` started (the ``mpi`` extra). ``plots``: draw ``learning_curve.png``.
    ``threads``: BLAS threads (default: BLAS's own count, every core); ``"auto"``: as many as the
    other processes leave cores free, looked at every step (faster on a busy machine, but the
    weights then depend on the load: OpenBLAS sums in another order at another thread count).
    """
    # Distributed, the communicator comes first: a rank whose options fail must tell the others
    # (which would wait for it forever), so every check below ends in an agreement of all ranks.
    auto = threads == "auto"
    communicator = _start_distributed(None if auto else threads, verbose) if distributed else None
    if threads is not None and not auto and communicator is None:
        set_threads(threads)
    # "auto": as many BLAS threads as the other processes leave cores free. Not the default: OpenBLAS
    # sums in another order at another thread count, so the weights would depend on the machine's load.
    load_aware = LoadAwareThreads() if auto and communicator is None and backend == "numpy" else None
    try:
        run_options = agree(communicator, "options",
                            attempt(lambda: _checked_options(model, options, verbose, distributed, sync_batchnorm)),
                            lambda checked: {**checked.given(), "sync_batchnorm": sync_batchnorm, "resume": bool(resume)})
        if communicator is None or communicator.is_root:  # rank 0 alone opens, reads and writes the run
            with _open_run(run_options, resume, output_dir, runs_root, verbose) as run:
                try:
                    return _train(run_options, run, communicator, data_dir, download, verify, backend, verbose,
                                  sync_batchnorm, plots, load_aware)
                except BaseException:
                    run.discard_if_untrained()
                    raise
        return _train(run_options, None, communicator, data_dir, download, verify, backend, verbose, sync_batchnorm, plots,
                      load_aware)
    except ChainruleError as error:
        if communicator is None or communicator.size == 1:
            raise
        from .distributed.runtime import fail_job  # every rank must stop, or the others wait forever

        if isinstance(error, RanksDisagree):  # every rank knows: rank 0 alone says it, for all
            if not communicator.is_root:
                communicator.barrier()  # until rank 0 ends the job
            fail_job(communicator, f"chainrule train: error: {error}", 2 if error.usage else 1, on_this_rank=False)
        fail_job(communicator, f"chainrule train: error: {error}", 2 if isinstance(error, (UsageError, ConfigError)) else 1)
        raise  # not reached
    finally:
        if load_aware is not None:
            load_aware.restore()  # the process gets back the threads it had


def _checked_options(model: str | None, options: dict[str, Any], verbose: int, distributed: bool,
                     sync_batchnorm: bool) -> TrainOptions:
    if verbose not in (0, 1, 2):
        raise ConfigError(f"train: verbose must be 0, 1 or 2, got {verbose!r}")
    run_options = TrainOptions(model=model, **options)
    if sync_batchnorm and not distributed:
        raise OptionError("{sync_batchnorm} applies to {distributed} training", "sync_batchnorm", "distributed")
    if distributed and run_options.model in LANGUAGE_MODELS:
        raise OptionError(f"{{distributed}} training applies to the image models, not {{model}} {run_options.model}",
                          "distributed", "model")
    return run_options


def _open_run(options: TrainOptions, resume: Any, output_dir: Any, runs_root: Any, verbose: int) -> RunDir:
    """Lock the run directory before any data is loaded: a new one, or the one to resume."""
    name = "-".join(model_and_dataset(options)[::-1])
    if not resume:
        config = new_run_config(options)
        _check_sizes_before_data(config)
        return RunDir.create(output_dir, config=config, root=runs_root, name=name)
    path = Path(resume) if resume is not True else (Path(output_dir) if output_dir is not None else RunDir.latest(runs_root, name))
    if path is None:
        raise CheckpointError(f"resume: no run with a checkpoint under {Path(runs_root) / name}*; name the run directory")
    run = RunDir.open(path)
    try:
        run.config, changes = resume_config(options, run.config, run.epoch, str(run.path))
    except BaseException:
        run.close()
        raise
    if changes and verbose:
        print("resume: " + "; ".join(changes), flush=True)
    return run


def _check_sizes_before_data(config: dict[str, Any]) -> None:
    """With ``limit`` the sample count is known before loading: refuse a split that leaves nothing,
    or a corpus that holds no window."""
    settings = config["training"]
    if config["model"] in LANGUAGE_MODELS:
        needed = settings["batch_size"] * settings["time_size"] + 1
        if settings.get("limit") and settings["limit"] < needed:
            raise OptionError(f"{{limit}} {settings['limit']} words hold no window of {{batch_size}} {settings['batch_size']} "
                              f"streams x {settings['time_size']} words: give at least {needed}", "limit", "batch_size")
        return
    if settings.get("limit"):
        split_validation(range(settings["limit"]), range(settings["limit"]), settings.get("validation_split", 0.0))


def _train(
    options: TrainOptions, run: RunDir | None, communicator: Any, data_dir: Any, download: bool, verify: bool,
    backend: str, verbose: int, sync_batchnorm: bool, plots: bool, load_aware: LoadAwareThreads | None = None,
) -> TrainResult:
    """Train the run in ``run``; distributed, ``run`` is rank 0's and None elsewhere."""
    from .distributed import broadcast_from_root, synchronize_batch_norm

    config = run.config if run is not None else None
    if communicator is not None:
        config = broadcast_from_root(communicator, config)
    settings = config["training"]
    if config["model"] in LANGUAGE_MODELS:
        if communicator is not None:
            raise OptionError(f"{{distributed}} training applies to the image models, not {config['model']}", "distributed")
        return _train_language_model(config, run, data_dir, download, verify, backend, verbose, plots, load_aware)
    net = build_model(config, rng=settings["seed"], backend=backend)
    optimizer = make_optimizer(settings["optimizer"], settings["lr"], weight_decay=settings.get("weight_decay", 0.0))
    settings["lr"] = optimizer.lr
    history = run.restore(net, optimizer) if run is not None else History()
    done = len(history) if communicator is None else broadcast_from_root(communicator, len(history))
    result = TrainResult(net, history, config, run.path if run is not None else None,
                         best_epoch=(run.best or {}).get("epoch") if run is not None else None)
    if done and done >= settings["epochs"]:
        if run is not None and verbose:
            print(f"{run.path} already has {plural(done, 'epoch')}; ask for more with epochs (--epochs)", file=sys.stderr)
        return result
    (x_train, t_train), (x_test, t_test) = _load_data_in_turn(config, communicator, data_dir, download, verify)
    if settings.get("limit"):
        x_train, t_train = x_train[: settings["limit"]], t_train[: settings["limit"]]
    (x_train, t_train), validation = split_validation(x_train, t_train, settings.get("validation_split", 0.0))
    if sync_batchnorm:
        synchronize_batch_norm(net, communicator)
    trainer = Trainer(
        net, optimizer, epochs=settings["epochs"], batch_size=settings["batch_size"], seed=settings["seed"],
        lr_schedule=make_schedule(settings["schedule"], settings["lr"], settings["epochs"]), verbose=verbose,
        communicator=communicator, threads=load_aware,
    )
    if verbose and run is not None:
        action = f"resuming at epoch {done + 1}" if done else "training"
        sizes = " / ".join(f"{n} {part}" for n, part in
                           ((len(x_train), "train"), (len(validation[0]), "validation"), (len(x_test), "test")) if n)
        print(f"{action}: {config['model']} {config['hidden_sizes']} on {config['dataset']} ({sizes}) "
              f"from {data_location(config['dataset'], data_dir)}, "
              f"{settings['optimizer']} lr {settings['lr']:g}, {config['dtype']}, run directory {run.path}", flush=True)
    started = time.perf_counter()
    result.history = trainer.fit(x_train, t_train, validation_data=validation if len(validation[0]) else None,
                                 history=history, run_dir=run)
    result.seconds = time.perf_counter() - started
    result.epochs_trained = len(result.history) - done
    result.test_loss, result.test_accuracy = evaluate(net, net.xp.asarray(x_test), net.xp.asarray(t_test),
                                                      communicator=communicator)
    if run is None:  # not rank 0: it reports and draws nothing
        return result
    result.best_epoch = run.best.get("epoch") if run.best else None
    if verbose:
        epochs = len(result.history)
        best = f"; best validation loss at epoch {result.best_epoch} ({BEST})" if result.best_epoch else ""
        print(f"test accuracy {100 * result.test_accuracy:.2f}% after {plural(epochs, 'epoch')} "
              f"({result.seconds:.1f} s this session); saved to {run.path}{best}")
    if plots:
        result.figures = _write_figures(run.path, result.history, config, verbose)
    return result


def _train_language_model(
    config: dict[str, Any], run: RunDir, data_dir: Any, download: bool, verify: bool, backend: str, verbose: int,
    plots: bool, load_aware: LoadAwareThreads | None = None,
) -> TrainResult:
    """Train a language model on its corpus: the validation text after every epoch, the test text at the end."""
    settings = config["training"]
    corpus = load_corpus(config["dataset"], data_dir=data_dir, download=download, verify=verify, progress=verbose > 0)
    vocab_size = len(corpus.word_to_id)
    if config["vocab_size"] is None:  # a new run: the vocabulary is the data's
        config["vocab_size"] = vocab_size
    check_vocabulary(config, corpus.word_to_id, f"the run in {run.path}")
    net = build_model(config, rng=settings["seed"], backend=backend)
    optimizer = make_optimizer(settings["optimizer"], settings["lr"], weight_decay=settings.get("weight_decay", 0.0))
    settings["lr"] = optimizer.lr
    history = run.restore(net, optimizer)
    done = len(history)
    result = TrainResult(net, history, config, run.path, best_epoch=(run.best or {}).get("epoch"))
    if done and done >= settings["epochs"]:
        if verbose:
            print(f"{run.path} already has {plural(done, 'epoch')}; ask for more with epochs (--epochs)", file=sys.stderr)
        return result
    train_corpus = corpus.train[: settings["limit"]] if settings.get("limit") else corpus.train
    trainer = LanguageModelTrainer(
        net, optimizer, epochs=settings["epochs"], batch_size=settings["batch_size"], time_size=settings["time_size"],
        max_grad=settings["max_grad"], seed=settings["seed"], plateau_decay=settings.get("plateau_decay"),
        lr_schedule=make_schedule(settings["schedule"], settings["lr"], settings["epochs"]), verbose=verbose,
        threads=load_aware,
    )
    if verbose:
        action = f"resuming at epoch {done + 1}" if done else "training"
        print(f"{action}: {config['model']} (vocabulary {vocab_size}, hidden {config['hidden_size']}) on "
              f"{config['dataset']} ({len(train_corpus)} train / {len(corpus.val)} validation / {len(corpus.test)} test "
              f"words) from {data_location(config['dataset'], data_dir)}, {settings['optimizer']} lr {settings['lr']:g}, "
              f"windows {settings['batch_size']} x {settings['time_size']}, clip {settings['max_grad']:g}, "
              f"{config['dtype']}, run directory {run.path}", flush=True)
    started = time.perf_counter()
    result.history = trainer.fit(train_corpus, validation_corpus=corpus.val, history=history, run_dir=run)
    result.seconds = time.perf_counter() - started
    result.epochs_trained = len(result.history) - done
    result.test_perplexity = perplexity(net, corpus.test, trainer.eval_batch_size, trainer.time_size)
    result.test_loss = math.log(result.test_perplexity)
    result.best_epoch = run.best.get("epoch") if run.best else None
    if verbose:
        best = f"; best validation perplexity at epoch {result.best_epoch} ({BEST})" if result.best_epoch else ""
        print(f"test perplexity {result.test_perplexity:.2f} after {plural(len(result.history), 'epoch')} "
              f"({result.seconds:.1f} s this session); saved to {run.path}{best}")
    if plots:
        result.figures = _write_figures(run.path, result.history, config, verbose)
    return result


def _start_distributed(threads: int | None, verbose: int) -> Any:
    """The communicator of an ``mpiexec`` job, set up so the job behaves as one program.

    A failing rank ends the job; each rank gets its share of the cores' BLAS threads; only rank 0
    prints (the others' standard output goes nowhere; errors still reach standard error).
    """
    from .distributed import Communicator, abort_on_failure, set_blas_threads

    communicator = Communicator()
    abort_on_failure(communicator)
    threads = set_blas_threads(communicator, threads)
    processes = communicator.processes()
    if not communicator.is_root:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    elif verbose:
        each = f"{plural(threads, 'BLAS thread')} each"
        ranks = plural(communicator.size, "rank")
        where = ", ".join(f"{rank}: pid {pid} on {host}" for rank, (host, pid) in enumerate(processes))
        print(f"distributed: {ranks}, {each} ({'ranks' if communicator.size != 1 else 'rank'} {where})", flush=True)
    return communicator


def _load_data_in_turn(config: dict[str, Any], communicator: Any, data_dir: Any, download: bool, verify: bool) -> Any:
    """Rank 0 loads (and downloads, if need be) first; the others then read what it cached.

    Then every rank checks with all others that it has the same data (a folder missing on one
    node, or holding another version of the dataset, would otherwise hang or mislead the job).
    """
    def load() -> Any:
        return load_dataset(config["dataset"], flatten=config["model"] not in IMAGE_MODELS, dtype=config["dtype"],
                            data_dir=data_dir, download=download, verify=verify)

    if communicator is None:
        return load()
    loaded = attempt(load) if communicator.is_root else None
    communicator.barrier()
    loaded = loaded or attempt(load)
    where = data_location(config["dataset"], data_dir) if loaded.error is None else str(data_dir or "")
    return agree(communicator, "data", loaded, _data_facts, where=where)


def _data_facts(data: Any) -> dict[str, Any]:
    (x_train, t_train), (x_test, t_test) = data
    return {"training samples": len(x_train), "test samples": len(x_test),
            "contents fingerprint": fingerprint(t_train, t_test, x_train, x_test)}


def _write_figures(run_dir: Path, history: History, config: dict[str, Any], verbose: int) -> list[Path]:
    if not matplotlib_available():
        if verbose:
            print(f"plots skipped: {INSTALL_HINT}", file=sys.stderr)
        return []
    title = f"{config['model']} {hidden_sizes_of(config)} on {config['dataset']}"
    path = run_dir / "learning_curve.png"
    try:
        plot_learning_curve(history, path, title=title, perplexity=config["model"] in LANGUAGE_MODELS)
    except OSError as error:
        raise RunDirError(f"cannot write {path}: {error.strerror or error}; the checkpoints are saved") from None
    if verbose:
        print(f"learning curve: {path}")
    return [path]


__all__ = ["RUNS_ROOT", "TrainResult", "train"]
