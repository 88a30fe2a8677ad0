"""Write the data files and figures of the MNIST report into ``reports/mnist/``.

Contract
--------
:func:`write_data` writes the per-epoch histories, the per-run final metrics
and the time-to-accuracy points as CSV (pandas) and a JSON summary; and
:func:`write_figures` draws every figure with ``plots``. Both write
atomically (``nplearn.atomic``) and return the file names they wrote,
relative to the report's folder, for the report to link.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from benchmarks.mnist import plots
from benchmarks.mnist.ablation import Row
from benchmarks.mnist.runs import RunResult
from benchmarks.mnist.schedule import Plan
from benchmarks.mnist.tta import THRESHOLDS
from nplearn.atomic import atomic_write_text

__all__ = ["write_data", "write_figures"]


def _csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, frame.to_csv(index=False))


def _clean(value: object) -> object:
    """JSON-safe: NaN/inf -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_data(
    folder: Path,
    histories: pd.DataFrame,
    finals: pd.DataFrame,
    tta_points: pd.DataFrame,
    tta_summary: pd.DataFrame,
    ablation_rows: Sequence[Row],
    summary: Mapping[str, object],
) -> list[str]:
    """Write ``histories.csv``, ``finals.csv``, ``tta.csv`` and ``summary.json``.

    Args:
        folder: ``reports/mnist``.
        histories, finals, tta_points, tta_summary: frames from ``summary``.
        ablation_rows: the ablation table.
        summary: more JSON items (mode, seeds, conclusions ...).

    Returns:
        The file names written.
    """
    _csv(histories, folder / "histories.csv")
    _csv(finals, folder / "finals.csv")
    _csv(tta_points, folder / "tta.csv")
    document = {
        **summary,
        "final_metrics": finals.to_dict(orient="records"),
        "ablation": [asdict(r) for r in ablation_rows],
        "time_to_accuracy": tta_summary.to_dict(orient="records"),
    }
    atomic_write_text(folder / "summary.json", json.dumps(_clean(document), indent=1) + "\n")
    return ["histories.csv", "finals.csv", "tta.csv", "summary.json"]


def write_figures(
    folder: Path,
    plan: Plan,
    results: Sequence[RunResult],
    histories: pd.DataFrame,
    ablation_rows: Sequence[Row],
    tta_points: pd.DataFrame,
    tta_summary: pd.DataFrame,
) -> dict[str, str]:
    """Draw every figure into ``folder``.

    Returns:
        Figure name -> file name (relative to ``folder``).
    """
    names = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
    panels = [
        (d, c.key, f"{names.get(d, d)}: {c.key} ({c.epochs} epochs)")
        for d in plan.datasets
        for c in plan.headline
    ]
    plots.accuracy_curves(histories, panels, folder / "accuracy.png")
    plots.loss_curves(histories, panels, folder / "loss.png")
    first = {(r.dataset, r.config): r for r in reversed(results) if r.seed == plan.seeds[0]}
    ce, mse = plan.headline[0].key, plan.headline[1].key
    matrices = {}
    for key in (mse, ce):
        run = first[plan.datasets[0], key]
        matrices[f"{key}: as the seed computed it (test not /255)"] = run.seed_confusion
        matrices[f"{key}: correct evaluation (test /255)"] = run.confusion
    plots.confusion_matrices(matrices, folder / "confusion.png")
    labels = {v.config.key: v.short for v in plan.variants}
    curves = histories[histories["config"].isin(labels.keys())].assign(
        short=lambda f: f["config"].map(labels)
    )
    plots.ablation_chart(ablation_rows, curves, folder / "ablation.png")
    if not tta_points.empty:
        seconds = tta_summary[tta_summary["framework"] != "ratio"]
        plots.tta_chart(tta_points, seconds, THRESHOLDS, folder / "tta.png")
    figures = ["accuracy", "loss", "confusion", "ablation", "tta"]
    return {name: f"mnist/{name}.png" for name in figures}
