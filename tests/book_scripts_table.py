"""Test data: the book's chapters 5-8 scripts, how long each runs and what to read from its output.

Shared by the tests (the scripts, the long ones on a slice of MNIST or for a limited time) and
``benchmarks/book_scripts.py`` (full-length runs, the table in ``docs/book.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable


def _last_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.strip()]
    return lines[-1] if lines else "(prints nothing)"


def _numbers_after(label: str) -> Callable[[str], str]:
    def summary(out: str) -> str:
        found = re.findall(rf"{label}\s*[:=]?\s*([-+0-9.e]+)", out)
        return ", ".join(found) if found else "(not printed)"

    return summary


def _gradient_diffs(out: str) -> str:
    return ", ".join(f"{key} {value:.1e}" for key, value in gradient_diffs(out).items()) or "(not printed)"


def _prefixed_lines(prefix: str, keep: int = 1) -> Callable[[str], str]:
    def summary(out: str) -> str:
        lines = [line for line in out.splitlines() if line.startswith(prefix)]
        return " / ".join(lines[-keep:]) if lines else "(not printed)"

    return summary


def _all_output(out: str) -> str:
    return " ".join(out.split())


@dataclass(frozen=True)
class BookScript:
    """One file of the book's chapters: where it is, what it prints, and what it needs."""

    chapter: str
    name: str
    summary: Callable[[str], str] = _last_line
    book_result: str = ""  # what the book's own code prints (ORIGIN.md, or the book's text)
    writes: tuple[str, ...] = ()  # files the script writes into its chapter folder
    long: bool = False  # minutes at full length on two cores: benchmark only, smoke test in CI
    smoke_limit: str = ""  # CHAINRULE_BOOK_MNIST_LIMIT for the CI smoke run of a long script
    smoke_seconds: float = 0.0  # or run for this long after its first line (scripts bound by iterations)
    prints_early: bool = True  # False: prints only at the end, so the smoke run's clock starts at once
    expect: tuple[str, ...] = field(default=())  # regexes the output must contain (full or smoke run)
    max_gradient_diff: float = 0.0  # if set, every "name:value" difference printed must be below it
    # np.random.seed before the script, for a check that an unlucky draw would fail: the gradient
    # check's random weights can put a ReLU input within h of 0, where the numerical derivative
    # straddles the kink (seen in CI: b1 2e-6, W1 1.9e-7); the book's own code does the same.
    seed: int | None = None


def gradient_diffs(out: str) -> dict[str, float]:
    """``{"W1": 2.5e-13, ...}`` from a gradient check's ``W1:2.5e-13`` or ``W1 2.5e-13`` lines."""
    return {key: float(value) for key, value in re.findall(r"^(\w+)[: ]\s*([-+0-9.e]+)$", out, flags=re.M)}


SCRIPTS: tuple[BookScript, ...] = (
    BookScript("ch05", "buy_apple.py", _all_output,
               "price: 220 dApple: 2.2 dApple_num: 110 dTax: 200",
               expect=(r"price: 220\n", r"dApple: 2.2\n", r"dApple_num: 110\n", r"dTax: 200\n")),
    BookScript("ch05", "buy_apple_orange.py", _all_output,
               "price: 715 dApple: 2.2 dApple_num: 110 dOrange: 3.3000000000000003 dOrange_num: 165 dTax: 650",
               expect=(r"price: 715\n", r"dOrange: 3.3000000000000003\n", r"dOrange_num: 165\n", r"dTax: 650\n")),
    BookScript("ch05", "layer_naive.py", book_result="(defines MulLayer, AddLayer)"),
    BookScript("ch05", "two_layer_net.py", book_result="(defines TwoLayerNet)"),
    BookScript("ch05", "gradient_check.py", _gradient_diffs,
               "W1 4.2e-10, b1 2.5e-09, W2 7.0e-09, b2 1.4e-07 (text: 2e-13..1.2e-10)",
               expect=(r"W1:", r"b2:"), max_gradient_diff=1e-9, seed=0),
    BookScript("ch05", "train_neuralnet.py", _last_line, "0.9789 train, 0.9703 test (last line)",
               long=True, smoke_seconds=15, expect=(r"(?m)^0\.\d+ 0\.\d+$",)),
    BookScript("ch06", "batch_norm_gradient_check.py", _gradient_diffs,
               "all 0 or < 2e-7 except beta2 0.055 (a ReLU kink)",
               long=True, smoke_seconds=45, prints_early=False),
    BookScript("ch06", "batch_norm_test.py", _prefixed_lines("epoch:19", 16), "(16 plots of accuracy, BN vs not)",
               long=True, smoke_seconds=15, expect=(r"=+ 1/16 =+", r"epoch:0 \| 0\.\d+ - 0\.\d+")),
    BookScript("ch06", "hyperparameter_optimization.py", _prefixed_lines("Best-", 1),
               "Best-1 val acc ~0.8 (random search, 100 trials)", long=True, smoke_limit="100", smoke_seconds=15,
               expect=(r"val acc:0\.\d+ \| lr:",)),
    BookScript("ch06", "optimizer_compare_mnist.py", _prefixed_lines("", 5), "(loss curves; Adam/AdaGrad lowest)",
               long=True, smoke_seconds=15, expect=(r"iteration:0=+\nSGD:\d\.\d+\nMomentum:",)),
    BookScript("ch06", "optimizer_compare_naive.py", book_result="(a plot of four optimizer paths)"),
    BookScript("ch06", "overfit_dropout.py", _last_line, "(train/test accuracy curves, gap narrowed by dropout)",
               long=True, smoke_limit="300,500", smoke_seconds=15, expect=(r"=== epoch:1, train acc:0\.\d+, test acc:0\.\d+ ===",)),
    BookScript("ch06", "overfit_weight_decay.py", _last_line, "(train/test accuracy curves, gap narrowed by decay)",
               long=True, smoke_limit="300,500", smoke_seconds=15, expect=(r"epoch:0, train acc:0\.\d+, test acc:0\.\d+",)),
    BookScript("ch06", "weight_init_activation_histogram.py", book_result="(histograms; uses NumPy only)"),
    BookScript("ch06", "weight_init_compare.py", _prefixed_lines("", 4), "(loss curves; He < Xavier < std=0.01)",
               long=True, smoke_seconds=15, expect=(r"iteration:0=+\nstd=0\.01:2\.30\d*\nXavier:\d\.\d+\nHe:\d\.\d+",)),
    BookScript("ch07", "apply_filter.py", book_result="(plots of the learned filters applied to an image)"),
    BookScript("ch07", "gradient_check.py", _gradient_diffs, "W2 3e-11, b2 4.9e-4 (a kink), W3 7.9e-11, b3 1.8e-7",
               expect=(r"W1 ", r"b3 ")),
    BookScript("ch07", "simple_convnet.py", book_result="(defines SimpleConvNet)"),
    BookScript("ch07", "train_convnet.py", _prefixed_lines("test acc:", 1), "test acc ~0.989 (book text 98.96%)",
               writes=("params.pkl",), long=True, smoke_limit="100,100",
               expect=(r"=== epoch:20, train acc:", r"test acc:0\.\d+\nSaved Network Parameters!")),
    BookScript("ch07", "visualize_filter.py", book_result="(plots of the filters before and after training)"),
    BookScript("ch08", "awesome_net.py", book_result="(an empty file)"),
    BookScript("ch08", "deep_convnet.py", book_result="(defines DeepConvNet)"),
    BookScript("ch08", "half_float_network.py", lambda out: ", ".join(re.findall(r"^0\.\d+$", out, flags=re.M)),
               "0.9797 (float64), 0.9798 (float16)",
               long=True, smoke_limit="10,500", expect=(r"float64\) \.\.\. \n[01]\.\d+\n", r"float16\) \.\.\. \n[01]\.\d+\n")),
    BookScript("ch08", "misclassified_mnist.py", _numbers_after("test accuracy:"), "0.9797",
               expect=(r"test accuracy:0\.9797\n", r"misclassified result")),
    BookScript("ch08", "train_deepnet.py", _prefixed_lines("test acc:", 1), "test acc ~0.993 (book text 99.38%)",
               writes=("deep_convnet_params.pkl",), long=True, smoke_limit="100,100",
               expect=(r"=== epoch:20, train acc:", r"test acc:0\.\d+\nSaved Network Parameters!")),
)
