"""``load_ptb``: the book's word ids, found locally, in the cache or downloaded, always checked.

Small generated texts and ``file://`` mirrors test the lookup and download paths without a
network; the real texts (``$CHAINRULE_DATA/ptb``) are compared with the book's own loader.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import PTB, describe_local_files, load_ptb
from chainrule.errors import ConfigError, DataError

from book2_support import BOOK2, HAVE_BOOK2, run_book2

REAL_DATA = os.environ.get("CHAINRULE_DATA")
REAL_PTB = Path(REAL_DATA) / "ptb" if REAL_DATA else None
HAVE_PTB = REAL_PTB is not None and all((REAL_PTB / f.name).is_file() for f in PTB.files.values())
needs_ptb = pytest.mark.skipif(not HAVE_PTB, reason="set CHAINRULE_DATA to a folder with ptb/ptb.*.txt to run")

# As commonly quoted for the three texts (and in shared/datasets/README.md): a cross-check of the
# recorded SHA-256, which were computed from copies with these MD5s.
PUBLISHED_MD5 = {
    "ptb.train.txt": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
    "ptb.valid.txt": "aa0affc06ff7c36e977d7cd49e3839bf",
    "ptb.test.txt": "8b80168b89c18661a38ef683c0dc3721",
}
TOKENS = {"train": 929_589, "val": 73_760, "test": 82_430}

# Tiny texts in PTB's layout: a leading space, words, a trailing space, one sentence a line.
TEXTS = {
    "ptb.train.txt": " the cat sat \n the dog sat down \n",
    "ptb.valid.txt": " the dog sat \n",
    "ptb.test.txt": " down the cat \n cat \n",
}

_real_urlopen = urllib.request.urlopen


@pytest.fixture(autouse=True)
def offline_and_isolated(tmp_path, monkeypatch):
    """A private cache, no CHAINRULE_DATA from the caller, and file:// URLs only."""
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def file_urls_only(url, *args, **kwargs):
        assert url.startswith("file://"), f"a test tried to download {url}"
        return _real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", file_urls_only)


def write_texts(directory: Path, texts: dict[str, str] = TEXTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (directory / name).write_text(text)
    return directory


def mirror(tmp_path: Path, texts: dict[str, str] = TEXTS):
    """A PTB source whose only mirror is a folder of ``texts`` (their digests recorded)."""
    return describe_local_files(PTB, write_texts(tmp_path / "mirror", texts))


class CountingOpener:
    def __init__(self):
        self.urls = []

    def __call__(self, url, timeout):
        self.urls.append(url)
        return urllib.request.urlopen(url, timeout=timeout)


def test_ids_follow_first_appearance_in_the_training_text_with_eos_per_line(tmp_path):
    source = mirror(tmp_path)
    corpus, word_to_id, id_to_word = load_ptb("train", source=source, progress=False)
    assert word_to_id == {"the": 0, "cat": 1, "sat": 2, "<eos>": 3, "dog": 4, "down": 5}
    assert id_to_word == {i: w for w, i in word_to_id.items()}
    np.testing.assert_array_equal(corpus, [0, 1, 2, 3, 0, 4, 2, 5, 3])
    assert corpus.dtype == np.int64
    test, test_vocab, _ = load_ptb("test", source=source, progress=False)
    np.testing.assert_array_equal(test, [5, 0, 1, 3, 1, 3])
    assert test_vocab == word_to_id  # the training text's, whatever the split
    val, _, _ = load_ptb("val", source=source, progress=False)
    valid, _, _ = load_ptb("valid", source=source, progress=False)
    np.testing.assert_array_equal(val, [0, 4, 2, 3])
    np.testing.assert_array_equal(valid, val)


def test_local_copies_are_found_directly_or_in_a_ptb_subfolder(tmp_path, monkeypatch):
    source = mirror(tmp_path)
    flat = write_texts(tmp_path / "flat")
    nested = write_texts(tmp_path / "data" / "ptb")
    opener = CountingOpener()
    expected, _, _ = load_ptb("test", data_dir=flat, source=source, urlopen=opener)
    monkeypatch.setenv("CHAINRULE_DATA", str(nested.parent))
    got, _, _ = load_ptb("test", source=source, urlopen=opener)
    np.testing.assert_array_equal(got, expected)
    assert opener.urls == []
    assert not (tmp_path / "cache").exists()


def test_downloads_once_into_the_cache(tmp_path):
    source = mirror(tmp_path)
    opener = CountingOpener()
    first, vocab, _ = load_ptb("val", source=source, urlopen=opener, progress=False)
    assert [url.rsplit("/", 1)[1] for url in opener.urls] == ["ptb.train.txt", "ptb.valid.txt"]
    assert sorted(p.name for p in (tmp_path / "cache" / "ptb").iterdir()) == ["ptb.train.txt", "ptb.valid.txt"]
    again, vocab_again, _ = load_ptb("val", source=source, urlopen=opener, progress=False)
    assert len(opener.urls) == 2  # served from the cache
    np.testing.assert_array_equal(again, first)
    assert vocab_again == vocab


def test_a_mirror_with_other_bytes_is_refused_and_the_next_used(tmp_path):
    source = mirror(tmp_path)
    bad = write_texts(tmp_path / "bad", {name: text.replace("cat", "cow") for name, text in TEXTS.items()})
    source = replace(source, mirrors=(bad.as_uri() + "/", *source.mirrors))
    corpus, word_to_id, _ = load_ptb(source=source, progress=False)
    assert "cat" in word_to_id and "cow" not in word_to_id
    cached = tmp_path / "cache" / "ptb" / "ptb.train.txt"
    assert cached.read_text() == TEXTS["ptb.train.txt"]
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_a_local_file_failing_its_checksum_is_an_error_naming_it(tmp_path):
    source = mirror(tmp_path)
    folder = write_texts(tmp_path / "copy")
    changed = folder / "ptb.test.txt"
    changed.write_text(TEXTS["ptb.test.txt"].replace("down", "up  "))  # same size, other bytes
    load_ptb("train", data_dir=folder, source=source)  # the other files are fine
    with pytest.raises(DataError, match=f"{changed}: sha256 mismatch for ptb.test.txt"):
        load_ptb("test", data_dir=folder, source=source)
    corpus, _, _ = load_ptb("train", data_dir=folder, source=source, verify=False)
    assert len(corpus) == 9


def test_the_real_digests_guard_the_default_source(tmp_path):
    folder = write_texts(tmp_path / "mine")  # the right names, but not PTB's texts
    with pytest.raises(DataError, match="ptb.train.txt: wrong size for ptb.train.txt: expected 5101618 bytes"):
        load_ptb(data_dir=folder, download=False)


def test_nothing_found_and_no_download_lists_where_it_looked(tmp_path):
    opener = CountingOpener()
    with pytest.raises(DataError) as raised:
        load_ptb(data_dir=tmp_path / "empty", download=False, urlopen=opener)
    message = str(raised.value)
    assert "PTB file ptb.train.txt not found" in message and "download=False" in message
    assert f"data_dir: {tmp_path / 'empty' / 'ptb'}" in message and "'ptb' subfolder" in message
    assert opener.urls == []


def test_all_mirrors_failing_is_one_error_listing_them(tmp_path):
    source = replace(mirror(tmp_path), mirrors=((tmp_path / "gone").as_uri() + "/",))
    with pytest.raises(DataError, match=r"gone/ptb.train.txt: \[Errno 2\] No such file"):
        load_ptb(source=source, progress=False)


def test_a_word_outside_the_training_vocabulary_names_the_file(tmp_path):
    source = mirror(tmp_path, {**TEXTS, "ptb.test.txt": " the bird sat \n"})
    with pytest.raises(DataError, match=r"ptb.test.txt: the word 'bird' is not in the vocabulary .*6 words"):
        load_ptb("test", source=source, progress=False)


def test_a_file_that_is_not_text_is_a_data_error(tmp_path):
    source = mirror(tmp_path, {**TEXTS})
    (tmp_path / "copy").mkdir()
    bad = tmp_path / "copy" / "ptb.train.txt"
    bad.write_bytes(b"\xff\xfe the cat")
    with pytest.raises(DataError, match="ptb.train.txt: not a UTF-8 text"):
        load_ptb(data_dir=tmp_path / "copy", source=source, verify=False)


@pytest.mark.parametrize("data_type", ["training", "Train", "", None])
def test_an_unknown_split_is_a_config_error(data_type):
    with pytest.raises(ConfigError, match=r"data_type must be 'train', 'val' \(or 'valid'\) or 'test', got"):
        load_ptb(data_type)


def test_recorded_md5s_are_the_published_ones():
    assert {f.name: f.md5 for f in PTB.files.values()} == PUBLISHED_MD5
    assert PTB.mirrors[0] == "https://raw.githubusercontent.com/tomsercu/lstm/master/data/"


@needs_ptb
def test_the_real_files_match_both_recorded_digests():
    for remote in PTB.files.values():
        data = (REAL_PTB / remote.name).read_bytes()
        assert len(data) == remote.size
        assert hashlib.sha256(data).hexdigest() == remote.sha256
        assert hashlib.md5(data).hexdigest() == PUBLISHED_MD5[remote.name]


@needs_ptb
def test_real_token_counts_and_vocabulary():
    for data_type, tokens in TOKENS.items():
        corpus, word_to_id, id_to_word = load_ptb(data_type, data_dir=REAL_PTB.parent, download=False)
        assert len(corpus) == tokens
        assert len(word_to_id) == len(id_to_word) == 10_000
        assert corpus.min() >= 0 and corpus.max() <= 9_999
    corpus, word_to_id, id_to_word = load_ptb(data_dir=REAL_PTB.parent, download=False)
    assert [id_to_word[i] for i in corpus[:3]] == ["aer", "banknote", "berlitz"]
    assert word_to_id["<eos>"] == 24 and id_to_word[int(corpus[24])] == "<eos>"
    assert (corpus == word_to_id["<eos>"]).sum() == 42_068  # one per line of ptb.train.txt


@needs_ptb
@pytest.mark.skipif(not HAVE_BOOK2, reason=f"the second book's code is not at {BOOK2} (set CHAINRULE_BOOK2_DIR)")
def test_equal_to_the_book_s_own_loader(tmp_path):
    """The book's dataset/ptb.py, its dataset_dir pointed at a folder holding the texts."""
    folder = tmp_path / "book-dataset"
    folder.mkdir()
    for remote in PTB.files.values():
        (folder / remote.name).symlink_to(REAL_PTB / remote.name)
    run_book2(
        f"""
        import json
        import numpy as np
        from dataset import ptb
        ptb.dataset_dir = {str(folder)!r}
        for data_type in ("train", "val", "test"):
            corpus, word_to_id, id_to_word = ptb.load_data(data_type)
            np.save(f"book-{{data_type}}.npy", corpus)
        with open("book-vocab.json", "w") as f:
            json.dump([word_to_id, {{str(i): w for i, w in id_to_word.items()}}], f)
        """,
        cwd=tmp_path,
    )
    book_word_to_id, book_id_to_word = json.loads((tmp_path / "book-vocab.json").read_text())
    for data_type in TOKENS:
        corpus, word_to_id, id_to_word = load_ptb(data_type, data_dir=REAL_PTB.parent, download=False)
        book = np.load(tmp_path / f"book-{data_type}.npy")
        assert corpus.dtype == book.dtype and corpus.shape == book.shape
        np.testing.assert_array_equal(corpus, book)
        assert word_to_id == book_word_to_id
        assert id_to_word == {int(i): w for i, w in book_id_to_word.items()}
