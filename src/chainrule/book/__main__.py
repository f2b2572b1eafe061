"""``python -m chainrule.book SCRIPT [ARGS...]``: run one of the book's scripts on chainrule."""

from __future__ import annotations

import sys

from ..errors import ChainruleError, UsageError
from .runner import run_script

USAGE = "usage: python -m chainrule.book [--seed N] SCRIPT [ARGS...]   (from the book's chapter folder, e.g. ch05)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    seed = None
    try:
        if argv[0] == "--seed":  # np.random.seed(N) first, as `chainrule book --seed N`
            if len(argv) < 3 or not argv[1].isdigit():
                raise UsageError(f"--seed takes a whole number and a script follows it; {USAGE}")
            seed, argv = int(argv[1]), argv[2:]
        run_script(argv[0], argv[1:], seed=seed)
    except ChainruleError as error:
        print(f"chainrule.book: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
