"""Words as numbers: the counting methods and word2vec data of the second book's chapters 2-3.

A text becomes a corpus of word ids (:func:`preprocess`), the corpus a co-occurrence matrix
(:func:`create_co_matrix`), the matrix PPMI weights (:func:`ppmi`), whose truncated SVD
(:func:`randomized_svd`) gives dense word vectors; :func:`most_similar` and :func:`analogy` query
them. :func:`create_contexts_target` and :func:`convert_one_hot` cut the same corpus into
word2vec's samples. Names, arguments and numbers are the book's (``common/util.py``); its loops
are array operations here, and results come back as data (printing, as the book does, is an
option). Similarity and PPMI run on NumPy or CuPy arrays alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .backend import Array, array_module, to_numpy
from .checks import check_positive_int, is_integer
from .errors import ConfigError, ConfigTypeError, DTypeError, LabelError, ShapeError, UnknownWordError

Vocabulary = tuple[dict[str, int], dict[int, str]]

# Rows of PPMI computed at once: bounds the float64 temporaries to a few tens of MB.
_PPMI_BLOCK_ELEMENTS = 1 << 22


def preprocess(text: str) -> tuple[np.ndarray, dict[str, int], dict[int, str]]:
    """``(corpus, word_to_id, id_to_word)`` of a sentence or two, the book's way.

    Lower case, a space before each ``.``, then a split at single spaces (so two spaces in a row
    make an empty word, as in the book); ids in order of first appearance, the corpus int64.
    """
    if not isinstance(text, str):
        raise ConfigTypeError(f"preprocess: text must be a str, got {type(text).__name__}")
    words = text.lower().replace(".", " .").split(" ")
    word_to_id = {word: index for index, word in enumerate(dict.fromkeys(words))}
    corpus = np.array([word_to_id[word] for word in words], dtype=np.int64)
    return corpus, word_to_id, dict(enumerate(word_to_id))


def create_co_matrix(corpus: Any, vocab_size: int, window_size: int = 1) -> np.ndarray:
    """How often word j appears within ``window_size`` words of word i: (vocab_size, vocab_size), int32.

    Each pair of words ``distance`` apart counts once in each direction.
    """
    where = "create_co_matrix"
    check_positive_int(vocab_size, "vocab_size", where)
    check_positive_int(window_size, "window_size", where)
    corpus = _word_ids(corpus, vocab_size, where, ndim=1)
    co_matrix = np.zeros((vocab_size, vocab_size), dtype=np.int32)
    for distance in range(1, window_size + 1):
        left, right = corpus[:-distance], corpus[distance:]
        np.add.at(co_matrix, (left, right), 1)  # the word `distance` to the right of each word
        np.add.at(co_matrix, (right, left), 1)  # and, seen from it, the word to its left
    return co_matrix


def cos_similarity(x: Array, y: Array, eps: float = 1e-8) -> Array:
    """Cosine of the angle between vectors ``x`` and ``y``; ``eps`` keeps a zero vector finite."""
    xp = array_module(x, y)
    x, y = xp.asarray(x), xp.asarray(y)
    if x.ndim != 1 or x.shape != y.shape:
        raise ShapeError(f"cos_similarity: expected two vectors of one length, got shapes {x.shape} and {y.shape}")
    _check_eps(eps, "cos_similarity")
    nx = x / (xp.sqrt(xp.sum(x**2)) + eps)
    ny = y / (xp.sqrt(xp.sum(y**2)) + eps)
    return xp.dot(nx, ny)


def most_similar(
    query: str,
    word_to_id: dict[str, int],
    id_to_word: dict[int, str],
    word_matrix: Array,
    top: int = 5,
    *,
    verbose: bool = False,
    eps: float = 1e-8,
) -> list[tuple[str, float]]:
    """The ``top`` words whose rows of ``word_matrix`` are closest in cosine to ``query``'s.

    Returns ``[(word, similarity), ...]``, most similar first, the query left out; ``verbose``
    also prints them as the book does. An unknown query is an :class:`UnknownWordError`.
    """
    where = "most_similar"
    check_positive_int(top, "top", where)
    word_matrix = _word_matrix(word_matrix, id_to_word, where)
    query_id = _lookup(query, word_to_id, where)
    similarity = _row_cosines(word_matrix, word_matrix[query_id], eps)
    results = _best(similarity, id_to_word, skip={query}, top=top)
    if verbose:
        print("\n[query] " + query)
        for word, value in results:
            print(f" {word}: {value}")
    return results


def analogy(
    a: str,
    b: str,
    c: str,
    word_to_id: dict[str, int],
    id_to_word: dict[int, str],
    word_matrix: Array,
    top: int = 5,
    answer: str | None = None,
    *,
    verbose: bool = False,
) -> list[tuple[str, float]]:
    """The ``top`` words nearest to ``b - a + c``: ``a`` is to ``b`` as ``c`` is to which word?

    The query vector is normalised and dotted with each row, so ``word_matrix`` should have unit
    rows (as in the book). Returns ``[(word, score), ...]`` without ``a``, ``b``, ``c`` and rows
    scoring NaN; ``verbose`` prints them as the book does, with ``answer``'s score first.
    """
    where = "analogy"
    check_positive_int(top, "top", where)
    word_matrix = _word_matrix(word_matrix, id_to_word, where)
    xp = array_module(word_matrix)
    a_vec, b_vec, c_vec = (word_matrix[_lookup(word, word_to_id, where)] for word in (a, b, c))
    query = b_vec - a_vec + c_vec
    query = query / xp.sqrt(xp.sum(query * query))
    similarity = to_numpy(word_matrix @ query).astype(np.float64)
    results = _best(similarity, id_to_word, skip={a, b, c}, top=top)
    if verbose:
        print("\n[analogy] " + a + ":" + b + " = " + c + ":?")
        if answer is not None:
            print(f"==>{answer}:{similarity[_lookup(answer, word_to_id, where)]}")
        for word, value in results:
            print(f" {word}: {value}")
    return results


def ppmi(C: Array, verbose: bool = False, eps: float = 1e-8, *, dtype: DTypeLike = np.float32) -> Array:
    """Positive pointwise mutual information of a co-occurrence matrix, as ``dtype`` (float32: the book's).

    ``max(0, log2(C[i, j] * N / (S[i] * S[j]) + eps))`` with N the total count and S the column
    sums; computed in float64 a block of rows at a time, where the book loops over every element
    (the same numbers, stored as ``dtype``). ``verbose`` prints the progress.
    """
    where = "ppmi"
    xp = array_module(C)
    C = xp.asarray(C)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ShapeError(f"{where}: expected a square co-occurrence matrix, got shape {C.shape}")
    if C.dtype.kind not in "iuf":
        raise DTypeError(f"{where}: expected counts as integers or floats, got {C.dtype}")
    if C.size and bool((C < 0).any()):
        raise ConfigError(f"{where}: co-occurrence counts must be non-negative, found {C.min()}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise DTypeError(f"{where}: dtype must be a floating type, got {dtype}")
    _check_eps(eps, where)
    # Integer counts multiply exactly in int64 before the one division, as in the book.
    exact = xp.int64 if C.dtype.kind in "iu" else xp.float64
    total = C.sum(dtype=exact)
    column_sums = C.sum(axis=0, dtype=exact)
    result = xp.empty(C.shape, dtype=dtype)
    rows = max(1, _PPMI_BLOCK_ELEMENTS // max(1, C.shape[1]))
    for start in range(0, C.shape[0], rows):
        stop = min(start + rows, C.shape[0])
        joint = C[start:stop].astype(exact) * total
        independent = column_sums[start:stop, None] * column_sums[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            pmi = xp.log2(joint / independent + eps)
        result[start:stop] = xp.fmax(pmi, 0)  # fmax: a 0/0 (a word never seen) gives 0, not NaN
        if verbose:
            print(f"{100 * stop / C.shape[0]:.1f}% done")
    return result


def create_contexts_target(corpus: Any, window_size: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """word2vec's samples: ``contexts`` (N - 2w, 2w), the w words each side, and ``target`` (N - 2w,).

    Words closer than ``window_size`` to either end are no target (they lack a full context).
    """
    where = "create_contexts_target"
    check_positive_int(window_size, "window_size", where)
    corpus = _word_ids(corpus, None, where, ndim=1)
    count = len(corpus) - 2 * window_size
    if count < 1:
        raise ShapeError(
            f"{where}: a corpus of {len(corpus)} words has no word with {window_size} on each side; "
            f"window_size={window_size} needs at least {2 * window_size + 1}"
        )
    offsets = [*range(-window_size, 0), *range(1, window_size + 1)]
    contexts = np.stack([corpus[window_size + offset : window_size + offset + count] for offset in offsets], axis=1)
    return contexts, corpus[window_size : window_size + count].copy()


def convert_one_hot(corpus: Any, vocab_size: int, *, dtype: DTypeLike = np.int32) -> Array:
    """Word ids of any shape as one-hot rows: shape ``corpus.shape + (vocab_size,)``, int32 as in the book."""
    where = "convert_one_hot"
    check_positive_int(vocab_size, "vocab_size", where)
    corpus = _word_ids(corpus, vocab_size, where, ndim=None)
    xp = array_module(corpus)
    one_hot = xp.zeros((corpus.size, vocab_size), dtype=dtype)
    one_hot[xp.arange(corpus.size), corpus.ravel()] = 1
    return one_hot.reshape(*corpus.shape, vocab_size)


def randomized_svd(
    matrix: Array, n_components: int, *, n_oversamples: int = 10, n_iter: int = 5, seed: int | None = 0
) -> tuple[Array, Array, Array]:
    """The ``n_components`` largest singular triplets ``(U, S, Vt)`` of ``matrix``, approximately.

    Halko, Martinsson and Tropp's randomized range finder (what the book takes from scikit-learn):
    the range of ``matrix`` is sampled by a few random vectors, sharpened by ``n_iter`` power
    iterations, and an exact SVD is taken of the small projected matrix. A full SVD of PTB's
    10,000 x 10,000 PPMI matrix takes many minutes; this takes seconds.
    """
    where = "randomized_svd"
    xp = array_module(matrix)
    matrix = xp.asarray(matrix)
    if matrix.ndim != 2:
        raise ShapeError(f"{where}: expected a matrix, got shape {matrix.shape}")
    if matrix.dtype.kind != "f":
        raise DTypeError(f"{where}: expected a floating matrix, got {matrix.dtype}")
    if not is_integer(n_components) or not 1 <= n_components <= min(matrix.shape):
        raise ConfigError(f"{where}: n_components must be an integer in 1..{min(matrix.shape)}, got {n_components!r}")
    if not is_integer(n_oversamples) or n_oversamples < 0 or not is_integer(n_iter) or n_iter < 0:
        raise ConfigError(f"{where}: n_oversamples and n_iter must be integers >= 0, got {n_oversamples!r} and {n_iter!r}")
    samples = min(n_components + n_oversamples, min(matrix.shape))
    probe = np.random.default_rng(seed).standard_normal((matrix.shape[1], samples))
    basis, _ = xp.linalg.qr(matrix @ xp.asarray(probe, dtype=matrix.dtype))
    for _ in range(n_iter):  # orthonormalised each time, or float32 would lose the small directions
        basis, _ = xp.linalg.qr(matrix.T @ basis)
        basis, _ = xp.linalg.qr(matrix @ basis)
    small_u, singular_values, vt = xp.linalg.svd(basis.T @ matrix, full_matrices=False)
    u = basis @ small_u
    return u[:, :n_components], singular_values[:n_components], vt[:n_components]


def _word_ids(corpus: Any, vocab_size: int | None, where: str, *, ndim: int | None) -> Array:
    """``corpus`` as an integer array (never a copy of the caller's), checked against ``vocab_size``."""
    xp = array_module(corpus)
    corpus = xp.asarray(corpus)
    if corpus.dtype.kind not in "iu":
        if corpus.size:
            raise DTypeError(f"{where}: corpus must hold integer word ids, got {corpus.dtype}")
        corpus = corpus.astype(np.int64)
    if ndim is not None and corpus.ndim != ndim:
        raise ShapeError(f"{where}: corpus must be a {ndim}-D array of word ids, got shape {corpus.shape}")
    if ndim is None and corpus.ndim < 1:
        raise ShapeError(f"{where}: corpus must be an array of word ids, got a scalar")
    if corpus.size and (int(corpus.min()) < 0 or (vocab_size is not None and int(corpus.max()) >= vocab_size)):
        bound = f"0..{vocab_size - 1}" if vocab_size is not None else ">= 0"
        raise LabelError(
            f"{where}: word ids must be in {bound}, found {int(corpus.min())}..{int(corpus.max())}"
        )
    return corpus


def _word_matrix(word_matrix: Array, id_to_word: dict[int, str], where: str) -> Array:
    xp = array_module(word_matrix)
    word_matrix = xp.asarray(word_matrix)
    if word_matrix.ndim != 2 or word_matrix.shape[0] != len(id_to_word):
        raise ShapeError(
            f"{where}: word_matrix must have one row per word of the vocabulary "
            f"({len(id_to_word)}, D), got shape {word_matrix.shape}"
        )
    if word_matrix.dtype.kind != "f":
        raise DTypeError(f"{where}: word_matrix must be floating, got {word_matrix.dtype}")
    return word_matrix


def _lookup(word: str, word_to_id: dict[str, int], where: str) -> int:
    if word not in word_to_id:
        raise UnknownWordError(f"{where}: {word!r} is not in the vocabulary ({len(word_to_id)} words)")
    return word_to_id[word]


def _row_cosines(word_matrix: Array, vector: Array, eps: float) -> np.ndarray:
    """Cosine of each row with ``vector``, each norm plus ``eps`` as in :func:`cos_similarity`."""
    xp = array_module(word_matrix)
    row_norms = xp.sqrt(xp.sum(word_matrix**2, axis=1)) + eps
    unit = vector / (xp.sqrt(xp.sum(vector**2)) + eps)
    return to_numpy((word_matrix @ unit) / row_norms).astype(np.float64)


def _best(similarity: np.ndarray, id_to_word: dict[int, str], *, skip: set[str], top: int) -> list[tuple[str, float]]:
    """The ``top`` highest scores, best first, without the words in ``skip`` and NaN scores."""
    results = []
    for index in np.argsort(-similarity, kind="stable"):
        word = id_to_word[int(index)]
        if word in skip or np.isnan(similarity[index]):
            continue
        results.append((word, float(similarity[index])))
        if len(results) == top:
            break
    return results


def _check_eps(eps: Any, where: str) -> None:
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not eps >= 0:
        raise ConfigError(f"{where}: eps must be a number >= 0, got {eps!r}")
