"""The record of a training run: one row per epoch, written as JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr", "seconds")


@dataclass
class History:
    """Per-epoch metrics. ``train_*`` are means over the epoch's mini-batches (in training mode,
    as Keras reports them); ``val_*`` (the held-out validation split) and ``test_*`` are computed
    after the epoch in inference mode; NaN where that data was not given."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def append(self, **row: float) -> None:
        for name in COLUMNS:
            getattr(self, name).append(row.get(name, math.nan))

    def __len__(self) -> int:
        return len(self.epoch)

    def last(self) -> dict[str, float]:
        return {name: getattr(self, name)[-1] for name in COLUMNS} if self.epoch else {}

    def as_dict(self) -> dict[str, list[float]]:
        return asdict(self)

    def to_json(self) -> str:
        # NaN is not JSON; a metric that was not measured is written as null.
        clean = {k: [None if isinstance(v, float) and math.isnan(v) else v for v in vs] for k, vs in asdict(self).items()}
        return json.dumps(clean, indent=2)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(len(self)):
            writer.writerow([_fmt(getattr(self, name)[i]) for name in COLUMNS])
        return out.getvalue()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        """The inverse of :meth:`as_dict`; a column an older version did not record is NaN."""
        known = {f.name for f in fields(cls)}
        columns = {k: [math.nan if v is None else v for v in vs] for k, vs in data.items() if k in known}
        rows = len(columns.get("epoch", []))
        return cls(**{name: columns.get(name, [math.nan] * rows) for name in known})


def _fmt(value: float) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)
