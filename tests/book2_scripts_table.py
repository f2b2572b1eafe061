"""Test data: the sequel's chapters 1-6 scripts, what each prints, and how to shorten the long ones.

Shared by ``tests/test_book2_scripts.py`` (every script under ``chainrule book``; the long ones on a
prefix of PTB, ``CHAINRULE_BOOK_PTB_LIMIT``, or stopped after a few seconds) and
``benchmarks/book2_scripts.py`` (full-length runs, the table in ``docs/book2.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from book_scripts_table import _all_output, _last_line, _prefixed_lines


@dataclass(frozen=True)
class Book2Script:
    """One file of the sequel's chapters 1-6."""

    chapter: str
    name: str
    summary: Callable[[str], str] = _last_line
    book_result: str = ""  # what the book's own code prints (ORIGIN.md, the book's text, or a run of it)
    writes: tuple[str, ...] = ()  # files the script writes into its chapter folder
    long: bool = False  # a minute or more at full length: smoke-tested in CI, full length in the benchmark
    ptb_limit: int = 0  # CHAINRULE_BOOK_PTB_LIMIT for the CI run (words of each PTB split)
    smoke_seconds: float = 0.0  # stop this long after the first line of output (CI)
    expect: tuple[str, ...] = field(default=())  # regexes the output must contain
    # Compare with the book's own code run on the same script (only scripts that need no PTB
    # download): "exact" after removing timings, "numbers" with numbers equal to 3 significant
    # digits (float16 word vectors, float32 rounding after 1000 steps), "lines" as the same lines in any order (ties among equal
    # similarities are listed in another order).
    compare: str = ""
    seed: int | None = None  # np.random.seed before the script (both runs), for a comparison of random scripts


def _perplexity(out: str) -> str:
    found = re.findall(r"perplexity:?\s+([0-9.]+)", out)
    return found[-1] if found else "(not printed)"


def _queries(out: str) -> str:
    """The first answer of each query, ``you -> we 0.610``."""
    found = re.findall(r"\[(?:query|analogy)\] (.+)\n (\S+): ([-0-9.e]+)", out)
    return "; ".join(f"{query} -> {word} {float(value):.3f}" for query, word, value in found)


SCRIPTS: tuple[Book2Script, ...] = (
    Book2Script("ch01", "forward_net.py", _prefixed_lines("[[", 1), "(10, 3) scores of random weights",
                expect=(r"^\[\[", r"\]\]\n$")),
    Book2Script("ch01", "show_spiral_dataset.py", _all_output, "x (300, 2) t (300, 3) (and a plot)",
                expect=(r"x \(300, 2\)\nt \(300, 3\)\n",), compare="exact"),
    Book2Script("ch01", "train.py", _last_line, "final loss about 0.11", compare="exact",
                expect=(r"\| epoch 300 \|  iter 1 / 10 \| time \d+\[s\] \| loss 0\.1\d\n",)),
    Book2Script("ch01", "train_custom_loop.py", _last_line, "final loss about 0.11 (and the decision regions)",
                long=True, smoke_seconds=5, expect=(r"\| epoch 1 \|  iter 10 / 10 \| loss 1\.\d\d\n",)),
    Book2Script("ch01", "two_layer_net.py", book_result="(defines TwoLayerNet)"),
    Book2Script("ch02", "count_method_big.py", _queries, "you -> i 0.70 ... (the book's text, with scikit-learn)",
                long=True, ptb_limit=2000, smoke_seconds=5,
                expect=(r"counting  co-occurrence \.\.\.\ncalculating PPMI \.\.\.\n",)),
    Book2Script("ch02", "count_method_small.py", _all_output, "C[0], PPMI[0], U[0] of the toy sentence",
                compare="exact", expect=(r"\[0 1 0 0 0 0 0\]\n\[0\.    1\.807",)),
    Book2Script("ch02", "most_similar.py", _queries, "you -> goodbye 0.707 (hello, i the same)", compare="lines",
                expect=(r"\[query\] you\n goodbye: 0\.7071067691154799\n",)),
    Book2Script("ch02", "ppmi.py", _prefixed_lines(" [1.807", 1), "PPMI row of 'say': 1.807 0 0.807 0 0.807 0.807 0",
                compare="exact"),
    Book2Script("ch02", "show_ptb.py", _all_output, "corpus size 929589; car 3856, happy 4428, lexus 7426",
                expect=(r"corpus size: 929589\n", r"id_to_word\[0\]: aer\n", r"word_to_id\['car'\]: 3856\n",
                        r"word_to_id\['happy'\]: 4428\n", r"word_to_id\['lexus'\]: 7426\n")),
    Book2Script("ch02", "similarity.py", _all_output, "0.7071067691154799", compare="exact"),
    Book2Script("ch03", "cbow_predict.py", _all_output, "(1, 7) scores of random weights", expect=(r"^\[\[",)),
    Book2Script("ch03", "simple_cbow.py", book_result="(defines SimpleCBOW)"),
    Book2Script("ch03", "simple_skip_gram.py", book_result="(defines SimpleSkipGram)"),
    Book2Script("ch03", "train.py", _prefixed_lines("| epoch 1000", 1), "loss falls to about 0.5; 7 word vectors",
                compare="numbers", seed=0, expect=(r"\| epoch 1000 \|  iter 1 / 2 \|", r"\nyou \[")),
    Book2Script("ch04", "cbow.py", book_result="(defines CBOW)"),
    Book2Script("ch04", "eval.py", _queries,
                "you -> we 0.610, year -> month 0.719, car -> luxury 0.497, toyota -> ford 0.551; "
                "king:man = queen:woman, take:took = go:went", compare="numbers",
                expect=(r"\[query\] you\n we: 0\.61", r"\[analogy\] king:man = queen:\?\n woman: ")),
    Book2Script("ch04", "negative_sampling_layer.py", book_result="(defines EmbeddingDot, UnigramSampler, NegativeSamplingLoss)"),
    Book2Script("ch04", "skip_gram.py", book_result="(defines SkipGram)"),
    Book2Script("ch04", "train.py", _prefixed_lines("| epoch 10 ", 1), "CBOW on PTB, 10 epochs; writes cbow_params.pkl",
                writes=("cbow_params.pkl",), long=True, ptb_limit=1000,
                expect=(r"\| epoch 1 \|  iter 1 / 9 \| time \d+\[s\] \| loss 4\.1\d\n", r"\| epoch 10 \|")),
    Book2Script("ch05", "simple_rnnlm.py", book_result="(defines SimpleRnnlm)"),
    Book2Script("ch05", "train.py", _prefixed_lines("| epoch 100 ", 1), "perplexity about 5.7 at epoch 100 (first 1,000 words)",
                long=True, ptb_limit=101, expect=(r"\| epoch 100 \|  iter 1 / 2 \| time \d+\[s\] \| perplexity \d",)),
    Book2Script("ch05", "train_custom_loop.py", _last_line, "perplexity about 5.7 at epoch 100",
                long=True, ptb_limit=101,
                expect=(r"corpus size: 1000, vocabulary size: \d+\n", r"\| epoch 100 \| perplexity \d")),
    Book2Script("ch06", "better_rnnlm.py", book_result="(defines BetterRnnlm)"),
    Book2Script("ch06", "clip_grads.py", _all_output, "before/after of a random 3x3 gradient",
                expect=(r"before: \[", r"after: \[")),
    Book2Script("ch06", "eval.py", _perplexity, "test perplexity 136.0776 (the shipped Rnnlm.pkl)",
                long=True, ptb_limit=3501, expect=(r"evaluating perplexity \.\.\.\n", r"test perplexity:  1[23]\d\.\d+\n")),
    Book2Script("ch06", "rnn_gradient_graph.py", _all_output, "norms growing from 2.47 to 249.5", compare="exact"),
    Book2Script("ch06", "rnnlm.py", book_result="(defines Rnnlm)"),
    Book2Script("ch06", "train_better_rnnlm.py", _perplexity, "test perplexity about 75 (the book's text; 40 epochs on a GPU)",
                writes=("BetterRnnlm.pkl",), long=True, ptb_limit=701, smoke_seconds=1,
                expect=(r"\| epoch 1 \|  iter 1 / 1 \| time \d+\[s\] \| perplexity \d",)),
    Book2Script("ch06", "train_rnnlm.py", _perplexity, "test perplexity 133.93 (4 epochs; the shipped Rnnlm.pkl: 136.08)",
                writes=("Rnnlm.pkl",), long=True, ptb_limit=701,
                expect=(r"\| epoch 4 \|  iter 1 / 1 \| time \d+\[s\] \| perplexity \d", r"test perplexity:  \d")),
)
