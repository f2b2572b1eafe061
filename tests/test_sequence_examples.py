"""The word2vec and seq2seq example scripts on tiny data, and the loop and accuracy they share.

Each script's ``train`` runs a few iterations on data made here (no download, no book files):
the loss must fall and the results come back in the documented shape. ``exact_match`` must
count as the book's ``eval_seq2seq`` does: a question is right only if every generated
character, trailing spaces included, is the answer's.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import load_sequence_file
from chainrule.errors import ConfigError, ShapeError
from chainrule.training.sequence_loop import exact_match, generate_answers, seq2seq_accuracy, train_epoch

from book2_support import BOOK2, HAVE_BOOK2, run_book2

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def write_sums(path: Path, count: int, seed: int = 0) -> Path:
    """``count`` lines in addition.txt's layout: ``"16+75  _91  "``."""
    rng = np.random.default_rng(seed)
    lines = [f"{f'{a}+{b}':<7}_{a + b:<4}" for a, b in rng.integers(0, 1000, size=(count, 2))]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_dates(path: Path, count: int, seed: int = 0) -> Path:
    """``count`` lines in date.txt's layout: a written date padded to 29 characters, ``_`` and ISO."""
    months = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
    rng = np.random.default_rng(seed)
    lines = []
    for month, day, year in zip(rng.integers(1, 13, count), rng.integers(1, 29, count), rng.integers(1970, 2030, count)):
        written = f"{months[month - 1]} {day}, {year}" if day % 2 else f"{month}/{day}/{year % 100:02d}"
        lines.append(f"{written:<29}_{year:04d}-{month:02d}-{day:02d}")
    path.write_text("\n".join(lines) + "\n")
    return path


# -- exact match, as the book counts -------------------------------------------------------------

def ids(text: str, alphabet: str = "0123456789+ _") -> list[int]:
    return [alphabet.index(c) for c in text]


# (guess, answer): the book's eval_seq2seq compares the strings of len(answer) characters.
CASES = [
    ("91  ", "91  ", True),
    ("91 5", "91  ", False),  # the right number, then a stray digit where padding belongs
    ("19  ", "91  ", False),  # the right digits in the wrong order
    ("1139", "1139", True),
    ("113 ", "1139", False),  # one character short
    ("    ", "0   ", False),
]


def test_exact_match_counts_whole_answers():
    guesses = np.array([ids(g) for g, _, _ in CASES])
    answers = np.array([ids(a) for _, a, _ in CASES])
    assert exact_match(guesses, answers) == pytest.approx(sum(right for _, _, right in CASES) / len(CASES))
    for guess, answer, right in CASES:
        assert exact_match([ids(guess)], [ids(answer)]) == float(right)


def test_exact_match_rejects_mismatched_shapes():
    with pytest.raises(ShapeError, match="exact_match"):
        exact_match(np.zeros((2, 4), int), np.zeros((2, 3), int))
    with pytest.raises(ShapeError, match="no rows"):
        exact_match(np.zeros((0, 4), int), np.zeros((0, 4), int))


class Scripted:
    """A stand-in model whose ``generate`` returns prepared answers and records its calls."""

    def __init__(self, guesses: list[list[int]]) -> None:
        self.guesses, self.calls = list(guesses), []

    def generate(self, question, start_id, sample_size):
        self.calls.append((question.shape, start_id, sample_size))
        return self.guesses[len(self.calls) - 1][:sample_size]


def test_seq2seq_accuracy_generates_from_the_start_symbol():
    start = ids("_")[0]
    answers = np.array([[start] + ids(a) for _, a, _ in CASES])
    model = Scripted([ids(g) for g, _, _ in CASES])
    questions = np.zeros((len(CASES), 7), dtype=np.int64)
    assert seq2seq_accuracy(model, questions, answers) == pytest.approx(2 / 6)
    assert model.calls == [((1, 7), start, 4)] * len(CASES)


@pytest.mark.skipif(not HAVE_BOOK2, reason=f"the second book's code is not at {BOOK2} (set CHAINRULE_BOOK2_DIR)")
def test_exact_match_agrees_with_the_books_eval_seq2seq(tmp_path):
    alphabet = "0123456789+ _"
    rows = [(ids(g), [ids("_")[0]] + ids(a)) for g, a, _ in CASES]
    out = run_book2(f"""
        import json
        import numpy as np
        from common.util import eval_seq2seq

        class Model:
            def __init__(self, guess):
                self.guess = guess
            def generate(self, question, start_id, sample_size):
                return self.guess[:sample_size]

        id_to_char = dict(enumerate({alphabet!r}))
        rows = {rows!r}
        print(json.dumps([eval_seq2seq(Model(guess), np.zeros((1, 7), int), np.array([answer]), id_to_char)
                          for guess, answer in rows]))
        """, cwd=tmp_path)
    book = json.loads(out.strip().splitlines()[-1])
    ours = [exact_match([guess], [answer[1:]]) for guess, answer in rows]
    assert ours == [float(right) for right in book]


# -- the loop ------------------------------------------------------------------------------------

def test_train_epoch_uses_full_batches_and_refuses_oversized_ones():
    module = load_example("seq2seq_addition")
    from chainrule.nets.seq2seq import Seq2seq
    from chainrule.optimizers import SGD

    x = np.zeros((10, 3), dtype=np.int64)
    t = np.ones((10, 3), dtype=np.int64)
    net = Seq2seq(4, 3, 5, rng=0)
    losses = train_epoch(net, SGD(), x, t, 4, rng=np.random.default_rng(0))
    assert len(losses) == 2  # 10 // 4: the last two samples wait
    assert train_epoch(net, SGD(), x, t, 4, rng=np.random.default_rng(0), max_iters=1).__len__() == 1
    with pytest.raises(ConfigError, match="batch_size=11"):
        train_epoch(net, SGD(), x, t, 11, rng=np.random.default_rng(0))
    with pytest.raises(ShapeError, match="10 and 9"):
        train_epoch(net, SGD(), x, t[:9], 4, rng=np.random.default_rng(0))
    assert module.decode(np.array([1, 0]), {0: "a", 1: "b"}) == "ba"


# -- the scripts on tiny data ----------------------------------------------------------------------

def test_word2vec_script_learns_and_saves_vectors(tmp_path):
    module = load_example("word2vec_ptb")
    rng = np.random.default_rng(0)
    words = ["you", "year", "car", "toyota"] + [f"w{i}" for i in range(26)]
    # A corpus with structure to learn: pairs of words that always follow each other.
    corpus = np.repeat(rng.integers(0, 15, 1500) * 2, 2) + np.tile([0, 1], 1500)
    result = module.train(corpus, dict(enumerate(words)), epochs=3, window=2, hidden=10, batch_size=20, max_iters=40, top=3, log=False)
    assert len(result.epoch_losses) == 3 and len(result.losses) == 120
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    assert list(result.neighbours) == ["you", "year", "car", "toyota"]
    assert all(len(found) == 3 and isinstance(found[0][0], str) for found in result.neighbours.values())
    path = tmp_path / "vectors.npz"
    module.save_vectors(str(path), result)
    with np.load(path, allow_pickle=False) as saved:
        assert saved["word_vecs"].shape == (30, 10) and saved["word_vecs"].dtype == np.float32
        assert list(saved["words"]) == words


def test_word2vec_script_main_prints_neighbours(tmp_path, monkeypatch, capsys):
    module = load_example("word2vec_ptb")
    corpus = np.tile(np.arange(30), 40)
    monkeypatch.setattr(module, "load_ptb", lambda *args, **kwargs: (corpus, None, {i: f"w{i}" if i > 3 else module.QUERIES[i] for i in range(30)}))
    module.main(["--epochs", "1", "--window", "2", "--hidden", "8", "--max-iters", "3", "--report-every", "1", "--out", str(tmp_path / "v.npz")])
    printed = capsys.readouterr().out
    assert "epoch 1 iteration 3: loss" in printed and "epoch 1 iteration 1: loss" in printed and "[query] toyota" in printed and "saved 30 vectors of 8" in printed


@pytest.mark.parametrize("model", ["seq2seq", "peeky"])
def test_seq2seq_addition_script_learns(tmp_path, model, capsys):
    module = load_example("seq2seq_addition")
    data = load_sequence_file(write_sums(tmp_path / "addition.txt", 400), seed=1984)
    result = module.train(data, model, epochs=3, batch_size=30, hidden=16, wordvec=8, max_iters=12, test_size=20)
    assert len(result.epoch_losses) == len(result.accuracies) == 3
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    assert all(0 <= accuracy <= 1 for accuracy in result.accuracies)
    question, answer, guess = result.examples[0]
    assert len(question) == 7 and "+" in question and len(answer) == len(guess) == 4
    assert "test accuracy" in capsys.readouterr().out


def test_attention_dates_script_learns_and_draws(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    module = load_example("attention_dates")
    data = load_sequence_file(write_dates(tmp_path / "date.txt", 300), seed=1984)
    monkeypatch.setattr(module, "load_sequence", lambda *args, **kwargs: data)
    heatmap = tmp_path / "attention.png"
    module.main(["--epochs", "2", "--batch-size", "25", "--hidden", "16", "--wordvec", "8", "--max-iters", "8",
                 "--test-size", "10", "--heatmap", str(heatmap)])
    printed = capsys.readouterr().out
    assert printed.count("test accuracy") == 2 and "drawn to" in printed
    assert heatmap.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    result, (x_test, t_test), _ = module.train(data, epochs=2, batch_size=25, hidden=16, wordvec=8, max_iters=8, test_size=10, log=False)
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    weights = module.attention_map(result.net, x_test[0], t_test[0])
    assert weights.shape == (t_test.shape[1] - 1, x_test.shape[1])
    np.testing.assert_allclose(weights.sum(axis=1), 1, rtol=1e-5)


def test_generate_answers_shape():
    model = Scripted([[1, 2, 3], [4, 5, 6]])
    answers = generate_answers(model, np.zeros((2, 5), int), np.array([9, 9]), 3)
    assert answers.tolist() == [[1, 2, 3], [4, 5, 6]] and answers.dtype == np.int64


def test_word2vec_progress_lines_average_the_iterations_since_the_last(capsys):
    module = load_example("word2vec_ptb")
    corpus = np.tile(np.arange(30), 40)
    result = module.train(corpus, {i: f"w{i}" for i in range(30)}, epochs=2, window=2, hidden=8, batch_size=10, max_iters=4,
                          report_every=2, top=2)
    printed = capsys.readouterr().out
    for epoch, first in ((1, 0), (2, 4)):
        for iteration in (2, 4):
            start = first + iteration - 2
            expected = np.mean(result.losses[start:start + 2])
            assert f"epoch {epoch} iteration {iteration}: loss {expected:.3f}" in printed
