"""Turn run results into plain pandas tables and save them; nothing here trains or plots.

Contract
--------
Per-epoch :func:`histories`, per-run :func:`finals` and their :func:`aggregate`; the
time-to-accuracy :func:`tta_summary` and :func:`peer_agreement`; :func:`write_data` saves the
frames as CSV and a JSON summary, atomically. Every aggregate is a mean and a population standard
deviation (``ddof=0``) over however many seeds ran.

The nplearn / PyTorch time-to-accuracy ratio gets an interval (:func:`abba_pairs`,
:func:`ratio_interval`). Its sampling unit is one ABBA pair of rounds of one seed's lockstep run,
up to the threshold: machine noise varies from pair to pair, and ABBA cancels a linear drift
within one. The ratio is the pooled one (the seeds' times to the threshold added up, nplearn's
over PyTorch's), the interval a seeded, paired BCa bootstrap (``scipy.stats.bootstrap``) over the
units: a ratio of sums, unlike a t-interval on log ratios, keeps the units where one framework
had already reached the threshold, and so is exactly the ratio of the times to the threshold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from benchmarks.mnist.runs import HISTORY_COLUMNS, RunResult
from benchmarks.mnist.tta import THRESHOLDS
from nplearn.atomic import atomic_write_text

FINAL_COLUMNS = "test_accuracy post_accuracy post_error active_units train_time wall_time".split()
TTA_COLUMNS = ["config", "threshold", "framework", "mean", "std", "reached", "seeds"]
TTA_COLUMNS += ["pooled", "low", "high", "pairs"]
CONFIDENCE = 0.95  # of the ratio's interval


def histories(results: Iterable[RunResult]) -> pd.DataFrame:
    """All per-epoch histories in one long frame with ``dataset, config, seed`` first."""
    frames = [r.history.assign(dataset=r.dataset, config=r.config, seed=r.seed) for r in results]
    return pd.concat(frames, ignore_index=True)[["dataset", "config", "seed", *HISTORY_COLUMNS]]


def finals(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per run: ``dataset, config, seed, epochs`` and the final metrics."""
    columns = ["dataset", "config", "seed", "epochs", *FINAL_COLUMNS, "blas"]
    return pd.DataFrame([[getattr(r, c) for c in columns] for r in results], columns=columns)


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of the final metrics: index ``(dataset, config)``, columns ``(<metric>,
    "mean"|"std")``."""
    metrics = {column: ["mean", lambda s: s.std(ddof=0)] for column in FINAL_COLUMNS}
    with np.errstate(invalid="ignore"):  # a diverged run's post-style error may be inf
        table = frame.groupby(["dataset", "config"], sort=False).agg(metrics)
    return table.rename(columns={"<lambda_0>": "std"}, level=1)


def pm(mean: float, std: float, digits: int = 4) -> str:
    """``"mean +- std"`` with ``digits`` decimals (``"n/a"`` for NaN)."""
    return "n/a" if np.isnan(mean) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def abba_pairs(points: pd.DataFrame, config: str, threshold: float) -> np.ndarray:
    """Each framework's training seconds per ABBA pair of rounds, up to ``threshold``.

    A seed counts when both frameworks reached ``threshold``; each framework's seconds stop at
    its own first point at or above it (the other's may go on for a round or two).

    Returns:
        Shape ``(2, pairs)``: nplearn's and PyTorch's seconds in each (seed, pair) unit.
    """
    units = []
    for _, run in points[points["config"] == config].groupby("seed"):
        totals = []  # each framework's cumulative seconds per round (quarter epoch)
        for framework in ("nplearn", "torch"):
            curve = run[run["framework"] == framework].sort_values("step")
            hit = np.flatnonzero(curve["test_accuracy"].to_numpy() >= threshold)
            if len(hit):
                totals.append(curve["train_seconds"].to_numpy()[: hit[0] + 1])
        if len(totals) == 2:  # the last round of each pair, or of the framework's curve
            ends = np.arange(1, max(map(len, totals)) + 1, 2)
            units.append([np.diff(t[np.minimum(ends, len(t) - 1)], prepend=0.0) for t in totals])
    return np.concatenate(units, axis=1) if units else np.zeros((2, 0))


def _pooled(mine: np.ndarray, peer: np.ndarray, axis: int = -1) -> np.ndarray:
    return mine.sum(axis=axis) / peer.sum(axis=axis)


def ratio_interval(units: np.ndarray) -> tuple[float, float, float]:
    """``(pooled ratio, low, high)``: nplearn's summed seconds over PyTorch's, and its
    :data:`CONFIDENCE` BCa bootstrap interval over the units (NaN with fewer than 2 units).

    Args:
        units: shape ``(2, n)``, from :func:`abba_pairs`.
    """
    if units.shape[1] == 0:
        return (np.nan,) * 3
    ratio = float(_pooled(units[0], units[1]))
    if units.shape[1] < 2:
        return ratio, np.nan, np.nan
    result = bootstrap(
        (units[0], units[1]), _pooled, paired=True, vectorized=True,
        confidence_level=CONFIDENCE, rng=np.random.default_rng(0),
    )  # fmt: skip
    interval = result.confidence_interval
    return ratio, float(interval.low), float(interval.high)


def tta_summary(points: pd.DataFrame) -> pd.DataFrame:
    """Seconds to each threshold per config and framework, and nplearn/torch ratios.

    Returns:
        Rows of :data:`TTA_COLUMNS`; ``framework`` is ``"nplearn"``, ``"torch"`` or ``"ratio"``
        (per seed, over the seeds where both reached the threshold); ``mean``/``std`` over the
        seeds that reached it (NaN if none), ``seeds`` how many ran. Ratio rows also hold the
        pooled ratio, its interval ``low``/``high`` and the number of ABBA ``pairs`` (see the
        module docstring); NaN in the others.
    """
    ran = points.groupby(["config", "framework"]).seed.nunique()
    rows = []
    for config in points["config"].unique():
        for threshold in THRESHOLDS:
            hit = points[(points["config"] == config) & (points["test_accuracy"] >= threshold)]
            first = hit.groupby(["framework", "seed"]).train_seconds.min()
            found = {f: first.get(f, pd.Series(dtype=float)) for f in ("nplearn", "torch")}
            found["ratio"] = (found["nplearn"] / found["torch"]).dropna()
            units = abba_pairs(points, config, threshold)
            spread = {"ratio": (*ratio_interval(units), units.shape[1])}
            for framework, seconds in found.items():
                count = len(seconds) if framework == "ratio" else ran.get((config, framework), 0)
                stats = (seconds.mean(), seconds.std(ddof=0), len(seconds), int(count))
                extra = spread.get(framework, (np.nan,) * 4)
                rows.append((config, threshold, framework, *stats, *extra))
    return pd.DataFrame(rows, columns=TTA_COLUMNS)


def peer_agreement(points: pd.DataFrame) -> float:
    """Largest |nplearn - torch| test accuracy at a common (config, seed, step); NaN if no torch."""
    keys = ["config", "seed", "step"]
    wide = points.pivot(index=keys, columns="framework", values="test_accuracy")
    return float((wide["nplearn"] - wide.get("torch", np.nan)).abs().max())


def _clean(value: object) -> object:
    """JSON-safe: NaN/inf -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_data(folder: Path, frames: Mapping[str, pd.DataFrame], summary: Mapping) -> list[str]:
    """Write each frame as ``<name>.csv`` and ``summary`` as ``summary.json``; returns the names."""
    for name, frame in frames.items():
        atomic_write_text(folder / f"{name}.csv", frame.to_csv(index=False))
    atomic_write_text(folder / "summary.json", json.dumps(_clean(summary), indent=1) + "\n")
    return [f"{name}.csv" for name in frames] + ["summary.json"]
