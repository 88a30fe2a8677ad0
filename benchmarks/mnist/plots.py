"""The figures of ``mnist.md``: :func:`write_figures` draws them all from plain results.

Contract
--------
Figures take plain data, compute no result and are written with ``benchmarks.png.save_png``
(atomic). Curves over seeds are the mean with a +-1 std band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from benchmarks.mnist.ablation import WORKING, Row
from benchmarks.mnist.datasets import NAMES
from benchmarks.mnist.execute import Plan
from benchmarks.mnist.runs import RunResult
from benchmarks.mnist.tta import THRESHOLDS
from benchmarks.png import save_png


def _band(ax: plt.Axes, frame: pd.DataFrame, column: str, label: str, **style: object) -> None:
    """Mean over seeds per epoch with a +-1 std band (NaN epochs skipped)."""
    stats = frame.groupby("epoch")[column].agg(["mean", "std"]).dropna(subset=["mean"])
    if stats.empty:
        return
    low, high = stats["mean"] - stats["std"].fillna(0.0), stats["mean"] + stats["std"].fillna(0.0)
    (line,) = ax.plot(stats.index, stats["mean"], label=label, **style)  # type: ignore[arg-type]
    ax.fill_between(stats.index, low, high, color=line.get_color(), alpha=0.2)


def _grid(n: int, columns: int, width: float, height: float) -> tuple[plt.Figure, list]:
    """A figure of ``n`` panels of ``width`` x ``height`` inches, ``columns`` per row."""
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _curves(histories: pd.DataFrame, panels: list, metric: str, path: Path) -> None:
    """``metric`` (accuracy, or loss on a log scale) per epoch: training, validation, test."""
    fig, axes = _grid(len(panels), min(3, len(panels)), 5.2, 3.8)
    for ax, (dataset, config, title) in zip(axes, panels, strict=True):
        frame = histories[(histories["dataset"] == dataset) & (histories["config"] == config)]
        _band(ax, frame, metric, "training (batches of the epoch)", color="tab:blue")
        _band(ax, frame, f"val_{metric}", "validation (12k split)", color="tab:orange")
        _band(ax, frame, f"test_{metric}", "test (/255)", color="tab:green", marker=".")
        ax.set(title=title, xlabel="epoch", ylabel=metric + " per sample" * (metric == "loss"))
        ax.set_yscale("log" if metric == "loss" else "linear")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if metric == "accuracy" else "best")
    save_png(fig, path)


def _confusion(matrices: Mapping[str, np.ndarray], path: Path) -> None:
    """Annotated count matrices, two per row (rows: true class, columns: predicted)."""
    fig, axes = _grid(len(matrices), 2, 7.5, 6.5)
    for ax, (title, matrix) in zip(axes, matrices.items(), strict=True):
        image = ax.imshow(matrix, cmap="Blues")
        fig.colorbar(image, ax=ax, fraction=0.046)
        high = matrix.max() / 2
        for (i, j), count in np.ndenumerate(matrix):
            colour = "white" if count > high else "black"
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7, color=colour)
        ax.set(title=title, xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10))
    save_png(fig, path)


def _ablation(rows: Sequence[Row], curves: pd.DataFrame, path: Path) -> None:
    """Final test accuracy per variant, and per epoch (``curves`` has a ``short`` label)."""
    fig, (bars, lines) = plt.subplots(1, 2, figsize=(14, 0.35 * len(rows) + 2.5))
    y = np.arange(len(rows))
    bars.barh(y, [r.accuracy for r in rows], xerr=[r.accuracy_std for r in rows], color="tab:blue")
    bars.axvline(WORKING, color="tab:red", linestyle="--", label=f"working ({WORKING:.0%})")
    bars.set_yticks(y, [r.short for r in rows])
    bars.invert_yaxis()
    bars.set(xlim=(0, 1), xlabel="test accuracy (mean +- std over seeds)")
    bars.set_title("post's MSE run with factors changed")
    bars.legend(fontsize=8, loc="lower right")
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, frame) in enumerate(curves.groupby("short", sort=False)):
        mean = frame.groupby("epoch")["test_accuracy"].mean()
        style = "-" if i < len(cycle) else "--"
        lines.plot(mean.index, mean.values, style, color=cycle[i % len(cycle)], label=str(label))
    lines.set(xlabel="epoch", ylabel="test accuracy (mean over seeds)", ylim=(0, 1))
    lines.set_title("test accuracy per epoch")
    lines.grid(alpha=0.3)
    lines.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    save_png(fig, path)


def _tta(points: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    """Accuracy against training seconds for every curve, and mean seconds per threshold."""
    thresholds = list(THRESHOLDS)
    fig, (curves, bars) = plt.subplots(1, 2, figsize=(15, 5))
    colours = dict(zip(points["config"].unique(), ("tab:blue", "tab:orange"), strict=True))
    styles = {"nplearn": "-", "torch": "--"}
    for (framework, config, seed), frame in points.groupby(["framework", "config", "seed"]):
        label = f"{framework} {config}" if seed == points["seed"].min() else None
        x, y = frame["train_seconds"], frame["test_accuracy"]
        curves.plot(x, y, styles[framework], color=colours[config], alpha=0.8, label=label)
    for threshold in thresholds:
        curves.axhline(threshold, color="grey", linewidth=0.8, linestyle=":")
    low = min(points["test_accuracy"].min(), min(thresholds)) - 0.01
    curves.set(xlabel="training seconds (evaluation excluded)", ylabel="test accuracy")
    curves.set(ylim=(max(low, 0.0), 1.0), title="test accuracy vs training time")
    curves.grid(alpha=0.3)
    curves.legend(fontsize=8)
    groups = summary.groupby(["config", "framework"], sort=False)
    width = 0.8 / max(1, groups.ngroups)
    x = np.arange(len(thresholds))
    for i, ((config, framework), frame) in enumerate(groups):
        frame = frame.set_index("threshold").reindex(thresholds)
        style = {"color": colours[config], "edgecolor": "black", "label": f"{framework} {config}"}
        hatch, error = "//" if framework == "torch" else None, frame["std"].fillna(0.0)
        bars.bar(x + i * width, frame["mean"], width, yerr=error, hatch=hatch, **style)
    bars.set_xticks(x + width * (groups.ngroups - 1) / 2, [f"{t:.0%}" for t in thresholds])
    bars.set(xlabel="test accuracy threshold", ylabel="training seconds to reach it")
    bars.set_title("time to accuracy (mean +- std; missing bar: not reached)")
    bars.grid(alpha=0.3, axis="y")
    bars.legend(fontsize=8)
    save_png(fig, path)


def write_figures(
    folder: Path,
    plan: Plan,
    results: Sequence[RunResult],
    histories: pd.DataFrame,
    ablation_rows: Sequence[Row],
    tta_points: pd.DataFrame,
    tta_summary: pd.DataFrame,
) -> dict[str, str]:
    """Draw every figure into ``folder``; returns figure name -> path relative to the report."""
    panels = [
        (d, c.key, f"{NAMES.get(d, d)}: {c.key} ({c.epochs} epochs)")
        for d in plan.datasets
        for c in plan.headline
    ]
    for metric in ("accuracy", "loss"):
        _curves(histories, panels, metric, folder / f"{metric}.png")
    first = {(r.dataset, r.config): r for r in results if r.seed == plan.seeds[0]}
    matrices = {}
    for cfg in (plan.headline[1], plan.headline[0]):
        run = first[plan.datasets[0], cfg.key]
        matrices[f"{cfg.key}: as the post computed it (test not /255)"] = run.post_confusion
        matrices[f"{cfg.key}: correct evaluation (test /255)"] = run.confusion
    _confusion(matrices, folder / "confusion.png")
    labels = {v.config.key: v.short for v in plan.variants}
    runs = histories[histories["config"].isin(labels.keys())]
    _ablation(ablation_rows, runs.assign(short=runs["config"].map(labels)), folder / "ablation.png")
    _tta(tta_points, tta_summary.query("framework != 'ratio'"), folder / "tta.png")
    figures = ["accuracy", "loss", "confusion", "ablation", "tta"]
    return {name: f"{folder.name}/{name}.png" for name in figures}
