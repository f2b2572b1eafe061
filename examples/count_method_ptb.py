"""Word vectors by counting, on the Penn Treebank: the second book's ch02/count_method_big.py.

Co-occurrence counts within a window of 2 words, PPMI weights, then a randomized SVD down to 100
dimensions (the book uses scikit-learn's; chainrule has a few lines of NumPy), and the words
nearest to "you", "year", "car" and "toyota". Prints how long each step took.

    python examples/count_method_ptb.py                    # PTB from $CHAINRULE_DATA, the cache or a download
    python examples/count_method_ptb.py --data-dir ~/data --size 100 --window 2 --top 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from chainrule.data import load_ptb
from chainrule.text import create_co_matrix, most_similar, ppmi, randomized_svd

QUERIES = ("you", "year", "car", "toyota")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="a folder holding ptb.train.txt (directly or in ptb/)")
    parser.add_argument("--window", type=int, default=2, help="words counted on each side (default 2)")
    parser.add_argument("--size", type=int, default=100, help="dimensions of the word vectors (default 100)")
    parser.add_argument("--top", type=int, default=5, help="neighbours shown per query (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the randomized SVD (default 0)")
    args = parser.parse_args()

    started = time.perf_counter()
    corpus, word_to_id, id_to_word = load_ptb("train", data_dir=args.data_dir)
    step("load PTB", started, f"{len(corpus):,} words, vocabulary {len(word_to_id):,}")

    started = time.perf_counter()
    counts = create_co_matrix(corpus, len(word_to_id), args.window)
    step("co-occurrence", started, f"window {args.window}, {counts.nbytes / 2**20:.0f} MiB")

    started = time.perf_counter()
    weights = ppmi(counts)
    step("PPMI", started, f"{np.count_nonzero(weights) / weights.size:.1%} of the entries positive")

    started = time.perf_counter()
    u, singular_values, _ = randomized_svd(weights, args.size, seed=args.seed)
    step("randomized SVD", started, f"{args.size} dimensions, largest singular value {singular_values[0]:.1f}")

    word_vectors = u[:, : args.size]
    for query in QUERIES:
        most_similar(query, word_to_id, id_to_word, word_vectors, top=args.top, verbose=True)


def step(name: str, started: float, detail: str) -> None:
    print(f"{name:>15}: {time.perf_counter() - started:6.2f} s  ({detail})")


if __name__ == "__main__":
    main()
