"""Unit tests of the timing machinery on synthetic numbers: verdicts, stopping rule, gate, CLI.

Contract
--------
Fast (nothing is timed: workers and clusters are replaced by synthetic draws);
``python -m benchmarks.timing`` runs them before its timing pass.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from benchmarks.timing import ab, gate, limit, report, run, sequential
from benchmarks.timing.config import Config
from benchmarks.timing.conftest import cases
from benchmarks.timing.sequential import Estimate, Side
from benchmarks.timing.steps import BOUND, IMPLS, make_step

CFG = Config("ReLU", "float32", 16)
OTHER = Config("Sigmoid", "float64", 100)


def est(ratio: float, low: float, high: float, sd: float = 0.02) -> Estimate:
    return Estimate(ratio, low, high, 10, sd, 1.0)


@pytest.mark.parametrize(
    ("interval", "word"),
    [((1.03, 1.015, 1.045), "slower"), ((0.97, 0.955, 0.985), "faster"),
     ((1.0, 0.98, 1.02), "same"), ((1.0, 0.92, 1.36), None),  # wide: nothing was ruled out
     ((1.012, 0.99, 1.035), None),  # straddles 1 + tolerance
     ((1.013, 1.011, 1.015), "same")],  # clear of 1, but not of the tolerance's point
)  # fmt: skip
def test_ab_verdicts_follow_the_interval(interval: tuple[float, ...], word: str | None) -> None:
    assert ab.verdict(est(*interval), 0.03) == word


def comparison(config: Config, interval: tuple[float, float, float], word: str) -> ab.Comparison:
    return ab.Comparison(config, est(*interval), word, 1.0, 1.0, 0.03)


def test_overall_verdict_last_line_and_the_clusters_an_undecided_one_needs() -> None:
    same = comparison(CFG, (1.0, 0.99, 1.01), "same")
    slower = comparison(OTHER, (1.08, 1.05, 1.1), "slower")
    open_ = comparison(OTHER, (1.0, 0.9, 1.2), "inconclusive")
    regression = "A/B: REGRESSION against HEAD~1: sigmoid-float64-b100 1.080x [1.050, 1.100]"
    assert ab.summary([same, slower], "HEAD~1", 0.03).startswith(regression)
    assert ab.overall([same]) == "no regression"
    line = ab.summary([same, open_], "HEAD~1", 0.03)
    assert line.startswith("A/B: INCONCLUSIVE") and "1 of 2 configurations undecided" in line
    assert "more clusters" in line and "noise 2.0% per cluster" in line
    # same needs a half-width of log(1.03) around 1.0: (z * sd / log 1.03)^2 clusters in all
    c = ab.Comparison(CFG, Estimate(1.0, 0.95, 1.05, 10, 0.05, 2.0), "inconclusive", 1, 1, 0.03)
    words = c.undecided().split()
    more, seconds = int(words[words.index("about") + 1]), words[words.index("about") + 4]
    z = 2.77  # normal quantile at sequential.LEVEL
    assert abs(more + 10 - (z * 0.05 / math.log1p(0.03)) ** 2) < 1.5
    assert seconds == f"(~{2 * more}"


def test_estimate_is_a_student_t_interval_over_clusters() -> None:
    logs = np.log([1.01, 0.99, 1.03, 1.0, 0.98])
    e = sequential.estimate(logs, level=0.95)
    half = 2.776 * np.std(logs, ddof=1) / np.sqrt(5)
    assert (e.low, e.high) == pytest.approx(np.exp(logs.mean() + np.array([-half, half])), rel=1e-3)
    assert sequential.estimate([0.0, 0.0]).low == 1.0  # no spread: a point, not NaN


def simulate(monkeypatch: pytest.MonkeyPatch, ratio: float, runs: int, decide: Any, seed: int = 0,
             **options: Any) -> list[sequential.Outcome]:  # fmt: skip
    """``runs`` measurements (``options`` to :func:`.sequential.measure`, no budget unless given),
    tree = ``ratio`` x baseline, each cluster with its offset (SD 2%), each round its noise (1%)."""
    rng = np.random.default_rng(seed)

    def cluster(workers: Any, config: Config, arms: list, *args: Any) -> dict:
        offset = rng.normal(0, 0.02)
        base = np.exp(rng.normal(0, 0.01, sequential.ROUNDS))
        tree = base * ratio * np.exp(offset + rng.normal(0, 0.01, sequential.ROUNDS))
        return {arms[0]: list(tree), arms[1]: list(base)}

    monkeypatch.setattr(sequential, "Worker", mock.MagicMock())  # no process: clusters are drawn
    monkeypatch.setattr(sequential, "_cluster", cluster)
    sides = {name: Side(name, Path("."), ("nplearn",)) for name in ("tree", "base")}
    ratios = {"r": (("tree", "nplearn"), ("base", "nplearn"))}
    options = {"budget": math.inf, "say": lambda s: None, **options}
    return [sequential.measure(sides, ratios, [CFG], decide=decide, **options) for _ in range(runs)]


def excludes_one(c: Config, name: str, e: Estimate) -> str | None:
    return "differs" if e.low > 1 or e.high < 1 else None


def test_repeated_looks_keep_the_false_alarm_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Null data, every look allowed to stop: the rule's rate stays at or below ALPHA, while
    the same looks at a plain 95% level (no adjustment) exceed it."""
    runs = 300
    adjusted = simulate(monkeypatch, 1.0, runs, excludes_one)
    assert np.mean([o.verdicts[CFG]["r"] == "differs" for o in adjusted]) <= sequential.ALPHA
    assert max(o.looks for o in adjusted) == len(sequential.LOOKS)  # no extra look at the end
    naive = simulate(monkeypatch, 1.0, runs, excludes_one, seed=1, level=0.95)
    assert np.mean([o.verdicts[CFG]["r"] == "differs" for o in naive]) > sequential.ALPHA


def test_sequential_ab_decides_a_planted_slowdown_and_same(monkeypatch: pytest.MonkeyPatch) -> None:
    def decide(c: Config, name: str, e: Estimate) -> str | None:
        return ab.verdict(e, 0.03)

    slower = simulate(monkeypatch, 1.03, 40, decide, seed=2)
    assert sum(o.verdicts[CFG]["r"] == "slower" for o in slower) >= 38
    assert not any(o.verdicts[CFG]["r"] == "same" for o in slower)
    same = simulate(monkeypatch, 1.0, 40, decide, seed=3)
    assert all(o.verdicts[CFG]["r"] == "same" for o in same)
    assert all(o.clusters < sequential.LOOKS[-1] for o in same)  # stopped once decided


def test_budget_ends_measuring_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    (o,) = simulate(monkeypatch, 1.0, 1, lambda c, n, e: None)
    assert o.clusters == sequential.LOOKS[-1] and o.verdicts[CFG]["r"] is None
    (o,) = simulate(monkeypatch, 1.0, 1, excludes_one, budget=0.0)  # the first cluster only
    assert (o.clusters, o.looks) == (1, 1) and o.estimates[CFG]["r"].high == math.inf


def blocks_frame(**times: list[float]) -> pd.DataFrame:
    """One timed block of ``CFG`` per implementation and repeat, with the given seconds."""
    rows = [{"impl": i, **asdict(CFG), "repeat": r, "value": t}
            for i, values in times.items() for r, t in enumerate(values)]  # fmt: skip
    return pd.DataFrame(rows)


LIMITS = {("float32", 16): 1.15}


@pytest.mark.parametrize(
    ("nplearn", "word"),
    [([1.05, 1.06, 1.04, 1.05], "pass"), ([1.3, 1.31, 1.29, 1.3], "FAIL"),
     ([1.1, 1.2, 1.15, 1.16], "undecided"), ([0.9, 0.91, 0.9, 0.92], "undecided"),
     # tight intervals of one process, but within the process margin of the limit
     ([1.12, 1.121, 1.119, 1.12], "undecided"), ([1.17, 1.171, 1.169, 1.17], "undecided")],
)  # fmt: skip
def test_gate_rows_get_an_interval_and_three_verdicts(nplearn: list[float], word: str) -> None:
    (row,) = gate.judge(blocks_frame(nplearn=nplearn, floor=[1.0] * 4), LIMITS).itertuples()
    assert row.low < row.ratio < row.high and row.verdict == word


def test_gate_remeasures_straddlers_and_reads_inconclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts = gate.judge(blocks_frame(nplearn=[1.1, 1.2, 1.15, 1.16], floor=[1.0] * 4), LIMITS)

    def measure(sides: Any, ratios: Any, configs: list, **kw: Any) -> sequential.Outcome:
        assert configs == [CFG]
        e = Estimate(1.14, 1.12, 1.16, 30, 0.02, 1.0)
        arms = {("tree", "nplearn"): 0.11, ("tree", "floor"): 0.1}
        verdicts = {CFG: {gate.RATIO: kw["decide"](CFG, gate.RATIO, e)}}
        return sequential.Outcome({CFG: {gate.RATIO: e}}, verdicts, {CFG: arms}, clusters=30)

    monkeypatch.setattr(gate, "measure", measure)
    out = gate.remeasure(verdicts, budget=10)
    assert out[["verdict", "measured"]].values.tolist() == [["inconclusive", "30 clusters"]]
    assert gate.status(out) == "INCONCLUSIVE"
    assert gate.status(out.assign(verdict="pass")) == "PASSED"
    assert gate.status(pd.concat([out, out.assign(verdict="FAIL")])) == "FAILED"


def test_thresholds_cover_the_full_run_and_refuse_bad_limits(tmp_path: Path) -> None:
    assert {(c.config.dtype, c.config.batch) for c in cases("full")} <= set(gate.load_thresholds())
    data = json.loads(gate.THRESHOLDS.read_text(encoding="utf-8"))
    data["max_ratio"]["float32"]["16"] = -1
    (tmp_path / "t.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.json"):
        gate.load_thresholds(tmp_path / "t.json")


def test_blocks_interleave_abba() -> None:
    plan = [c for c in cases("quick") if c.config == CFG]
    first, second = ([c.impl for c in plan if c.repeat == r] for r in (0, 1))
    assert first == second[::-1] and first[0] == "floor" and plan[-1].last


def test_self_test_tallies_each_verdict(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    draws = (comparison(CFG, (1.0, 0.99, 1.01), w) for w in ("slower", "inconclusive", "same"))
    monkeypatch.setattr(run, "planted_ab", lambda *args: [next(draws)])
    assert run.self_test(3, 0.03, [0.03], 1.0) == sequential.FAILED
    tally = "1 REGRESSION, 1 no regression, 1 INCONCLUSIVE of 3 runs: NOT ok"
    assert tally in capsys.readouterr().out


def test_full_report_shows_three_verdicts_and_links_no_raw_file(tmp_path: Path) -> None:
    times = (("floor", 1e-4), ("nplearn", 1.1e-4), ("torch", 2e-4))
    frame = blocks_frame(**{i: [t * (1 + 0.01 * r) for r in range(4)] for i, t in times})
    verdicts = gate.judge(frame, LIMITS).assign(verdict="inconclusive", measured="9 clusters")
    arms = {(limit.DEFAULT, i): r for i, r in (("nplearn", 1), ("floor", 1.1), ("torch", 0.5))}
    arms[limit.LIMIT] = 2.0
    ratios = {limit.name(a): Estimate(r, r * 0.9, r * 1.1, 3, 0.05, 1.0) for a, r in arms.items()}
    ratios[limit.FLOOR_BOUND] = Estimate(1.25, 1.2, 1.3, 3, 0.02, 1.0)
    times = {**dict.fromkeys(arms, 0.1), limit.LIMIT: 0.05, (limit.DEFAULT, "torch"): 0.08}
    lim = sequential.Outcome({CFG: ratios}, {}, {CFG: times}, {limit.DEFAULT: "SkylakeX"})
    planted = [comparison(CFG, (1.03, 1.015, 1.045), "slower")]
    compared = [comparison(CFG, (1.0, 0.9, 1.2), "inconclusive")]
    result = report.Run("full", 1, frame, verdicts, planted, lim, (compared, "x"), 0.03, 1.0)
    text = report.write_bench_report(result, tmp_path).read_text(encoding="utf-8")
    assert "## Gate: INCONCLUSIVE" in text and "| 9 clusters | 1.15 | inconclusive |" in text
    assert "A/B: INCONCLUSIVE" in text and "| inconclusive | noise 2.0% per cluster" in text
    assert "1.100 [0.990, 1.210]" in text  # a peer's ratio with its interval
    # the bound's row: its time, floor / bound, nplearn / bound; the fastest step is a peer
    assert "| relu-float32-b16 | 0.05 | 1.250 [1.200, 1.300] | 2.000 [1.800, 2.200] |" in text
    assert "PyTorch, default (SkylakeX): 0.500 [0.450, 0.550]" in text
    assert "CPU affinity" in text
    assert "timings.json" not in text and not (tmp_path / "bench" / "timings.json").exists()
    assert result.verdict_lines()[-1].startswith("GATE INCONCLUSIVE: 1 configurations undecided")


def _python(code: str, **env: str) -> list[str]:
    """Run ``code`` in a fresh interpreter (pinning and JAX's x64 are process-wide)."""
    environ = {**os.environ, **env, "PYTHONPATH": str(sequential.ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=sequential.ROOT, env=environ, check=True, timeout=300)  # fmt: skip
    return done.stdout.splitlines()


def test_pinning_sets_one_core_survives_a_bad_one_and_reaches_workers() -> None:
    # The command's module loads no NumPy (whose BLAS starts threads) before it pins.
    code = ("import os, sys, benchmarks.timing.__main__\nfrom benchmarks.threads import *\n"
            "print(pin()); os.environ['NPLEARN_BENCH_CORE'] = '0'; print(pin())\n"
            "print(affinity()); print('numpy' in sys.modules)")  # fmt: skip
    bad, good, where, numpy = _python(code, NPLEARN_BENCH_CORE="99999")
    assert bad.startswith("cannot pin to core '99999'") and good == "None" and numpy == "False"
    assert where.startswith("core 0, every timed process")
    assert _python(code.replace("'0'", "'none'"), NPLEARN_BENCH_CORE="none")[2].startswith(
        "unpinned")
    worker = sequential.Worker(Side("pinned", sequential.ROOT, (), (("NPLEARN_BENCH_CORE", "0"),)))
    worker.handshake()  # a worker pins itself before it serves
    worker.close()
    assert worker.ready["affinity"].startswith("core 0")


def test_float64_jax_keeps_x64_off_where_float32_is_timed() -> None:
    """x64 is process-global: the timing pass times float64 JAX in a worker of its own and keeps
    it off in its process, and no float32 JAX step may be built after float64 turned it on."""
    pytest.importorskip("jax")
    code = ("import jax\nfrom benchmarks.timing.conftest import Case, WorkerStep, build\n"
            "from benchmarks.timing.config import Config\n"
            "from benchmarks.timing.steps import JaxStep\nwide, narrow = (build(Case('jax', "
            "Config('ReLU', d, 4), 0, 0.01)) for d in ('float64', 'float32'))\nwide.fetch(2)\n"
            "t = wide() + wide()\nprint(t > 0, WorkerStep.clock() == t, narrow() > 0, "
            "jax.config.jax_enable_x64)\nJaxStep(Config('ReLU', 'float64', 4))\n"
            "try:\n    JaxStep(Config('ReLU', 'float32', 4))\nexcept RuntimeError as e:\n"
            "    print(e)")  # fmt: skip
    refused = "JaxStep relu-float32-b4: jax_enable_x64 is on in this process"
    assert _python(code) == ["True True True False", refused]


def test_the_bound_is_the_floors_matrix_products_and_no_timed_step() -> None:
    bound = make_step(BOUND, CFG)
    assert bound() == 0.0 and BOUND not in IMPLS
    np.testing.assert_allclose(bound.g["W1"], bound.x.T @ bound.dH, rtol=1e-5)  # type: ignore
    np.testing.assert_allclose(bound.H, bound.x @ bound.p["W1"], rtol=1e-5)  # type: ignore
