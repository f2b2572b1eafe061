"""The command line: demos print the book's values, gradcheck prints the differences."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chainrule.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("exact", [[], ["--exact"]])
def test_demo_apple_orange(capsys, exact):
    code, out, _ = run(capsys, "demo", "apple-orange", *exact)
    assert code == 0
    assert "total price = 715.0" in out
    for name, value in [("apple", "2.2"), ("apple_num", "110.0"), ("orange", "3.3"), ("orange_num", "165.0"), ("tax", "650.0")]:
        assert f"  {name} " in out and out.split(f"  {name} ")[1].split()[0] == value
    assert "0000" not in out  # no binary rounding noise shown to people


def test_demo_apple(capsys):
    code, out, _ = run(capsys, "demo", "apple")
    assert code == 0 and "total price = 220.0" in out and "200.0" in out and "2.2" in out and "110.0" in out


def test_gradcheck_command(capsys):
    code, out, _ = run(capsys, "gradcheck", "--input-size", "20", "--hidden-size", "5")
    assert code == 0
    for key in ("W1", "b1", "W2", "b2"):
        assert key in out
    largest = float(out.rsplit("largest relative difference:", 1)[1])
    assert largest < 1e-7


def test_no_command_prints_help(capsys):
    code, out, _ = run(capsys, )
    assert code == 2 and "chainrule demo apple-orange" in out


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "chainrule.cli.main", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "gradcheck" in out.stdout and "demo" in out.stdout
