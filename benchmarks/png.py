"""Saving a matplotlib figure as a PNG, shared by every figure of the benchmarks.

Contract
--------
Importing this module selects matplotlib's non-interactive Agg backend (no display needed).
:func:`save_png` lays the figure out, writes it atomically (``nplearn.atomic.atomic_write``: a
reader sees the old file or the new one) and closes it, so a loop of figures does not pile up.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from nplearn.atomic import atomic_write

#: Resolution of every benchmark figure.
DPI = 110


def save_png(fig: plt.Figure, path: str | os.PathLike[str]) -> None:
    """Write the fully drawn ``fig`` to ``path`` (parents created) as a PNG, then close it;
    OSError leaves ``path`` unchanged (the figure is closed in every case)."""
    try:
        fig.tight_layout()
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format="png", dpi=DPI)
    finally:
        plt.close(fig)
