"""The command ``python -m nplearn.data``: fetch and verify data sets, with a short error.

Contract: :func:`main` runs the loader it is given, :func:`nplearn.data.load_mnist` (download if
missing, then verify every payload digest), for each named data set (default: all of
:data:`nplearn.data.DATASETS`), prints one line per data set and returns 0; on the first
:class:`nplearn.data.DataError` it prints that error's message (the files, the folder,
``NPLEARN_DATA_DIR``, ``NPLEARN_MIRROR``, the mirrors and why each URL failed), no traceback, and
returns 1. When every file is present nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from nplearn._datasets import DATASETS, ENV_VAR, MIRROR_VAR
from nplearn._errors import DataError


def main(
    load: Callable[..., object], data_dir: Callable[[], Path], argv: Sequence[str] | None = None
) -> int:
    """``python -m nplearn.data``: fetch and verify data sets; 0 if all are there, else 1.

    Args:
        load: ``nplearn.data.load_mnist`` (passed in, so this module does not import
            ``nplearn.data``, which runs it).
        data_dir: ``nplearn.data.data_dir``.
        argv: The command-line arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m nplearn.data",
        description="Download (if missing) and verify data sets in the data folder "
        f"(${ENV_VAR}, else data/ of the checkout); ${MIRROR_VAR} is tried first.",
    )
    parser.add_argument("names", nargs="*", metavar="name", help=f"one of {sorted(DATASETS)}")
    names = parser.parse_args(argv).names or list(DATASETS)
    unknown = sorted(set(names) - DATASETS.keys())
    if unknown:
        parser.error(f"unknown data set(s) {unknown}; known: {sorted(DATASETS)}")
    for name in names:
        try:
            load(name=name)
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {len(DATASETS[name].files)} files verified in {data_dir() / name}")
    return 0
