"""The sequel's ``dataset/sequence.py``: ``addition.txt`` and ``date.txt`` from chainrule's loader.

The book's module has state that its chapter 7-8 scripts can observe, kept here: one character
vocabulary per process (``char_to_id``, ``id_to_char``, ``get_vocab()``) that every file loaded
adds to, and ``load_data`` seeding NumPy's global generator (then drawing its shuffle from it), so
that the initial weights a script draws afterwards are the book's. The file is found as
:func:`chainrule.data.load_sequence` finds it (``$CHAINRULE_DATA``, the book's ``dataset/``
through ``$CHAINRULE_BOOK2_DIR``, the cache, or a checksum-verified download), or in the
``dataset/`` folder of the running script's book, checked against its recorded digest.
"""

import sys

import numpy

from chainrule.book.trees import book_tree as _book_tree
from chainrule.data import load_sequence as _load_sequence
from chainrule.data.sources import SEQUENCE as _SEQUENCE

id_to_char = {}
char_to_id = {}


def _ids_in_global_vocabulary(file_ids):
    """A table from the file's character ids to the process-wide ones, adding new characters."""
    table = numpy.empty(len(file_ids), dtype=int)
    for file_id, char in file_ids.items():
        if char not in char_to_id:
            char_to_id[char] = len(char_to_id)
            id_to_char[char_to_id[char]] = char
        table[file_id] = char_to_id[char]
    return table


def load_data(file_name="addition.txt", seed=1984):
    """``(x_train, t_train), (x_test, t_test)``: character ids, shuffled from ``seed``, the last
    tenth for testing; ``None`` (and a message) for a file the book does not ship."""
    if file_name not in _SEQUENCE.files:
        print("No file: %s" % file_name)
        return None
    root = _book_tree(sys.argv[0]).root if sys.argv and sys.argv[0] else None
    shipped = root / "dataset" if root is not None and (root / "dataset" / file_name).is_file() else None
    (x_train, t_train), (x_test, t_test), _, file_id_to_char = _load_sequence(file_name, seed, data_dir=shipped)
    if seed is not None:  # the book's side effect on the global generator: seeded, one shuffle drawn
        numpy.random.seed(seed)
        numpy.random.shuffle(numpy.arange(len(x_train) + len(x_test)))
    table = _ids_in_global_vocabulary(file_id_to_char)
    return (table[x_train], table[t_train]), (table[x_test], table[t_test])


def get_vocab():
    return char_to_id, id_to_char
