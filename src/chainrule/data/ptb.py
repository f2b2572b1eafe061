"""The Penn Treebank as the second book's ``dataset/ptb.py`` serves it: word ids and a vocabulary.

Every newline of the text becomes the word ``<eos>``; words are numbered in order of first
appearance in the training text, and the validation and test texts are numbered with that same
vocabulary (they use no word the training text lacks). Parsing a text takes a few tenths of a
second, so only the files themselves are cached: no pickle, and no vocabulary that could go stale.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from .download import URLOpener
from .fetch import fetch_file
from .sources import PTB, RemoteDataset

# The book's names for the splits ("val" and "valid" both mean the validation text).
_SPLIT_KEYS = {"train": "train", "val": "valid", "valid": "valid", "test": "test"}

EOS = "<eos>"


def load_ptb(
    data_type: str = "train",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    verify: bool = True,
    urlopen: URLOpener | None = None,
    progress: bool = True,
    source: RemoteDataset = PTB,
) -> tuple[np.ndarray, dict[str, int], dict[int, str]]:
    """``(corpus, word_to_id, id_to_word)`` of one PTB split, as the book's ``ptb.load_data``.

    data_type: ``"train"`` (929,589 words), ``"val"`` or ``"valid"`` (73,760) or ``"test"``
    (82,430); ``corpus`` holds their ids as int64, and the vocabulary (10,000 words) is the
    training text's whatever the split, so the training file is always read.
    Files are looked for in ``data_dir``, ``$CHAINRULE_DATA`` (each directly or in a ``ptb/``
    subfolder), the cache, and else downloaded (``download=True``); ``verify`` checks local files
    against their recorded SHA-256. ``urlopen`` replaces urllib's opener (tests),
    ``progress=False`` hides the download bar, and ``source`` describes other copies (other
    mirrors or digests; its files keyed ``"train"``, ``"valid"`` and ``"test"``).
    """
    if data_type not in _SPLIT_KEYS:
        raise ConfigError(
            f"load_ptb: data_type must be 'train', 'val' (or 'valid') or 'test', got {data_type!r}"
        )
    options = dict(data_dir=data_dir, download=download, verify=verify, urlopen=urlopen, progress=progress)
    train_path = fetch_file(source, "train", **options)
    train_words = ptb_words(train_path)
    word_to_id, id_to_word = build_vocabulary(train_words)
    key = _SPLIT_KEYS[data_type]
    if key == "train":
        return word_ids(train_words, word_to_id, train_path), word_to_id, id_to_word
    path = fetch_file(source, key, **options)
    return word_ids(ptb_words(path), word_to_id, path), word_to_id, id_to_word


def ptb_words(path: str | os.PathLike[str]) -> list[str]:
    """The words of a PTB text with each line's end as ``<eos>``.

    As the book does: every newline is replaced by ``<eos>`` (PTB lines end in a space, so it
    stands alone), then the text is split at whitespace.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return text.replace("\n", EOS).split()


def build_vocabulary(words: list[str]) -> tuple[dict[str, int], dict[int, str]]:
    """``word_to_id`` and ``id_to_word``, numbering words in order of first appearance."""
    word_to_id = {word: index for index, word in enumerate(dict.fromkeys(words))}
    return word_to_id, dict(enumerate(word_to_id))


def word_ids(words: list[str], word_to_id: dict[str, int], path: str | os.PathLike[str]) -> np.ndarray:
    """``words`` as an int64 array of ids; a word outside the vocabulary is a :class:`DataError`."""
    try:
        return np.array([word_to_id[word] for word in words], dtype=np.int64)
    except KeyError as exc:
        raise DataError(
            f"{path}: the word {exc.args[0]!r} is not in the vocabulary of the training text "
            f"({len(word_to_id)} words)"
        ) from None
