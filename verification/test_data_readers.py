"""Tests of the IDX and CSV readers (``nplearn.data.read_idx``, ``nplearn.data.read_csv``).

Every bad input must raise DataError (a ValueError) whose message names the file and the problem:
truncated or corrupt gzip, wrong magic, short files, headers that claim more than the file holds,
trailing bytes; CSV rows of the wrong width, non-numeric or out-of-range cells.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from nplearn import data
from verification.datafakes import (
    idx_bytes,
    raises_data_error,
    rng_images,
    write,
)

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
