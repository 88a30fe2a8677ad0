"""Plots of a timing run: time per step and ratio to the fused floor against batch size.

Contract
--------
Both functions take the tables of :mod:`benchmarks.timing.results` and write one PNG each,
atomically (``nplearn.atomic.atomic_write``), with matplotlib's Agg backend; one subplot per
(network, dtype), every implementation on it, log-log axes. They return nothing and print
nothing.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from nplearn.atomic import atomic_write

__all__ = ["LABELS", "plot_ratios", "plot_times"]

#: Legend labels of the implementations, in drawing order.
LABELS = {
    "floor-gemm": "floor: the 5 GEMMs alone",
    "floor-fused": "floor: hand-fused NumPy step",
    "nplearn": "nplearn",
    "nplearn-copy": "nplearn, Linear slowed (self-test)",
    "torch": "PyTorch CPU",
    "sklearn": "scikit-learn MLPClassifier.partial_fit",
    "seed": "the seed's code (float64)",
}
STYLES = {"floor-gemm": ":", "floor-fused": "--", "nplearn": "-", "nplearn-copy": "-."}
RATIO_TICKS = (0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10, 20, 50, 100)
#: One colour per implementation, the same on every panel.
COLORS = dict(zip(LABELS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))


def _panels(frame: pd.DataFrame) -> tuple[plt.Figure, dict[tuple[str, str], plt.Axes]]:
    nets = list(dict.fromkeys(frame["net"]))
    dtypes = list(dict.fromkeys(frame["dtype"]))
    fig, axes = plt.subplots(
        len(nets), len(dtypes), figsize=(5.5 * len(dtypes), 4 * len(nets)), squeeze=False
    )
    panels = {(n, d): axes[i][j] for i, n in enumerate(nets) for j, d in enumerate(dtypes)}
    for (net, dtype), ax in panels.items():
        ax.set_title(f"784-128-10, {net}, {dtype}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        batches = sorted(set(frame["batch"]))
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.minorticks_off()
        ax.grid(True, which="both", alpha=0.3)
    return fig, panels


def _save(fig: plt.Figure, path: str | os.PathLike[str], title: str) -> None:
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)


def plot_times(times: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Median time per training step vs batch size, all implementations.

    Args:
        times: :func:`benchmarks.timing.results.time_table`.
        path: the PNG to write.
    """
    steps = times[times["kind"] == "step"]
    fig, panels = _panels(steps)
    for (net, dtype), ax in panels.items():
        mine = steps[(steps["net"] == net) & (steps["dtype"] == dtype)]
        for impl, label in LABELS.items():
            line = mine[mine["impl"] == impl].sort_values("batch")
            if len(line):
                ax.plot(
                    line["batch"],
                    line["time"] * 1e3,
                    STYLES.get(impl, "-"),
                    marker="o",
                    color=COLORS[impl],
                    label=label,
                )
        ax.set_ylabel("median time per step (ms)")
        ax.legend(fontsize=7)
    _save(fig, path, "Time per training step (lower is better)")


def plot_ratios(
    ratios: pd.DataFrame,
    limits: dict[tuple[str, str, int], float],
    target: float,
    path: str | os.PathLike[str],
) -> None:
    """Ratio of each implementation's step to the fused floor vs batch size.

    Args:
        ratios: :func:`benchmarks.timing.results.ratio_table` against the fused floor.
        limits: the gate's thresholds ``(net, dtype, batch) -> limit``, drawn as crosses.
        target: the issue's target ratio, drawn as a horizontal line.
        path: the PNG to write.
    """
    fig, panels = _panels(ratios)
    for (net, dtype), ax in panels.items():
        mine = ratios[(ratios["net"] == net) & (ratios["dtype"] == dtype)]
        for impl, label in LABELS.items():
            line = mine[mine["impl"] == impl].sort_values("batch")
            if len(line):
                ax.plot(
                    line["batch"],
                    line["ratio"],
                    STYLES.get(impl, "-"),
                    marker="o",
                    color=COLORS[impl],
                    label=label,
                )
        timed = set(mine["batch"])
        gated = sorted(
            (b, v) for (n, d, b), v in limits.items() if (n, d) == (net, dtype) and b in timed
        )
        if gated:
            ax.plot(*zip(*gated, strict=True), "kx", label="gate threshold (nplearn)")
        ax.axhline(target, color="grey", lw=0.8, label=f"target {target:g}x")
        ax.axhline(1.0, color="black", lw=0.5)
        low, high = 0.8 * min(mine["ratio"].min(), 1.0), 1.25 * max(mine["ratio"].max(), 1.5)
        ticks = [t for t in RATIO_TICKS if low <= t <= high]
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_ylim(low, high)
        ax.set_ylabel("time / fused-floor time")
        ax.legend(fontsize=7)
    _save(fig, path, "Ratio to the hand-fused NumPy floor (1 = floor)")
