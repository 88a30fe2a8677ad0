"""Tests of nplearn.data (IDX/CSV readers, registry, loader, downloader) and nplearn.atomic.

Every bad input must raise DataError (a ValueError) whose message names the file and the problem.
The downloader is tested against local HTTP servers on 127.0.0.1 (``verification/datafakes.py``);
faults (interrupts, concurrent and killed runs) are in ``test_faults.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import stat
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nplearn import _datasets, _fetch, data
from nplearn._idx import decompress
from nplearn.atomic import atomic_write, atomic_write_bytes, atomic_write_text
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
    write,
)

SPLITS = ("train-images", "train-labels", "test-images", "test-labels")
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --------------------------------------------------------------------------------- IDX reader


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize(
    "array", [np.arange(7, dtype=np.uint8), rng_images(3)[:, :5, :4]], ids=["labels", "images"]
)
def test_read_idx_round_trip(tmp_path: Path, array: np.ndarray, compress: bool) -> None:
    # The name lies on purpose: gzip is detected by its magic bytes, not by the extension.
    path = write(tmp_path / ("x.idx" if compress else "x.gz"), idx_bytes(array), compress=compress)
    result = data.read_idx(path)
    assert result.dtype == np.uint8 and result.shape == array.shape
    np.testing.assert_array_equal(result, array)


def test_read_idx_reads_real_labels(real_data: Path) -> None:
    folder = real_data
    labels = data.read_idx(folder / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_truncated_gz(tmp_path: Path) -> None:
    path = tmp_path / "t.gz"
    path.write_bytes(gzip.compress(idx_bytes(rng_images(2)))[:-30])
    with raises_data_error(path, "truncated gzip") as info:
        data.read_idx(path)
    assert isinstance(info.value.__cause__, EOFError)


def test_corrupt_gz(tmp_path: Path) -> None:
    path = write(tmp_path / "c.gz", b"\x1f\x8b" + b"not deflate data at all")
    with raises_data_error(path, "corrupt gzip"):
        data.read_idx(path)


@pytest.mark.parametrize("magic", [0x00000802, 0x00000D03, 0x03080000, 0xFFFFFFFF], ids=hex)
def test_wrong_magic(tmp_path: Path, magic: int) -> None:
    path = write(tmp_path / "m.idx", idx_bytes(np.zeros(3), magic=magic, dims=(3,)))
    with raises_data_error(path, f"wrong magic 0x{magic:08x} (expected 0x00000801 or 0x00000803)"):
        data.read_idx(path)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "file is 0 bytes, shorter than the 4-byte IDX magic number"),
        (b"\x00\x00\x08", "file is 3 bytes, shorter than the 4-byte IDX magic number"),
        (struct.pack(">II", 0x803, 5), "file is 8 bytes, shorter than its 16-byte IDX header"),
        (struct.pack(">I", 0x801), "file is 4 bytes, shorter than its 8-byte IDX header"),
    ],
)
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_too_short(tmp_path: Path, content: bytes, what: str, compress: bool) -> None:
    path = write(tmp_path / "s.idx", content, compress=compress)
    with raises_data_error(path, what):
        data.read_idx(path)


@pytest.mark.parametrize(
    ("count", "what"),
    [
        (5, "header claims 5 x 28 x 28 = 3920 values but the file holds only 3136"),
        (
            2**31,
            f"header claims 2147483648 x 28 x 28 = {2**31 * 784} values "
            "but the file holds only 3136",
        ),
        (2**32 - 1, "values but the file holds only 3136"),
    ],
)
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_header_claims_more_than_the_file_holds(
    tmp_path: Path, count: int, what: str, compress: bool
) -> None:
    path = write(
        tmp_path / "h.idx", idx_bytes(rng_images(4), dims=(count, 28, 28)), compress=compress
    )
    with raises_data_error(path, what):  # a MemoryError here would mean it allocated first
        data.read_idx(path)


def test_trailing_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "t.idx", idx_bytes(np.arange(4)) + b"\x00\x01", compress=True)
    with raises_data_error(path, "2 trailing bytes after the 4 values"):
        data.read_idx(path)


def test_read_idx_missing_file(tmp_path: Path) -> None:
    with raises_data_error(tmp_path / "nope.gz", "no such file"):
        data.read_idx(tmp_path / "nope.gz")


def test_relative_path_is_reported_in_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "r.idx", b"\x00")
    with raises_data_error(tmp_path / "r.idx", "shorter"):
        data.read_idx("r.idx")


# --------------------------------------------------------------------------------- CSV reader


def csv_rows(n: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.integers(0, 10, n), rng.integers(0, 256, (n, 784))])


def write_csv(path: Path, rows: list[list[object]] | np.ndarray) -> Path:
    path.write_text("".join(",".join(map(str, row)) + "\n" for row in rows))
    return path


def test_read_csv_round_trip(tmp_path: Path) -> None:
    rows = csv_rows(5)
    images, labels = data.read_csv(write_csv(tmp_path / "ok.csv", rows))
    assert images.dtype == np.uint8 and images.shape == (5, 784)
    assert labels.dtype == np.int64 and labels.shape == (5,)
    np.testing.assert_array_equal(images, rows[:, 1:])
    np.testing.assert_array_equal(labels, rows[:, 0])


@pytest.mark.parametrize(
    ("row", "width", "what"),
    [
        (3, 786, "line 3 has 786 columns, expected 785"),
        (2, 784, "row 2 has 784 columns, expected 785"),
        (1, 784, "row 1 has 784 columns, expected 785"),
        (1, 786, "row 1 has 786 columns, expected 785"),
        ("all", 10, "row 1 has 10 columns, expected 785"),
    ],
)
def test_csv_wrong_width(tmp_path: Path, row: int | str, width: int, what: str) -> None:
    rows: list[list[object]] = csv_rows(3).tolist()
    for index in range(3) if row == "all" else [int(row) - 1]:
        rows[index] = (rows[index] + [0])[:width]
    path = write_csv(tmp_path / "w.csv", rows)
    with raises_data_error(path, what):
        data.read_csv(path)


@pytest.mark.parametrize(
    ("cell", "what"),
    [
        ("abc", "row 2, column 5: 'abc' is not a number"),
        ("3.5", "row 2, column 5: 3.5 is not an integer"),
        ("", "row 2, column 5 is empty"),
        ("256", "row 2, column 5: pixel value 256 is outside 0..255"),
        ("-1", "row 2, column 5: pixel value -1 is outside 0..255"),
    ],
)
def test_csv_bad_pixel_cell(tmp_path: Path, cell: str, what: str) -> None:
    rows: list[list[object]] = csv_rows(3).tolist()
    rows[1][4] = cell
    path = write_csv(tmp_path / "c.csv", rows)
    with raises_data_error(path, what):
        data.read_csv(path)


def test_csv_boolean_column(tmp_path: Path) -> None:
    rows: list[list[object]] = csv_rows(2).tolist()
    rows[0][3], rows[1][3] = "True", "False"  # pandas parses this column as bool
    path = write_csv(tmp_path / "b.csv", rows)
    with raises_data_error(path, "row 1, column 4: 'True' is not a number"):
        data.read_csv(path)


@pytest.mark.parametrize("label", [10, -1, 255])
def test_csv_label_out_of_range(tmp_path: Path, label: int) -> None:
    rows = csv_rows(3)
    rows[2, 0] = label
    path = write_csv(tmp_path / "l.csv", rows)
    with raises_data_error(path, f"row 3, column 1: label {label} is outside 0..9"):
        data.read_csv(path)


def test_csv_empty_and_missing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with raises_data_error(empty, "the file is empty"):
        data.read_csv(empty)
    with raises_data_error(tmp_path / "missing.csv", "no such file"):
        data.read_csv(tmp_path / "missing.csv")


# ------------------------------------------------------------------------ data folder and registry


def test_registry_digests_match_the_files(real_data: Path) -> None:
    """Each registered digest is the SHA-256 of that file's decompressed payload."""
    for name, spec in DATASETS.items():
        assert spec.name == name and set(spec.files) == set(SPLITS)
        for file, sha in spec.files.values():
            path = real_data / name / file
            assert hashlib.sha256(decompress(path.read_bytes(), path)).hexdigest() == sha, path


def test_data_dir_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPLEARN_DATA_DIR", str(tmp_path / "env"))
    assert data.data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert data.data_dir() == tmp_path / "env"
    monkeypatch.setenv("NPLEARN_DATA_DIR", "")  # empty counts as unset
    checkout = Path(_datasets.__file__).resolve().parents[1]
    default = checkout / "data" if (checkout / "pyproject.toml").is_file() else Path.cwd() / "data"
    assert data.data_dir() == default
    monkeypatch.delenv("NPLEARN_DATA_DIR")
    assert data.data_dir() == default
    assert data.data_dir("~/d") == Path.home() / "d"


def test_load_mnist_uses_the_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dataset(tmp_path / "mnist")
    monkeypatch.setenv("NPLEARN_DATA_DIR", str(tmp_path))
    x_train, _, _, y_test = data.load_mnist(download=False, verify=False)
    assert x_train.shape == (6, 784) and y_test.shape == (4,)


@pytest.mark.parametrize("checkout", [True, False], ids=["source-checkout", "installed"])
def test_data_dir_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkout: bool) -> None:
    monkeypatch.delenv("NPLEARN_DATA_DIR", raising=False)
    package = tmp_path / "site" / "nplearn"
    package.mkdir(parents=True)
    if checkout:
        (tmp_path / "site" / "pyproject.toml").write_text("")
    monkeypatch.setattr(_datasets, "__file__", str(package / "_datasets.py"))
    monkeypatch.chdir(tmp_path)
    assert data.data_dir() == (tmp_path / "site" / "data" if checkout else tmp_path / "data")


def test_unknown_data_set(tmp_path: Path) -> None:
    with raises_data_error("unknown data set 'cifar10'; known: fashion-mnist, mnist"):
        data.load_mnist(tmp_path, name="cifar10")
    with raises_data_error("unknown data set 'cifar10'"):
        data.download("cifar10", tmp_path)


# ----------------------------------------------------------------------------- load_mnist checks


def test_missing_files_without_download(tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    make_dataset(folder)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with raises_data_error(
        "missing train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz in",
        folder,
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "NPLEARN_MIRROR",
        "NPLEARN_DATA_DIR",
    ) as info:
        data.load_mnist(tmp_path, download=False)
    assert "train-images-idx3-ubyte.gz" not in str(info.value)


def test_missing_files_listed_in_full(tmp_path: Path) -> None:
    files = [file for file, _ in DATASETS["fashion-mnist"].files.values()]
    with raises_data_error(
        ", ".join(files), tmp_path / "fashion-mnist", "fashion-mnist.s3-website"
    ):
        data.load_fashion_mnist(tmp_path, download=False)


def test_checksum_mismatch(tmp_path: Path) -> None:
    make_dataset(tmp_path / "mnist")  # valid IDX files, but not MNIST's
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    actual = hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
    expected = DATASETS["mnist"].files["train-images"][1]
    with raises_data_error(path, "checksum mismatch", f"is {actual}", f"expected {expected}"):
        data.load_mnist(tmp_path, download=False)


def test_crafted_folder_loads_without_verify(tmp_path: Path) -> None:
    payloads = make_dataset(tmp_path / "mnist")
    x_train, y_train, x_test, y_test = data.load_mnist(tmp_path, download=False, verify=False)
    assert x_train.shape == (6, 784) and x_test.shape == (4, 784)
    assert x_train.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    assert x_train.flags.writeable
    assert x_train.tobytes() == payloads["train-images"][16:]
    assert y_test.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("labels", "images", "file", "what"),
    [
        (
            {"train": np.array([1, 2, 12, 3]), "test": np.arange(2)},
            None,
            "train-labels-idx1-ubyte.gz",
            "label 12 at index 2 is outside 0..9",
        ),
        (
            {"train": np.arange(4), "test": np.arange(3)},
            {"train": rng_images(4), "test": rng_images(2)},
            "t10k-images-idx3-ubyte.gz",
            "holds 2 images but",
        ),
        (
            {"train": np.arange(2), "test": np.arange(2)},
            {"train": rng_images(2)[:, :27], "test": rng_images(2)},
            "train-images-idx3-ubyte.gz",
            "shape (2, 27, 28), expected images (n, 28, 28)",
        ),
        (
            {"train": np.arange(2), "test": np.arange(2)},
            {"train": np.arange(2), "test": rng_images(2)},
            "train-images-idx3-ubyte.gz",
            "shape (2,), expected images",
        ),
    ],
)
def test_inconsistent_data_set(
    tmp_path: Path, labels: dict, images: dict | None, file: str, what: str
) -> None:
    make_dataset(tmp_path / "mnist", labels, images)
    with raises_data_error(tmp_path / "mnist" / file, what):
        data.load_mnist(tmp_path, download=False, verify=False)


# ---------------------------------------------------------------------------------- real data




def test_real_mnist(mnist: tuple[np.ndarray, ...]) -> None:
    x_train, y_train, x_test, y_test = mnist
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == x_test.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    assert x_train.max() == 255 and x_train.min() == 0


def test_real_fashion_mnist(real_data: Path) -> None:
    x_train, y_train, x_test, y_test = data.load_fashion_mnist(real_data, download=False)
    assert (
        x_train.shape == (60000, 784) and x_test.shape == (10000, 784) and x_train.dtype == np.uint8
    )
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


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
    assert _fetch.main(["tiny"]) == 1
    err = capsys.readouterr().err
    for part in ("missing train-images-idx3-ubyte.gz", str(tmp_path / "data" / "tiny"),
                 "NPLEARN_DATA_DIR", "NPLEARN_MIRROR", "http://127.0.0.1:9/tiny/"):
        assert part in err
    assert "Traceback" not in err and len(err.splitlines()) <= 6
    make_dataset(tmp_path / "data" / "tiny")
    assert _fetch.main(["tiny"]) == 0
    assert "tiny: 4 files verified in" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="2"):
        _fetch.main(["cifar10"])
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
