"""seq2seq learns to add: "16+75" -> "91", on the second book's addition.txt (its chapter 7).

An encoder LSTM reads the question character by character, a decoder LSTM writes the answer.
The book's improvements can be switched on one at a time: ``--reverse`` feeds the question
backwards (the first digits of the answer then sit near the last ones the encoder read),
``--model peeky`` lets the decoder see the encoder's state at every step. The book's settings
by default: batches of 128, 128 hidden units, 16-dimensional character vectors, Adam, gradients
clipped to a global norm of 5, 25 epochs. After each epoch, the test accuracy: the fraction of
questions whose generated answer is exactly right (the book's ``eval_seq2seq``).

    python examples/seq2seq_addition.py --model peeky --reverse --threads 1
    python examples/seq2seq_addition.py --model seq2seq --epochs 5 --test-size 1000
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from chainrule.data import load_sequence
from chainrule.nets.seq2seq import PeekySeq2seq, Seq2seq
from chainrule.optimizers import Adam
from chainrule.threads import set_threads
from chainrule.training.sequence_loop import generate_answers, seq2seq_accuracy, train_epoch

MODELS = {"seq2seq": Seq2seq, "peeky": PeekySeq2seq}


@dataclass
class Result:
    epoch_losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)  # test accuracy after each epoch
    losses: list[float] = field(default_factory=list)
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # (question, answer, guess) after training


def decode(ids: np.ndarray, id_to_char: dict[int, str]) -> str:
    return "".join(id_to_char[int(i)] for i in ids)


def train(data: Any, model: str = "peeky", *, reverse: bool = True, epochs: int = 25, batch_size: int = 128, hidden: int = 128,
          wordvec: int = 16, max_grad: float = 5.0, max_iters: int | None = None, train_size: int | None = None,
          test_size: int | None = None, seed: int = 0, log: bool = True) -> Result:
    """Train on ``data`` (what ``load_sequence("addition.txt")`` returns), measuring the test
    accuracy after every epoch."""
    (x_train, t_train), (x_test, t_test), char_to_id, id_to_char = data
    x_train, t_train = x_train[:train_size], t_train[:train_size]
    x_test, t_test = x_test[:test_size], t_test[:test_size]
    if reverse:
        x_train, x_test = np.ascontiguousarray(x_train[:, ::-1]), np.ascontiguousarray(x_test[:, ::-1])
    net = MODELS[model](len(char_to_id), wordvec, hidden, rng=seed, dtype=np.float32)
    return fit(net, (x_train, t_train), (x_test, t_test), id_to_char, epochs=epochs, batch_size=batch_size, max_grad=max_grad,
               max_iters=max_iters, seed=seed, reverse=reverse, log=log)


def fit(net: Seq2seq, train_data: tuple[np.ndarray, np.ndarray], test_data: tuple[np.ndarray, np.ndarray], id_to_char: dict[int, str], *,
        epochs: int, batch_size: int, max_grad: float, max_iters: int | None, seed: int, reverse: bool, log: bool) -> Result:
    """Epochs of Adam with clipping, each followed by the exact-match test accuracy."""
    (x_train, t_train), (x_test, t_test) = train_data, test_data
    optimizer, rng, result = Adam(), np.random.default_rng(seed), Result()
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        losses = train_epoch(net, optimizer, x_train, t_train, batch_size, rng=rng, max_grad=max_grad, max_iters=max_iters)
        trained = time.perf_counter()
        result.losses.extend(losses)
        result.epoch_losses.append(float(np.mean(losses)))
        result.accuracies.append(seq2seq_accuracy(net, x_test, t_test))
        if log:
            print(f"epoch {epoch:2d}: loss {result.epoch_losses[-1]:.4f}  test accuracy {100 * result.accuracies[-1]:6.2f}%  "
                  f"({trained - started:.0f} s, of which testing {time.perf_counter() - trained:.0f} s)", flush=True)
    shown = x_test[:5]
    guesses = generate_answers(net, shown, t_test[:5, 0], t_test.shape[1] - 1)
    for question, answer, guess in zip(shown, t_test[:5], guesses):
        question = question[::-1] if reverse else question
        result.examples.append((decode(question, id_to_char), decode(answer[1:], id_to_char), decode(guess, id_to_char)))
        if log:
            mark = "ok" if result.examples[-1][1] == result.examples[-1][2] else "WRONG"
            print(f"  Q {result.examples[-1][0]!r}  T {result.examples[-1][1]!r}  guess {result.examples[-1][2]!r}  {mark}")
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="peeky", help="the decoder (default peeky)")
    parser.add_argument("--reverse", action=argparse.BooleanOptionalAction, default=True, help="feed the question backwards (default on)")
    parser.add_argument("--epochs", type=int, default=25, help="passes over the 45,000 training sums (default 25)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--wordvec", type=int, default=16)
    parser.add_argument("--max-grad", type=float, default=5.0, help="clip the gradients' global norm (default 5)")
    parser.add_argument("--max-iters", type=int, help="stop each epoch after this many updates")
    parser.add_argument("--train-size", type=int, help="train on the first N sums only")
    parser.add_argument("--test-size", type=int, help="test on the first N of the 5,000 test sums only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", help="a folder holding addition.txt")
    parser.add_argument("--threads", type=int, help="BLAS threads (1 on a busy machine)")
    args = parser.parse_args(argv)
    if args.threads:
        set_threads(args.threads)
    print(f"{args.model}, {'reversed' if args.reverse else 'plain'} questions")
    data = load_sequence("addition.txt", seed=1984, data_dir=args.data_dir)
    train(data, args.model, reverse=args.reverse, epochs=args.epochs, batch_size=args.batch_size, hidden=args.hidden, wordvec=args.wordvec,
          max_grad=args.max_grad, max_iters=args.max_iters, train_size=args.train_size, test_size=args.test_size, seed=args.seed)


if __name__ == "__main__":
    main()
