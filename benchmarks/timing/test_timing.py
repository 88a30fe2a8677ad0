"""Unit tests of the timing machinery on synthetic numbers: A/B verdicts, pairing, gate, plan order.

Contract
--------
Fast (nothing is timed); ``python -m benchmarks.timing`` runs them before its timing pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.timing import ab, gate
from benchmarks.timing.conftest import cases
from benchmarks.timing.steps import Config

CFG = Config("ReLU", "float32", 16)


@pytest.mark.parametrize(("centre", "verdict"), [(1.03, "slower"), (1.0, "same"), (0.96, "faster")])
def test_ab_verdict_follows_the_interval_and_the_estimate(centre: float, verdict: str) -> None:
    rounds = centre * np.exp(np.random.default_rng(1).normal(0, 0.01, 14))
    result = ab.judge(CFG, rounds, tolerance=0.03)
    assert result.verdict == verdict and result.low < result.ratio < result.high


def test_ab_noisy_or_small_slowdowns_are_not_regressions() -> None:
    noisy = 1.03 * np.exp(np.random.default_rng(2).normal(0, 0.2, 14))
    assert ab.judge(CFG, noisy, tolerance=0.03).verdict == "same"
    assert ab.judge(CFG, [1.012] * 14, tolerance=0.03).verdict == "same"


def test_ab_last_line_names_the_worst_configuration() -> None:
    other = Config("Sigmoid", "float64", 100)
    results = [ab.judge(CFG, [1.04] * 14, 0.03), ab.judge(other, [1.08] * 14, 0.03)]
    line = ab.summary(results, "HEAD~1", 0.03)
    assert line.startswith("A/B: REGRESSION") and "sigmoid-float64-b100 1.080x" in line
    quiet = ab.summary([ab.judge(CFG, [1.0] * 14, 0.03)], "HEAD~1", 0.03)
    assert quiet.startswith("A/B: no regression")


def test_paired_ratio_is_the_median_of_per_repeat_ratios() -> None:
    rows = [("floor", r, t) for r, t in enumerate([1.0, 1.0, 2.0])]
    rows += [("nplearn", r, t) for r, t in enumerate([1.1, 5.0, 2.4])]
    frame = pd.DataFrame(
        [{"impl": i, "net": "ReLU", "dtype": "float32", "batch": 16, "repeat": r, "value": t}
         for i, r, t in rows]
    )  # fmt: skip
    (row,) = gate.paired(frame, "nplearn").itertuples()
    assert row.ratio == pytest.approx(1.2) and (row.low, row.high) == (1.1, 5.0)
    limits = {"limits": {("float32", 16): 1.15}, "target": {}}
    assert gate.judge(frame, limits)["verdict"].tolist() == ["FAIL"]
    faster = frame.assign(value=np.where(frame["impl"] == "nplearn", 0.9, 1.0))
    assert gate.judge(faster, limits)["verdict"].tolist() == ["noise (floor slower)"]


def test_thresholds_cover_the_full_run_and_refuse_bad_limits(tmp_path: Path) -> None:
    limits = gate.load_thresholds()["limits"]
    assert {(c.config.dtype, c.config.batch) for c in cases("full")} <= set(limits)
    data = json.loads(gate.THRESHOLDS.read_text(encoding="utf-8"))
    data["max_ratio"]["float32"]["16"] = -1
    (tmp_path / "t.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.json"):
        gate.load_thresholds(tmp_path / "t.json")


def test_blocks_interleave_abba() -> None:
    plan = [c for c in cases("quick") if c.config == CFG]
    first = [c.impl for c in plan if c.repeat == 0]
    second = [c.impl for c in plan if c.repeat == 1]
    assert first == second[::-1] and first[0] == "floor" and plan[-1].last
