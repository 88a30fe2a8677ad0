"""Read the post's CSV format with pandas, checking every cell; used by ``nplearn.data.read_csv``.

Contract: ``read(path)`` returns ``(images uint8 (n, 784), labels int64 (n,))`` from a header-less
CSV whose rows are a label then 784 pixel values, or raises ``DataError`` naming the file and the
first bad row/column: wrong width, empty or non-numeric or non-integer cell, label outside 0..9,
pixel outside 0..255. A separate module so that ``import nplearn.data`` does not pay for pandas.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from nplearn._datasets import IMAGE_SHAPE, NUM_CLASSES
from nplearn._errors import DataError

CSV_COLUMNS = 1 + IMAGE_SHAPE[0] * IMAGE_SHAPE[1]  # label, then 784 pixels


def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse and check the CSV file at ``path`` (see the module contract)."""
    try:
        frame = pd.read_csv(path, header=None, low_memory=False)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty") from exc
    except pd.errors.ParserError as exc:
        raise DataError(_width_error(path, str(exc))) from exc
    except (OSError, UnicodeDecodeError, MemoryError) as exc:
        raise DataError(f"{path}: cannot read the file as CSV ({exc})") from exc
    if frame.shape[1] != CSV_COLUMNS:
        raise DataError(
            f"{path}: row 1 has {frame.shape[1]} columns, expected {CSV_COLUMNS} "
            "(a label, then 784 pixel values)"
        )
    values = _numeric_values(frame, path)
    _check_cells(values, path)
    return values[:, 1:].astype(np.uint8), values[:, 0].astype(np.int64)


def _width_error(path: Path, parser_message: str) -> str:
    """Turn pandas' 'Expected 785 fields in line 3, saw 786' into a DataError message.

    pandas takes the first row's width as the norm, so when that row is the odd one out it is the
    one to blame. pandas counts lines of the file (blank ones included), hence "line" there.
    """
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", parser_message)
    if found is None:
        return f"{path}: cannot parse the CSV file ({parser_message.strip()})"
    first_width, line, width = map(int, found.groups())
    where = f"row 1 has {first_width}" if first_width != CSV_COLUMNS else f"line {line} has {width}"
    return f"{path}: {where} columns, expected {CSV_COLUMNS} (a label, then 784 pixel values)"


def _numeric_values(frame: pd.DataFrame, path: Path) -> np.ndarray:
    """The frame as a float or int array; DataError naming the first cell that is not a number."""
    for column in frame.columns:
        cells = frame[column]
        if cells.dtype.kind in "iuf":
            continue
        numbers = pd.to_numeric(
            cells.astype(str) if cells.dtype.kind == "b" else cells, errors="coerce"
        )
        bad = np.flatnonzero(numbers.isna().to_numpy() & cells.notna().to_numpy())
        if bad.size:
            raise DataError(
                f"{path}: row {bad[0] + 1}, column {column + 1}: "
                f"{str(cells.iloc[bad[0]])!r} is not a number"
            )
        frame[column] = numbers
    values: np.ndarray = frame.to_numpy()
    return values


def _check_cells(values: np.ndarray, path: Path) -> None:
    """DataError at the first empty, non-integer or out-of-range cell (labels 0-9, pixels 0-255)."""
    if values.dtype.kind == "f":
        empty = np.isnan(values)
        if empty.any():
            row = int(np.argmax(empty.any(axis=1)))
            col = int(np.argmax(empty[row]))
            if empty[row, col:].all():
                raise DataError(f"{path}: row {row + 1} has {col} columns, expected {CSV_COLUMNS}")
            raise DataError(f"{path}: row {row + 1}, column {col + 1} is empty")
        _fail_at(values != np.round(values), values, path, "{value:g} is not an integer")
    labels, pixels = values[:, :1], values[:, 1:]
    _fail_at(
        (labels < 0) | (labels >= NUM_CLASSES), labels, path, "label {value:g} is outside 0..9"
    )
    _fail_at(
        (pixels < 0) | (pixels > 255), pixels, path, "pixel value {value:g} is outside 0..255", 1
    )


def _fail_at(
    mask: np.ndarray, values: np.ndarray, path: Path, what: str, first_column: int = 0
) -> None:
    """Raise DataError naming the first cell where ``mask`` is true, if any."""
    if mask.any():
        row, col = np.unravel_index(np.argmax(mask), mask.shape)
        raise DataError(
            f"{path}: row {row + 1}, column {first_column + col + 1}: "
            + what.format(value=values[row, col])
        )
