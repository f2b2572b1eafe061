"""Run the book's chapters 5-8 scripts on chainrule at full length: time, and what each printed.

    CHAINRULE_DATA=... python benchmarks/book_scripts.py [--book DIR] [--only ch05/train_neuralnet.py ...]
    CHAINRULE_DATA=... python benchmarks/book_scripts.py --compare ch05/train_neuralnet.py --seed 0

The first form prints a Markdown table (script, the book's result, chainrule's result, seconds)
for ``docs/book.md``; scripts that write beside themselves run in a temporary copy of the book.
``--compare`` runs one script twice from the same ``np.random.seed``: on chainrule
(``chainrule.book``) and on the book's own ``common/`` and ``dataset/`` (in a temporary copy of the
book whose ``dataset/`` is given the MNIST files, so the book's loader converts rather than
downloads), and plots both runs' per-epoch accuracies into ``docs/book-train-neuralnet.png``.
Times are wall-clock seconds of one run each; on a shared machine they are indicative only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # the scripts' table of expected output is test data

from book_scripts_table import SCRIPTS, BookScript  # noqa: E402

DEFAULT_BOOK = next(
    (p / "shared" / "dlfs-book" for p in ROOT.parents[:2] if (p / "shared" / "dlfs-book").is_dir()),
    ROOT.parent / "shared" / "dlfs-book",
)

# Runs a script the way `python SCRIPT` does, after seeding np.random; "chainrule" serves the
# book's modules from chainrule, "book" lets the script import the book's own.
SEEDED_RUN = """\
import json, os, runpy, sys, time
import numpy as np
engine, script, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
np.random.seed(seed)
start = time.perf_counter()
if engine == "chainrule":
    from chainrule.book import run_script
    scope = run_script(script)
else:
    sys.argv = [script]
    sys.path.insert(0, os.getcwd())
    scope = runpy.run_path(script, run_name="__main__")
seconds = time.perf_counter() - start
curves = {k: [float(v) for v in scope[k]] for k in ("train_acc_list", "test_acc_list", "train_loss_list") if k in scope}
json.dump({"seconds": seconds, **curves}, open(out, "w"))
"""


def _env(limit: str = "") -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    env.pop("CHAINRULE_BOOK_MNIST_LIMIT", None)
    if limit:
        env["CHAINRULE_BOOK_MNIST_LIMIT"] = limit
    return env


def run_one(script: BookScript, book: Path, scratch: Path) -> tuple[str, float, int]:
    """(what it printed, in the summary's words; seconds; exit code)."""
    cwd = book / script.chapter
    if script.writes:
        cwd = scratch / script.chapter
        if not cwd.exists():
            shutil.copytree(book / script.chapter, cwd)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "chainrule.book", script.name], cwd=cwd, env=_env(),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    result = script.summary(done.stdout) if done.returncode == 0 else "FAILED: " + done.stderr.strip()[-300:]
    return result, seconds, done.returncode


def table(book: Path, only: list[str]) -> int:
    chosen = [s for s in SCRIPTS if not only or f"{s.chapter}/{s.name}" in only]
    print("| script | the book's code | chainrule | seconds |")
    print("|---|---|---|---|")
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for script in chosen:
            result, seconds, code = run_one(script, book, Path(scratch))
            failures += code != 0
            print(f"| {script.chapter}/{script.name} | {script.book_result} | {result} | {seconds:.1f} |", flush=True)
    return 1 if failures else 0


def compare(book: Path, name: str, seed: int, data: Path, figure: Path, keep_json: bool = False) -> int:
    chapter, file = name.split("/")
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "book"
        shutil.copytree(book, copy)
        for gz in sorted((data / "mnist").glob("*.gz")) or sorted(data.glob("*-ubyte.gz")):
            (copy / "dataset" / gz.name).symlink_to(gz)  # the book's loader converts these
        # the book's loader writes mnist.pkl once; make it now so neither timed run pays for it
        subprocess.run([sys.executable, "-c", "import mnist; mnist.init_mnist()"], cwd=copy / "dataset", check=True,
                       capture_output=True)
        # Both at once, so that a shared machine's load weighs on the two alike.
        running = {
            engine: subprocess.Popen([sys.executable, "-c", SEEDED_RUN, engine, file, str(seed), str(Path(scratch) / f"{engine}.json")],
                                     cwd=copy / chapter, env=_env(), stdout=subprocess.DEVNULL)
            for engine in ("book", "chainrule")
        }
        for engine, process in running.items():
            if process.wait() != 0:
                raise SystemExit(f"{engine} run of {name} failed")
            results[engine] = json.loads((Path(scratch) / f"{engine}.json").read_text())
            print(f"{engine}: {results[engine]['seconds']:.1f} s", flush=True)
    if keep_json:
        figure.with_suffix(".json").write_text(json.dumps({"script": name, "seed": seed, **results}))
    plot(results, name, seed, figure)
    return 0


def plot(results: dict, name: str, seed: int, figure: Path) -> None:
    """Left: both runs' accuracies per epoch. Right: how far apart their mini-batch losses are."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (acc_ax, diff_ax) = plt.subplots(1, 2, figsize=(11, 4))
    styles = {"book": dict(color="tab:gray", linewidth=5, alpha=0.45), "chainrule": dict(color="tab:blue", linewidth=1.2)}
    for engine, run in results.items():
        label = f"{'the book' if engine == 'book' else 'chainrule'}'s code, {run['seconds']:.0f} s"
        for key, dash in (("train_acc_list", "-"), ("test_acc_list", "--")):
            acc_ax.plot(run[key], dash, label=f"{key.split('_')[0]}: {label}", **styles[engine])
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title=f"{name}, np.random.seed({seed}): accuracy")
    acc_ax.legend(fontsize=8, loc="lower right")
    difference = np.abs(np.subtract(results["book"]["train_loss_list"], results["chainrule"]["train_loss_list"]))
    diff_ax.semilogy(np.maximum(difference, 1e-17), ".", markersize=1.5, color="tab:blue")
    diff_ax.set(xlabel="iteration", ylabel="|loss(book) - loss(chainrule)|",
                title="mini-batch loss: book minus chainrule")
    fig.text(0.5, 0.005, "both runs at the same time on a shared 2-core machine: the seconds are indicative only",
             ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(figure, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=Path(os.environ.get("CHAINRULE_BOOK_DIR", DEFAULT_BOOK)))
    parser.add_argument("--only", nargs="*", default=[], help="chapter/script names, e.g. ch05/train_neuralnet.py")
    parser.add_argument("--compare", metavar="SCRIPT", help="run SCRIPT on the book's code and on chainrule, and plot")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figure", type=Path, default=ROOT / "docs" / "book-train-neuralnet.png")
    parser.add_argument("--json", action="store_true", help="also keep both runs' curves beside the figure")
    args = parser.parse_args()
    if not (args.book / "common" / "layers.py").is_file():
        parser.error(f"the book's code is not at {args.book} (pass --book or set CHAINRULE_BOOK_DIR)")
    if args.compare:
        data = Path(os.environ.get("CHAINRULE_DATA", ""))
        if not data.is_dir():
            parser.error("--compare needs CHAINRULE_DATA (the book's loader is given the same MNIST files)")
        return compare(args.book, args.compare, args.seed, data, args.figure, args.json)
    return table(args.book, args.only)


if __name__ == "__main__":
    sys.exit(main())
