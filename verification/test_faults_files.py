"""Faults lose nothing: temporary files, stale files of killed runs, concurrent downloads.

Contract pinned here, with simulated faults (calls that raise KeyboardInterrupt, local HTTP servers
on 127.0.0.1, threads downloading at once):

- ``atomic_write`` (reports, downloads, models) replaces its file only when the block succeeds and
  leaves no temporary file whichever step an interrupt hits, the creation of the temporary file
  included; it keeps the permissions of the file it replaces.
- A download removes the temporary files of killed runs, only when it has something to fetch; a
  complete folder is never written to, even read-only.
- Downloads into one folder hold a lock: concurrent downloads fetch each file once (without
  ``fcntl`` they still end with complete files). The error of a failed download lists only the
  files still missing.
"""

from __future__ import annotations

import builtins
import os
import stat
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from nplearn import _download, atomic, data
from nplearn.atomic import atomic_write, atomic_write_bytes, atomic_write_text
from nplearn.data import DATASETS, DatasetSpec
from verification.datafakes import (
    leftovers,
    make_dataset,
    raises_data_error,
    serve,
    serve_folder,
)

# ------------------------------------------------------------------------- temporary files


STAGES = ["open", "write", "fsync", "chmod", "replace"]


@pytest.mark.parametrize("stage", STAGES)
def test_an_interrupt_at_any_stage_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    """KeyboardInterrupt inside the temp file's creation, a write, fsync, chmod or the rename."""
    target = tmp_path / "report.md"
    target.write_text("old")

    def interrupt_after(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            real(*args, **kwargs)  # the step happens (a file may be created), then Ctrl-C
            raise KeyboardInterrupt

        return call

    if stage == "open":  # the moment between the file's creation and its use
        monkeypatch.setattr(atomic, "open", interrupt_after(builtins.open), raising=False)
    elif stage in ("fsync", "chmod", "replace"):
        monkeypatch.setattr(atomic.os, stage, interrupt_after(getattr(os, stage)))
    with pytest.raises(KeyboardInterrupt), atomic_write(target) as f:
        f.write("new")
        if stage == "write":
            raise KeyboardInterrupt
    expected = "new" if stage == "replace" else "old"
    assert target.read_text() == expected and leftovers(tmp_path) == [target]


def test_an_interrupted_download_leaves_no_temporary_file(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while a body streams in: the interrupt propagates, no file is left."""
    mirror, _ = tiny

    def interrupted(url: str, out: Any, **kwargs: Any) -> None:
        out.write(b"\x1f\x8b partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(_download, "_stream", interrupted)
    with serve_folder(mirror) as url, pytest.raises(KeyboardInterrupt):
        data.download("tiny", tmp_path / "data", mirrors=[url], progress=False)
    assert leftovers(tmp_path / "data") == []


def test_stale_temporary_files_are_removed_only_by_a_download(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]]
) -> None:
    """Killed runs' temp files survive loads that fetch nothing, and go with the next fetch."""
    mirror, _ = tiny
    folder = tmp_path / "data" / "tiny"
    make_dataset(folder)
    stale = [folder / f".{file}.0123abcd.tmp" for file in ("t10k-images-idx3-ubyte.gz",
                                                           "train-labels-idx1-ubyte.gz")]
    for path in stale:
        path.write_bytes(b"left by a killed download")
    data.load_mnist(tmp_path / "data", name="tiny", download=True)
    assert all(path.exists() for path in stale)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with serve_folder(mirror) as url:
        assert data.download("tiny", tmp_path / "data", mirrors=[url], progress=False)
    assert not any(path.exists() for path in stale) and len(leftovers(folder)) == 4


def test_a_complete_read_only_folder_is_never_written(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]]
) -> None:
    """All files present and valid: loading writes nothing (no lock, no cleanup), even read-only."""
    folder = tmp_path / "data" / "tiny"
    make_dataset(folder)
    listing = sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir())
    for path in (folder, folder.parent):
        path.chmod(0o555)
    try:
        data.load_mnist(tmp_path / "data", name="tiny", download=True)
        assert data.download("tiny", tmp_path / "data", mirrors=["http://127.0.0.1:9/"]) == []
    finally:
        for path in (folder.parent, folder):
            path.chmod(0o755)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir()) == listing


# ------------------------------------------------------------------------ concurrent downloads


class CountingFiles(SimpleHTTPRequestHandler):
    """Serves a folder slowly, counting GET requests per path."""

    counts: ClassVar[dict[str, int]] = {}
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.counts[self.path] = self.counts.get(self.path, 0) + 1
        threading.Event().wait(0.05)  # long enough for the other downloader to arrive
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("locking", [True, False], ids=["fcntl", "no-fcntl"])
def test_concurrent_downloads_fetch_each_file_once(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch,
    locking: bool,
) -> None:
    """Two downloads of one data set at once: with the lock each file is fetched once and both
    succeed; without fcntl both succeed with complete files (the work is only duplicated)."""
    mirror, payloads = tiny
    if not locking:
        monkeypatch.setattr(_download, "fcntl", None)
    CountingFiles.counts = {}
    handler = type("Handler", (CountingFiles,), {"__init__": _serving(mirror)})
    results: list[Any] = []

    def download() -> None:
        try:
            results.append(data.download("tiny", tmp_path / "data", mirrors=[url], progress=False))
        except BaseException as exc:  # reported by the assertion below
            results.append(exc)

    with serve(handler) as url:
        threads = [threading.Thread(target=download) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert all(isinstance(result, list) for result in results), results
    x_train, _, _, _ = data.load_mnist(tmp_path / "data", name="tiny", download=False)
    assert x_train.tobytes() == payloads["train-images"][16:]
    assert len(leftovers(tmp_path / "data")) == 4
    if locking:
        assert sorted(len(result) for result in results) == [0, 4]
        assert sorted(CountingFiles.counts.values()) == [1, 1, 1, 1]


def _serving(folder: Path) -> Callable[..., None]:
    def init(self: SimpleHTTPRequestHandler, *args: Any, **kwargs: Any) -> None:
        SimpleHTTPRequestHandler.__init__(self, *args, directory=str(folder), **kwargs)

    return init


def test_the_download_error_lists_only_the_files_still_missing(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mirror has the training files only: the error names the test files alone."""
    mirror, _ = tiny
    for file in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (mirror / file).unlink()
    with serve_folder(mirror) as url:
        monkeypatch.setitem(DATASETS, "tiny", DatasetSpec("tiny", DATASETS["tiny"].files, (url,)))
        with raises_data_error(
            "missing t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz in",
            url + "t10k-images-idx3-ubyte.gz: HTTP 404",
        ) as info:
            data.load_mnist(tmp_path / "data", name="tiny")
    assert "train-images" not in str(info.value).split("\n")[0]
    assert len(leftovers(tmp_path / "data")) == 2


# -------------------------------------------------------------------------------- atomic writes


def test_atomic_write_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.md"
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("half a report")
        raise RuntimeError("boom")
    assert leftovers(tmp_path) == []


def test_atomic_write_failure_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_write(target, "wb") as f:
        f.write(b"new")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == [target]


def test_atomic_write_replaces_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "r.md"
    atomic_write_text(target, "first ü\n")
    reference = tmp_path / "reference"
    reference.write_text("")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)
    target.chmod(0o640)
    with atomic_write(target) as f:
        f.write("second\n")
    assert target.read_text(encoding="utf-8") == "second\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(leftovers(tmp_path)) == sorted([target, reference])


def test_atomic_write_tolerates_a_closed_file(tmp_path: Path) -> None:
    target = tmp_path / "closed.bin"
    with atomic_write(target, "wb") as f:
        f.write(b"done")
        f.close()  # some writers close the file they were given
    assert target.read_bytes() == b"done" and leftovers(tmp_path) == [target]


def test_atomic_write_rejects_non_write_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="write mode"), atomic_write(tmp_path / "x", "a"):
        pass
    assert leftovers(tmp_path) == []
