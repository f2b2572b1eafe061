"""Downloading dataset files into the user's cache, safely.

A file appears in the cache only complete and checked: it is streamed into a temporary file in
the same folder, its size and digest are checked, and only then is it renamed into place
(``os.replace`` is atomic on one file system). An interrupted or corrupt download therefore never
leaves a file that a later run would trust.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import DataError
from .checksums import check_digest, check_size
from .sources import RemoteFile

URLOpener = Callable[..., Any]  # called as opener(url, timeout=...), like urllib's urlopen

DEFAULT_TIMEOUT = 30.0
_CHUNK = 64 * 1024


def default_cache_dir() -> Path:
    """``$CHAINRULE_CACHE``, else ``$XDG_CACHE_HOME/chainrule``, else ``~/.cache/chainrule``."""
    if os.environ.get("CHAINRULE_CACHE"):
        return Path(os.environ["CHAINRULE_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "chainrule"
    return Path.home() / ".cache" / "chainrule"


def download_file(
    remote: RemoteFile,
    mirrors: Sequence[str],
    dest: str | os.PathLike[str],
    *,
    urlopen: URLOpener | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
) -> Path:
    """Download ``remote`` to ``dest`` from the first of ``mirrors`` that serves a correct copy.

    ``mirrors`` are base URLs (``https://``, ``http://`` or ``file://``); the file name is
    appended. ``urlopen`` defaults to :func:`urllib.request.urlopen` and can be replaced, e.g. in
    tests. Raises :class:`DataError` listing every URL tried and why it failed.
    """
    dest = Path(dest)
    opener = urlopen if urlopen is not None else urllib.request.urlopen
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + remote.name
        try:
            _fetch(url, remote, dest, opener, timeout, progress)
            return dest
        except (OSError, http.client.HTTPException, ValueError) as exc:  # DataError included
            failures.append(f"  {url}: {_reason(exc)}")
    raise DataError(
        f"could not download {remote.name}: "
        + ("no mirrors configured" if not failures else "every mirror failed:\n")
        + "\n".join(failures)
    )


def _fetch(
    url: str, remote: RemoteFile, dest: Path, opener: URLOpener, timeout: float, progress: bool
) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    # Hash while streaming: one pass over the bytes instead of reading the file back.
    hasher = hashlib.new(remote.digest[0]) if remote.digest else None
    size = 0
    try:
        with os.fdopen(fd, "wb") as out, opener(url, timeout=timeout) as response:
            with tqdm(
                total=_content_length(response) or remote.size,
                desc=remote.name,
                unit="B",
                unit_scale=True,
                disable=not progress,
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                    if hasher is not None:
                        hasher.update(chunk)
                    bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        check_size("downloaded file", remote, size)
        if hasher is not None:
            check_digest("downloaded file", remote, hasher.hexdigest())
        os.replace(tmp_name, dest)
    except BaseException:
        # Anything, even Ctrl-C, must not leave a half-written file behind.
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)


def _content_length(response: Any) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    return int(value) if value and value.isdigit() else None


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not possible (nor needed) on every platform."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):  # wraps the socket or file error in .reason
        return str(exc.reason)
    if isinstance(exc, DataError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
