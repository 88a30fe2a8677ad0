"""Saving a matplotlib figure as a PNG, shared by every figure of the benchmarks.

Contract
--------
Importing this module selects matplotlib's non-interactive Agg backend, so figures draw without a
display (CI, clusters, ssh). :func:`save_png` lays the figure out, writes it as a PNG through
``nplearn.atomic.atomic_write`` (a reader sees the old file or the new one, never half a PNG) and
closes it, so a loop drawing many figures does not keep them all in memory.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from nplearn.atomic import atomic_write

__all__ = ["DPI", "save_png"]

#: Resolution of every benchmark figure.
DPI = 110


def save_png(fig: plt.Figure, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` to ``path`` as a PNG atomically, then close it.

    Args:
        fig: The figure, fully drawn (titles included: a ``suptitle`` set before the call is laid
            out with the rest).
        path: The PNG to create or replace; missing parent folders are created.

    Raises:
        OSError: If the file cannot be written; ``path`` is then unchanged. The figure is closed
            in every case.
    """
    try:
        fig.tight_layout()
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format="png", dpi=DPI)
    finally:
        plt.close(fig)
