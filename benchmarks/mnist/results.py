"""Turn run results into plain pandas tables and save them; nothing here trains or plots.

Contract
--------
Per-epoch :func:`histories`, per-run :func:`finals` and their :func:`aggregate`; the
time-to-accuracy :func:`tta_summary` and :func:`peer_agreement`; :func:`write_data` saves the
frames as CSV and a JSON summary, atomically. Every aggregate is a mean and a population standard
deviation (``ddof=0``) over however many seeds ran.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.mnist.runs import HISTORY_COLUMNS, RunResult
from benchmarks.mnist.tta import THRESHOLDS
from nplearn.atomic import atomic_write_text

__all__ = ["aggregate", "finals", "histories", "peer_agreement", "pm", "tta_summary", "write_data"]

FINAL_COLUMNS = "test_accuracy post_accuracy post_error active_units train_time wall_time".split()
TTA_COLUMNS = ["config", "threshold", "framework", "mean", "std", "reached", "seeds"]


def histories(results: Iterable[RunResult]) -> pd.DataFrame:
    """All per-epoch histories in one long frame with ``dataset, config, seed`` first."""
    frames = [r.history.assign(dataset=r.dataset, config=r.config, seed=r.seed) for r in results]
    return pd.concat(frames, ignore_index=True)[["dataset", "config", "seed", *HISTORY_COLUMNS]]


def finals(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per run: ``dataset, config, seed, epochs`` and the final metrics."""
    columns = ["dataset", "config", "seed", "epochs", *FINAL_COLUMNS, "blas"]
    return pd.DataFrame([[getattr(r, c) for c in columns] for r in results], columns=columns)


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of the final metrics per ``(dataset, config)``.

    Returns:
        Index ``(dataset, config)``; columns ``(<metric>, "mean"|"std")``, ``("epochs", "max")``
        and ``("seed", "count")``.
    """
    metrics = {column: ["mean", lambda s: s.std(ddof=0)] for column in FINAL_COLUMNS}
    with np.errstate(invalid="ignore"):  # a diverged run's post-style error may be inf
        table = frame.groupby(["dataset", "config"], sort=False).agg(
            {**metrics, "epochs": ["max"], "seed": ["count"]}
        )
    return table.rename(columns={"<lambda_0>": "std"}, level=1)


def pm(mean: float, std: float, digits: int = 4) -> str:
    """``"mean +- std"`` with ``digits`` decimals (``"n/a"`` for NaN)."""
    return "n/a" if np.isnan(mean) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def tta_summary(points: pd.DataFrame) -> pd.DataFrame:
    """Seconds to each threshold per config and framework, and nplearn/torch ratios.

    Returns:
        Rows of :data:`TTA_COLUMNS`; ``framework`` is ``"nplearn"``, ``"torch"`` or ``"ratio"``
        (per seed, over the seeds where both reached the threshold); ``mean``/``std`` over the
        seeds that reached it (NaN if none), ``seeds`` how many ran.
    """
    ran = points.groupby(["config", "framework"]).seed.nunique()
    rows = []
    for config in points["config"].unique():
        for threshold in THRESHOLDS:
            hit = points[(points["config"] == config) & (points["test_accuracy"] >= threshold)]
            first = hit.groupby(["framework", "seed"]).train_seconds.min()
            found = {f: first.get(f, pd.Series(dtype=float)) for f in ("nplearn", "torch")}
            found["ratio"] = (found["nplearn"] / found["torch"]).dropna()
            for framework, seconds in found.items():
                count = len(seconds) if framework == "ratio" else ran.get((config, framework), 0)
                stats = (seconds.mean(), seconds.std(ddof=0), len(seconds), int(count))
                rows.append((config, threshold, framework, *stats))
    return pd.DataFrame(rows, columns=TTA_COLUMNS)


def peer_agreement(points: pd.DataFrame) -> float:
    """Largest |nplearn - torch| test accuracy at a common (config, seed, step); NaN if no torch."""
    keys = ["config", "seed", "step"]
    mine = points[points["framework"] == "nplearn"].set_index(keys)["test_accuracy"]
    peer = points[points["framework"] == "torch"].set_index(keys)["test_accuracy"]
    common = mine.index.intersection(peer.index)
    return float((mine.loc[common] - peer.loc[common]).abs().max())


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


def write_data(folder: Path, frames: Mapping[str, pd.DataFrame], summary: Mapping) -> list[str]:
    """Write each frame as ``<name>.csv`` and ``summary`` as ``summary.json``; returns the names."""
    for name, frame in frames.items():
        atomic_write_text(folder / f"{name}.csv", frame.to_csv(index=False))
    atomic_write_text(folder / "summary.json", json.dumps(_clean(summary), indent=1) + "\n")
    return [f"{name}.csv" for name in frames] + ["summary.json"]
