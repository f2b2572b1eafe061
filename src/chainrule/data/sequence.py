"""The second book's sequence-to-sequence toy data: ``addition.txt`` and ``date.txt``.

Each line is ``question_answer``, both sides padded with spaces to one width (``"16+75  _91  "``).
Characters are numbered in order of first appearance (a line's question, then its answer), the
pairs shuffled with the seed's legacy NumPy generator and the last tenth kept for testing: the
arrays and ids the book's ``dataset/sequence.load_data`` gives, without its global state (it seeds
NumPy's global generator and keeps one vocabulary per process, shared by every file it loads).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..checks import is_integer
from ..errors import ConfigError, DataError
from .download import URLOpener
from .fetch import fetch_file
from .sources import SEQUENCE, RemoteDataset

# The second book's repository (its root, holding dataset/); the first book's is CHAINRULE_BOOK_DIR.
BOOK2_ENV = "CHAINRULE_BOOK2_DIR"

Split = tuple[np.ndarray, np.ndarray]


def load_sequence(
    file_name: str = "addition.txt",
    seed: int | None = 1984,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    verify: bool = True,
    urlopen: URLOpener | None = None,
    progress: bool = True,
    source: RemoteDataset = SEQUENCE,
) -> tuple[Split, Split, dict[str, int], dict[int, str]]:
    """``(x_train, t_train), (x_test, t_test), char_to_id, id_to_char`` of ``file_name``.

    file_name: ``"addition.txt"`` (50,000 sums) or ``"date.txt"`` (50,000 dates to ISO format).
    The file is looked for in ``data_dir``, ``$CHAINRULE_DATA``, ``$CHAINRULE_BOOK2_DIR/dataset``
    (each directly or in a ``sequence/`` subfolder), the cache, and else downloaded from the
    book's repository; ``verify`` checks a local copy against its recorded SHA-256, and
    ``source`` describes other copies (other mirrors or digests).
    See :func:`load_sequence_file` for ``seed`` and the arrays.
    """
    if file_name not in source.files:
        raise ConfigError(
            f"load_sequence: file_name must be one of {sorted(source.files)}, got {file_name!r} "
            "(read another file of the same format with load_sequence_file)"
        )
    book = os.environ.get(BOOK2_ENV)
    path = fetch_file(
        source,
        file_name,
        data_dir=data_dir,
        also_look_in=[(f"${BOOK2_ENV}/dataset", Path(book).expanduser() / "dataset" if book else None)],
        download=download,
        verify=verify,
        urlopen=urlopen,
        progress=progress,
    )
    return load_sequence_file(path, seed)


def load_sequence_file(
    path: str | os.PathLike[str], seed: int | None = 1984
) -> tuple[Split, Split, dict[str, int], dict[int, str]]:
    """Any file of ``question_answer`` lines, split and numbered as :func:`load_sequence` does.

    ``x`` holds each question's character ids and ``t`` each answer's, starting with the ``_``
    that separates them (the decoder's first input), both int64. ``seed`` shuffles the lines as
    ``np.random.seed(seed); np.random.shuffle(...)`` would, with a generator of its own; with
    None the order is random and NumPy's global generator is still not touched.
    """
    if seed is not None and (not is_integer(seed) or not 0 <= seed < 2**32):
        raise ConfigError(f"load_sequence: seed must be None or an integer in 0..2**32-1, got {seed!r}")
    questions, answers = _read_pairs(Path(path))
    # A line's question, then its answer: the order the book meets characters in.
    text = "".join(question + answer for question, answer in zip(questions, answers))
    char_to_id = {char: index for index, char in enumerate(dict.fromkeys(text))}
    id_to_char = dict(enumerate(char_to_id))
    x, t = _encode(questions, char_to_id), _encode(answers, char_to_id)
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, t = x[order], t[order]
    split_at = len(x) - len(x) // 10
    return (x[:split_at], t[:split_at]), (x[split_at:], t[split_at:]), char_to_id, id_to_char


def _read_pairs(path: Path) -> tuple[list[str], list[str]]:
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if lines[-1] == "":  # the last line's newline
        lines.pop()
    if not lines:
        raise DataError(f"{path}: empty, expected lines of the form 'question_answer'")
    questions, answers = [], []
    for number, line in enumerate(lines, start=1):
        cut = line.find("_")
        if cut < 0:
            raise DataError(f"{path}, line {number}: no '_' between question and answer in {line!r}")
        questions.append(line[:cut])
        answers.append(line[cut:])
    for name, sides in (("question", questions), ("answer", answers)):
        width = len(sides[0])
        for number, side in enumerate(sides, start=1):
            if len(side) != width:
                raise DataError(
                    f"{path}, line {number}: {name} {side!r} has {len(side)} characters, but line 1's "
                    f"has {width} (pad every {name} with spaces to one width)"
                )
    return questions, answers


def _encode(texts: list[str], char_to_id: dict[str, int]) -> np.ndarray:
    """Equal-length strings as a (len(texts), width) array of ids, by one table lookup."""
    codes = np.array([ord(char) for char in char_to_id])
    table = np.zeros(codes.max() + 1, dtype=np.int64)
    table[codes] = np.arange(len(codes))
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    return table[points].reshape(len(texts), len(texts[0]))
