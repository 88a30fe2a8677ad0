"""Unit tests of the timing machinery itself: plan order, ratio arithmetic, gate, thresholds.

Contract
--------
Fast (no timing), run by ``python -m benchmarks.timing`` before every pass and by a plain
``pytest benchmarks/timing``. They check on synthetic numbers that the gate fails what it must
fail, that a paired ratio is the median block pair's, that the interleaving is ABBA, and that
the repository's thresholds file covers every configuration the full run times.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.timing.gate import THRESHOLDS, judge, load_thresholds, merge
from benchmarks.timing.plan import FULL, QUICK, make_plan, recheck_settings
from benchmarks.timing.results import ratio_table
from benchmarks.timing.workloads import kind_flops, step_flops


def _results(step_times: dict[str, list[float]], batch: int = 16) -> pd.DataFrame:
    """A results table of paired step blocks with the given medians (seconds)."""
    rows = [
        {
            "impl": impl,
            "kind": "step",
            "net": "relu",
            "dtype": "float32",
            "batch": batch,
            "repeat": r,
            "paired": True,
            "flops": step_flops(batch),
            "median": t,
            "min": t,
            "iqr": 0.0,
            "rounds": 10,
        }
        for impl, times in step_times.items()
        for r, t in enumerate(times)
    ]
    return pd.DataFrame.from_records(rows)


def test_paired_ratio_is_the_median_block_pair() -> None:
    ratios = ratio_table(_results({"floor-fused": [1.0, 1.0, 2.0], "nplearn": [1.1, 5.0, 2.4]}))
    row = ratios[ratios["impl"] == "nplearn"].iloc[0]
    assert row["ratio"] == pytest.approx(1.2)  # block ratios 1.1, 5.0, 1.2 -> median 1.2
    assert (row["time"], row["ref_time"]) == (2.4, 2.0)
    assert (row["low"], row["high"]) == (pytest.approx(1.1), pytest.approx(5.0))


def test_gate_fails_above_the_threshold_and_names_both_timings() -> None:
    thresholds = load_thresholds()
    limit = thresholds.limit("relu", "float32", 16)
    assert limit is not None
    slow = ratio_table(_results({"floor-fused": [1e-3] * 3, "nplearn": [1e-3 * limit * 1.01] * 3}))
    fast = ratio_table(_results({"floor-fused": [1e-3] * 3, "nplearn": [1e-3 * limit * 0.99] * 3}))
    (bad,) = judge(slow, thresholds, "nplearn")
    (good,) = judge(fast, thresholds, "nplearn")
    assert not bad.passed and good.passed
    assert "1.0000 ms" in bad.message() and f"{limit * 1.01:.4f} ms" in bad.message()
    assert bad.meets_target is (bad.ratio <= thresholds.target)


def test_recheck_replaces_the_first_verdict() -> None:
    thresholds = load_thresholds()
    first = judge(
        ratio_table(_results({"floor-fused": [1.0] * 3, "nplearn": [9.0] * 3})),
        thresholds,
        "nplearn",
    )
    again = judge(
        ratio_table(_results({"floor-fused": [1.0] * 3, "nplearn": [1.0] * 3})),
        thresholds,
        "nplearn",
    )
    (merged,) = merge(first, again)
    assert merged.passed and merged.rechecked and not first[0].passed


def test_every_timed_configuration_is_gated() -> None:
    thresholds = load_thresholds()
    configs = {(c.net, c.dtype, c.batch) for c in make_plan(FULL) if c.impl == "nplearn"}
    assert configs <= set(thresholds.limits)
    assert all(limit >= 1.0 for limit in thresholds.limits.values())


def test_thresholds_enforce_the_target() -> None:
    """Every configuration the issue's target covers is gated at the target or tighter."""
    thresholds = load_thresholds()
    covered = {c: v for c, v in thresholds.limits.items() if thresholds.target_applies(*c[1:])}
    assert covered and all(limit <= thresholds.target for limit in covered.values())


def test_malformed_thresholds_are_refused(tmp_path: Path) -> None:
    data = json.loads(THRESHOLDS.read_text(encoding="utf-8"))
    data["max_ratio"]["relu"]["float32"]["16"] = -1
    bad = tmp_path / "thresholds.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"relu\.float32\.16"):
        load_thresholds(bad)


def test_paired_blocks_interleave_abba() -> None:
    plan = [
        c
        for c in make_plan(QUICK)
        if c.paired and (c.net, c.dtype, c.batch) == ("relu", "float32", 16)
    ]
    order = [(c.repeat, c.impl) for c in plan]
    first, second = [i for r, i in order if r == 0], [i for r, i in order if r == 1]
    assert first == second[::-1] and first[0] == "floor-fused"
    assert {r for r, _ in order} == set(range(QUICK.pairs))
    assert QUICK.pairs % 2 == 1 and FULL.pairs % 2 == 1
    assert recheck_settings(QUICK, [("relu", "float32", 16)]).pairs % 2 == 1


def test_flop_counts() -> None:
    assert kind_flops("step", 100) == kind_flops("forward", 100) + kind_flops("backward", 100)
    assert step_flops(1) == 2 * (784 * 128 * 2 + 128 * 10 * 3)
