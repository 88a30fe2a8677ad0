"""The gate: nplearn's step over the fused floor's, each with its interval, against thresholds.json.

Contract
--------
:func:`blocks` reads the timing pass's ``--benchmark-json`` file. :func:`paired`: per
configuration ``impl / reference`` over the repeats (a repeat's two blocks are timed side by side
in one process), the exponentiated mean log ratio and its 95% t-interval. :func:`judge`: ``pass``
when the interval lies at or below the limit, ``FAIL`` when above, else ``undecided``; from one
process's blocks only with :data:`PROCESS_MARGIN` to spare, never when the floor came out slower
(point below 1). :func:`remeasure` times undecided rows again in fresh workers of this tree
(:func:`.sequential.measure`) within a budget; still undecided reads ``inconclusive``.
:func:`status`: ``PASSED`` only when every gated row passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.timing.config import Config
from benchmarks.timing.sequential import ROOT, Side, estimate, measure

THRESHOLDS = Path(__file__).resolve().parents[1] / "thresholds.json"
CONFIG = ["net", "dtype", "batch"]
RATIO = "nplearn / floor"
#: Blocks of one process decide a row only this far (relative) from its limit: one process can be
#: off by this much, however tight its own interval (the process offset, see .sequential).
PROCESS_MARGIN = 0.05


def blocks(path: str | Path) -> pd.DataFrame:
    """One row per timed block of a ``--benchmark-json`` file."""
    with open(path, encoding="utf-8") as f:
        rows = [b["extra_info"] for b in json.load(f)["benchmarks"] if "value" in b["extra_info"]]
    if not rows:
        raise ValueError(f"{path}: no timing blocks in the file")
    return pd.DataFrame.from_records(rows)


def paired(frame: pd.DataFrame, impl: str, reference: str = "floor") -> pd.DataFrame:
    """Per configuration: ``ratio``, ``low``, ``high``, ``time`` and ``ref_time`` (medians, s)."""
    columns = [*CONFIG, "ratio", "low", "high", "time", "ref_time"]
    wide = frame.pivot_table(index=[*CONFIG, "repeat"], columns="impl", values="value")
    if impl not in wide or reference not in wide:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, group in wide[[impl, reference]].dropna().groupby(level=CONFIG):
        e = estimate(np.log(group[impl] / group[reference]), level=0.95)
        rows.append([*key, e.ratio, e.low, e.high, group[impl].median(), group[reference].median()])
    return pd.DataFrame(rows, columns=columns)


def load_thresholds(path: str | Path = THRESHOLDS) -> dict[tuple[str, int], float]:
    """``{(dtype, batch): max ratio}`` from the file's ``max_ratio``; ValueError naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["max_ratio"]
        limits = {(d, int(b)): float(v) for d, by in data.items() for b, v in by.items()}
        if not all(v > 0 for v in limits.values()):
            raise ValueError("a limit is not > 0")
        return limits
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: malformed thresholds ({exc})") from exc


def _verdict(low: float, high: float, limit: float | None, margin: float = 0.0) -> str:
    if limit is None:
        return "not gated"
    if high * (1 + margin) <= limit:
        return "pass"
    return "FAIL" if low > limit * (1 + margin) else "undecided"


def judge(frame: pd.DataFrame, limits: dict[tuple[str, int], float]) -> pd.DataFrame:
    """:func:`paired` nplearn / floor with ``limit``, ``verdict`` and ``measured`` (how)."""
    out = paired(frame, "nplearn")
    out["limit"] = [limits.get(k) for k in zip(out["dtype"], out["batch"], strict=True)]
    out["verdict"] = ["undecided" if r.ratio < 1 and r.limit else
                      _verdict(r.low, r.high, r.limit, PROCESS_MARGIN) for r in out.itertuples()]
    return out.assign(measured="blocks")


def remeasure(verdicts: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Undecided rows timed again across fresh processes; ``inconclusive`` if still undecided."""
    out = verdicts.copy()
    todo = {Config(r.net, r.dtype, int(r.batch)): r.Index
            for r in out.itertuples() if r.verdict == "undecided"}  # fmt: skip
    if todo:
        side = {"tree": Side("working tree", ROOT, ("floor", "nplearn"))}
        limits = {c: out.at[i, "limit"] for c, i in todo.items()}
        outcome = measure(
            side, {RATIO: (("tree", "nplearn"), ("tree", "floor"))}, list(todo), budget=budget,
            decide=lambda c, name, e: None if (v := _verdict(
                e.low, e.high, limits[c])) == "undecided" else v,
        )  # fmt: skip
        for c, i in todo.items():
            e, t = outcome.estimates[c][RATIO], outcome.times[c]
            out.loc[i, ["ratio", "low", "high"]] = e.ratio, e.low, e.high
            out.loc[i, ["time", "ref_time"]] = t["tree", "nplearn"] / 1e3, t["tree", "floor"] / 1e3
            out.at[i, "verdict"] = outcome.verdicts[c][RATIO] or "inconclusive"
            out.at[i, "measured"] = f"{e.clusters} clusters"
    out.loc[out["verdict"] == "undecided", "verdict"] = "inconclusive"
    return out


def line(row: Any, judged: bool = True) -> str:
    """A :func:`judge` row as one line: the ratio, times, how measured and (``judged``) verdict."""
    text = (f"{RATIO} {row.net} {row.dtype} batch {row.batch}: {row.ratio:.3f} [{row.low:.3f}, "
            f"{row.high:.3f}] ({1e3 * row.time:.3f} vs {1e3 * row.ref_time:.3f} ms, "
            f"{row.measured})")  # fmt: skip
    return text + (f", limit {row.limit}: {row.verdict}" if judged else "")


def status(verdicts: pd.DataFrame) -> str:
    """``FAILED`` when a row fails, else ``INCONCLUSIVE`` when one is, else ``PASSED``."""
    seen = set(verdicts["verdict"])
    return "FAILED" if "FAIL" in seen else "INCONCLUSIVE" if "inconclusive" in seen else "PASSED"

