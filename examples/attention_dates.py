"""seq2seq with attention rewrites dates: "september 27, 1994" -> "1994-09-27" (the book's chapter 8).

At every step the decoder looks back over all the encoder's hidden states, weighted by how well
each matches its own state (``AttentionSeq2seq``). The book's settings by default: questions
reversed, 16-dimensional character vectors, 256 hidden units, batches of 128, Adam, gradients
clipped to a global norm of 5, 10 epochs. Prints the exact-match test accuracy after each epoch
and draws the attention weights of one test question as a heat map (``--heatmap``, a PNG).

    python examples/attention_dates.py --threads 1 --heatmap attention.png
    python examples/attention_dates.py --epochs 2 --test-size 1000
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from chainrule.data import load_sequence
from chainrule.nets.seq2seq import AttentionSeq2seq
from chainrule.optimizers import Adam
from chainrule.plots import new_figure
from chainrule.threads import set_threads
from chainrule.training.sequence_loop import seq2seq_accuracy, train_epoch


@dataclass
class Result:
    epoch_losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)  # test accuracy after each epoch
    losses: list[float] = field(default_factory=list)
    net: Any = None


def train(data: Any, *, reverse: bool = True, epochs: int = 10, batch_size: int = 128, hidden: int = 256, wordvec: int = 16,
          max_grad: float = 5.0, max_iters: int | None = None, train_size: int | None = None, test_size: int | None = None,
          seed: int = 0, log: bool = True) -> tuple[Result, tuple[np.ndarray, np.ndarray], dict[int, str]]:
    """Train on ``data`` (what ``load_sequence("date.txt")`` returns); returns the result, the test
    set as the network reads it (reversed with ``reverse``) and the characters."""
    (x_train, t_train), (x_test, t_test), char_to_id, id_to_char = data
    x_train, t_train = x_train[:train_size], t_train[:train_size]
    x_test, t_test = x_test[:test_size], t_test[:test_size]
    if reverse:
        x_train, x_test = np.ascontiguousarray(x_train[:, ::-1]), np.ascontiguousarray(x_test[:, ::-1])
    net = AttentionSeq2seq(len(char_to_id), wordvec, hidden, rng=seed, dtype=np.float32)
    optimizer, rng, result = Adam(), np.random.default_rng(seed), Result(net=net)
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
    return result, (x_test, t_test), id_to_char


def attention_map(net: AttentionSeq2seq, question: np.ndarray, answer: np.ndarray) -> np.ndarray:
    """The weights ``(T_answer - 1, T_question)`` each decoder step gives the question's
    characters, the decoder reading the true answer (teacher forcing, as the book's figure)."""
    net.predict(question[None, :], answer[None, :-1])
    return np.asarray(net.decoder.layers["attention"].attention_weights[0])


def plot_attention(weights: np.ndarray, question: str, answer: str, path: str) -> None:
    """Rows: the answer's characters; columns: the question's; darker = more attention."""
    figure = new_figure(8, 4, dpi=100, layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(weights, cmap="Greys", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(question)), list(question))
    ax.set_yticks(range(len(answer)), list(answer))
    ax.set(xlabel="question (input)", ylabel="answer (output)", title="attention weights, each row sums to 1")
    figure.colorbar(image, ax=ax)
    figure.savefig(path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reverse", action=argparse.BooleanOptionalAction, default=True, help="feed the question backwards (default on)")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the 45,000 training dates (default 10)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--wordvec", type=int, default=16)
    parser.add_argument("--max-grad", type=float, default=5.0, help="clip the gradients' global norm (default 5)")
    parser.add_argument("--max-iters", type=int, help="stop each epoch after this many updates")
    parser.add_argument("--train-size", type=int, help="train on the first N dates only")
    parser.add_argument("--test-size", type=int, help="test on the first N of the 5,000 test dates only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", help="a folder holding date.txt")
    parser.add_argument("--heatmap", help="draw the attention weights of the first test date to this PNG")
    parser.add_argument("--threads", type=int, help="BLAS threads (1 on a busy machine)")
    args = parser.parse_args(argv)
    if args.threads:
        set_threads(args.threads)
    data = load_sequence("date.txt", seed=1984, data_dir=args.data_dir)
    result, (x_test, t_test), id_to_char = train(
        data, reverse=args.reverse, epochs=args.epochs, batch_size=args.batch_size, hidden=args.hidden, wordvec=args.wordvec,
        max_grad=args.max_grad, max_iters=args.max_iters, train_size=args.train_size, test_size=args.test_size, seed=args.seed)
    if args.heatmap:
        weights = attention_map(result.net, x_test[0], t_test[0])
        question = "".join(id_to_char[int(i)] for i in x_test[0])
        if args.reverse:  # show the question as written: undo the reversal on both the labels and the columns
            question, weights = question[::-1], weights[:, ::-1]
        answer = "".join(id_to_char[int(i)] for i in t_test[0, 1:])
        plot_attention(weights, question, answer, args.heatmap)
        print(f"attention weights of {question.strip()!r} -> {answer!r} drawn to {args.heatmap}")


if __name__ == "__main__":
    main()
