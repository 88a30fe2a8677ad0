"""Turn run results into plain tables (histories, final metrics, time to accuracy) and save them.

Contract
--------
Functions from results (``runs.RunResult``, ``tta.Curve``) to pandas frames;
nothing here trains or plots. Every aggregate is a mean and a population
standard deviation (``ddof=0``) over however many seeds ran.

- :func:`histories` and :func:`finals`: long per-epoch and per-run frames
  (also written as CSV beside the plots);
- :func:`aggregate`: mean/std of final metrics per (data set, config);
- :func:`tta_points`, :func:`tta_summary`: time-to-accuracy curves and, per
  config, threshold and framework, the mean/std seconds over the seeds that
  reached the threshold, how many did, and the per-seed ratio nplearn/torch;
  :func:`peer_agreement`: how far apart the two frameworks' accuracies are at
  the same evaluation points (they run the same computation);
- :func:`write_data`: the frames as CSV and a JSON summary, written atomically.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.mnist.runs import RunResult
from benchmarks.mnist.tta import Curve, time_to
from nplearn.atomic import atomic_write_text

__all__ = [
    "aggregate",
    "finals",
    "histories",
    "peer_agreement",
    "pm",
    "tta_points",
    "tta_summary",
    "write_data",
]

FINAL_COLUMNS = (
    "test_accuracy",
    "post_accuracy",
    "post_error",
    "active_units",
    "train_time",
    "wall_time",
)


def histories(results: Iterable[RunResult]) -> pd.DataFrame:
    """All per-epoch histories in one long frame with ``dataset, config, seed`` first."""
    frames = [r.history.assign(dataset=r.dataset, config=r.config, seed=r.seed) for r in results]
    frame = pd.concat(frames, ignore_index=True)
    first = ["dataset", "config", "seed", "epoch"]
    return frame[first + [c for c in frame.columns if c not in first]]


def finals(results: Iterable[RunResult]) -> pd.DataFrame:
    """One row per run: ``dataset, config, seed, epochs`` and the final metrics."""
    return pd.DataFrame.from_records(
        [
            {"dataset": r.dataset, "config": r.config, "seed": r.seed, "epochs": r.epochs}
            | {column: getattr(r, column) for column in FINAL_COLUMNS}
            | {"blas": r.blas}
            for r in results
        ]
    )


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of the final metrics per ``(dataset, config)``.

    Returns:
        Index ``(dataset, config)``; columns ``(<metric>, "mean"|"std")`` plus
        ``("epochs", "max")`` and ``("seed", "count")``.
    """
    metrics = {column: ["mean", lambda s: s.std(ddof=0)] for column in FINAL_COLUMNS}
    with np.errstate(invalid="ignore"):  # a diverged run's post-style error may be inf
        table = frame.groupby(["dataset", "config"], sort=False).agg(
            {**metrics, "epochs": ["max"], "seed": ["count"]}
        )
    return table.rename(columns={"<lambda_0>": "std"}, level=1)


def pm(mean: float, std: float, digits: int = 4) -> str:
    """``"mean +- std"`` with ``digits`` decimals (``"n/a"`` for NaN)."""
    if mean is None or np.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def tta_points(curves: Iterable[Curve]) -> pd.DataFrame:
    """Every evaluation point of every curve as a long frame."""
    columns = ["step", "epoch", "train_seconds", "test_accuracy"]
    return pd.concat(
        [
            pd.DataFrame(c.points, columns=columns).assign(
                framework=c.framework, config=c.config, seed=c.seed
            )
            for c in curves
        ],
        ignore_index=True,
    )[["framework", "config", "seed", *columns]]


def tta_summary(curves: Sequence[Curve], thresholds: Sequence[float]) -> pd.DataFrame:
    """Seconds to each threshold per config and framework, and nplearn/torch ratios.

    Returns:
        Rows ``config, threshold, framework, mean, std, reached, seeds`` where
        ``framework`` is ``"nplearn"``, ``"torch"`` or ``"ratio"`` (nplearn
        seconds / torch seconds, per seed, over the seeds where both reached
        the threshold); ``mean``/``std`` are NaN when no seed reached it.
    """
    times: dict[tuple[str, str, int], Curve] = {(c.config, c.framework, c.seed): c for c in curves}
    rows = []
    configs = list(dict.fromkeys(c.config for c in curves))
    seeds = sorted({c.seed for c in curves})
    for config in configs:
        for threshold in thresholds:
            found: dict[str, dict[int, float]] = {}
            for framework in ("nplearn", "torch"):
                found[framework] = {
                    seed: t
                    for seed in seeds
                    if (config, framework, seed) in times
                    and (t := time_to(times[config, framework, seed], threshold)) is not None
                }
            both = sorted(found["nplearn"].keys() & found["torch"].keys())
            found["ratio"] = {s: found["nplearn"][s] / found["torch"][s] for s in both}
            for framework, values in found.items():
                array = np.array(list(values.values()))
                ran = sum((config, framework, s) in times for s in seeds)
                rows.append(
                    {
                        "config": config,
                        "threshold": threshold,
                        "framework": framework,
                        "mean": float(array.mean()) if array.size else float("nan"),
                        "std": float(array.std()) if array.size else float("nan"),
                        "reached": int(array.size),
                        "seeds": ran if framework != "ratio" else len(both),
                    }
                )
    return pd.DataFrame(rows)


def peer_agreement(points: pd.DataFrame) -> float:
    """Largest |nplearn - torch| test accuracy at a common (config, seed, step).

    Returns:
        The maximum absolute difference, NaN when there is no torch curve.
    """
    keys = ["config", "seed", "step"]
    mine = points[points["framework"] == "nplearn"].set_index(keys)["test_accuracy"]
    peer = points[points["framework"] == "torch"].set_index(keys)["test_accuracy"]
    common = mine.index.intersection(peer.index)
    if common.empty:
        return float("nan")
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
    """Write each frame as ``<name>.csv`` and ``summary`` as ``summary.json``, atomically.

    Args:
        folder: the report's data folder.
        frames: file stem -> frame (``histories``, ``finals``, ``tta``).
        summary: JSON items (mode, seeds, configs, ablation rows, aggregates ...).

    Returns:
        The file names written.
    """
    for name, frame in frames.items():
        atomic_write_text(folder / f"{name}.csv", frame.to_csv(index=False))
    atomic_write_text(folder / "summary.json", json.dumps(_clean(summary), indent=1) + "\n")
    return [f"{name}.csv" for name in frames] + ["summary.json"]
