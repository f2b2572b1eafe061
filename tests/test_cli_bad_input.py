"""The command line's bad-input corpus: every user mistake is one line on stderr, never a traceback.

Each case is ``(argv, exit code, substrings)``: the substrings name the option, what was expected
and what was found. Placeholders in argv: ``{data}`` a folder with tiny fake MNIST files,
``{run}`` a trained run directory, ``{empty}`` an empty folder, ``{file}`` a regular file,
``{missing}`` a path that does not exist, ``{out}`` a fresh output directory, ``{nested}`` a
folder with MNIST in its ``mnist/`` subfolder, ``{partial}`` one with a file missing.
Exit codes: 2 for usage (argparse's convention), 1 for a problem found while running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.backend import cupy_available
from chainrule.cli.main import main
from chainrule.data import write_fake_dataset

# Every train case trains for real if the option slips through: tiny data, one epoch, quiet.
TRAIN = ["train", "--data-dir", "{data}", "--no-download", "--no-verify", "--output-dir", "{out}", "--epochs", "1",
         "--hidden-sizes", "4", "--batch-size", "8", "-v", "0"]
EVALUATE = ["evaluate", "{run}", "--data-dir", "{data}", "--no-download", "--no-verify"]
NET = ["graph", "--model", "two-layer", "-o", "{out}/net.svg", "--input-size", "6", "--hidden-size", "3"]
BENCH = ["bench", "gradients", "--input-size", "6", "--hidden-sizes", "2", "--repeats", "1"]
HUGE = "99999999999999999999"

CASES = [
    # train: learning rate
    ([*TRAIN, "--lr", "0"], 2, ["--lr", "positive", "'0'"]),
    ([*TRAIN, "--lr", "-0.1"], 2, ["--lr", "positive", "'-0.1'"]),
    ([*TRAIN, "--lr", "nan"], 2, ["--lr", "finite", "'nan'"]),
    ([*TRAIN, "--lr", "inf"], 2, ["--lr", "finite", "'inf'"]),
    ([*TRAIN, "--lr", "1e999"], 2, ["--lr", "finite", "'1e999'"]),
    ([*TRAIN, "--lr", "fast"], 2, ["--lr", "number", "'fast'"]),
    # train: counts
    ([*TRAIN, "--epochs", "0"], 2, ["--epochs", "positive integer", "'0'"]),
    ([*TRAIN, "--epochs", "-2"], 2, ["--epochs", "positive integer", "'-2'"]),
    ([*TRAIN, "--epochs", "1.5"], 2, ["--epochs", "positive integer", "'1.5'"]),
    ([*TRAIN, "--epochs", HUGE], 2, ["--epochs", "<= 2147483647", HUGE]),
    ([*TRAIN, "--batch-size", "0"], 2, ["--batch-size", "positive integer", "'0'"]),
    ([*TRAIN, "--batch-size", "-5"], 2, ["--batch-size", "positive integer", "'-5'"]),
    ([*TRAIN, "--batch-size", "1e3"], 2, ["--batch-size", "positive integer", "'1e3'"]),
    ([*TRAIN, "--batch-size", HUGE], 2, ["--batch-size", "<= 2147483647", HUGE]),
    ([*TRAIN, "--limit", "0"], 2, ["--limit", "positive integer", "'0'"]),
    ([*TRAIN, "--limit", "-3"], 2, ["--limit", "positive integer", "'-3'"]),
    ([*TRAIN, "--limit", "ten"], 2, ["--limit", "positive integer", "'ten'"]),
    ([*TRAIN, "--seed", "-1"], 2, ["--seed", ">= 0", "'-1'"]),
    ([*TRAIN, "--seed", "x"], 2, ["--seed", "integer", "'x'"]),
    ([*TRAIN, "--seed", HUGE], 2, ["--seed", "<= 4294967295", HUGE]),
    # train: the network
    ([*TRAIN, "--hidden-sizes", "10,,5"], 2, ["--hidden-sizes", "comma-separated", "'10,,5'"]),
    ([*TRAIN, "--hidden-sizes", "0"], 2, ["--hidden-sizes", "positive", "'0'"]),
    ([*TRAIN, "--hidden-sizes", "8,-5"], 2, ["--hidden-sizes", "positive", "'8,-5'"]),
    ([*TRAIN, "--hidden-sizes", ""], 2, ["--hidden-sizes", "comma-separated", "''"]),
    ([*TRAIN, "--hidden-sizes", "10,x"], 2, ["--hidden-sizes", "comma-separated", "'10,x'"]),
    ([*TRAIN, "--hidden-sizes", "8,"], 2, ["--hidden-sizes", "comma-separated", "'8,'"]),
    ([*TRAIN, "--hidden-sizes", HUGE], 2, ["--hidden-sizes", "<= 2147483647", HUGE]),
    ([*TRAIN, "--dropout", "1.5"], 2, ["--dropout", "[0, 1)", "'1.5'"]),
    ([*TRAIN, "--dropout", "1"], 2, ["--dropout", "[0, 1)", "'1'"]),
    ([*TRAIN, "--dropout", "-0.1"], 2, ["--dropout", "[0, 1)", "'-0.1'"]),
    ([*TRAIN, "--dropout", "nan"], 2, ["--dropout", "[0, 1)", "'nan'"]),
    ([*TRAIN, "--weight-decay", "-1"], 2, ["--weight-decay", ">= 0", "'-1'"]),
    ([*TRAIN, "--weight-decay", "nan"], 2, ["--weight-decay", "finite", "'nan'"]),
    ([*TRAIN, "--weight-decay", "inf"], 2, ["--weight-decay", "finite", "'inf'"]),
    ([*TRAIN, "--weight-init", "0"], 2, ["--weight-init", "positive", "'0'"]),
    ([*TRAIN, "--weight-init", "inf"], 2, ["--weight-init", "finite", "'inf'"]),
    ([*TRAIN, "--weight-init", "nan"], 2, ["--weight-init", "positive", "'nan'"]),
    ([*TRAIN, "--weight-init", "huge"], 2, ["--weight-init", "he, xavier", "'huge'"]),
    ([*TRAIN, "--model", "mlp2"], 2, ["--model", "invalid choice", "'mlp2'"]),
    ([*TRAIN, "--optimizer", "sgdd"], 2, ["--optimizer", "invalid choice", "'sgdd'"]),
    ([*TRAIN, "--schedule", "linear"], 2, ["--schedule", "invalid choice", "'linear'"]),
    ([*TRAIN, "-v", "3"], 2, ["--verbose", "invalid choice", "3"]),
    ([*TRAIN, "--model", "two-layer", "--dropout", "0.5"], 2, ["--dropout", "--model mlp", "two-layer"]),
    ([*TRAIN, "--model", "cnn", "--hidden-sizes", "10,5"], 2, ["--model cnn", "one hidden layer", "--hidden-sizes 10,5"]),
    ([*TRAIN, "--learning-rate", "0.1"], 2, ["unrecognized arguments", "--learning-rate"]),
    # train: environment, found before any data is loaded
    ([*TRAIN, "--data-dir", "{missing}"], 2, ["--data-dir", "does not exist", "{missing}"]),
    ([*TRAIN, "--data-dir", "{file}"], 2, ["--data-dir", "not a folder", "{file}"]),
    ([*TRAIN, "--data-dir", "{empty}"], 2, ["--data-dir", "no MNIST files", "{empty}"]),
    ([*TRAIN, "--data-dir", "{nested}", "--dataset", "fashion-mnist"], 2,
     ["--data-dir", "no Fashion-MNIST files", "{nested}"]),
    ([*TRAIN, "--data-dir", "{partial}"], 2, ["--data-dir", "missing", "t10k-labels-idx1-ubyte.gz"]),
    ([*TRAIN, "--resume", "--output-dir", "{empty}"], 1, ["checkpoint", "{empty}"]),
    (["train", "--no-download", "--output-dir", "{out}"], 1, ["MNIST", "not found", "CHAINRULE_DATA", "--data-dir"]),
    # evaluate
    ([*EVALUATE, "--batch-size", "-5"], 2, ["--batch-size", "positive integer", "'-5'"]),
    ([*EVALUATE, "--batch-size", "0"], 2, ["--batch-size", "positive integer", "'0'"]),
    ([*EVALUATE, "--batch-size", "all"], 2, ["--batch-size", "positive integer", "'all'"]),
    ([*EVALUATE, "--data-dir", "{missing}"], 2, ["--data-dir", "does not exist", "{missing}"]),
    ([*EVALUATE, "--data-dir", "{empty}"], 2, ["--data-dir", "no MNIST files", "{empty}"]),
    (["book"], 2, ["name the book's script to run"]),  # was: "the following arguments are required: script_args"
    (["evaluate", "{missing}"], 1, ["{missing} does not exist", "RUN_DIR is a run directory"]),
    # a file is no run directory: never advice to train into it (chainrule train --output-dir README.md)
    (["evaluate", "{file}"], 1, ["{file} is a file, not a folder", "RUN_DIR is a run directory"]),
    (["evaluate"], 2, ["required", "RUN_DIR"]),
    # gradcheck
    (["gradcheck", "--batch-size", "0"], 2, ["--batch-size", "positive integer", "'0'"]),
    (["gradcheck", "--batch-size", "-1"], 2, ["--batch-size", "positive integer", "'-1'"]),
    (["gradcheck", "--hidden-size", "0"], 2, ["--hidden-size", "positive integer", "'0'"]),
    (["gradcheck", "--input-size", "-784"], 2, ["--input-size", "positive integer", "'-784'"]),
    (["gradcheck", "--output-size", "0"], 2, ["--output-size", "positive integer", "'0'"]),
    (["gradcheck", "--seed", "-1"], 2, ["--seed", ">= 0", "'-1'"]),
    (["gradcheck", "--hidden-size", HUGE], 2, ["--hidden-size", "<= 2147483647", HUGE]),
    (["gradcheck", "--dtype", "float16"], 2, ["--dtype", "invalid choice", "'float16'"]),
    # graph
    ([*NET, "--batch-size", "0"], 2, ["--batch-size", "positive integer", "'0'"]),
    ([*NET, "--hidden-size", "-1"], 2, ["--hidden-size", "positive integer", "'-1'"]),
    ([*NET, "--input-size", "x"], 2, ["--input-size", "positive integer", "'x'"]),
    ([*NET, "--output-size", "0"], 2, ["--output-size", "positive integer", "'0'"]),
    ([*NET, "--seed", "-7"], 2, ["--seed", ">= 0", "'-7'"]),
    (["graph", "pear"], 2, ["example", "invalid choice", "'pear'"]),
    (["graph"], 2, ["give an example", "--model two-layer"]),
    (["graph", "apple", "-o", "{out}/apple.jpg"], 2, ["-o", "suffix", "apple.jpg"]),
    (["graph", "apple", "-o", "{missing}/apple.svg"], 2, ["-o", "does not exist", "{missing}"]),
    (["graph", "apple", "-o", "{file}/apple.svg"], 2, ["-o", "is a file, not a folder", "{file}"]),
    # bench
    ([*BENCH, "--hidden-sizes", "10,,5"], 2, ["--hidden-sizes", "comma-separated", "'10,,5'"]),
    ([*BENCH, "--hidden-sizes", "0"], 2, ["--hidden-sizes", "positive", "'0'"]),
    ([*BENCH, "--repeats", "0"], 2, ["--repeats", "positive integer", "'0'"]),
    ([*BENCH, "--batch-size", "0"], 2, ["--batch-size", "positive integer", "'0'"]),
    ([*BENCH, "--input-size", "-1"], 2, ["--input-size", "positive integer", "'-1'"]),
    ([*BENCH, "--output-size", "0"], 2, ["--output-size", "positive integer", "'0'"]),
    ([*BENCH, "--seed", "-1"], 2, ["--seed", ">= 0", "'-1'"]),
    ([*BENCH, "-o", "{out}/cost.txt"], 2, ["-o", "suffix", ".png, .svg, .pdf", "cost.txt'"]),
    ([*BENCH, "-o", "{out}/cost"], 2, ["-o", "suffix", ".png", "cost'"]),
    (["bench", "walltime"], 2, ["BENCHMARK", "invalid choice", "'walltime'"]),
    # demo and the top level
    (["demo", "banana"], 2, ["example", "invalid choice", "'banana'"]),
    (["demo"], 2, ["required", "example"]),
    (["demo", "apple", "--exact=yes"], 2, ["--exact", "ignored explicit argument", "'yes'"]),
    (["fly"], 2, ["COMMAND", "invalid choice", "'fly'"]),
    (["--frobnicate"], 2, ["unrecognized arguments", "--frobnicate"]),
]
if sys.platform == "linux" and Path("/proc/sys/vm/overcommit_memory").read_text().strip() != "1":
    # Terabytes are refused at once only where the kernel does not promise memory it lacks.
    CASES += [
        (["gradcheck", "--hidden-size", "2147483647"], 1, ["out of memory", "(784, 2147483647)"]),
        (["gradcheck", "--hidden-size", "2147483647", "--input-size", "2147483647"], 1,
         ["out of memory", "array is too big"]),
    ]
if not cupy_available():
    CASES.append(([*TRAIN, "--backend", "cupy"], 2, ["--backend", "CuPy", "'cupy'"]))


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """The folders and files the placeholders stand for; one tiny trained run for ``evaluate``."""
    root = tmp_path_factory.mktemp("corpus")
    data = root / "data"
    write_fake_dataset(data, train_size=24, test_size=8)
    write_fake_dataset(root / "nested" / "mnist", train_size=24, test_size=8)  # MNIST only, in its subfolder
    write_fake_dataset(root / "partial", train_size=24, test_size=8)
    (root / "partial" / "t10k-labels-idx1-ubyte.gz").unlink()
    (root / "empty").mkdir()
    (root / "file").write_text("not a folder\n")
    run = root / "run"
    argv = [*TRAIN, "--output-dir", str(run)]
    assert main([arg.replace("{data}", str(data)) for arg in argv]) == 0
    return {"data": data, "run": run, "nested": root / "nested", "partial": root / "partial", "empty": root / "empty", "file": root / "file", "missing": root / "missing"}


@pytest.fixture(autouse=True)
def no_other_data(tmp_path, monkeypatch):
    """Nothing to fall back on: a case passes only if the option itself was honoured."""
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """``main(argv)`` in this process; argparse's own exits count as return codes."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fill(text: str, places: dict[str, Path], out: Path) -> str:
    for name, path in {**places, "out": out}.items():
        text = text.replace("{" + name + "}", str(path))
    return text


def case_id(argv: list[str]) -> str:
    """The case's own arguments, without the shared prefix that makes it runnable."""
    for prefix in (TRAIN, EVALUATE, NET, BENCH):
        if argv[: len(prefix)] == prefix:
            return " ".join([prefix[0], *argv[len(prefix):]])
    return " ".join(argv)


@pytest.mark.parametrize("argv, code, needles", CASES, ids=[case_id(argv) for argv, _, _ in CASES])
def test_bad_input_is_one_line_with_the_right_exit_code(argv, code, needles, places, tmp_path, capsys):
    out_dir = tmp_path / "out"
    got, _, err = run_cli([fill(arg, places, out_dir) for arg in argv], capsys)
    assert "Traceback" not in err
    assert got == code, err
    for needle in needles:
        assert fill(needle, places, out_dir) in err, f"{needle!r} not in {err!r}"
    assert len(err.strip().splitlines()) == 1, err
    assert not (out_dir / "checkpoint.npz").exists()  # refused before any training


def test_the_corpus_covers_every_subcommand():
    commands = {argv[0] for argv, _, _ in CASES}
    assert {"train", "evaluate", "gradcheck", "graph", "bench", "demo"} <= commands
    assert len(CASES) >= 60


def test_keyboard_interrupt_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("chainrule.cli.demo.run", interrupted)
    code, _, err = run_cli(["demo", "apple"], capsys)
    assert code == 130 and err.strip() == "chainrule demo: interrupted"


def test_the_header_says_where_the_data_came_from(places, tmp_path, capsys):
    argv = [fill(arg, places, tmp_path / "out") for arg in TRAIN]
    code, out, _ = run_cli([*argv, "-v", "2"], capsys)
    header = out.splitlines()[0]
    assert code == 0 and header.startswith("training:") and f"from {places['data']}" in header


def cli(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    return subprocess.run([sys.executable, "-m", "chainrule.cli.main", *argv], env=env, text=True,
                          stderr=subprocess.PIPE, **kwargs)


def test_exit_code_and_one_line_through_the_console(tmp_path):
    done = cli("train", "--lr", "0", stdout=subprocess.PIPE)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "chainrule train: error: argument --lr: expected a positive finite number, got '0'\n"


# A command stops as one killed by SIGPIPE would (141); argparse's help swallows the error itself (0).
@pytest.mark.parametrize("argv, code", [(["demo", "apple"], 141), (["train", "--help"], 0), (["--help"], 0)])
def test_a_pipe_closed_early_exits_quietly(argv, code):
    """``chainrule demo apple | head -1``: the reader is gone before we write (made certain here)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = cli(*argv, stdout=write_end)
    finally:
        os.close(write_end)
    assert done.stderr == "" and done.returncode == code


def test_data_dir_never_falls_back_to_chainrule_data(places, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHAINRULE_DATA", str(places["data"]))  # good data there: must not be used
    argv = [fill(arg, places, tmp_path / "out") for arg in TRAIN]
    code, _, err = run_cli([*argv, "--data-dir", str(places["empty"])], capsys)
    assert code == 2 and f"--data-dir {places['empty']}: no MNIST files" in err


def test_one_line_joins_a_list_of_places():
    from chainrule.cli.main import one_line

    assert one_line("not found. Looked in:\n  a: x\n  b: y\nhint") == "not found. Looked in: a: x; b: y; hint"
    assert one_line("single") == "single"
