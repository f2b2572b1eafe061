"""``load_sequence``: the second book's addition.txt and date.txt, split and numbered as it does.

Generated files test the format, the lookup and the download without a network; the book's own
files and loader (run in a subprocess) check that the arrays and ids are the book's.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import SEQUENCE, describe_local_files, load_sequence, load_sequence_file
from chainrule.errors import ConfigError, DataError

from book2_support import BOOK2, HAVE_BOOK2, run_book2

needs_book2 = pytest.mark.skipif(not HAVE_BOOK2, reason=f"the second book's code is not at {BOOK2} (set CHAINRULE_BOOK2_DIR)")

_real_urlopen = urllib.request.urlopen

# Twelve sums in the book's layout: "question_answer", both sides padded to one width.
SUMS = [(16, 75), (52, 607), (75, 22), (3, 4), (999, 1), (0, 0), (12, 12), (8, 80), (45, 5), (1, 10), (7, 7), (100, 200)]
ADDITION = "".join(f"{f'{a}+{b}':<7}_{f'{a + b}':<4}\n" for a, b in SUMS)


@pytest.fixture(autouse=True)
def offline_and_isolated(tmp_path, monkeypatch):
    """A private cache, no CHAINRULE_DATA nor book folder from the caller, file:// URLs only."""
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.delenv("CHAINRULE_BOOK2_DIR", raising=False)

    def file_urls_only(url, *args, **kwargs):
        assert url.startswith("file://"), f"a test tried to download {url}"
        return _real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", file_urls_only)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_ids_shuffle_and_split_follow_the_book(tmp_path):
    path = write(tmp_path / "addition.txt", ADDITION)
    (x_train, t_train), (x_test, t_test), char_to_id, id_to_char = load_sequence_file(path, seed=3)
    # First appearance, a line's question then its answer: "16+75  " "_91  " "52+607 " "_659 " ...
    assert list(char_to_id)[:9] == ["1", "6", "+", "7", "5", " ", "_", "9", "2"]
    assert id_to_char == {i: c for c, i in char_to_id.items()}
    assert x_train.shape == (11, 7) and t_train.shape == (11, 5)  # 12 - 12 // 10 for training
    assert x_test.shape == (1, 7) and t_test.shape == (1, 5)
    assert x_train.dtype == t_train.dtype == np.int64
    order = np.arange(12)
    np.random.RandomState(3).shuffle(order)
    decode = lambda row: "".join(id_to_char[int(i)] for i in row)  # noqa: E731
    lines = ADDITION.splitlines()
    for row, (question, answer) in enumerate(zip(np.concatenate([x_train, x_test]), np.concatenate([t_train, t_test]))):
        assert decode(question) + decode(answer) == lines[order[row]]
        assert decode(answer)[0] == "_"


def test_the_global_generator_is_left_alone(tmp_path):
    path = write(tmp_path / "addition.txt", ADDITION)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = load_sequence_file(path, seed=1984)
    load_sequence_file(path, seed=None)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    np.testing.assert_array_equal(load_sequence_file(path, seed=1984)[0][0], first[0][0])


def test_each_file_has_its_own_vocabulary(tmp_path):
    """The book keeps one vocabulary per process, so a second file's ids depend on the first."""
    a = load_sequence_file(write(tmp_path / "a.txt", "1+1_2\n"), seed=0)
    b = load_sequence_file(write(tmp_path / "b.txt", "x_y\n"), seed=0)
    assert a[2] == {"1": 0, "+": 1, "_": 2, "2": 3} and b[2] == {"x": 0, "_": 1, "y": 2}


def test_found_in_data_dir_the_book_folder_or_downloaded_once(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    write(mirror / "addition.txt", ADDITION)
    source = describe_local_files(SEQUENCE, mirror)
    expected = load_sequence_file(mirror / "addition.txt")
    write(tmp_path / "data" / "sequence" / "addition.txt", ADDITION)
    write(tmp_path / "book" / "dataset" / "addition.txt", ADDITION)
    urls = []

    def opener(url, timeout):
        urls.append(url)
        return urllib.request.urlopen(url, timeout=timeout)

    got = load_sequence(data_dir=tmp_path / "data", source=source, urlopen=opener)
    monkeypatch.setenv("CHAINRULE_BOOK2_DIR", str(tmp_path / "book"))
    from_book = load_sequence(source=source, urlopen=opener)
    assert urls == []
    monkeypatch.delenv("CHAINRULE_BOOK2_DIR")
    downloaded = load_sequence(source=source, urlopen=opener, progress=False)
    load_sequence(source=source, urlopen=opener, progress=False)
    assert urls == [(mirror / "addition.txt").as_uri()]  # once: then from the cache
    assert (tmp_path / "cache" / "sequence" / "addition.txt").read_text() == ADDITION
    for result in (got, from_book, downloaded):
        np.testing.assert_array_equal(result[0][0], expected[0][0])
        np.testing.assert_array_equal(result[1][1], expected[1][1])
        assert result[2] == expected[2]


def test_a_copy_failing_its_checksum_is_an_error_naming_it(tmp_path):
    source = describe_local_files(SEQUENCE, write(tmp_path / "mirror" / "addition.txt", ADDITION).parent)
    copy = write(tmp_path / "data" / "addition.txt", ADDITION.replace("16+75", "16+76"))
    with pytest.raises(DataError, match=f"{copy}: sha256 mismatch for addition.txt"):
        load_sequence(data_dir=copy.parent, source=source)


def test_the_recorded_sizes_guard_the_default_source(tmp_path):
    copy = write(tmp_path / "data" / "date.txt", "1/2/03_2003-01-02\n")
    with pytest.raises(DataError, match="date.txt: wrong size for date.txt: expected 2050000 bytes"):
        load_sequence("date.txt", data_dir=copy.parent, download=False)


def test_not_found_without_download_names_every_place_looked(tmp_path):
    with pytest.raises(DataError) as raised:
        load_sequence("date.txt", download=False)
    message = str(raised.value)
    assert "date.txt not found" in message and "$CHAINRULE_BOOK2_DIR/dataset: not given" in message


def test_an_unknown_file_name_is_a_config_error():
    with pytest.raises(ConfigError, match=r"file_name must be one of \['addition.txt', 'date.txt'\], got 'reverse.txt'"):
        load_sequence("reverse.txt")


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "1984", True])
def test_a_bad_seed_is_a_config_error(tmp_path, seed):
    path = write(tmp_path / "addition.txt", ADDITION)
    with pytest.raises(ConfigError, match=r"seed must be None or an integer in 0..2\*\*32-1, got"):
        load_sequence_file(path, seed)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("1+1_2\n2+2 4\n", r"line 2: no '_' between question and answer in '2\+2 4'"),
        ("1+1_2\n10+1_2\n", r"line 2: question '10\+1' has 4 characters, but line 1's has 3"),
        ("1+1_2 \n2+2_4\n", r"line 2: answer '_4' has 2 characters, but line 1's has 3"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, message):
    path = write(tmp_path / "bad.txt", text)
    with pytest.raises(DataError, match=message):
        load_sequence_file(path)


@needs_book2
@pytest.mark.parametrize("file_name, seed", [("addition.txt", 1984), ("date.txt", 1984), ("addition.txt", 7)])
def test_equal_to_the_book_s_own_loader(tmp_path, monkeypatch, file_name, seed):
    run_book2(
        f"""
        import json
        import numpy as np
        from dataset import sequence
        (x_train, t_train), (x_test, t_test) = sequence.load_data({file_name!r}, seed={seed})
        np.savez("book.npz", x_train=x_train, t_train=t_train, x_test=x_test, t_test=t_test)
        char_to_id, id_to_char = sequence.get_vocab()
        with open("book-vocab.json", "w") as f:
            json.dump([char_to_id, {{str(i): c for i, c in id_to_char.items()}}], f)
        """,
        cwd=tmp_path,
    )
    monkeypatch.setenv("CHAINRULE_BOOK2_DIR", str(BOOK2))
    (x_train, t_train), (x_test, t_test), char_to_id, id_to_char = load_sequence(file_name, seed, download=False)
    book = np.load(tmp_path / "book.npz")
    for name, ours in [("x_train", x_train), ("t_train", t_train), ("x_test", x_test), ("t_test", t_test)]:
        assert ours.dtype == book[name].dtype and ours.shape == book[name].shape, name
        np.testing.assert_array_equal(ours, book[name], err_msg=name)
    book_char_to_id, book_id_to_char = json.loads((tmp_path / "book-vocab.json").read_text())
    assert char_to_id == book_char_to_id
    assert id_to_char == {int(i): c for i, c in book_id_to_char.items()}
