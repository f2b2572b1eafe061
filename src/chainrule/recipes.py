"""Recipes: each model's training settings, what a new run fills in, and what a resume may change.

A run is described by :class:`TrainOptions`, the options of ``chainrule train`` as Python
values, ``None`` meaning "not given". A new run puts the given options over the model's recipe
(:func:`new_run_config`); a resumed run takes every option from the run, and only ``epochs`` and
``lr`` may change (:func:`resume_config`). The config that results is the JSON-friendly record a
checkpoint stores, from which :func:`chainrule.models.build_model` rebuilds the network.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable

from .checks import is_integer
from .errors import ConfigError, ConfigTypeError
from .models import LANGUAGE_MODELS, MODELS, hidden_sizes_of, model_config
from .number_format import plural
from .optimizers import OPTIMIZERS
from .training.schedules import SCHEDULES, make_schedule

# Each model's default recipe; any option given puts its part over it.
# mlp is chainrule's own recipe (benchmarks/mnist_accuracy.py measures it): 784-512-256-10 with
# Adam at twice its usual rate on batches of 200, decayed along a cosine over 10 epochs.
RECIPES: dict[str, dict[str, Any]] = {
    "mlp": {"optimizer": "adam", "lr": 0.002, "batch_size": 200, "epochs": 10, "schedule": "cosine", "weight_decay": 0.0},
    "two-layer": {"optimizer": "sgd", "lr": 0.1, "batch_size": 100, "epochs": 17, "schedule": "constant", "weight_decay": 0.0},
    # SimpleConvNet, He init. L2 3e-4: 98.88% after 10 epochs at lr 0.001 without it, 99.13% with it
    # (without, train accuracy reached 100%: the net overfits). 5 epochs at lr 0.002 train in about
    # a minute on two cores and still reach 99.0%; chosen over 5 at lr 0.001 by validation loss
    # (0.0335 against 0.0361). `epochs=10, lr=0.001` is the slower, 0.1-point-better recipe.
    "cnn": {"optimizer": "adam", "lr": 0.002, "batch_size": 100, "epochs": 5, "schedule": "cosine", "weight_decay": 3e-4},
    "deep-cnn": {"optimizer": "adam", "lr": 0.001, "batch_size": 100, "epochs": 10, "schedule": "cosine", "weight_decay": 0.0},
    # The second book's ch06/train_rnnlm.py: batches of 20 streams, windows of 35 words (truncated
    # BPTT), gradients clipped to a global norm of 0.25, plain SGD at 20, 4 epochs; but the rate
    # decays along a cosine (20, 17.1, 10, 2.9) where the book keeps 20: at a constant 20 the
    # validation perplexity stalls by the 4th epoch (a 5th overfits), the small late steps settle
    # the weights. `--schedule constant` is the book's rate (docs/text.md has both measured).
    "rnnlm": {"optimizer": "sgd", "lr": 20.0, "batch_size": 20, "epochs": 4, "schedule": "cosine", "weight_decay": 0.0,
              "time_size": 35, "max_grad": 0.25},
    # ch06/train_better_rnnlm.py: the book's rate, 40 epochs, divided by 4 after every epoch
    # whose validation perplexity is no better than the best so far (plateau_decay).
    "better-rnnlm": {"optimizer": "sgd", "lr": 20.0, "batch_size": 20, "epochs": 40, "schedule": "constant",
                     "weight_decay": 0.0, "time_size": 35, "max_grad": 0.25, "plateau_decay": 0.25},
}
DEFAULT_MODEL = "mlp"
DEFAULT_DATASET = "mnist"
DATASETS = ("mnist", "fashion-mnist", "ptb")
# Text corpora: only the language models train on them, and they train on nothing else.
LANGUAGE_DATASETS = ("ptb",)
# Keras' validation_split: the last 10% of the training samples pick the best epoch (best.npz).
DEFAULT_VALIDATION_SPLIT = 0.1
# Filled in only for a new run: on resume, an option given (even with this value) is compared
# with the run's value rather than ignored.
NEW_RUN_DEFAULTS: dict[str, Any] = {"seed": 0, "dtype": "float32", "validation_split": DEFAULT_VALIDATION_SPLIT}
# Options that only some models have; anything else is refused rather than silently ignored.
MODEL_OPTIONS: dict[str, tuple[str, ...]] = {
    "activation": ("mlp",), "batchnorm": ("mlp",), "dropout": ("mlp", "deep-cnn", "better-rnnlm"),
    "weight_init": ("two-layer", "mlp", "cnn", "deep-cnn"),  # the language models keep the book's initialisation
}
SINGLE_HIDDEN = ("two-layer", "cnn", "deep-cnn", *LANGUAGE_MODELS)
ACTIVATIONS = ("relu", "sigmoid", "tanh")
WEIGHT_INITS = ("he", "xavier", "relu", "sigmoid", "tanh")
MAX_COUNT = 2**31 - 1  # counts above a C int are a typo, never a wish
MAX_SEED = 2**32 - 1


@dataclass
class TrainOptions:
    """The options of one training run, as ``chainrule train`` takes them; ``None``: not given.

    Model: ``model`` (:data:`~chainrule.models.MODELS`), ``hidden_sizes``, ``activation``,
    ``weight_init`` ("he", "xavier" or a standard deviation), ``dropout``, ``batchnorm``,
    ``weight_decay`` (L2 λ on weights, not biases), ``dtype``. Training: ``optimizer``, ``lr``,
    ``schedule``, ``epochs``, ``batch_size``, ``seed``, ``limit`` (first N training samples; the
    first N words of a corpus), ``validation_split``. Data: ``dataset`` (``"ptb"`` with the
    language models ``rnnlm`` and ``better-rnnlm`` only, which default to it).
    """

    model: str | None = None
    dataset: str | None = None
    hidden_sizes: list[int] | None = None
    activation: str | None = None
    weight_init: str | float | None = None
    dropout: float | None = None
    batchnorm: bool | None = None
    weight_decay: float | None = None
    dtype: str | None = None
    optimizer: str | None = None
    lr: float | None = None
    schedule: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    limit: int | None = None
    validation_split: float | None = None

    def __post_init__(self) -> None:
        self.check()

    def given(self) -> dict[str, Any]:
        """The options that were given (not None, not False)."""
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}

    def check(self) -> None:
        """Refuse a value no run can take, naming the option, what it expects and what it got."""
        choices = {"model": MODELS, "dataset": DATASETS, "activation": ACTIVATIONS, "dtype": ("float32", "float64"),
                   "optimizer": tuple(sorted(OPTIMIZERS)), "schedule": tuple(sorted(SCHEDULES))}
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ConfigError(f"train: {name} must be one of {', '.join(allowed)}, got {value!r}")
        for name in ("epochs", "batch_size", "limit"):
            _check_count(name, getattr(self, name), 1, MAX_COUNT)
        _check_count("seed", self.seed, 0, MAX_SEED)
        if self.hidden_sizes is not None:
            if isinstance(self.hidden_sizes, (str, bytes)) or not hasattr(self.hidden_sizes, "__len__") or not self.hidden_sizes:
                raise ConfigTypeError(f"train: hidden_sizes must be a non-empty list of positive integers, got {self.hidden_sizes!r}")
            for size in self.hidden_sizes:
                _check_count("hidden_sizes", size, 1, MAX_COUNT)
            self.hidden_sizes = [int(size) for size in self.hidden_sizes]
        _check_number("lr", self.lr, lambda v: v > 0, "a positive finite number")
        _check_number("weight_decay", self.weight_decay, lambda v: v >= 0, "a finite number >= 0")
        _check_number("dropout", self.dropout, lambda v: 0 <= v < 1, "a probability in [0, 1)")
        _check_number("validation_split", self.validation_split, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
        if isinstance(self.weight_init, str):
            if self.weight_init.lower() not in WEIGHT_INITS:
                raise ConfigError(f"train: weight_init must be he, xavier or a positive standard deviation, got {self.weight_init!r}")
            self.weight_init = self.weight_init.lower()
        else:
            _check_number("weight_init", self.weight_init, lambda v: v > 0, "he, xavier or a positive finite standard deviation")
        if self.batchnorm is not None and not isinstance(self.batchnorm, bool):
            raise ConfigTypeError(f"train: batchnorm must be True or False, got {self.batchnorm!r}")

    def check_model(self, model: str) -> None:
        """Refuse options that ``model`` does not have (they would be silently ignored), and a
        dataset it cannot read."""
        dataset = self.dataset or default_dataset(model)
        if model in LANGUAGE_MODELS and dataset not in LANGUAGE_DATASETS:
            raise OptionError(f"{{model}} {model} is a language model: it trains on a text corpus ({{dataset}} "
                              f"{' or '.join(LANGUAGE_DATASETS)}), got {{dataset}} {dataset}", "model", "dataset")
        if dataset in LANGUAGE_DATASETS and model not in LANGUAGE_MODELS:
            raise OptionError(f"{{dataset}} {dataset} is a text corpus: train a language model on it ({{model}} "
                              f"{' or '.join(LANGUAGE_MODELS)}), got {{model}} {model}", "dataset", "model")
        if model in LANGUAGE_MODELS and self.validation_split is not None:
            raise OptionError(f"{{validation_split}} does not apply to {{model}} {model}: {dataset} has a validation "
                              "text of its own, measured after every epoch", "validation_split", "model")
        for name, models in MODEL_OPTIONS.items():
            if getattr(self, name) not in (None, False) and model not in models:
                raise OptionError(f"{{{name}}} applies to {{model}} {_either(models)}, not {model}", name, "model")
        if self.hidden_sizes and len(self.hidden_sizes) > 1 and model in SINGLE_HIDDEN:
            raise OptionError(f"{{model}} {model} has one hidden layer; got {{hidden_sizes}} {_text(self.hidden_sizes)}",
                              "hidden_sizes", "model")


def _either(names: tuple[str, ...]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return " or ".join(filter(None, (", ".join(names[:-1]), names[-1])))


def _check_count(name: str, value: Any, minimum: int, maximum: int) -> None:
    if value is None:
        return
    if not is_integer(value):
        raise ConfigTypeError(f"train: {name} must be an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise ConfigError(f"train: {name} must be an integer in [{minimum}, {maximum}], got {value!r}")


def _check_number(name: str, value: Any, ok: Callable[[float], bool], expected: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigTypeError(f"train: {name} must be {expected}, got {value!r}")
    if not (math.isfinite(value) and ok(value)):
        raise ConfigError(f"train: {name} must be {expected}, got {value!r}")


def default_dataset(model: str | None) -> str:
    """The dataset a model trains on when none is named: PTB for a language model, else MNIST."""
    return LANGUAGE_DATASETS[0] if model in LANGUAGE_MODELS else DEFAULT_DATASET


def default_model(dataset: str | None) -> str:
    """The model trained when none is named: the book's ``rnnlm`` on a corpus, else the MLP."""
    return LANGUAGE_MODELS[0] if dataset in LANGUAGE_DATASETS else DEFAULT_MODEL


def model_and_dataset(options: TrainOptions) -> tuple[str, str]:
    """The model and the dataset of a new run: those given, each defaulting by the other."""
    model = options.model or default_model(options.dataset)
    return model, options.dataset or default_dataset(model)


def recipe(options: TrainOptions) -> dict[str, Any]:
    """The model's recipe with every training option given put over it."""
    model, _ = model_and_dataset(options)
    settings = dict(RECIPES[model])
    if options.optimizer and options.optimizer != settings["optimizer"]:
        settings["lr"] = None  # another optimizer starts from its own default rate
    for key in ("optimizer", "lr", "schedule", "epochs", "batch_size", "weight_decay"):
        if getattr(options, key) is not None:
            settings[key] = getattr(options, key)
    return settings


def new_run_config(options: TrainOptions) -> dict[str, Any]:
    """The config of a new run: model sizes, dataset and training settings, defaults filled in."""
    model, dataset = model_and_dataset(options)
    options.check_model(model)
    filled = {key: getattr(options, key) if getattr(options, key) is not None else default
              for key, default in NEW_RUN_DEFAULTS.items()}
    config = model_config(
        model, hidden_sizes=options.hidden_sizes, dtype=filled["dtype"], activation=options.activation,
        dropout_ratio=options.dropout, weight_init_std=options.weight_init, use_batchnorm=options.batchnorm or None,
    )
    config["dataset"] = dataset
    config["training"] = {**recipe(options), "seed": filled["seed"], "limit": options.limit}
    if model not in LANGUAGE_MODELS:  # a corpus comes with its own validation text
        config["training"]["validation_split"] = filled["validation_split"]
    return config


# What a resumed run cannot change: option -> where the run's config keeps its value.
FIXED_ON_RESUME: dict[str, Callable[[dict[str, Any]], Any]] = {
    "model": lambda c: c["model"],
    "dataset": lambda c: c["dataset"],
    "hidden_sizes": hidden_sizes_of,
    "activation": lambda c: c.get("activation"),
    "weight_init": lambda c: c.get("weight_init_std"),
    "dropout": lambda c: c.get("dropout_ratio"),
    "batchnorm": lambda c: c.get("use_batchnorm", False),
    "dtype": lambda c: c["dtype"],
    "optimizer": lambda c: c["training"]["optimizer"],
    "schedule": lambda c: c["training"]["schedule"],
    "batch_size": lambda c: c["training"]["batch_size"],
    "seed": lambda c: c["training"]["seed"],
    "limit": lambda c: c["training"].get("limit"),
    "weight_decay": lambda c: c["training"].get("weight_decay", 0.0),
    "validation_split": lambda c: c["training"].get("validation_split", 0.0),
}
CHANGEABLE_ON_RESUME = ("epochs", "lr")


class OptionError(ConfigError):
    """Options that do not fit together, or that a resumed run cannot take.

    The message is a :meth:`str.format` template naming each option as ``{name}``, so that a
    command line can spell them as its flags (:meth:`naming`); ``option`` is the one at fault.
    """

    def __init__(self, template: str, *options: str) -> None:
        super().__init__(template.format(**{name: name for name in options}))
        self.template, self.options, self.option = template, options, options[0]

    def naming(self, spell: Callable[[str], str]) -> str:
        return self.template.format(**{name: spell(name) for name in self.options})


def resume_config(options: TrainOptions, config: dict[str, Any], epochs_done: int, where: str) -> tuple[dict[str, Any], list[str]]:
    """The config a resumed run continues with, and the changes it makes, in words.

    An option not given is taken from the run; one that differs from the run's is refused
    (:class:`OptionError`). ``epochs`` and ``lr`` may change; the schedule is planned over the
    run's epochs, so resuming with ``epochs=N`` continues exactly as a run started with ``N``
    epochs would have. When that raises the rate (extending a finished cosine run), it says so.
    ``epochs`` fewer than the run has done is refused.
    """
    for name, saved in FIXED_ON_RESUME.items():
        given = getattr(options, name)
        if given is None or given is False:
            continue
        value = saved(config)
        if given != value:
            trained = f"without {{{name}}}" if value is None or value is False else f"with {{{name}}} {_escape(_text(value))}"
            raise OptionError(f"{{{name}}} cannot change when resuming: the run in {_escape(where)} was trained {trained}, "
                              f"got {{{name}}} {_escape(_text(given))}; start a new run (another output directory) to "
                              "change it", name)
    config = copy.deepcopy(config)
    settings = config["training"]
    if options.epochs is not None and options.epochs < epochs_done:
        raise OptionError(f"{{epochs}} {options.epochs} is fewer than the {plural(epochs_done, 'epoch')} the run in "
                          f"{_escape(where)} has done: {{epochs}} is the total to reach, so give more than {epochs_done}",
                          "epochs")
    last_rate = make_schedule(settings["schedule"], settings["lr"], settings["epochs"])(max(epochs_done - 1, 0))
    changes = []
    if options.epochs is not None and options.epochs != settings["epochs"]:
        changes.append(f"epochs {settings['epochs']} -> {options.epochs}")
        settings["epochs"] = options.epochs
    if options.lr is not None and options.lr != settings["lr"]:
        changes.append(f"lr {settings['lr']:g} -> {options.lr:g} (the base rate of the {settings['schedule']} schedule)")
        settings["lr"] = options.lr
    if changes and epochs_done < settings["epochs"]:
        next_rate = make_schedule(settings["schedule"], settings["lr"], settings["epochs"])(epochs_done)
        if epochs_done and next_rate > last_rate * (1 + 1e-9):
            changes.append(f"the {settings['schedule']} schedule is re-planned over {plural(settings['epochs'], 'epoch')}, so the "
                           f"learning rate rises from {last_rate:.3g} (epoch {epochs_done}) to {next_rate:.3g} "
                           f"(epoch {epochs_done + 1})")
    return config, changes


def _text(value: Any) -> str:
    if value is True:
        return ""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _escape(text: str) -> str:
    """``text`` as a literal inside a :meth:`str.format` template."""
    return text.replace("{", "{{").replace("}", "}}")


OPTION_NAMES = tuple(field.name for field in fields(TrainOptions))
