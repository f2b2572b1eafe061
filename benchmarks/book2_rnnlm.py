"""The sequel's ``ch06/train_rnnlm.py``, unchanged, on chainrule and on the book's own code: same seed.

    CHAINRULE_DATA=... python benchmarks/book2_rnnlm.py [--seed 1] [--threads N] [--limit WORDS]

Each run is its own process in its own scratch copy of ``ch06`` (the script writes ``Rnnlm.pkl``
beside itself): ``python -m chainrule.book --seed N train_rnnlm.py``, and the book's code after
``numpy.random.seed(N)`` with its ``dataset/`` holding the PTB texts of ``$CHAINRULE_DATA/ptb``
(its vocabulary and corpus caches are written there before the timing starts). Both draw the
same initial weights. Prints the test perplexity and the wall-clock seconds of each, and the
ratio of the times. ``--threads`` sets the BLAS threads of both processes.

``--limit N`` serves only the first N words of each PTB split to both (chainrule:
``CHAINRULE_BOOK_PTB_LIMIT``; the book: its ``ptb.load_data`` wrapped to slice what it returns),
for a quick check of the script itself; the figures to compare are the full-length ones (about
25 minutes for both runs on two quiet cores).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from book2_support import BOOK2  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))
from chainrule.threads import THREAD_VARIABLES  # noqa: E402

SCRIPT = "train_rnnlm.py"
PTB_TEXTS = ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")

# The book's code: seeded, its load_data sliced to --limit words (nothing when 0), run as __main__.
BOOK_RUN = """
import runpy, sys
import numpy
sys.path.insert(0, '.')
sys.path.insert(0, '..')
from dataset import ptb
limit = {limit}
if limit:
    full = ptb.load_data
    def load_data(data_type='train'):
        corpus, word_to_id, id_to_word = full(data_type)
        return corpus[:limit], word_to_id, id_to_word
    ptb.load_data = load_data
numpy.random.seed({seed})
sys.argv = ['{script}']
runpy.run_path('{script}', run_name='__main__')
"""
BOOK_CACHES = "import sys\nsys.path.insert(0, '..')\nfrom dataset import ptb\nfor part in ('train', 'test'):\n    ptb.load_data(part)\n"


def chapter_copy(book: Path, scratch: Path, ptb: Path | None) -> Path:
    """``scratch/ch06`` holding the chapter's scripts, beside the book's ``common/``; with ``ptb``,
    a ``dataset/`` of the book's modules and the PTB texts (for the book's own run)."""
    scratch.mkdir(parents=True)
    (scratch / "common").symlink_to(book.resolve() / "common", target_is_directory=True)
    if ptb is None:
        (scratch / "dataset").symlink_to(book.resolve() / "dataset", target_is_directory=True)
    else:
        (scratch / "dataset").mkdir()
        for module in (book / "dataset").glob("*.py"):
            shutil.copyfile(module, scratch / "dataset" / module.name)
        for text in PTB_TEXTS:
            (scratch / "dataset" / text).symlink_to(ptb / text)
    chapter = scratch / "ch06"
    chapter.mkdir()
    for file in (book / "ch06").glob("*.py"):
        shutil.copyfile(file, chapter / file.name)
    return chapter


def start(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], float, list[str]]:
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), \
        time.perf_counter(), command


def finish(started: tuple[subprocess.Popen[str], float, list[str]]) -> tuple[float, float]:
    """(test perplexity the script printed, wall-clock seconds); exits on a failed run."""
    process, start_time, command = started
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start_time
    found = re.search(r"test perplexity:\s+([0-9.eE+-]+|inf|nan)", stdout)
    if process.returncode != 0 or not found:
        sys.exit(f"{' '.join(command[:3])} failed (exit {process.returncode}):\n{stderr[-2000:]}")
    return float(found.group(1)), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=BOOK2, help="the sequel's folder (default: %(default)s)")
    parser.add_argument("--ptb", type=Path, default=Path(os.environ.get("CHAINRULE_DATA", ".")) / "ptb",
                        help="folder of ptb.{train,valid,test}.txt (default: $CHAINRULE_DATA/ptb)")
    parser.add_argument("--seed", type=int, default=1, help="np.random.seed of both runs (default: %(default)s)")
    parser.add_argument("--threads", type=int, help="BLAS threads of each run (default: the libraries' own)")
    parser.add_argument("--limit", type=int, default=0, metavar="WORDS",
                        help="only the first WORDS words of each split (a quick check; default: all)")
    parser.add_argument("--side-by-side", action="store_true",
                        help="run both at once (give --threads 1 on two cores): whatever else loads the machine "
                             "then slows both alike")
    args = parser.parse_args()
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be a positive integer, got {args.threads}")
    for option in ("seed", "limit"):
        if getattr(args, option) < 0:
            parser.error(f"--{option} must be 0 or more, got {getattr(args, option)}")
    missing = [text for text in PTB_TEXTS if not (args.ptb / text).is_file()]
    if missing or not (args.book / "ch06" / SCRIPT).is_file():
        sys.exit(f"needs the sequel at {args.book} and {', '.join(PTB_TEXTS)} in {args.ptb}")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
    env.pop("CHAINRULE_BOOK_PTB_LIMIT", None)
    if args.threads:
        env.update({variable: str(args.threads) for variable in THREAD_VARIABLES})
    ours_env = {**env, "CHAINRULE_DATA": str(args.ptb.parent)}
    if args.limit:
        ours_env["CHAINRULE_BOOK_PTB_LIMIT"] = str(args.limit)
    with tempfile.TemporaryDirectory() as scratch:
        ours_dir = chapter_copy(args.book, Path(scratch) / "chainrule", None)
        book_dir = chapter_copy(args.book, Path(scratch) / "book", args.ptb.resolve())
        subprocess.run([sys.executable, "-c", BOOK_CACHES], cwd=book_dir, env=env, check=True, capture_output=True)
        commands = {
            "chainrule book": ([sys.executable, "-m", "chainrule.book", "--seed", str(args.seed), SCRIPT], ours_dir, ours_env),
            "the book's code": ([sys.executable, "-c", BOOK_RUN.format(limit=args.limit, seed=args.seed, script=SCRIPT)],
                                book_dir, env),
        }
        if args.side_by_side:
            running = {name: start(*command) for name, command in commands.items()}
            results = {name: finish(started) for name, started in running.items()}
        else:
            results = {name: finish(start(*command)) for name, command in commands.items()}
    words = f"first {args.limit} words of each split" if args.limit else "all of PTB"
    together = ", side by side" if args.side_by_side else ", one after the other"
    print(f"ch06/{SCRIPT}, seed {args.seed}, {words}, threads {args.threads or 'default'}{together}")
    print("| run | test perplexity | seconds |")
    print("|---|---|---|")
    for name, (ppl, seconds) in results.items():
        print(f"| {name} | {ppl:.2f} | {seconds:.1f} |")
    ours, book = results["chainrule book"][1], results["the book's code"][1]
    print(f"the book's time / chainrule's: {book / ours:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
