"""Results of a timing run: the pytest-benchmark JSON as tables of times, GFLOP/s and ratios.

Contract
--------
:func:`load_results` reads the JSON written by ``--benchmark-json`` into one row per benchmark
(the case from ``extra_info`` plus the statistics in seconds). :func:`time_table` reduces it to
one row per (impl, kind, net, dtype, batch): ``time`` is the median over a case's interleaved
blocks of each block's median (a single case: its median), ``best`` the fastest round seen, and
``gflops`` the matrix-product FLOPs of the call divided by ``time``. :func:`ratio_table` gives,
per configuration, ``impl / reference`` for every implementation: for two paired
implementations the median over repeats of the per-block ratio (each block compared with the
reference block timed next to it), reported with the two times of that median block pair (so
``ratio == time / ref_time``) and the lowest and highest block ratio as the spread; otherwise
the ratio of the two ``time`` values. Nothing here prints or writes.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

__all__ = ["CONFIG", "load_results", "ratio_table", "time_table"]

CONFIG = ["net", "dtype", "batch"]
STATS = ("median", "min", "mean", "iqr", "stddev", "rounds")


def load_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """One row per benchmark of a pytest-benchmark JSON file.

    Args:
        path: the ``--benchmark-json`` output.

    Returns:
        Columns ``impl, kind, net, dtype, batch, repeat, paired, flops`` (from ``extra_info``),
        ``name`` and the statistics ``median, min, mean, iqr, stddev`` (seconds) and ``rounds``.
    """
    with open(path, encoding="utf-8") as f:
        benchmarks = json.load(f)["benchmarks"]
    rows = [
        {**b["extra_info"], "name": b["name"], **{s: b["stats"][s] for s in STATS}}
        for b in benchmarks
        if "impl" in b.get("extra_info", {})
    ]
    frame = pd.DataFrame.from_records(rows)
    if frame.empty:
        raise ValueError(f"{os.fspath(path)}: no timing benchmarks in the file")
    return frame


def time_table(results: pd.DataFrame) -> pd.DataFrame:
    """Time per call of every (impl, kind, configuration).

    Args:
        results: from :func:`load_results`.

    Returns:
        Columns ``impl, kind, net, dtype, batch, time, best, iqr, rounds, blocks, gflops``;
        ``time`` and ``best`` in seconds, ``iqr`` the median block's interquartile range.
    """
    keys = ["impl", "kind", *CONFIG]
    table = (
        results.groupby(keys, sort=False)
        .agg(
            time=("median", "median"),
            best=("min", "min"),
            iqr=("iqr", "median"),
            rounds=("rounds", "sum"),
            blocks=("median", "size"),
            flops=("flops", "first"),
        )
        .reset_index()
    )
    table["gflops"] = table["flops"] / table["time"] / 1e9
    return table.drop(columns="flops")


def _median_pair(blocks: pd.DataFrame) -> pd.Series:
    """The block pair whose ratio is the median (the lower middle one for an even count)."""
    ordered = blocks.sort_values("r")
    middle = ordered.iloc[(len(ordered) - 1) // 2]
    return pd.Series(
        {
            "ratio": middle["r"],
            "low": ordered["r"].min(),
            "high": ordered["r"].max(),
            "time": middle["time"],
            "ref_time": middle["ref_time"],
        }
    )


def _paired(results: pd.DataFrame, impl: str, reference: str) -> pd.DataFrame:
    """Per configuration: the median block pair of ``impl / reference`` and the ratio range."""
    columns = [*CONFIG, "ratio", "low", "high", "time", "ref_time"]
    steps = results[results["paired"] & (results["kind"] == "step")]
    wide = steps.pivot_table(index=[*CONFIG, "repeat"], columns="impl", values="median")
    if impl not in wide or reference not in wide:
        return pd.DataFrame(columns=columns)
    blocks = pd.DataFrame({"time": wide[impl], "ref_time": wide[reference]}).dropna()
    blocks["r"] = blocks["time"] / blocks["ref_time"]
    picked = [
        pd.Series(dict(zip(CONFIG, key, strict=True))).combine_first(_median_pair(group))
        for key, group in blocks.groupby(level=CONFIG)
    ]
    return pd.DataFrame(picked, columns=columns).astype({"batch": int})


def ratio_table(results: pd.DataFrame, reference: str = "floor-fused") -> pd.DataFrame:
    """Ratios ``impl / reference`` of the training step, per configuration.

    Args:
        results: from :func:`load_results`.
        reference: the denominator implementation (the fused floor by default).

    Returns:
        Columns ``impl, net, dtype, batch, ratio, low, high, paired, time, ref_time``: the ratio,
        the spread of the block ratios (NaN when not paired), whether it is paired, and the two
        step times it compares (seconds; of the median block pair when paired). The reference
        itself is left out.
    """
    times = time_table(results)
    steps = times[times["kind"] == "step"].set_index(["impl", *CONFIG])["time"]
    paired_impls = set(results.loc[results["paired"], "impl"])
    frames = []
    for impl in steps.index.get_level_values("impl").unique():
        if impl == reference:
            continue
        if reference not in steps.index.get_level_values("impl"):
            continue
        mine = steps.xs(impl, level="impl").rename("time")
        ref = steps.xs(reference, level="impl").rename("ref_time")
        both = pd.concat([mine, ref], axis=1, join="inner").reset_index()
        paired = impl in paired_impls and reference in paired_impls
        if paired:
            both = _paired(results, impl, reference)
        else:
            both["ratio"] = both["time"] / both["ref_time"]
            both["low"] = both["high"] = np.nan
        both["impl"], both["paired"] = impl, paired
        frames.append(both)
    columns = ["impl", *CONFIG, "ratio", "low", "high", "paired", "time", "ref_time"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
