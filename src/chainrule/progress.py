"""Progress bars for long loops (downloads, training epochs).

chainrule depends on NumPy only, so :func:`progress_bar` returns a tqdm bar when tqdm is installed
and otherwise :class:`TextProgressBar`, a small stand-in with the part of tqdm's interface that
chainrule uses. Code that draws progress calls :func:`progress_bar` and never imports tqdm itself.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any, Protocol

try:  # tqdm is optional (the `progress` extra).
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the environment
    _tqdm = None


class ProgressBar(Protocol):
    """What callers may rely on, whichever implementation :func:`progress_bar` picked."""

    n: float
    total: float | None

    def __iter__(self) -> Iterator[Any]: ...
    def update(self, n: float = 1) -> Any: ...
    def set_postfix(
        self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True, **kwargs: Any
    ) -> None: ...
    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Any: ...
    def __exit__(self, *exc_info: object) -> Any: ...


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    enabled: bool | None = True,
    leave: bool = True,
    file: IO[str] | None = None,
    unit_scale: bool = False,
) -> ProgressBar:
    """A tqdm bar if tqdm is installed, else a :class:`TextProgressBar` with the same arguments.

    ``enabled=None`` draws only when the output is a terminal. ``enabled=False`` gives a bar that still iterates and counts but prints nothing, so callers
    need no ``if verbose`` around their loops. ``unit_scale=True`` writes 1.2M instead of 1200000
    (meant for bytes, with ``unit="B"``).
    """
    # enabled=None: draw only on a terminal. A bar redrawn hundreds of times per epoch turns a
    # log file or a CI transcript into megabytes of noise; callers' summary lines still appear.
    if enabled is None:
        enabled = _is_terminal(file if file is not None else sys.stderr)
    options = dict(total=total, desc=desc, unit=unit, leave=leave, file=file, unit_scale=unit_scale)
    if _tqdm is not None:
        return _tqdm(iterable, disable=not enabled, **options)  # type: ignore[no-any-return]
    return TextProgressBar(iterable, enabled=enabled, **options)  # type: ignore[arg-type]


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class TextProgressBar:
    """A one-line bar redrawn in place with a carriage return.

    Redraws at most every ``min_interval`` seconds: a training loop may call :meth:`update`
    thousands of times a second, and writing to a terminal that often would slow it down.
    """

    min_interval = 0.2
    bar_width = 20

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        *,
        total: float | None = None,
        desc: str = "",
        unit: str = "it",
        enabled: bool = True,
        leave: bool = True,
        file: IO[str] | None = None,
        unit_scale: bool = False,
    ) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:  # a generator: count without a percentage
                total = None
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit
        self.disable = not enabled
        self.leave = leave
        self.unit_scale = unit_scale
        self.n: float = 0
        self.postfix = ""
        self._file = file
        self._start = time.monotonic()
        self._last_draw = -math.inf
        self._drawn_width = 0
        self._drawn_state: tuple[float, str] | None = None  # (n, postfix) on screen now
        self._closed = False

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("this progress bar was created without an iterable to iterate over")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> TextProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        """Advance by ``n`` (items, bytes, ...)."""
        self.n += n
        finished = self.total is not None and self.n >= self.total
        self._draw(force=finished)

    def set_postfix(
        self, ordered_dict: Mapping[str, Any] | None = None, refresh: bool = True, **kwargs: Any
    ) -> None:
        """Show ``key=value`` pairs after the bar, e.g. the running loss."""
        items = {**(ordered_dict or {}), **kwargs}
        self.set_postfix_str(
            ", ".join(f"{key}={_format_value(value)}" for key, value in items.items()), refresh
        )

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s
        if refresh:
            self._draw(force=False)

    def close(self) -> None:
        """Draw the final state and end the line (or erase it when ``leave=False``)."""
        if self._closed:
            return
        self._closed = True
        if self.disable:
            return
        if self._drawn_state != (self.n, self.postfix):
            self._draw(force=True)
        out = self._out()
        if self.leave:
            out.write("\n")
        else:
            out.write("\r" + " " * self._drawn_width + "\r")
        out.flush()

    def format_line(self, now: float | None = None) -> str:
        """The text of the bar as it would be drawn at time ``now``."""
        elapsed = (time.monotonic() if now is None else now) - self._start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        stats = [_format_time(elapsed), f"{self._rate(rate)}{self.unit}/s"]
        if self.postfix:
            stats.append(self.postfix)
        prefix = f"{self.desc}: " if self.desc else ""
        if not self.total:  # unknown (or zero) total: a counter, no bar
            return f"{prefix}{self._count(self.n)}{self.unit} [{', '.join(stats)}]"
        fraction = min(max(self.n / self.total, 0.0), 1.0)
        filled = int(fraction * self.bar_width)
        remaining = (self.total - self.n) / rate if rate > 0 else math.nan
        stats[0] += f"<{_format_time(remaining)}"
        return (
            f"{prefix}{fraction:4.0%}|{'#' * filled}{'-' * (self.bar_width - filled)}| "
            f"{self._count(self.n)}/{self._count(self.total)} [{', '.join(stats)}]"
        )

    def _draw(self, *, force: bool) -> None:
        if self.disable:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        line = self.format_line(now)
        out = self._out()
        # Pad with spaces so a shorter line fully covers the previous, longer one.
        out.write("\r" + line + " " * max(0, self._drawn_width - len(line)))
        out.flush()
        self._drawn_width = len(line)
        self._drawn_state = (self.n, self.postfix)

    def _out(self) -> IO[str]:
        # Looked up at draw time, not stored, so redirected or captured stderr is honoured.
        return self._file if self._file is not None else sys.stderr

    def _count(self, x: float) -> str:
        if self.unit_scale:
            for suffix in ("", "k", "M", "G", "T"):
                if abs(x) < 999.5:
                    return f"{x:.3g}{suffix}"
                x /= 1000
            return f"{x:.3g}P"
        return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}"

    def _rate(self, rate: float) -> str:
        if self.unit_scale:
            return self._count(rate)
        return f"{rate:.2f}" if rate < 100 else f"{rate:.0f}"


def _format_value(value: Any) -> str:
    # numbers.Real also covers NumPy scalars, which a loss usually is.
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{value:.4g}"
    return str(value)


def _format_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
