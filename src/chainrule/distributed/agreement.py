"""Before training, the ranks of a job agree that they can start together, or all stop with one message.

A rank that stops alone (a bad option, a data folder missing on its node) leaves the others
waiting in their next collective forever. Ranks that loaded different data fail later and
obscurely (a different sample count ends in MPI's "Message truncated") or not at all (different
labels train a model on a mixture of two datasets, silently worse). So each stage that can fail
or differ per rank ends in one ``Allgather`` of every rank's outcome, its error or a few facts
(the options; the data's sizes and a fingerprint of its contents); every rank reaches the same
verdict from the same reports, and either all go on or all raise the same
:class:`RanksDisagree`, which names the rank and what differs.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..backend import Array, to_numpy
from ..errors import ChainruleError, ConfigError, DataDirError, UsageError
from .communicator import Communicator

T = TypeVar("T")
# Bytes of one array hashed in full; a larger one (the images) is hashed every k-th sample.
FINGERPRINT_BYTES = 8 * 2**20
MAX_RANKS_NAMED = 3


class RanksDisagree(ChainruleError):
    """The ranks cannot train together; every rank raises it, with the same message.

    ``usage``: a rank's options were at fault (a command line exits with status 2).
    """

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass
class Attempt(Generic[T]):
    """What a step gave on this rank: its value, or the error it raised."""

    value: T | None = None
    error: Exception | None = None

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def attempt(work: Callable[[], T]) -> Attempt[T]:
    """Run ``work``, keeping a chainrule error (or an unreadable file) to report instead of raising it."""
    try:
        return Attempt(work())
    except (ChainruleError, OSError) as error:
        return Attempt(error=error)


def agree(
    communicator: Communicator | None, what: str, outcome: Attempt[T], facts: Callable[[T], dict[str, Any]],
    where: str = "",
) -> T:
    """``outcome``'s value, once every rank has succeeded and reports the same ``facts`` as rank 0.

    One ``Allgather`` of every rank's error or ``facts(value)`` (JSON values); ``where`` (e.g.
    the folder the data came from) is shown beside a rank's name, not compared. Otherwise every
    rank raises the same :class:`RanksDisagree`. Without a communicator, or alone, it only
    raises this rank's own error.
    """
    if communicator is None or communicator.size == 1:
        return outcome.result()
    error = outcome.error
    report = {"where": where, "error": None if error is None else str(error) or type(error).__name__,
              "usage": isinstance(error, (UsageError, ConfigError, DataDirError)),
              "facts": facts(outcome.value) if error is None else None}  # type: ignore[arg-type]
    verdict = disagreement([json.loads(text) for text in communicator.allgather_text(json.dumps(report))], what)
    if verdict is not None:
        raise RanksDisagree(*verdict)
    return outcome.result()


def disagreement(reports: list[dict[str, Any]], what: str) -> tuple[str, bool] | None:
    """The verdict on every rank's report (rank 0's facts are the reference): None if all agree,
    else the message naming the ranks that failed or differ, and whether options were at fault."""
    def rank(number: int) -> str:
        where = reports[number]["where"]
        return f"rank {number}" + (f" ({where})" if where else "")

    failed = [number for number, report in enumerate(reports) if report["error"] is not None]
    if failed:
        return (_some([f"{rank(number)} failed ({what}): {reports[number]['error']}" for number in failed]),
                any(reports[number]["usage"] for number in failed))
    reference = reports[0]["facts"]
    differences = [
        f"{key} {_show(report['facts'].get(key))} on {rank(number)}, {_show(reference.get(key))} on {rank(0)}"
        for number, report in enumerate(reports[1:], 1)
        for key in {**reference, **report["facts"]} if report["facts"].get(key) != reference.get(key)
    ]
    if differences:
        return f"{what} differ between ranks: " + _some(differences), what == "options"
    return None


def fingerprint(*arrays: Array) -> str:
    """A short hash of the arrays' dtypes, shapes and contents: all of a small array (the labels),
    every k-th sample of a large one (the images), so that it costs milliseconds, not a pass over
    hundreds of megabytes."""
    digest = hashlib.sha256()
    for array in arrays:
        array = to_numpy(array)
        step = max(1, math.ceil(array.nbytes / FINGERPRINT_BYTES))
        digest.update(f"{array.dtype.str}{array.shape}{step}".encode())
        digest.update(array[::step].tobytes())  # tobytes: a C-ordered copy, whatever the strides
    return digest.hexdigest()[:16]


def _show(value: Any) -> str:
    return "not given" if value is None else str(value)


def _some(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_RANKS_NAMED])
    return shown + (f"; and {len(items) - MAX_RANKS_NAMED} more" if len(items) > MAX_RANKS_NAMED else "")
