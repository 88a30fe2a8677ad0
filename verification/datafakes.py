"""Fake data sets, crafted IDX files and local HTTP mirrors for the tests of ``nplearn.data``.

Contract: :func:`make_dataset` writes a small MNIST-like data set (gzip IDX files under MNIST's file
names) and returns its payloads; :func:`spec_for` registers such payloads as a
:class:`nplearn.data.DatasetSpec`; :func:`serve` / :func:`serve_folder` run an HTTP server on
127.0.0.1 in a thread for the duration of a ``with`` block and yield its base URL;
:func:`leftovers` lists the files under a folder (temporary files included, download locks not);
:func:`raises_data_error` expects a ``DataError`` whose message holds the given parts in order.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import re
import struct
import threading
from collections.abc import Iterator
from http.server import (
    BaseHTTPRequestHandler,
    SimpleHTTPRequestHandler,
    ThreadingHTTPServer,
)
from pathlib import Path

import numpy as np
import pytest

from nplearn._download import LOCK_NAME
from nplearn.data import DATASETS, DataError, DatasetSpec


def idx_bytes(
    array: np.ndarray, magic: int | None = None, dims: tuple[int, ...] | None = None
) -> bytes:
    """Encode ``array`` as IDX; ``magic`` / ``dims`` override the header to craft bad files."""
    magic = 0x0800 | array.ndim if magic is None else magic
    dims = array.shape if dims is None else dims
    return struct.pack(f">I{len(dims)}I", magic, *dims) + array.astype(np.uint8).tobytes()


def write(path: Path, content: bytes, *, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


@contextlib.contextmanager
def raises_data_error(*parts: object) -> Iterator[pytest.ExceptionInfo[DataError]]:
    """Expect a DataError (hence a ValueError) whose message holds ``parts`` in this order."""
    pattern = re.compile(".*".join(re.escape(str(part)) for part in parts), re.DOTALL)
    with pytest.raises(DataError, match=pattern) as info:
        yield info
    assert isinstance(info.value, ValueError)


def rng_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def make_dataset(
    folder: Path,
    labels: dict[str, np.ndarray] | None = None,
    images: dict[str, np.ndarray] | None = None,
) -> dict[str, bytes]:
    """Write a small MNIST-like data set (gz IDX, MNIST file names) into ``folder``.

    Returns the payload (decompressed IDX) of each split key.
    """
    labels = labels or {"train": np.arange(6) % 10, "test": np.arange(4) % 10}
    images = images or {
        split: rng_images(len(labels[split]), seed=i) for i, split in enumerate(labels)
    }
    folder.mkdir(parents=True, exist_ok=True)
    payloads = {}
    for key, (file, _) in DATASETS["mnist"].files.items():
        split, kind = key.split("-")
        payloads[key] = idx_bytes((images if kind == "images" else labels)[split])
        write(folder / file, payloads[key], compress=True)
    return payloads


def spec_for(name: str, payloads: dict[str, bytes]) -> DatasetSpec:
    """A registry entry for ``payloads`` under MNIST's file names; no mirrors."""
    files = {
        key: (file, hashlib.sha256(payloads[key]).hexdigest())
        for key, (file, _) in DATASETS["mnist"].files.items()
    }
    return DatasetSpec(name, files, ())


def leftovers(root: Path) -> list[Path]:
    """Every file (not folder) under ``root``, temporary ones included, but download locks."""
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if not p.is_dir() and p.name != LOCK_NAME]


# ------------------------------------------------------------------------------- HTTP servers


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class ShortBody(BaseHTTPRequestHandler):
    """Promises 1000 bytes, sends 10, then closes the connection."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + b"x" * 8)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler] | functools.partial) -> Iterator[str]:
    """Run an HTTP server on 127.0.0.1 in a thread; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serve_folder(folder: Path) -> contextlib.AbstractContextManager[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return serve(functools.partial(QuietFiles, directory=str(folder)))
