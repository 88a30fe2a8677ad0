"""Read IDX files (MNIST's format), gzip-compressed or raw, with every error named.

Contract
--------
:func:`read_idx` returns the uint8 values of an IDX file as a read-only array; every bad input
(missing or unreadable file, truncated or corrupt gzip stream, short file, wrong magic number,
a header claiming more values than the file holds, trailing bytes) raises
:class:`nplearn.data.DataError` naming the file, with the low-level error chained. The header is
checked against the file's length before anything is allocated, so a header claiming 2**31
values fails cleanly.

The IDX format (http://yann.lecun.com/exdb/mnist/), all integers big-endian::

    bytes 0..3    magic number 0x0000TTDD: two zero bytes, TT the element type (0x08 = uint8),
                  DD the number of dimensions (0x01 for labels, 0x03 for images)
    next 4*DD     the size of each dimension as uint32: count (then rows, cols for images)
    the rest      count*rows*cols uint8 values, row-major; nothing may follow them
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from nplearn._errors import DataError

__all__ = ["GZIP_MAGIC", "IDX_MAGICS", "decompress", "parse_idx", "read_file", "read_idx"]

GZIP_MAGIC = b"\x1f\x8b"
IDX_MAGICS = (0x00000801, 0x00000803)  # uint8 (0x08) labels (1 dimension), images (3 dimensions)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file of uint8 values, gzip-compressed or raw.

    Gzip is recognised by its magic bytes ``1f 8b``, not by the file name.

    Args:
        path: The IDX file.

    Shape:
        ``(n,)`` for magic ``0x00000801`` (labels), ``(n, rows, cols)`` for ``0x00000803`` (images).

    Returns:
        A read-only uint8 array (a view on the file's bytes; copy it to modify it).

    Raises:
        DataError: If the file is missing or unreadable, a truncated or corrupt gzip stream, shorter
            than its magic number or header, has another magic number, holds fewer values than its
            header claims or has bytes after them.
    """
    path = Path(path).absolute()
    return parse_idx(decompress(read_file(path), path), path)


def read_file(path: Path) -> bytes:
    """The bytes of ``path``; a missing or unreadable file raises DataError naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file") from exc
    except (OSError, MemoryError) as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from exc


def decompress(raw: bytes, source: object) -> bytes:
    """Return ``raw`` gunzipped if it starts with the gzip magic bytes, else unchanged."""
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise DataError(
            f"{source}: truncated gzip file (the compressed stream ends early)"
        ) from exc
    except (OSError, zlib.error, MemoryError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{source}: corrupt gzip data ({type(exc).__name__}: {exc})") from exc


def parse_idx(payload: bytes, source: object) -> np.ndarray:
    """Decode an uncompressed IDX payload (format in the module docstring)."""
    if len(payload) < 4:
        raise DataError(
            f"{source}: file is {len(payload)} bytes, shorter than the 4-byte IDX magic number"
        )
    magic = int.from_bytes(payload[:4], "big")
    if magic not in IDX_MAGICS:
        raise DataError(
            f"{source}: wrong magic 0x{magic:08x} (expected 0x00000801 or 0x00000803): "
            "not an IDX file of uint8 labels or images"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise DataError(
            f"{source}: file is {len(payload)} bytes, shorter than its {header}-byte IDX header"
        )
    dims = tuple(int.from_bytes(payload[i : i + 4], "big") for i in range(4, header, 4))
    claimed, held = math.prod(dims), len(payload) - header  # compare before allocating anything
    if claimed > held:
        raise DataError(
            f"{source}: header claims {' x '.join(map(str, dims))} = {claimed} values "
            f"but the file holds only {held} (truncated file or wrong header)"
        )
    if claimed < held:
        raise DataError(
            f"{source}: {held - claimed} trailing bytes after the {claimed} values "
            "its header describes"
        )
    return np.frombuffer(payload, np.uint8, count=claimed, offset=header).reshape(dims)
