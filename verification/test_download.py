"""Tests of nplearn.data's downloader and of ``python -m nplearn.data``, against local mirrors.

Files come from HTTP servers on 127.0.0.1 (``verification/datafakes.py``): a download fetches the
missing files only, tries ``NPLEARN_MIRROR`` first and the mirrors in order, and leaves no partial
or temporary file after a corrupt, truncated or refused body; its errors name every URL tried.
The command line verifies and exits 0, or prints a short message and exits 1.
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from nplearn import _fetch, data
from nplearn.data import DATASETS, DatasetSpec
from verification.datafakes import (
    ShortBody,
    idx_bytes,
    leftovers,
    make_dataset,
    raises_data_error,
    rng_images,
    serve,
    serve_folder,
)

# ---------------------------------------------------------------------------------- downloader


def test_download_then_load(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    mirror, payloads = tiny
    root = tmp_path / "data"
    with serve_folder(mirror) as url:
        fetched = data.download("tiny", root, mirrors=[url], progress=True)
        assert sorted(p.name for p in fetched) == sorted(
            file for file, _ in DATASETS["tiny"].files.values()
        )
        assert data.download("tiny", root, mirrors=[url]) == []  # nothing missing any more
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err  # the progress bar
    assert sorted(leftovers(root)) == sorted(fetched)  # no temporary files
    x_train, y_train, _, _ = data.load_mnist(root, name="tiny", download=False)
    assert x_train.tobytes() == payloads["train-images"][16:] and y_train.tolist() == [
        0,
        1,
        2,
        3,
        4,
        5,
    ]


def test_load_mnist_downloads_missing_files(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror, _ = tiny
    with serve_folder(tmp_path / "empty") as dead, serve_folder(mirror) as good:
        monkeypatch.setitem(
            DATASETS, "tiny", DatasetSpec("tiny", DATASETS["tiny"].files, (dead, good))
        )
        x_train, _, x_test, _ = data.load_mnist(tmp_path / "data", name="tiny")  # first mirror 404s
    assert x_train.shape == (6, 784) and x_test.shape == (4, 784)


def test_download_real_files(tmp_path: Path, real_data: Path) -> None:
    source = real_data / "mnist"
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for file in source.iterdir():
        (mirror / file.name).symlink_to(file)  # serve the read-only originals, no copies
    with serve_folder(mirror) as url:
        fetched = data.download("mnist", tmp_path / "data", mirrors=[url], progress=False)
    assert len(fetched) == 4
    assert all(path.read_bytes() == (source / path.name).read_bytes() for path in fetched)


CORRUPT_BODIES = {
    "not-gzip": (b"just some bytes", "checksum mismatch"),
    "bad-gzip": (b"\x1f\x8b\x08\x00garbage after a gzip magic", "corrupt gzip"),
    "truncated-gzip": (gzip.compress(idx_bytes(rng_images(3)))[:-20], "truncated gzip"),
    "wrong-content": (gzip.compress(idx_bytes(rng_images(3, seed=9))), "checksum mismatch"),
}


@pytest.mark.parametrize("body", CORRUPT_BODIES)
def test_download_corrupt_body_leaves_nothing(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]], body: str
) -> None:
    content, what = CORRUPT_BODIES[body]
    bad = tmp_path / "bad"
    bad.mkdir()
    for file, _ in DATASETS["tiny"].files.values():
        (bad / file).write_bytes(content)
    with serve_folder(bad) as url, raises_data_error(url + "train-images-idx3-ubyte.gz", what):
        data.download("tiny", tmp_path / "data", mirrors=[url], progress=False)
    assert leftovers(tmp_path / "data") == []


def test_download_interrupted_leaves_nothing(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]]
) -> None:
    with (
        serve(ShortBody) as url,
        raises_data_error(url, "connection closed after 10 of 1000 bytes"),
    ):
        data.download("tiny", tmp_path / "data", mirrors=[url], progress=False)
    assert leftovers(tmp_path / "data") == []


def test_download_http_errors_name_every_url(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]]
) -> None:
    with serve_folder(tmp_path / "empty") as url:
        with socket.socket() as sock:  # a port with nothing listening
            sock.bind(("127.0.0.1", 0))
            refused = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        with raises_data_error(
            url + "train-images-idx3-ubyte.gz: HTTP 404",
            refused + "train-images-idx3-ubyte.gz: cannot connect",
        ):
            data.download("tiny", tmp_path / "data", mirrors=[url, refused], progress=False)
    assert leftovers(tmp_path / "data") == []


def test_load_mnist_reports_failed_download(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_folder(tmp_path / "empty") as url:
        monkeypatch.setitem(DATASETS, "tiny", DatasetSpec("tiny", DATASETS["tiny"].files, (url,)))
        with raises_data_error(
            "missing train-images-idx3-ubyte.gz",
            tmp_path / "data" / "tiny",
            "NPLEARN_DATA_DIR",
            url + "train-images-idx3-ubyte.gz: HTTP 404",
        ):
            data.load_mnist(tmp_path / "data", name="tiny")


def test_nplearn_mirror_is_tried_first(
    tmp_path: Path, tiny: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """NPLEARN_MIRROR=<base> serves <base>/<data set>/<file>, ahead of the registry's mirrors."""
    mirror, _ = tiny
    layout = tmp_path / "cache"
    (layout / "tiny").mkdir(parents=True)
    for file in mirror.iterdir():
        (layout / "tiny" / file.name).symlink_to(file)
    with serve_folder(tmp_path / "empty") as registry_mirror, serve_folder(layout) as base:
        spec = DatasetSpec("tiny", DATASETS["tiny"].files, (registry_mirror,))
        monkeypatch.setitem(DATASETS, "tiny", spec)
        monkeypatch.setenv("NPLEARN_MIRROR", base.rstrip("/"))
        assert data.mirrors_for(spec) == (base + "tiny/", registry_mirror)
        x_train, _, _, _ = data.load_mnist(tmp_path / "data", name="tiny")
    assert x_train.shape == (6, 784)


def test_command_line_verifies_and_reports_in_short(
    tmp_path: Path,
    tiny: tuple[Path, dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``python -m nplearn.data``: 0 with every file verified; offline, 1 and a short message."""
    monkeypatch.setenv("NPLEARN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NPLEARN_MIRROR", "http://127.0.0.1:9")  # the discard port: refused
    monkeypatch.setitem(DATASETS, "tiny", DatasetSpec("tiny", DATASETS["tiny"].files, ()))
    assert _fetch.main(data.load_mnist, data.data_dir, ["tiny"]) == 1
    err = capsys.readouterr().err
    for part in ("missing train-images-idx3-ubyte.gz", str(tmp_path / "data" / "tiny"),
                 "NPLEARN_DATA_DIR", "NPLEARN_MIRROR", "http://127.0.0.1:9/tiny/"):
        assert part in err
    assert "Traceback" not in err and len(err.splitlines()) <= 6
    make_dataset(tmp_path / "data" / "tiny")
    assert _fetch.main(data.load_mnist, data.data_dir, ["tiny"]) == 0
    assert "tiny: 4 files verified in" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="2"):
        _fetch.main(data.load_mnist, data.data_dir, ["cifar10"])
    assert "unknown data set(s) ['cifar10']" in capsys.readouterr().err


def test_command_line_entry_point_runs(real_data: Path) -> None:
    """``python -m nplearn.data mnist`` exits 0 on the verified data folder and writes nothing."""
    before = sorted(p.name for p in (real_data / "mnist").iterdir())
    env = {**os.environ, "NPLEARN_DATA_DIR": str(real_data)}
    done = subprocess.run([sys.executable, "-m", "nplearn.data", "mnist"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"mnist: 4 files verified in {real_data / 'mnist'}\n"
    assert sorted(p.name for p in (real_data / "mnist").iterdir()) == before
