"""Fetch one file over HTTP(S), trying mirrors in order, and put it in place only once checked.

Contract
--------
``fetch(urls, dest, check=...)`` either leaves a complete file at ``dest`` that passed ``check``, or
leaves nothing at all (no partial file, no temporary file) and raises :class:`DownloadError` listing
every URL tried and why it failed. A body shorter than its ``Content-Length`` (a dropped connection)
counts as a failure even though ``urllib`` does not report it. This module knows nothing about data
sets; ``nplearn.data`` supplies the URLs and the check (the payload SHA-256).

``download_lock(folder)`` serialises downloads into one folder between processes, with an exclusive
``fcntl.flock`` on ``folder/.download.lock``: a second process waits, then finds the files already
there. ``remove_stale_temps(dest)`` deletes the temporary files that killed runs left beside
``dest``; call it only while holding the lock, when no other download can be writing them. Where
``fcntl`` does not exist (Windows) there is no lock: two processes may then fetch the same file,
each into its own temporary file, and the rename still leaves one complete, checked file; stale
temporary files are then left alone, since they cannot be told from another process's live ones.
"""

from __future__ import annotations

import contextlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from tqdm import tqdm

from nplearn.atomic import atomic_write, temp_pattern

try:
    import fcntl
except ImportError:  # Windows: no advisory locks in the standard library
    fcntl = None  # type: ignore[assignment]

CHUNK_BYTES = 1 << 16
LOCK_NAME = ".download.lock"


class DownloadError(OSError):
    """Every URL failed; ``failures`` holds one ``"url: reason"`` line per URL tried."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("\n".join(failures))
        self.failures = failures


def fetch(
    urls: Sequence[str],
    dest: Path,
    *,
    check: Callable[[Path], None],
    timeout: float = 30.0,
    progress: bool = True,
) -> str:
    """Download the first URL that works into ``dest``, atomically.

    Args:
        urls: Candidate URLs of the same file, tried in order.
        dest: Where the file goes; its folder is created if needed.
        check: Called with the path of the complete temporary file; raises ``ValueError`` if the
            content is wrong (the next URL is then tried).
        timeout: Seconds to wait for the server at each network operation.
        progress: Show a tqdm progress bar on stderr.

    Returns:
        The URL the file came from.

    Raises:
        DownloadError: If every URL failed; nothing is left at ``dest``.
    """
    failures = [] if urls else ["(no mirror URL to try)"]
    for url in urls:
        try:
            with atomic_write(dest, "wb") as out:
                _stream(url, out, timeout=timeout, progress=progress, label=dest.name)
                out.flush()
                check(Path(out.name))
            return url
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failures.append(f"{url}: {_reason(exc)}")
    raise DownloadError(failures)


@contextlib.contextmanager
def download_lock(folder: Path) -> Iterator[bool]:
    """Hold the exclusive download lock of ``folder`` (created if needed), waiting for it.

    Args:
        folder: The folder the files are downloaded into.

    Returns:
        A context manager yielding True if the lock is held, False where ``fcntl`` is missing.

    Raises:
        OSError: If the folder or its lock file cannot be created (e.g. a read-only folder).
    """
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield False
        return
    with open(folder / LOCK_NAME, "ab") as handle:  # closing the file releases the lock
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield True


def remove_stale_temps(dest: Path) -> None:
    """Delete temporary files of ``dest`` left by killed runs; never raises."""
    with contextlib.suppress(OSError):
        for stale in dest.parent.glob(temp_pattern(dest)):
            with contextlib.suppress(OSError):
                stale.unlink()


def _stream(url: str, out: IO[bytes], *, timeout: float, progress: bool, label: str) -> None:
    """Copy the body of ``url`` into ``out``; raise ``ConnectionError`` if it arrives incomplete."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length", "")
        expected = int(length) if length.isdigit() else None
        received = 0
        with tqdm(
            total=expected,
            desc=label,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=not progress,
            leave=False,
        ) as bar:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received != expected:
        raise ConnectionError(
            f"connection closed after {received} of {expected} bytes (Content-Length)"
        )


def _reason(exc: BaseException) -> str:
    """A short human-readable reason for a failed URL."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect ({exc.reason})"
    if isinstance(exc, ValueError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
