"""Downloading into the cache, with file:// mirrors and fake openers: never the network."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import (
    MNIST,
    default_cache_dir,
    download_file,
    fetch_file,
    load_idx_dataset,
    write_fake_dataset,
)
from chainrule.errors import DataError

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


class CountingOpener:
    """urlopen that records each URL it is asked for."""

    def __init__(self):
        self.urls = []

    def __call__(self, url, timeout):
        self.urls.append(url)
        return urllib.request.urlopen(url, timeout=timeout)


def cached(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())


def test_default_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("CHAINRULE_CACHE")
    assert default_cache_dir() == tmp_path / "xdg" / "chainrule"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "chainrule"


def test_downloads_once_into_the_cache(tmp_path):
    fake = write_fake_dataset(tmp_path / "mirror")
    opener = CountingOpener()
    (x_train, _), (x_test, _) = load_idx_dataset(fake, urlopen=opener, progress=False)
    assert x_train.shape == (20, 784) and x_test.shape == (10, 784)
    assert len(opener.urls) == 4
    assert cached(tmp_path) == sorted(remote.name for remote in MNIST.files.values())
    assert (tmp_path / "cache" / "mnist" / "train-images-idx3-ubyte.gz").is_file()

    (again, _), _ = load_idx_dataset(fake, urlopen=opener, progress=False)
    assert len(opener.urls) == 4  # served from the cache
    np.testing.assert_array_equal(again, x_train)


def test_missing_first_mirror_falls_back_to_the_next(tmp_path):
    fake = write_fake_dataset(tmp_path / "mirror")
    fake = replace(fake, mirrors=((tmp_path / "gone").as_uri() + "/", *fake.mirrors))
    opener = CountingOpener()
    load_idx_dataset(fake, urlopen=opener, progress=False)
    assert sum("/gone/" in url for url in opener.urls) == 4
    assert len(cached(tmp_path)) == 4


def test_bad_checksum_is_discarded_and_the_next_mirror_used(tmp_path):
    write_fake_dataset(tmp_path / "bad", seed=1)  # same names and sizes, other bytes
    fake = write_fake_dataset(tmp_path / "good", seed=2)
    fake = replace(fake, mirrors=((tmp_path / "bad").as_uri() + "/", *fake.mirrors))
    load_idx_dataset(fake, progress=False)
    for remote in fake.files.values():
        got = (tmp_path / "cache" / "mnist" / remote.name).read_bytes()
        assert got == (tmp_path / "good" / remote.name).read_bytes()
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_all_mirrors_failing_lists_each_url_and_why(tmp_path):
    write_fake_dataset(tmp_path / "bad", seed=1)
    fake = write_fake_dataset(tmp_path / "good", seed=2)
    (tmp_path / "good" / fake.files["train_images"].name).unlink()
    bad, gone = (tmp_path / "bad").as_uri(), (tmp_path / "good").as_uri()
    fake = replace(fake, mirrors=(bad + "/", gone + "/"))
    with pytest.raises(DataError) as raised:
        load_idx_dataset(fake, progress=False)
    message = str(raised.value)
    assert f"{bad}/train-images-idx3-ubyte.gz: downloaded file: sha256 mismatch" in message
    assert f"{gone}/train-images-idx3-ubyte.gz: [Errno 2] No such file" in message
    assert "not found. Looked in:" in message and "CHAINRULE_DATA=" in message
    assert cached(tmp_path) == []  # nothing half-checked was kept


def test_http_errors_and_timeouts_are_reported(tmp_path):
    def failing(url, timeout):
        if "first" in url:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        raise TimeoutError("timed out")

    remote = MNIST.files["test_labels"]
    with pytest.raises(DataError) as raised:
        download_file(
            remote,
            ["https://first.example/", "https://second.example/d"],
            tmp_path / "x.gz",
            urlopen=failing,
            progress=False,
        )
    message = str(raised.value)
    assert "https://first.example/t10k-labels-idx1-ubyte.gz: HTTP 404 Not Found" in message
    assert "https://second.example/d/t10k-labels-idx1-ubyte.gz: TimeoutError: timed out" in message


class BrokenResponse(io.BytesIO):
    """A response whose connection drops after the first chunk."""

    def read(self, size=-1):
        if self.tell():
            raise ConnectionResetError("connection reset by peer")
        return super().read(10)


def test_interrupted_download_leaves_nothing_behind(tmp_path):
    dest = tmp_path / "cache" / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(DataError, match="ConnectionResetError: connection reset by peer"):
        download_file(
            MNIST.files["test_labels"],
            ["https://example/"],
            dest,
            urlopen=lambda url, timeout: BrokenResponse(bytes(100)),
            progress=False,
        )
    assert list(dest.parent.iterdir()) == []


def test_wrong_size_is_caught_before_the_digest(tmp_path):
    fake = write_fake_dataset(tmp_path / "mirror")
    remote = replace(fake.files["test_labels"], size=12345)
    with pytest.raises(DataError, match="expected 12345 bytes, found"):
        download_file(remote, fake.mirrors, tmp_path / "out.gz", progress=False)


def test_download_shows_a_progress_bar(tmp_path, capsys):
    fake = write_fake_dataset(tmp_path / "mirror")
    fetch_file(fake, "test_labels")
    assert "t10k-labels-idx1-ubyte.gz" in capsys.readouterr().err
    fetch_file(fake, "train_labels", progress=False)
    assert capsys.readouterr().err == ""


def test_download_false_never_opens_a_url(tmp_path):
    fake = write_fake_dataset(tmp_path / "mirror")
    opener = CountingOpener()
    with pytest.raises(DataError, match="download=False"):
        fetch_file(fake, "train_images", download=False, urlopen=opener)
    assert opener.urls == []
