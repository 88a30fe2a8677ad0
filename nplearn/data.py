"""Load MNIST-style data sets: IDX and CSV readers, a data set registry and a checked loader.

Contract
--------
* Every bad input -- a missing, truncated, corrupt or malformed file, a wrong checksum, an unknown
  data set -- raises :class:`DataError` (a ``ValueError``) whose message names the file (its full
  path, or the URL) and says what is wrong. Low-level errors (``struct.error``, ``EOFError``,
  ``zlib.error``, ``gzip.BadGzipFile``, ``MemoryError``, pandas parser errors, ...) never escape;
  they are chained as ``__cause__``.
* :func:`load_mnist` returns writable arrays: images uint8 ``(n, 784)`` (28x28 flattened row by
  row) and labels int64 ``(n,)`` in 0..9.
* Data set files are identified by the SHA-256 of their *decompressed* payload, because the gzip
  containers differ between mirrors. A file is downloaded into a temporary file and moved into
  place only after that digest matched, so the data folder never holds a partial file.

Where the files live: ``data_dir(root) / name / <file>`` (see :func:`data_dir`), for example
``data/mnist/train-images-idx3-ubyte.gz``.

The IDX reader and its format are in :mod:`nplearn._idx` (:func:`read_idx` is re-exported here).

From the command line, ``python -m nplearn.data [name ...]`` fetches and checks MNIST and
Fashion-MNIST (or the named data sets) into the data folder, as :func:`load_mnist` does, and exits
0 once every file is present and verified; otherwise it prints a short message (the files, the
folder, ``NPLEARN_DATA_DIR``, ``NPLEARN_MIRROR`` and the mirrors) and exits 1. When every file is
already present, nothing is written, so a read-only data folder works.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from nplearn._datasets import (
    DATASETS,
    ENV_VAR,
    IMAGE_SHAPE,
    MIRROR_VAR,
    NUM_CLASSES,
    DatasetSpec,
    data_dir,
    mirrors_for,
)
from nplearn._download import DownloadError, download_lock, fetch, remove_stale_temps
from nplearn._errors import DataError
from nplearn._idx import decompress, parse_idx, read_file, read_idx

__all__ = [
    "DATASETS",
    "DataError",
    "DatasetSpec",
    "data_dir",
    "download",
    "load_fashion_mnist",
    "load_mnist",
    "mirrors_for",
    "read_csv",
    "read_idx",
]


# ---------------------------------------------------------------------------------------- CSV


def read_csv(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read the post's CSV format: no header; each row is a label, then 784 pixel values.

    Args:
        path: The CSV file (e.g. ``mnist_train.csv``).

    Shape:
        images ``(n, 784)``, labels ``(n,)``.

    Returns:
        ``(images, labels)``: uint8 images and int64 labels.

    Raises:
        DataError: If the file is missing or empty, a row has other than 785 columns, a cell is not
            an integer, a pixel is outside 0..255 or a label outside 0..9. Rows and columns are
            counted from 1 (blank lines are skipped).
    """
    # Imported here: pandas is slow to import and only CSV readers need it.
    from nplearn import _csv

    return _csv.read(Path(path).absolute())


# -------------------------------------------------------------------------------------- data sets


def _spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(
            f"unknown data set {name!r}; known: {', '.join(sorted(DATASETS))}"
        ) from None


# ------------------------------------------------------------------------------ loading, download


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    name: str = "mnist",
    download: bool = True,
    verify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load an MNIST-style data set from ``data_dir(root) / name``, downloading missing files.

    Args:
        root: The data folder (see :func:`data_dir`).
        name: A key of :data:`DATASETS`: ``"mnist"`` or ``"fashion-mnist"``.
        download: Fetch missing files first, from ``$NPLEARN_MIRROR/<name>/`` when that is set,
            then from the data set's mirrors (see :func:`download`).
        verify: Check each file's decompressed payload against its registered SHA-256.

    Shape:
        x_train ``(60000, 784)``, y_train ``(60000,)``, x_test ``(10000, 784)``, y_test ``(10000,)``
        for MNIST and Fashion-MNIST.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: writable uint8 images, each 28x28 flattened row by
        row, and int64 labels in 0..9.

    Raises:
        DataError: If ``name`` is unknown; if files are missing and ``download`` is False or the
            download failed (the message lists the files still missing, the folder to put them
            in, the mirrors, ``NPLEARN_MIRROR`` and ``NPLEARN_DATA_DIR``); if a file is malformed
            (see :func:`read_idx`), fails its checksum, or images and labels do not match (count,
            28x28, labels 0..9).
    """
    spec = _spec(name)
    folder = data_dir(root).absolute() / spec.name
    paths = {key: folder / file for key, (file, _) in spec.files.items()}
    if _missing(spec, folder):
        if not download:
            raise DataError(_missing_message(spec, folder))
        try:
            _download_missing(spec, folder, mirrors_for(spec), progress=True, timeout=30.0)
        except DataError as exc:
            raise DataError(f"{_missing_message(spec, folder)}\n{exc}") from exc
    arrays = {
        key: _read_verified(paths[key], sha if verify else None)
        for key, (_, sha) in spec.files.items()
    }
    return (*_split(arrays, paths, "train"), *_split(arrays, paths, "test"))


def load_fashion_mnist(
    root: str | os.PathLike[str] | None = None, **kwargs: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`load_mnist` with ``name="fashion-mnist"``; same arguments, shapes and errors."""
    return load_mnist(root, name="fashion-mnist", **kwargs)


def download(
    name: str = "mnist",
    root: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> list[Path]:
    """Download the missing files of a data set into ``data_dir(root) / name``.

    Each file is fetched with urllib from each mirror in turn into a temporary file beside its
    final place, and moved there only after its payload SHA-256 matched the registry. Downloads
    into one folder hold its lock (see :mod:`nplearn._download`): a concurrent process waits, then
    skips the files fetched meanwhile. Temporary files that killed runs left are removed first
    (where the lock exists).

    Args:
        name: A key of :data:`DATASETS`.
        root: The data folder (see :func:`data_dir`).
        mirrors: Base URLs to use instead of ``$NPLEARN_MIRROR`` and the registry's.
        progress: Show a tqdm progress bar per file.
        timeout: Seconds to wait for a server at each network operation.

    Returns:
        The paths of the files downloaded (empty if none was missing).

    Raises:
        DataError: If ``name`` is unknown, or a file could not be fetched intact from any mirror
            (the message gives each URL tried and why it failed). Files already fetched stay; the
            failed one leaves neither a file nor a temporary file.
    """
    spec = _spec(name)
    folder = data_dir(root).absolute() / spec.name
    return _download_missing(
        spec, folder, mirrors or mirrors_for(spec), progress=progress, timeout=timeout
    )


def _missing(spec: DatasetSpec, folder: Path) -> list[str]:
    """The file names of ``spec`` not (yet) in ``folder``."""
    return [file for file, _ in spec.files.values() if not (folder / file).is_file()]


def _download_missing(
    spec: DatasetSpec, folder: Path, mirrors: Sequence[str], *, progress: bool, timeout: float
) -> list[Path]:
    """Fetch the missing files under the folder's lock; nothing is written if none is missing."""
    if not _missing(spec, folder):
        return []
    fetched = []
    try:
        with download_lock(folder) as locked:
            for file, _ in spec.files.values() if locked else ():
                remove_stale_temps(folder / file)  # no other download can be writing them now
            for file in _missing(spec, folder):  # again: a process we waited for may have fetched
                dest = folder / file
                urls = [base.rstrip("/") + "/" + file for base in mirrors]
                check = partial(_check_download, sha=_digest(spec, file))
                try:
                    fetch(urls, dest, check=check, timeout=timeout, progress=progress)
                except DownloadError as exc:
                    raise DataError(
                        f"could not download {dest}; tried:\n  " + "\n  ".join(exc.failures)
                    ) from exc
                fetched.append(dest)
    except OSError as exc:  # the folder or its lock file cannot be created
        raise DataError(f"cannot download into {folder} ({exc})") from exc
    return fetched


def _digest(spec: DatasetSpec, file: str) -> str:
    return next(sha for name, sha in spec.files.values() if name == file)


def _check_download(path: Path, sha: str) -> None:
    _check_digest(decompress(path.read_bytes(), "response body"), sha, "response body")


def _check_digest(payload: bytes, expected: str, source: object, advice: str = "") -> None:
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise DataError(
            f"{source}: checksum mismatch: SHA-256 of the decompressed payload is {actual}, "
            f"expected {expected}{advice}"
        )


def _read_verified(path: Path, sha: str | None) -> np.ndarray:
    """:func:`read_idx` that first checks the payload digest when ``sha`` is given."""
    payload = decompress(read_file(path), path)
    if sha is not None:
        advice = " (a corrupt or different file: delete it to download it again)"
        _check_digest(payload, sha, path, advice)
    return parse_idx(payload, path)


def _split(
    arrays: Mapping[str, np.ndarray], paths: Mapping[str, Path], split: str
) -> tuple[np.ndarray, np.ndarray]:
    """Check one split's images against its labels; return them flattened and as int64."""
    images, labels = arrays[f"{split}-images"], arrays[f"{split}-labels"]
    image_path, label_path = paths[f"{split}-images"], paths[f"{split}-labels"]
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{image_path}: holds an array of shape {images.shape}, expected images (n, 28, 28)"
        )
    if labels.ndim != 1:
        raise DataError(
            f"{label_path}: holds an array of shape {labels.shape}, expected labels (n,)"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} labels"
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        index = int(np.argmax(labels >= NUM_CLASSES))
        raise DataError(f"{label_path}: label {labels[index]} at index {index} is outside 0..9")
    return images.reshape(len(images), -1).copy(), labels.astype(np.int64)


def _missing_message(spec: DatasetSpec, folder: Path) -> str:
    """Which files are missing where, and the three ways to provide them."""
    return (
        f"{spec.name}: missing {', '.join(_missing(spec, folder))} in {folder}\n"
        f"Download them from {' or '.join(mirrors_for(spec))} (set {MIRROR_VAR}=<base URL> to "
        f"try <base URL>/{spec.name}/<file> first), or set {ENV_VAR} to a folder that holds a "
        f"'{spec.name}/' subfolder with them, or pass root=... ."
    )


if __name__ == "__main__":
    from nplearn._fetch import main

    raise SystemExit(main(load_mnist, data_dir))
