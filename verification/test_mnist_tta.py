"""The time-to-accuracy ratio's interval and verdict in the MNIST report, on synthetic curves.

Contract
--------
``results.abba_pairs`` groups each seed's lockstep rounds into ABBA pairs, each framework's
seconds up to its own first point at the threshold; ``results.ratio_interval`` gives the pooled
ratio (exactly the ratio of the summed times to the threshold) and a bootstrap interval that
narrows with more pairs; ``report.tta_verdict`` says ``met`` or ``NOT met`` only when the whole
interval is on one side of the target, ``inconclusive`` otherwise, and nothing in an unjudged run.
No training: the curves are made up.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from benchmarks.mnist.configs import BEST, POST_CE
from benchmarks.mnist.report import RATIO_TARGET, interval_verdict, tta_verdict
from benchmarks.mnist.results import abba_pairs, ratio_interval, tta_summary

COLUMNS = ["framework", "config", "seed", "step", "epoch", "train_seconds", "test_accuracy"]


def _curve(config: str, seed: int, framework: str, seconds: np.ndarray, reach: int) -> list:
    """Points of one framework's run: ``seconds`` per round, 0.97 first reached at ``reach``."""
    accuracy = 0.97 + 0.001 * (np.arange(len(seconds)) - reach)
    rows = zip(np.cumsum(seconds), accuracy, strict=True)
    return [
        [framework, config, seed, 120 * (k + 1), (k + 1) / 4, t, a] for k, (t, a) in enumerate(rows)
    ]


def _points(ratio: float, seeds: int = 3, rounds: int = 40, noise: float = 0.05) -> pd.DataFrame:
    """Lockstep runs of ``post-ce`` and ``best`` whose nplearn/torch speed ratio is ``ratio``."""
    rng = np.random.default_rng(1)
    rows = []
    for config in ("post-ce", "best"):
        for seed in range(seeds):
            torch = rng.uniform(0.09, 0.11, rounds)
            mine = ratio * torch * rng.uniform(1 - noise, 1 + noise, rounds)
            rows += _curve(config, seed, "torch", torch, rounds // 2)
            rows += _curve(config, seed, "nplearn", mine, rounds // 2)
    return pd.DataFrame(rows, columns=COLUMNS)


def test_abba_pairs_are_two_rounds_each_up_to_each_frameworks_threshold() -> None:
    rows = _curve("c", 0, "nplearn", np.array([1.0, 2, 3, 4, 5, 6]), reach=3)
    rows += _curve("c", 0, "torch", np.array([10.0, 20, 30, 40, 50, 60]), reach=4)
    rows += _curve("c", 1, "nplearn", np.array([1.0, 1]), reach=1)  # torch never reached it:
    rows += _curve("c", 1, "torch", np.array([1.0, 1]), reach=5)  # seed 1 does not count
    units = abba_pairs(pd.DataFrame(rows, columns=COLUMNS), "c", 0.97)
    np.testing.assert_array_equal(units, [[3, 7, 0], [30, 70, 50]])


def test_the_pooled_ratio_is_the_ratio_of_summed_times_and_its_interval_narrows() -> None:
    points = _points(0.5)
    units = abba_pairs(points, "best", 0.97)
    assert units.shape == (2, 3 * 11)  # 3 seeds, rounds 0..20 in 11 pairs
    first = points[points["test_accuracy"] >= 0.97].groupby(["framework", "seed"])
    times = first["train_seconds"].min().groupby("framework").sum()
    ratio, low, high = ratio_interval(units)
    assert ratio == pytest.approx(times["nplearn"] / times["torch"])
    assert low < ratio < high and 0.45 < low and high < 0.55
    _, low_few, high_few = ratio_interval(units[:, :6])
    assert high_few - low_few > 1.5 * (high - low)
    assert np.isnan(ratio_interval(units[:, :1])[1:]).all()


VERDICTS = [(0.55, 0.59, "met"), (0.5, 0.6, "met"), (0.61, 0.7, "NOT met")]
VERDICTS += [(0.58, 0.62, "inconclusive"), (0.6, 0.61, "inconclusive")]
VERDICTS += [(np.nan, np.nan, "inconclusive")]  # fewer than 2 ABBA pairs: no interval


@pytest.mark.parametrize(("low", "high", "verdict"), VERDICTS)
def test_a_verdict_needs_the_whole_interval_on_one_side(low: float, high: float, verdict: str):
    assert interval_verdict(low, high, 0.6) == verdict


@pytest.mark.parametrize(
    ("ratio", "verdict"), [(0.45, "met"), (RATIO_TARGET, "inconclusive"), (0.75, "NOT met")]
)
def test_the_headline_line_judges_only_a_decided_interval(ratio: float, verdict: str) -> None:
    table = tta_summary(_points(ratio))
    configs = [replace(POST_CE, epochs=25), BEST]
    line = tta_verdict(table, configs, judged=True, depends="CPU x")
    for key in ("post-ce", "best"):
        row = table.query("config == @key and framework == 'ratio' and threshold == 0.97")
        pooled, low, high = row[["pooled", "low", "high"]].iloc[0]
        shown = f"{key}: nplearn / PyTorch = {pooled:.3f} [{low:.3f}, {high:.3f}]"
        assert f"{shown}, **{verdict}**" in line
    assert line.count(f"**{verdict}**") == 2 and "measured with CPU x" in line
    unjudged = tta_verdict(table, configs, judged=False, depends="CPU x")
    assert "met" not in unjudged and "inconclusive" not in unjudged and "[" in unjudged
