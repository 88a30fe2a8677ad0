"""The timing history: one JSON line per configuration per full run, and its change points.

Contract
--------
:data:`FILE` holds one object per line, keys :data:`KEYS` (date first: sorted lines are in date
order; git merges it as a union), no raw samples. :func:`read` checks every line (BenchError
naming file and line); :func:`append` checks, then rewrites atomically. :func:`changes`, per
configuration over its last :data:`WINDOW` rows on the newest row's CPU and kernel: a *step* where
a two-mean fit of the log ratios, weighted by the intervals plus one process's offset
(:data:`gate.PROCESS_MARGIN`), beats one mean (chi-square, Bonferroni over the splits) by over half
the tolerance; *creep* where the newest ratio is over ``1 + tolerance`` times the oldest. A change
is a candidate for an A/B to confirm, never a verdict.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from benchmarks.timing.gate import PROCESS_MARGIN
from benchmarks.timing.sequential import ALPHA, BenchError
from nplearn.atomic import atomic_write_text

FILE = "bench-history.jsonl"
KEYS = ("date", "commit", "cpu", "kernel", "config", "ratio", "low", "high")
WINDOW = 20


def read(path: Path) -> list[dict[str, Any]]:
    """Every row of ``path`` (none if it does not exist)."""
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
            if list(row) != list(KEYS) or not 0 < row["low"] <= row["ratio"] <= row["high"]:
                raise ValueError
        except (ValueError, TypeError):
            raise BenchError(f"{path}, line {number}: not a history row: {line[:60]!r}") from None
        rows.append(row)
    return rows


def append(path: Path, new: list[dict[str, Any]]) -> None:
    """Add ``new`` rows at the end of ``path``, atomically, after checking the file."""
    read(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = "".join(json.dumps({k: row[k] for k in KEYS}) + "\n" for row in new)
    atomic_write_text(path, old + ("\n" if old and not old.endswith("\n") else "") + lines)


class Change(NamedTuple):
    """A candidate change of ``config``'s ratio from commit ``older`` to ``newer``."""

    config: str
    kind: str
    older: str
    newer: str
    ratio: float


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


def changes(rows: list[dict[str, Any]], tolerance: float) -> list[Change]:
    """Steps and creep per configuration (see the contract), oldest configuration first."""
    out, z = [], float(stats.norm.ppf(0.975))
    for config in dict.fromkeys(r["config"] for r in rows):
        mine = sorted((r for r in rows if r["config"] == config), key=lambda r: r["date"])
        last = mine[-1]
        mine = [r for r in mine if r["cpu"] == last["cpu"] and r["kernel"] == last["kernel"]]
        mine = mine[-WINDOW:]
        y = np.log([r["ratio"] for r in mine])
        se = np.log([r["high"] / r["low"] for r in mine]) / (2 * z)
        k = _step(y, 1 / (np.minimum(se, 1.0) ** 2 + (PROCESS_MARGIN / 2) ** 2), tolerance)
        pairs = [("step", mine[k - 1], mine[k])] if k is not None else []
        pairs += [("creep", mine[0], last)] * bool(y[-1] - y[0] > math.log1p(tolerance))
        out += [Change(config, kind, a["commit"], b["commit"], b["ratio"] / a["ratio"])
                for kind, a, b in pairs]  # fmt: skip
    return out
