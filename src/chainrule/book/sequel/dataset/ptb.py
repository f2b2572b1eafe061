"""The sequel's ``dataset/ptb.py``: the Penn Treebank from :func:`chainrule.data.load_ptb`.

The book downloads the three texts into its ``dataset/`` folder at run time and caches the
vocabulary as a pickle and the corpora as ``.npy`` beside them. Here the texts come from
``$CHAINRULE_DATA`` (or chainrule's cache, or a checksum-verified download) and nothing is
written beside the book's code; the ids and the vocabulary are the book's.

``CHAINRULE_BOOK_PTB_LIMIT=N`` serves only the first ``N`` words of each split (the vocabulary
is still the whole training text's, so models keep their size), so the book's long scripts can
run as quick smoke tests; a note on stderr says so.
"""

import os
import sys

from chainrule.data import load_ptb as _load_ptb
from chainrule.errors import DataError as _DataError

LIMIT_VARIABLE = "CHAINRULE_BOOK_PTB_LIMIT"

key_file = {"train": "ptb.train.txt", "test": "ptb.test.txt", "valid": "ptb.valid.txt"}


def _limit():
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 2:
        raise _DataError(f"{LIMIT_VARIABLE} must be a whole number of words >= 2, got {text!r}")
    return int(text)


def load_vocab():
    """``(word_to_id, id_to_word)`` of the training text."""
    _, word_to_id, id_to_word = _load_ptb("train")
    return word_to_id, id_to_word


def load_data(data_type="train"):
    """``(corpus, word_to_id, id_to_word)`` of ``'train'``, ``'val'``/``'valid'`` or ``'test'``."""
    corpus, word_to_id, id_to_word = _load_ptb(data_type)
    limit = _limit()
    if limit is not None and limit < len(corpus):
        corpus = corpus[:limit]
        print(f"chainrule.book: {LIMIT_VARIABLE} serves the first {limit} words of PTB's {data_type} text",
              file=sys.stderr)
    return corpus, word_to_id, id_to_word
