"""Progress bars as a user sees them: tqdm per epoch at verbose=1 on a terminal, and for downloads."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from chainrule import SGD, TwoLayerNet
from chainrule.data.fetch import fetch_file
from chainrule.data.fake import write_fake_dataset
from chainrule.training import Trainer


class Terminal(io.StringIO):
    """A captured stderr that says it is a terminal, so tqdm draws as it would for a person."""

    def isatty(self) -> bool:
        return True


def fit(verbose: int) -> None:
    rng = np.random.default_rng(0)
    x, t = rng.random((60, 4)), rng.integers(0, 3, size=60)
    net = TwoLayerNet(4, 5, 3, rng=0)
    Trainer(net, SGD(0.1), epochs=2, batch_size=20, verbose=verbose).fit(x, t)


@pytest.mark.parametrize(
    ("verbose", "terminal", "bar", "summary"),
    [
        (1, True, True, True),  # a person at a terminal: a bar per epoch, then the epoch's line
        (1, False, False, True),  # a log file or CI: no redraws, only the lines
        (2, True, False, True),  # one line per epoch
        (0, True, False, False),  # silent
    ],
)
def test_trainer_verbose_levels(monkeypatch, capsys, verbose, terminal, bar, summary):
    stderr = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    fit(verbose)
    out = capsys.readouterr().out
    assert ("epoch 1/2: " in stderr.getvalue() and "/3 [" in stderr.getvalue()) == bar, stderr.getvalue()
    assert ("epoch 2/2  loss" in out) == summary, out


def test_trainer_bar_is_erased_after_each_epoch(monkeypatch):
    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    fit(1)
    # leave=False: the last thing drawn is a blank line, so the summary lines are not interleaved.
    assert stderr.getvalue().rstrip(" ").endswith("\r")


def test_download_shows_bytes_with_tqdm(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))  # a private cache: really download
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    fake = write_fake_dataset(tmp_path / "mirror")  # file:// mirrors: never the network
    fetch_file(fake, "test_labels")
    drawn = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte.gz" in drawn and "100%" in drawn and "B/s" in drawn
    fetch_file(fake, "train_labels", progress=False)
    assert capsys.readouterr().err == ""


def test_no_hand_written_stand_in():
    """tqdm is a dependency; chainrule keeps no copy of it."""
    import importlib.util

    assert importlib.util.find_spec("chainrule.progress") is None
