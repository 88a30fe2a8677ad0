"""Atomic file writing: a file either appears complete or does not change at all.

Contract
--------
``atomic_write(path)`` writes into a temporary file in the same folder as ``path`` and, only when
the ``with`` block ends without an exception, flushes it to disk (``fsync``) and renames it onto
``path`` with ``os.replace`` (atomic on POSIX and Windows when both are on one file system). Readers
therefore see either the old file or the new one, never a half-written file. If anything raises
(including ``KeyboardInterrupt``, at any point from the creation of the temporary file to the
rename), the temporary file is removed and ``path`` is left untouched. Only a killed process
leaves its temporary file ``.<name>.<random>.tmp`` (:func:`temp_pattern`) behind.
Missing parent folders are created. The new file gets the usual permissions of a new file
(``0o666`` minus the umask), or keeps those of the file it replaces.

Used by the data downloader and by every report writer, e.g.::

    with atomic_write("reports/loss.png", "wb") as f:
        fig.savefig(f, format="png")
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _process_umask() -> int:
    """Return the process umask (``os.umask`` can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _process_umask()
TEMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "w", **open_kwargs: Any
) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` atomically when the block succeeds.

    Args:
        path: The file to create or replace.
        mode: A write mode: ``"w"`` (text, the default) or ``"wb"`` (binary), optionally with
            ``"+"``. Text mode defaults to ``encoding="utf-8"``.
        **open_kwargs: Passed to :func:`open` (``encoding``, ``newline``, ``errors``,
            ``buffering``).

    Returns:
        A context manager yielding the open temporary file object. Its ``name`` attribute is the
        temporary path, which may be read back (e.g. to verify it) before the block ends.

    Raises:
        ValueError: If ``mode`` is not a write mode (``"w..."``).
        OSError: If the folder cannot be created or the file cannot be written or renamed; the
            temporary file is removed in that case too.
    """
    if not mode.startswith("w"):
        raise ValueError(f"atomic_write needs a write mode ('w' or 'wb'), got {mode!r}")
    if "b" not in mode:
        open_kwargs.setdefault("encoding", "utf-8")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name is bound before the file exists, so that whatever moment an interrupt
    # arrives at, the handler below knows which file to remove.
    tmp_name: Path | None = None
    try:
        for _ in range(100):
            tmp_name = _temp_name(target)
            try:
                tmp = open(tmp_name, "x" + mode[1:], **open_kwargs)
                break
            except FileExistsError:  # another file has this random name: draw again
                tmp_name = None
        else:
            raise FileExistsError(f"no free temporary file name beside {target}")
        with tmp:
            yield tmp
            if not tmp.closed:  # the caller may have closed it already
                tmp.flush()
                os.fsync(tmp.fileno())
        os.chmod(tmp_name, _permissions_for(target))
        os.replace(tmp_name, target)
    except BaseException:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        raise
    _fsync_folder(target.parent)


def temp_pattern(target: Path) -> str:
    """The glob pattern of :func:`atomic_write`'s temporary files for ``target``."""
    return f".{target.name}.*{TEMP_SUFFIX}"


def _temp_name(target: Path) -> Path:
    """A fresh name ``.<name>.<random>.tmp`` beside ``target``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(8)}{TEMP_SUFFIX}")


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`).

    Args:
        path: The file to create or replace.
        text: The whole new content.
        encoding: The text encoding.

    Raises:
        OSError: If the file cannot be written; ``path`` is then unchanged.
    """
    with atomic_write(path, "w", encoding=encoding) as f:
        f.write(text)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`).

    Args:
        path: The file to create or replace.
        data: The whole new content.

    Raises:
        OSError: If the file cannot be written; ``path`` is then unchanged.
    """
    with atomic_write(path, "wb") as f:
        f.write(data)


def _permissions_for(target: Path) -> int:
    """Permissions of the file being replaced, else those ``open()`` would give a new file."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable by syncing the folder entry (best effort; POSIX only)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
