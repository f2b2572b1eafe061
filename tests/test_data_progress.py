"""progress_bar: the built-in fallback bar, and that tqdm is used when installed."""

from __future__ import annotations

import io

import pytest

from chainrule import progress
from chainrule.progress import TextProgressBar, progress_bar


@pytest.fixture
def without_tqdm(monkeypatch):
    """Make progress_bar behave as on a machine without tqdm."""
    monkeypatch.setattr(progress, "_tqdm", None)


def last_frame(text: str) -> str:
    """What a terminal would show last: the text after the final carriage return."""
    return text.rstrip("\n").split("\r")[-1].rstrip()


def test_fallback_iterates_counts_and_ends_the_line(without_tqdm):
    out = io.StringIO()
    bar = progress_bar(range(7), desc="epoch 1", file=out)
    assert isinstance(bar, TextProgressBar)
    assert list(bar) == list(range(7))
    assert bar.n == 7
    assert out.getvalue().startswith("\r") and out.getvalue().endswith("\n")
    assert last_frame(out.getvalue()).startswith("epoch 1: 100%|" + "#" * 20 + "| 7/7 [")


def test_fallback_prints_nothing_when_disabled(without_tqdm, capsys):
    bar = progress_bar(range(5), enabled=False)
    assert list(bar) == list(range(5))
    bar.set_postfix(loss=0.5)
    bar.close()
    assert bar.n == 5
    assert capsys.readouterr().err == ""


def test_fallback_writes_to_stderr_by_default(without_tqdm, capsys):
    with progress_bar(total=2, desc="d") as bar:
        bar.update(2)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "d: 100%" in captured.err


def test_fallback_shows_postfix_and_unknown_totals(without_tqdm):
    out = io.StringIO()
    with progress_bar(desc="train", unit="batch", file=out) as bar:
        bar.update(3)
        bar.set_postfix(loss=0.123456, step=3)
    assert last_frame(out.getvalue()).startswith("train: 3batch [")
    assert last_frame(out.getvalue()).endswith("loss=0.1235, step=3]")
    out = io.StringIO()
    with progress_bar(total=1, file=out) as bar:
        bar.set_postfix_str("acc 97%")
        bar.update()
    assert last_frame(out.getvalue()).endswith(", acc 97%]")


def test_fallback_scales_units(without_tqdm):
    out = io.StringIO()
    with progress_bar(total=9_912_422, unit="B", unit_scale=True, file=out) as bar:
        bar.update(1_500_000)
        bar.update(8_412_422)
    assert " 9.91M/9.91M [" in last_frame(out.getvalue())


def test_fallback_throttles_redraws(without_tqdm):
    out = io.StringIO()
    with progress_bar(total=10_000, file=out) as bar:
        for _ in range(10_000):
            bar.update()
    # One draw per 0.2 s, plus the one for reaching the total; a fast loop needs only a few.
    assert out.getvalue().count("\r") < 10


def test_fallback_erases_itself_when_not_left(without_tqdm):
    out = io.StringIO()
    with progress_bar(total=1, leave=False, file=out) as bar:
        bar.update()
    assert out.getvalue().endswith("\r")
    assert last_frame(out.getvalue()) == ""


def test_fallback_refuses_to_iterate_without_an_iterable(without_tqdm):
    with pytest.raises(TypeError, match="without an iterable"):
        list(progress_bar(total=3, enabled=False))


def test_tqdm_is_used_when_installed():
    tqdm = pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = progress_bar(range(4), desc="x", file=out)
    assert isinstance(bar, tqdm.tqdm)
    with bar:
        assert list(bar) == [0, 1, 2, 3]
        bar.set_postfix(loss=1.0)
    assert "x: 100%" in out.getvalue()
