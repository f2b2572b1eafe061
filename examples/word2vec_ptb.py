"""word2vec on the Penn Treebank: CBOW with negative sampling, the second book's ch04/train.py.

The book's settings by default: a window of 5 words each side, 100-dimensional vectors, batches
of 100, Adam, 10 epochs (one epoch is 9,295 updates). Prints the loss as it trains and, at the
end, the words nearest to "you", "year", "car" and "toyota"; the vectors are saved as .npz
(``word_vecs`` and ``words``, the word of each row; read with ``np.load``, no pickle).

    python examples/word2vec_ptb.py --epochs 1 --threads 1 --out cbow_vectors.npz
    python examples/word2vec_ptb.py --limit 20000 --epochs 2     # a quick look on the first words
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from chainrule.data import load_ptb
from chainrule.nets.word2vec import CBOW
from chainrule.optimizers import Adam
from chainrule.text import create_contexts_target, most_similar
from chainrule.threads import set_threads
from chainrule.training.sequence_loop import train_epoch

QUERIES = ("you", "year", "car", "toyota")


@dataclass
class Result:
    epoch_losses: list[float] = field(default_factory=list)  # mean loss of each epoch
    losses: list[float] = field(default_factory=list)  # every iteration's
    neighbours: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    word_vecs: np.ndarray | None = None
    words: list[str] = field(default_factory=list)


def train(corpus: np.ndarray, id_to_word: dict[int, str], *, epochs: int = 10, window: int = 5, hidden: int = 100,
          batch_size: int = 100, max_iters: int | None = None, seed: int = 0, top: int = 5,
          report_every: int = 0, log: bool = True, on_epoch: Callable[[Result], None] | None = None) -> Result:
    """Train CBOW on ``corpus``, querying the vectors after every epoch (a run stopped early has
    its answers too); ``max_iters`` caps each epoch (smoke runs), ``on_epoch`` sees each epoch's result."""
    contexts, target = create_contexts_target(corpus, window)
    vocab_size = len(id_to_word)
    net = CBOW(vocab_size, hidden, window, corpus, rng=seed, dtype=np.float32)
    optimizer = Adam()
    rng = np.random.default_rng(seed)
    result = Result(words=[id_to_word[i] for i in range(vocab_size)])
    word_to_id = {word: i for i, word in enumerate(result.words)}
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        recent: list[float] = []

        def progress(i: int, loss: float) -> None:
            recent.append(loss)
            if log and report_every and (i + 1) % report_every == 0:
                print(f"  epoch {epoch} iteration {i + 1}: loss {np.mean(recent):.3f}  ({time.perf_counter() - started:.0f} s)", flush=True)
                recent.clear()

        losses = train_epoch(net, optimizer, contexts, target, batch_size, rng=rng, max_iters=max_iters, on_iteration=progress)
        result.losses.extend(losses)
        result.epoch_losses.append(float(np.mean(losses)))
        if log:
            print(f"epoch {epoch}: mean loss {result.epoch_losses[-1]:.3f} over {len(losses)} iterations  "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        result.word_vecs = np.asarray(net.word_vecs)
        result.neighbours = {query: most_similar(query, word_to_id, id_to_word, result.word_vecs, top=top, verbose=log)
                             for query in QUERIES if query in word_to_id}
        if on_epoch is not None:
            on_epoch(result)
    return result


def save_vectors(path: str, result: Result) -> None:
    """``word_vecs`` (V, H) float32 and ``words`` (V,) as unicode strings: an .npz that loads without pickle."""
    np.savez(path, word_vecs=result.word_vecs.astype(np.float32), words=np.array(result.words, dtype=str))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="a folder holding ptb.train.txt (directly or in ptb/)")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the corpus (default 10, the book's)")
    parser.add_argument("--window", type=int, default=5, help="context words on each side (default 5)")
    parser.add_argument("--hidden", type=int, default=100, help="dimensions of the word vectors (default 100)")
    parser.add_argument("--batch-size", type=int, default=100, help="samples per update (default 100)")
    parser.add_argument("--limit", type=int, help="train on the first LIMIT words of the corpus only")
    parser.add_argument("--max-iters", type=int, help="stop each epoch after this many updates")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, the order and the negative samples")
    parser.add_argument("--top", type=int, default=5, help="neighbours shown per query (default 5)")
    parser.add_argument("--report-every", type=int, default=1000, help="print the loss every N iterations (0: per epoch only)")
    parser.add_argument("--threads", type=int, help="BLAS threads (1 on a busy machine)")
    parser.add_argument("--out", help="save the word vectors to this .npz file")
    args = parser.parse_args(argv)
    if args.threads:
        set_threads(args.threads)
    corpus, _, id_to_word = load_ptb("train", data_dir=args.data_dir)
    if args.limit:
        corpus = corpus[: args.limit]

    def save(result: Result) -> None:
        if args.out:
            save_vectors(args.out, result)
            print(f"saved {result.word_vecs.shape[0]} vectors of {result.word_vecs.shape[1]} to {args.out}", flush=True)

    train(corpus, id_to_word, epochs=args.epochs, window=args.window, hidden=args.hidden, batch_size=args.batch_size,
          max_iters=args.max_iters, seed=args.seed, top=args.top, report_every=args.report_every, on_epoch=save)


if __name__ == "__main__":
    main()
