"""One timing run: the A/B against a baseline, the timing pass, the gate and self-test, the limit.

Contract
--------
:func:`run_all` does what ``python -m benchmarks.timing`` promises and returns the exit status;
:func:`self_test` is ``--self-test``. Results go to :mod:`.report` as plain data; nothing raw is
written (the report holds every table).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest

from benchmarks.timing import ab, envs, gate, history, limit
from benchmarks.timing.config import Config, configs
from benchmarks.timing.conftest import MODES
from benchmarks.timing.report import Run, write_bench_report
from benchmarks.timing.sequential import BAD_INPUT, FAILED, INCONCLUSIVE, OK
from verification.provenance import git_commit

HERE = Path(__file__).resolve().parent
PLANT = 0.03
OVERALL = ("REGRESSION", "no regression", "INCONCLUSIVE")


def _configs(quick: bool) -> list[Config]:
    """Both networks and dtypes at the mode's batch sizes the gate holds to its target (>= 16)."""
    return configs([b for b in MODES["quick" if quick else "full"]["batches"] if b >= 16])


def planted_ab(tmp: Path, fraction: float, quick: bool, tolerance: float,
               budget: float) -> list[ab.Comparison]:  # fmt: skip
    copy = ab.planted_tree(tmp, fraction, name=f"copy-{fraction}-{time.monotonic_ns()}")
    label = f"copy {fraction:.0%} slower" if fraction else "identical copy"
    return ab.compare(ab.ROOT, copy, _configs(quick), tolerance=tolerance, budget=budget,
                      labels=("working tree", label))  # fmt: skip


def self_test(runs: int, tolerance: float, plants: Sequence[float], budget: float) -> int:
    """``runs`` quick A/Bs per planted slowdown (0: an identical copy), tallied by overall verdict:
    0 (else 1) when each plant is flagged in >= 95% and never ``no regression``, identical code
    in <= 5%."""
    tally = {p: Counter[str]() for p in plants}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            for fraction in plants:
                start = time.perf_counter()
                results = planted_ab(Path(tmp), fraction, True, tolerance, budget)
                tally[fraction][ab.overall(results)] += 1
                kind = f"planted {fraction:.0%}" if fraction else "identical"
                print(f"self-test run {run + 1}/{runs}, {kind}: "
                      f"{ab.summary(results, 'copy', tolerance)} "
                      f"[{time.perf_counter() - start:.0f} s]", flush=True)  # fmt: skip
    ok = True
    for fraction, counts in tally.items():
        cells = ", ".join(f"{counts[word]} {word}" for word in OVERALL)
        good = (counts["REGRESSION"] >= 0.95 * runs and not counts["no regression"] if fraction
                else counts["REGRESSION"] <= 0.05 * runs)  # fmt: skip
        kind = (f"planted {fraction:.0%} slowdown (>= 95% REGRESSION, never no regression)"
                if fraction else "identical code (<= 5% REGRESSION)")  # fmt: skip
        ok &= good
        print(f"self-test tally, {kind}: {cells} of {runs} runs: {'ok' if good else 'NOT ok'}")
    print(f"SELF-TEST {'PASSED' if ok else 'FAILED'} (quick A/Bs, budget {budget:.0f} s each)")
    return OK if ok else FAILED


def baseline_ab(ref: str | None, env: str | None, quick: bool, tolerance: float,
                budget: float) -> tuple[list[ab.Comparison], str, str]:  # fmt: skip
    """The A/B of the working tree against ``ref`` and/or environment ``env``: the results,
    what was compared (each side's provenance) and what differs."""
    python = envs.interpreter(env) if env else sys.executable
    sides = [envs.describe(python), envs.describe(sys.executable)]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        base = stack.enter_context(ab.baseline_tree(ref, Path(tmp))) if ref else ab.ROOT
        results = ab.compare(base, ab.ROOT, _configs(quick), tolerance=tolerance, budget=budget,
                             labels=(f"baseline {ref or env}", "working tree"), python=python)
    status = ab.git("status", "--porcelain", "--untracked-files=no", "--", "nplearn").stdout
    changed = len(status.splitlines())
    what = (f"the working-tree files of nplearn/ (commit {git_commit()}, uncommitted changes in "
            f"{changed} of its files) against {ref or 'the same files'}; " + "; ".join(
                f"{name}: " + ", ".join(f"{k} {v}" for k, v in side.items())
                for name, side in zip(("baseline", "working tree"), sides, strict=True)))
    differs = envs.differences(*sides) if env else ""
    return results, what, " + ".join(filter(None, [ref, differs]))


def timing_pass(mode: str, threads: int, json_file: Path) -> bool:
    """The unit tests, then the pytest-benchmark pass; whether both succeeded."""
    print(f"== timing pass ({mode}): ms per step, the low quantile of each block ==", flush=True)
    files = [str(HERE / "test_timing.py"), str(HERE / "bench_steps.py")]
    options = ["-o", "python_files=test_*.py bench_*.py", "-o", "console_output_style=classic",
               "-q", "-p", "no:cacheprovider", f"--rootdir={ab.ROOT}", f"--timing-mode={mode}",
               f"--timing-threads={threads}", "--benchmark-quiet", f"--benchmark-json={json_file}"]
    return pytest.main([*files, *options]) == pytest.ExitCode.OK and json_file.exists()


def run_all(args: argparse.Namespace, reports: Path) -> int:
    start, mode, budget = time.perf_counter(), "quick" if args.quick else "full", args.budget
    compared = None
    rows = None if args.quick else history.read(reports / history.FILE)  # a bad file stops first
    if args.baseline or args.baseline_env:  # first: a bad baseline fails before any timing
        print(f"== A/B: working tree against {args.baseline or args.baseline_env} ==", flush=True)
        compared = baseline_ab(args.baseline, args.baseline_env, args.quick, args.tolerance, budget)
        print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        json_file = Path(tmp) / "timings.json"
        if not timing_pass(mode, args.threads, json_file):
            print("the timing pass failed (see above); nothing written", file=sys.stderr)
            return BAD_INPUT
        blocks = gate.blocks(json_file)
        verdicts, selftest = gate.judge(blocks, gate.load_thresholds()), None
        if not args.quick:
            print("== gate: rows whose interval straddles the limit, timed again ==", flush=True)
            verdicts = gate.remeasure(verdicts, budget)
            print("== self-test: the A/B must flag a planted 3% slowdown ==", flush=True)
            selftest = planted_ab(Path(tmp), PLANT, False, args.tolerance, budget)
    print("== how far from the limit ==", flush=True)
    reached = limit.measure(configs(MODES[mode]["batches"], ["float32"]),
                            clusters=3 if args.quick else 6, block=0.01 if args.quick else 0.03)
    run = Run(mode, args.threads, blocks, verdicts, selftest, reached, compared and compared[:2],
              args.tolerance, time.perf_counter() - start)  # fmt: skip
    if rows is not None:
        run.history = history.update(reports, rows, verdicts, reached.kernels[limit.DEFAULT],
                                     args.tolerance, budget)  # fmt: skip
    path = write_bench_report(run, reports)
    print(f"wrote {path} ({run.seconds:.0f} s)")
    print(*run.verdict_lines(), sep="\n")
    words = [] if args.quick else [run.gate_status()[0]]
    if compared is not None:
        print(*(f"  A/B {c.line()}" for c in compared[0]), sep="\n")
        print(ab.summary(compared[0], compared[2], args.tolerance))
        words.append(ab.overall(compared[0]))
    if {"FAILED", "REGRESSION"} & set(words):
        return FAILED
    return INCONCLUSIVE if "INCONCLUSIVE" in words else OK
