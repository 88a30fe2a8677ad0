"""The history section of ``bench.md``: :func:`update` appends this run's :mod:`.history` rows
(one per gate configuration), confirms each candidate change by an A/B of its newer commit against
its older one (:func:`.bisect.pair`; its verdict is what is reported, and it never changes the run's
exit status), draws ``bench/history.png`` (ratio over runs, per configuration, with intervals) and
returns the section's markdown."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from benchmarks.png import save_png
from benchmarks.timing import bisect, history
from benchmarks.timing.steps import Config
from nplearn.doctor import versions
from verification.markdown import markdown_table
from verification.provenance import git_commit


def _figure(rows: list[dict[str, Any]], path: Path) -> None:
    frame = pd.DataFrame(rows).sort_values("date")
    frame["run"] = frame["date"] + " " + frame["commit"].str[:8]
    runs = list(dict.fromkeys(frame["run"]))
    groups = sorted({c.rsplit("-", 1)[0] for c in frame["config"]})
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    for ax, group in zip(axes[0], groups, strict=True):
        for config, mine in frame[frame["config"].str.startswith(group + "-")].groupby("config"):
            x = [runs.index(r) for r in mine["run"]]
            err = [mine["ratio"] - mine["low"], mine["high"] - mine["ratio"]]
            ax.errorbar(x, mine["ratio"], yerr=err, marker="o", capsize=2, label=config[-5:])
        ax.set(title=group, xlabel="run (oldest first)", ylabel="nplearn / fused floor")
        ax.set_xticks(range(len(runs)), [r.split()[-1] for r in runs], rotation=90, fontsize=6)
        ax.legend(fontsize=7)
    save_png(fig, path)


def update(reports: Path, rows: list[dict[str, Any]], gate: pd.DataFrame, kernel: str,
           tolerance: float, budget: float) -> str:  # fmt: skip
    """Append this run's rows, confirm the candidates, draw the plot; the section's markdown."""
    date = datetime.now(timezone.utc).isoformat(timespec="seconds")
    base = {"date": date, "commit": git_commit(), "cpu": versions(())["CPU"], "kernel": kernel}
    new = [{**base, "config": Config(r.net, r.dtype, int(r.batch)).id, "ratio": r.ratio,
            "low": r.low, "high": r.high} for r in gate.itertuples()]  # fmt: skip
    history.append(reports / history.FILE, new)
    rows = rows + new
    found: dict[tuple[str, str, str], list[history.Change]] = {}
    for change in history.changes(rows, tolerance):  # one A/B per pair of commits
        ends = tuple(c.removesuffix("-dirty")[:12] for c in (change.older, change.newer))
        found.setdefault((change.kind, *ends), []).append(change)
    table = []
    with bisect.worktrees() as trees:
        for (kind, older, newer), group in found.items():
            print(f"== history: {kind} from {older} to {newer}: A/B ==", flush=True)
            cfgs = [bisect.config(c.config) for c in group]
            verdict = bisect.text(bisect.pair(trees, newer, older, cfgs, tolerance, budget))
            table.append([", ".join(f"{c.config} {c.ratio:.3f}x" for c in group), kind, older,
                          newer, verdict])  # fmt: skip
    _figure(rows, reports / "bench" / "history.png")
    runs = len({(r["date"], r["commit"]) for r in rows})
    columns = ["configurations (history's ratio)", "candidate", "from", "to", "A/B (to vs from)"]
    return (f"## History: nplearn / fused floor over runs\n\n{len(rows)} rows from {runs} runs "
            f"in `{history.FILE}`, each configuration's last {history.WINDOW} on this CPU and "
            "kernel searched for a step or creep; a candidate is reported as the verdict of an "
            "A/B between its commits and never fails the run.\n\n"
            "![nplearn / fused floor over runs](bench/history.png)\n\n"
            + (markdown_table(columns, table) if table else "No step and no creep found.\n"))
