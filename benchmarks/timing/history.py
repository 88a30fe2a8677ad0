"""The timing history: one JSON line per configuration per full run, its change points, its section.

:data:`FILE` holds one object per line, keys :data:`KEYS` (date first: sorted lines are in date
order; git merges the file as a union), no raw samples. :func:`read` checks every line (BenchError
naming file and line); :func:`append` checks, then rewrites atomically. :func:`changes`, per
configuration over its last :data:`WINDOW` rows on the newest row's CPU and kernel: a *step* where
a two-mean fit of the log ratios (weighted by the intervals plus one process's offset,
:data:`gate.PROCESS_MARGIN`) beats one mean (chi-square, Bonferroni over the splits) by over half
the tolerance; *creep* where the newest ratio is over ``1 + tolerance`` times the oldest. A
candidate change is confirmed by :func:`update` (a full run: appends its rows, A/Bs each
candidate's commits with :func:`.bisect.pair`, reported, never failing the run), which draws
``bench/history.png`` and returns the report's section.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.png import save_png
from benchmarks.timing import bisect
from benchmarks.timing.config import Config
from benchmarks.timing.gate import PROCESS_MARGIN
from benchmarks.timing.sequential import ALPHA, BenchError
from nplearn.atomic import atomic_write_text
from nplearn.doctor import versions
from verification.markdown import markdown_table
from verification.provenance import git_commit

FILE = "bench-history.jsonl"
KEYS = ("date", "commit", "cpu", "kernel", "config", "ratio", "low", "high")
WINDOW = 20
Row = dict[str, Any]


def read(path: Path) -> list[Row]:
    """Every row of ``path`` (none if it does not exist)."""
    rows, lines = [], path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
            if list(row) != list(KEYS) or not 0 < row["low"] <= row["ratio"] <= row["high"]:
                raise ValueError
        except (ValueError, TypeError):
            raise BenchError(f"{path}, line {number}: not a history row: {line[:60]!r}") from None
        rows.append(row)
    return rows


def append(path: Path, new: list[Row]) -> None:
    """Add ``new`` rows at the end of ``path``, atomically, after checking the file."""
    read(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = "".join(json.dumps({k: row[k] for k in KEYS}) + "\n" for row in new)
    atomic_write_text(path, old + ("\n" if old and not old.endswith("\n") else "") + lines)


def _step(y: np.ndarray, w: np.ndarray, tolerance: float) -> int | None:
    """The split of the best weighted two-mean fit, if it is a step (see the contract)."""

    def fit(a: int, b: int) -> tuple[float, float]:
        mean = float(np.average(y[a:b], weights=w[a:b]))
        return mean, float(np.sum(w[a:b] * (y[a:b] - mean) ** 2))

    if (n := len(y)) < 3:
        return None
    k = min(range(1, n), key=lambda k: fit(0, k)[1] + fit(k, n)[1])
    gain = fit(0, n)[1] - fit(0, k)[1] - fit(k, n)[1]
    big = abs(fit(k, n)[0] - fit(0, k)[0]) > math.log1p(tolerance / 2)
    return k if big and stats.chi2.sf(gain, 1) * (n - 1) < ALPHA else None


def changes(rows: list[Row], tolerance: float) -> list[tuple[str, Row, Row]]:
    """``(kind, older row, newer row)`` of each step and creep (see the contract)."""
    out, z = [], float(stats.norm.ppf(0.975))
    for config in dict.fromkeys(r["config"] for r in rows):
        mine = sorted((r for r in rows if r["config"] == config), key=lambda r: r["date"])
        last = mine[-1]
        same = [r for r in mine if (r["cpu"], r["kernel"]) == (last["cpu"], last["kernel"])]
        mine = same[-WINDOW:]  # the window: this CPU and kernel's last rows
        y = np.log([r["ratio"] for r in mine])
        se = np.log([r["high"] / r["low"] for r in mine]) / (2 * z)
        k = _step(y, 1 / (np.minimum(se, 1.0) ** 2 + (PROCESS_MARGIN / 2) ** 2), tolerance)
        out += [("step", mine[k - 1], mine[k])] if k is not None else []
        out += [("creep", mine[0], last)] * bool(y[-1] - y[0] > math.log1p(tolerance))
    return out


def _figure(rows: list[Row], path: Path) -> None:
    frame = pd.DataFrame(rows).sort_values("date")
    frame["run"] = frame["date"] + " " + frame["commit"].str[:8]
    runs = list(dict.fromkeys(frame["run"]))
    groups = sorted({c.rsplit("-", 1)[0] for c in frame["config"]})
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    for ax, group in zip(axes[0], groups, strict=True):
        for config, mine in frame[frame["config"].str.startswith(group + "-")].groupby("config"):
            x = [runs.index(r) for r in mine["run"]]
            err = [mine["ratio"] - mine["low"], mine["high"] - mine["ratio"]]
            batch = config.rsplit("-", 1)[1]  # the panel names the net and dtype
            ax.errorbar(x, mine["ratio"], yerr=err, marker="o", capsize=2, label=batch)
        ax.set(title=group, xlabel="run (oldest first)", ylabel="nplearn / fused floor")
        ax.set_xticks(range(len(runs)), [r.split()[-1] for r in runs], rotation=90, fontsize=6)
        ax.legend(fontsize=7)
    save_png(fig, path)


def update(reports: Path, rows: list[Row], gate: pd.DataFrame, kernel: str, tolerance: float,
           budget: float) -> str:  # fmt: skip
    """Append this run's rows, confirm the candidates, draw the plot; the section's markdown."""
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    base = {"date": date, "commit": git_commit(), "cpu": versions(())["CPU"], "kernel": kernel}
    new = [{**base, "config": Config(r.net, r.dtype, int(r.batch)).id, "ratio": r.ratio,
            "low": r.low, "high": r.high}
           for r in gate.itertuples() if 0 < r.low <= r.ratio <= r.high]  # fmt: skip
    append(reports / FILE, new)
    rows, found, table = rows + new, {}, []
    for kind, a, b in changes(rows, tolerance):  # one A/B per pair of distinct commits
        ends = tuple(r["commit"].removesuffix("-dirty")[:12] for r in (a, b))
        if ends[0] != ends[1]:
            found.setdefault((kind, *ends), []).append((b["config"], b["ratio"] / a["ratio"]))
    with bisect.worktrees() as trees:
        for (kind, older, newer), group in found.items():
            print(f"== history: {kind} from {older} to {newer}: A/B ==", flush=True)
            cfgs = [bisect.CONFIGS[c] for c, _ in group]
            ab = bisect.text(bisect.pair(trees, newer, older, cfgs, tolerance, budget))
            table.append([", ".join(f"{c} {r:.3f}x" for c, r in group), kind, older, newer, ab])
    _figure(rows, reports / "bench" / "history.png")
    columns = ["configurations (history's ratio)", "candidate", "from", "to", "A/B (to vs from)"]
    return (f"## History: nplearn / fused floor over runs\n\n{len(rows)} rows from "
            f"{len({r['date'] for r in rows})} runs in `{FILE}`, each configuration's last "
            f"{WINDOW} on this CPU and kernel searched for a step or creep; a candidate is "
            "reported as the verdict of an A/B between its commits and never fails the run.\n\n"
            "![nplearn / fused floor over runs](bench/history.png)\n\n"
            + (markdown_table(columns, table) if table else "No step and no creep found.\n"))
