"""``chainrule.text``: the book's counting methods, vectorised, against the book's own util.py.

The book's functions run once, in a subprocess, on small inputs this file draws; each test
compares one function's result with them. The rest: properties, the strict (CuPy-like) backend,
and bad input.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.errors import ConfigError, ConfigTypeError, DTypeError, LabelError, ShapeError, UnknownWordError
from chainrule.text import (
    analogy,
    convert_one_hot,
    cos_similarity,
    create_co_matrix,
    create_contexts_target,
    most_similar,
    ppmi,
    preprocess,
    randomized_svd,
)

from book2_support import BOOK2, HAVE_BOOK2, run_book2
from strict_backend import STRICT


TEXTS = [
    "You say goodbye and I say hello.",
    "The cat sat.  The dog sat.\nA dog. a DOG",  # two spaces and a newline: the book's split(' ')
]
VOCAB = 20
WINDOWS = (1, 2, 3)


def inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    corpus = rng.integers(0, VOCAB - 1, 200)  # the last id never occurs: a zero row and column
    vectors = rng.standard_normal((VOCAB, 6))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    counts = rng.integers(0, 50, (30, 30)) * (rng.random((30, 30)) < 0.4)
    return {
        "corpus": corpus,
        "w32": vectors.astype(np.float32),
        "w64": vectors,
        "unit32": unit.astype(np.float32),
        "counts": counts,
        "x32": rng.standard_normal(7).astype(np.float32),
        "y32": rng.standard_normal(7).astype(np.float32),
        "x64": rng.standard_normal(7),
        "y64": rng.standard_normal(7),
    }


WORDS = {i: f"w{i}" for i in range(VOCAB)}
IDS = {w: i for i, w in WORDS.items()}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """Everything the book's util.py computes from ``inputs()``: arrays, vocabularies, printouts."""
    if not HAVE_BOOK2:
        pytest.skip(f"the second book's code is not at {BOOK2} (set CHAINRULE_BOOK2_DIR)")
    folder = tmp_path_factory.mktemp("book-util")
    np.savez(folder / "inputs.npz", **inputs())
    (folder / "texts.json").write_text(json.dumps(TEXTS))
    stdout = run_book2(
        f"""
        import json
        import numpy as np
        from common.util import (analogy, convert_one_hot, cos_similarity, create_co_matrix,
                                 create_contexts_target, most_similar, ppmi, preprocess)
        data = dict(np.load("inputs.npz"))
        out, vocabularies = {{}}, []
        for n, text in enumerate(json.load(open("texts.json"))):
            out[f"preprocess{{n}}"], word_to_id, id_to_word = preprocess(text)
            vocabularies.append([word_to_id, {{str(i): w for i, w in id_to_word.items()}}])
        json.dump(vocabularies, open("vocabularies.json", "w"))
        for window in {WINDOWS}:
            out[f"co{{window}}"] = create_co_matrix(data["corpus"], {VOCAB}, window)
            out[f"ppmi{{window}}"] = ppmi(out[f"co{{window}}"])
            if window < 3:
                out[f"contexts{{window}}"], out[f"target{{window}}"] = create_contexts_target(data["corpus"], window)
        out["ppmi_counts"] = ppmi(data["counts"])
        out["one_hot1"] = convert_one_hot(data["corpus"], {VOCAB})
        out["one_hot2"] = convert_one_hot(out["contexts2"], {VOCAB})
        for d in ("32", "64"):
            out["cos" + d] = cos_similarity(data["x" + d], data["y" + d])
        out["cos_zero"] = cos_similarity(np.zeros(3), np.ones(3))
        np.savez("outputs.npz", **out)
        words = {{i: f"w{{i}}" for i in range({VOCAB})}}
        ids = {{w: i for i, w in words.items()}}
        print("#most_similar32")
        most_similar("w3", ids, words, data["w32"], top=4)
        print("#most_similar64")
        most_similar("w5", ids, words, data["w64"], top=19)
        print("#analogy")
        analogy("w1", "w2", "w3", ids, words, data["unit32"], top=5, answer="w4")
        """,
        cwd=folder,
    )
    printed = dict(part.split("\n", 1) for part in stdout.split("#")[1:])
    return {
        "out": dict(np.load(folder / "outputs.npz")),
        "vocabularies": json.loads((folder / "vocabularies.json").read_text()),
        "printed": printed,
    }


def printed_pairs(text: str) -> list[tuple[str, float]]:
    """The `` word: value`` lines the book prints."""
    pairs = []
    for line in text.splitlines():
        if line.startswith(" ") and ": " in line:
            word, value = line.strip().split(": ")
            pairs.append((word, float(value)))
    return pairs


# -- against the book -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(len(TEXTS)))
def test_preprocess_is_the_book_s(book, n):
    corpus, word_to_id, id_to_word = preprocess(TEXTS[n])
    np.testing.assert_array_equal(corpus, book["out"][f"preprocess{n}"])
    assert corpus.dtype == book["out"][f"preprocess{n}"].dtype
    book_word_to_id, book_id_to_word = book["vocabularies"][n]
    assert word_to_id == book_word_to_id
    assert id_to_word == {int(i): w for i, w in book_id_to_word.items()}


@pytest.mark.parametrize("window", WINDOWS)
def test_co_matrix_and_ppmi_are_the_book_s(book, window):
    co_matrix = create_co_matrix(inputs()["corpus"], VOCAB, window)
    np.testing.assert_array_equal(co_matrix, book["out"][f"co{window}"])
    assert co_matrix.dtype == np.int32
    weights = ppmi(co_matrix)
    assert weights.dtype == book["out"][f"ppmi{window}"].dtype == np.float32
    np.testing.assert_allclose(weights, book["out"][f"ppmi{window}"], rtol=0, atol=1e-12)
    assert (weights[VOCAB - 1] == 0).all()  # the word never seen: 0/0 in the formula, 0 in both


def test_ppmi_of_any_counts_is_the_book_s(book):
    counts = inputs()["counts"]
    np.testing.assert_allclose(ppmi(counts), book["out"]["ppmi_counts"], rtol=0, atol=1e-12)
    float64 = ppmi(counts, dtype=np.float64)
    assert float64.dtype == np.float64
    np.testing.assert_allclose(float64, book["out"]["ppmi_counts"], rtol=1e-6)


@pytest.mark.parametrize("window", [1, 2])
def test_contexts_and_targets_are_the_book_s(book, window):
    contexts, target = create_contexts_target(inputs()["corpus"], window)
    np.testing.assert_array_equal(contexts, book["out"][f"contexts{window}"])
    np.testing.assert_array_equal(target, book["out"][f"target{window}"])


def test_one_hot_is_the_book_s(book):
    corpus = inputs()["corpus"]
    for got, name in [(convert_one_hot(corpus, VOCAB), "one_hot1"),
                      (convert_one_hot(create_contexts_target(corpus, 2)[0], VOCAB), "one_hot2")]:
        assert got.dtype == book["out"][name].dtype == np.int32
        np.testing.assert_array_equal(got, book["out"][name])


@pytest.mark.parametrize("bits", ["32", "64"])
def test_cos_similarity_is_the_book_s(book, bits):
    data = inputs()
    got = cos_similarity(data["x" + bits], data["y" + bits])
    assert got.dtype == book["out"]["cos" + bits].dtype
    np.testing.assert_array_equal(got, book["out"]["cos" + bits])
    assert cos_similarity(np.zeros(3), np.ones(3)) == book["out"]["cos_zero"] == 0


def test_most_similar_is_the_book_s(book, capsys):
    data = inputs()
    got = most_similar("w3", IDS, WORDS, data["w32"], top=4)
    expected = printed_pairs(book["printed"]["most_similar32"])
    assert [word for word, _ in got] == [word for word, _ in expected]
    np.testing.assert_allclose([v for _, v in got], [v for _, v in expected], rtol=1e-6)
    got64 = most_similar("w5", IDS, WORDS, data["w64"], top=19)
    expected64 = printed_pairs(book["printed"]["most_similar64"])
    assert [word for word, _ in got64] == [word for word, _ in expected64] and len(got64) == 19
    np.testing.assert_allclose([v for _, v in got64], [v for _, v in expected64], rtol=1e-12)
    assert capsys.readouterr().out == ""
    most_similar("w3", IDS, WORDS, data["w32"], top=4, verbose=True)
    printed = capsys.readouterr().out
    assert printed.startswith("\n[query] w3\n") and printed_pairs(printed) == got


def test_analogy_is_the_book_s(book, capsys):
    got = analogy("w1", "w2", "w3", IDS, WORDS, inputs()["unit32"], top=5, answer="w4")
    expected = printed_pairs(book["printed"]["analogy"])
    assert [word for word, _ in got] == [word for word, _ in expected]
    np.testing.assert_allclose([v for _, v in got], [v for _, v in expected], rtol=1e-6)
    analogy("w1", "w2", "w3", IDS, WORDS, inputs()["unit32"], top=5, answer="w4", verbose=True)
    printed = capsys.readouterr().out
    book_lines = book["printed"]["analogy"].splitlines()
    assert printed.splitlines()[1] == "[analogy] w1:w2 = w3:?" == book_lines[1]
    assert printed.splitlines()[2].split(":")[0] == "==>w4" == book_lines[2].split(":")[0]


# -- properties -------------------------------------------------------------------------------------


def test_the_book_s_example_sentence():
    corpus, word_to_id, id_to_word = preprocess("You say goodbye and I say hello.")
    np.testing.assert_array_equal(corpus, [0, 1, 2, 3, 4, 1, 5, 6])
    assert id_to_word[6] == "." and word_to_id["say"] == 1
    co_matrix = create_co_matrix(corpus, len(word_to_id))
    np.testing.assert_array_equal(co_matrix[0], [0, 1, 0, 0, 0, 0, 0])  # "you" is beside "say"
    np.testing.assert_array_equal(co_matrix[1], [1, 0, 1, 0, 1, 1, 0])
    assert (co_matrix == co_matrix.T).all()


@settings(max_examples=60, deadline=None)
@given(corpus=st.lists(st.integers(0, 6), max_size=30), window=st.integers(1, 4))
def test_co_matrix_and_contexts_by_their_definitions(corpus, window):
    """Every ordered pair of positions at most ``window`` apart counts once; contexts list them."""
    expected = np.zeros((7, 7), dtype=np.int32)
    for i, word in enumerate(corpus):
        for j in range(len(corpus)):
            if 0 < abs(i - j) <= window:
                expected[word, corpus[j]] += 1
    np.testing.assert_array_equal(create_co_matrix(corpus, 7, window), expected)
    if len(corpus) > 2 * window:
        contexts, target = create_contexts_target(corpus, window)
        for row, i in enumerate(range(window, len(corpus) - window)):
            assert target[row] == corpus[i]
            assert contexts[row].tolist() == corpus[i - window : i] + corpus[i + 1 : i + window + 1]


def test_inputs_are_never_changed():
    data = inputs()
    kept = {name: array.copy() for name, array in data.items()}
    counts = create_co_matrix(data["corpus"], VOCAB, 2)
    counts_kept = counts.copy()
    ppmi(counts)
    create_contexts_target(data["corpus"], 2)
    convert_one_hot(data["corpus"], VOCAB)
    most_similar("w1", IDS, WORDS, data["w32"])
    analogy("w1", "w2", "w3", IDS, WORDS, data["unit32"])
    cos_similarity(data["x32"], data["y32"])
    for name, array in data.items():
        np.testing.assert_array_equal(array, kept[name], err_msg=name)
    np.testing.assert_array_equal(counts, counts_kept)


def test_ppmi_works_in_blocks_as_well_as_at_once(monkeypatch):
    counts = inputs()["counts"]
    whole = ppmi(counts)
    monkeypatch.setattr("chainrule.text._PPMI_BLOCK_ELEMENTS", 7 * counts.shape[1])  # 7 rows a block
    np.testing.assert_array_equal(ppmi(counts), whole)


def test_ppmi_verbose_says_how_far_it_is(capsys, monkeypatch):
    monkeypatch.setattr("chainrule.text._PPMI_BLOCK_ELEMENTS", 15 * 30)
    ppmi(inputs()["counts"], verbose=True)
    assert capsys.readouterr().out == "50.0% done\n100.0% done\n"


def test_one_hot_of_any_shape():
    ids = np.array([[[0, 2], [1, 1]]])
    one_hot = convert_one_hot(ids, 3, dtype=np.float32)
    assert one_hot.shape == (1, 2, 2, 3) and one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot.argmax(-1), ids)
    assert one_hot.sum() == ids.size


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_randomized_svd_finds_the_top_singular_triplets(dtype):
    rng = np.random.default_rng(1)
    # A matrix of decaying spectrum, as PPMI matrices have.
    left, _ = np.linalg.qr(rng.standard_normal((80, 40)))
    right, _ = np.linalg.qr(rng.standard_normal((60, 40)))
    spectrum = 0.7 ** np.arange(40)
    matrix = ((left * spectrum) @ right.T).astype(dtype)
    u, s, vt = randomized_svd(matrix, 5)
    assert u.shape == (80, 5) and s.shape == (5,) and vt.shape == (5, 60)
    assert u.dtype == s.dtype == vt.dtype == dtype
    tolerance = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(s, spectrum[:5], rtol=tolerance)
    exact_u = np.linalg.svd(matrix.astype(np.float64))[0][:, :5]
    np.testing.assert_allclose(np.abs(np.sum(u * exact_u, axis=0)), 1, atol=tolerance)  # same directions
    np.testing.assert_allclose((u * s) @ vt, (left[:, :5] * spectrum[:5]) @ right[:, :5].T, atol=10 * tolerance)
    np.testing.assert_array_equal(randomized_svd(matrix, 5)[0], u)  # seeded: the same every time


def test_the_strict_backend_gives_the_same_numbers():
    data = inputs()
    counts = create_co_matrix(data["corpus"], VOCAB, 2)
    on_device = STRICT.asarray(counts)
    np.testing.assert_array_equal(STRICT.to_numpy(ppmi(on_device)), ppmi(counts))
    np.testing.assert_array_equal(
        STRICT.to_numpy(cos_similarity(STRICT.asarray(data["x32"]), STRICT.asarray(data["y32"]))),
        cos_similarity(data["x32"], data["y32"]),
    )
    assert most_similar("w2", IDS, WORDS, STRICT.asarray(data["w32"])) == most_similar("w2", IDS, WORDS, data["w32"])
    assert analogy("w1", "w2", "w3", IDS, WORDS, STRICT.asarray(data["unit32"])) == analogy(
        "w1", "w2", "w3", IDS, WORDS, data["unit32"]
    )
    ids = STRICT.asarray(data["corpus"][:10])
    np.testing.assert_array_equal(STRICT.to_numpy(convert_one_hot(ids, VOCAB)), convert_one_hot(data["corpus"][:10], VOCAB))


# -- bad input ---------------------------------------------------------------------------------------


def test_unknown_words_are_key_errors_naming_the_word():
    data = inputs()
    with pytest.raises(UnknownWordError, match=r"most_similar: 'cat' is not in the vocabulary \(20 words\)"):
        most_similar("cat", IDS, WORDS, data["w32"])
    with pytest.raises(KeyError, match="analogy: 'dog' is not in"):
        analogy("w1", "dog", "w3", IDS, WORDS, data["unit32"])
    with pytest.raises(KeyError, match="analogy: 'cow' is not in"):
        analogy("w1", "w2", "w3", IDS, WORDS, data["unit32"], answer="cow", verbose=True)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: preprocess(b"bytes"), ConfigTypeError, "preprocess: text must be a str, got bytes"),
        (lambda: create_co_matrix([0, 1, 5], 5), LabelError, r"create_co_matrix: word ids must be in 0..4, found 0..5"),
        (lambda: create_co_matrix([0, -1], 5), LabelError, r"word ids must be in 0..4, found -1..0"),
        (lambda: create_co_matrix([0.0, 1.0], 5), DTypeError, "corpus must hold integer word ids, got float64"),
        (lambda: create_co_matrix([[0, 1]], 5), ShapeError, r"corpus must be a 1-D array of word ids, got shape \(1, 2\)"),
        (lambda: create_co_matrix([0, 1], 5, window_size=0), ConfigError, "window_size must be a positive integer, got 0"),
        (lambda: create_co_matrix([0, 1], 2.0), ConfigError, "vocab_size must be a positive integer, got 2.0"),
        (lambda: create_contexts_target(np.arange(4), 2), ShapeError, "a corpus of 4 words has no word with 2 on each side"),
        (lambda: convert_one_hot(np.array([0, 3]), 3), LabelError, r"convert_one_hot: word ids must be in 0..2"),
        (lambda: convert_one_hot(np.int64(1), 3), ShapeError, "got a scalar"),
        (lambda: cos_similarity(np.ones(3), np.ones(4)), ShapeError, r"got shapes \(3,\) and \(4,\)"),
        (lambda: cos_similarity(np.ones(3), np.ones(3), eps=-1), ConfigError, "eps must be a number >= 0, got -1"),
        (lambda: ppmi(np.ones((2, 3))), ShapeError, r"ppmi: expected a square co-occurrence matrix, got shape \(2, 3\)"),
        (lambda: ppmi(np.array([[1, -1], [0, 2]])), ConfigError, "counts must be non-negative, found -1"),
        (lambda: ppmi(np.eye(2, dtype=bool)), DTypeError, "expected counts as integers or floats, got bool"),
        (lambda: ppmi(np.eye(2), dtype=np.int32), DTypeError, "dtype must be a floating type, got int32"),
        (lambda: most_similar("w1", IDS, WORDS, np.ones((19, 3))), ShapeError, r"one row per word of the vocabulary \(20, D\), got shape \(19, 3\)"),
        (lambda: most_similar("w1", IDS, WORDS, np.ones((20, 3), dtype=int)), DTypeError, "word_matrix must be floating"),
        (lambda: most_similar("w1", IDS, WORDS, np.ones((20, 3)), top=0), ConfigError, "top must be a positive integer, got 0"),
        (lambda: randomized_svd(np.ones((4, 3)), 4), ConfigError, r"n_components must be an integer in 1..3, got 4"),
        (lambda: randomized_svd(np.ones(4), 1), ShapeError, "expected a matrix"),
        (lambda: randomized_svd(np.ones((4, 3), dtype=int), 1), DTypeError, "expected a floating matrix"),
    ],
)
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
