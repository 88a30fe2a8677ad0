"""One timing run: the A/B against a baseline, the timing pass, the gate and self-test, the limit.

Contract
--------
:func:`run_all` does what ``python -m benchmarks.timing`` promises and returns the exit status;
:func:`self_test` is ``--self-test``. Results go to :mod:`.report` as plain data.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pytest

from benchmarks.timing import ab, gate, limit
from benchmarks.timing.conftest import MODES
from benchmarks.timing.report import Run, write_bench_report
from benchmarks.timing.steps import configs
from verification.provenance import git_commit

HERE = Path(__file__).resolve().parent
PLANT = 0.03
REGRESSION, BAD_INPUT = 1, 2


def _ab(
    base: Path, tree: Path, labels: tuple[str, str], quick: bool, tolerance: float
) -> list[ab.Comparison]:
    """Both networks and dtypes at the mode's batch sizes the gate holds to its target (>= 16)."""
    batches = [b for b in MODES["quick" if quick else "full"]["batches"] if b >= 16]
    return ab.compare(
        base, tree, configs(batches), rounds=14 if quick else 30, tolerance=tolerance, labels=labels
    )


def planted_ab(tmp: Path, fraction: float, quick: bool, tolerance: float) -> list[ab.Comparison]:
    copy = ab.planted_tree(tmp, fraction, name=f"copy-{fraction}-{time.monotonic_ns()}")
    label = f"copy {fraction:.0%} slower" if fraction else "identical copy"
    return _ab(ab.ROOT, copy, ("working tree", label), quick, tolerance)


def self_test(runs: int, tolerance: float) -> int:
    """``runs`` planted and ``runs`` identical quick A/Bs; 0 when >= 95% of each come out right."""
    flagged = {PLANT: 0, 0.0: 0}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            for fraction in (PLANT, 0.0):
                start = time.perf_counter()
                results = planted_ab(Path(tmp), fraction, True, tolerance)
                line = ab.summary(results, "copy", tolerance)
                flagged[fraction] += line.startswith("A/B: REGRESSION")
                kind = f"planted {fraction:.0%}" if fraction else "identical"
                took = f"[{time.perf_counter() - start:.0f} s]"
                print(f"self-test run {run + 1}/{runs}, {kind}: {line} {took}", flush=True)
    caught, false = flagged[PLANT], flagged[0.0]
    ok = caught >= 0.95 * runs and false <= 0.05 * runs
    print(
        f"SELF-TEST {'PASSED' if ok else 'FAILED'}: a planted {PLANT:.0%} slowdown flagged in "
        f"{caught}/{runs} quick A/Bs, identical code flagged in {false}/{runs}"
    )
    return 0 if ok else 1


def baseline_ab(ref: str, quick: bool, tolerance: float) -> tuple[list[ab.Comparison], str]:
    """The A/B of the working tree against ``ref``, and what was compared."""
    with tempfile.TemporaryDirectory() as tmp, ab.baseline_tree(ref, Path(tmp)) as base:
        results = _ab(base, ab.ROOT, (f"baseline {ref}", "working tree"), quick, tolerance)
    status = ab.git("status", "--porcelain", "--untracked-files=no", "--", "nplearn").stdout
    changed = sum(bool(line.strip()) for line in status.splitlines())
    what = (
        f"the working-tree files of nplearn/ (commit {git_commit()}, "
        f"uncommitted changes in {changed} of its files) against {ref}"
    )
    return results, what


def timing_pass(mode: str, threads: int, json_file: Path) -> bool:
    """The unit tests, then the pytest-benchmark pass; whether both succeeded."""
    print(f"== timing pass ({mode}): ms per step, the low quantile of each block ==", flush=True)
    files = [str(HERE / "test_timing.py"), str(HERE / "bench_steps.py")]
    options = ["-o", "python_files=test_*.py bench_*.py", "-o", "console_output_style=classic"]
    options += ["-q", "-p", "no:cacheprovider"]
    options += [f"--rootdir={ab.ROOT}", f"--timing-mode={mode}", f"--timing-threads={threads}"]
    options += ["--benchmark-quiet", f"--benchmark-json={json_file}"]
    return pytest.main([*files, *options]) == pytest.ExitCode.OK and json_file.exists()


def run_all(args: argparse.Namespace, reports: Path) -> int:
    start, mode = time.perf_counter(), "quick" if args.quick else "full"
    compared = None
    if args.baseline:  # first: a bad ref or a broken baseline fails before any timing
        print(f"== A/B: working tree against {args.baseline} ==", flush=True)
        compared = baseline_ab(args.baseline, args.quick, args.tolerance)
        print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        json_file = Path(tmp) / "timings.json"
        if not timing_pass(mode, args.threads, json_file):
            print("the timing pass failed (see above); nothing written", file=sys.stderr)
            return BAD_INPUT
        blocks = gate.blocks(json_file)
        selftest = None
        if not args.quick:
            print("== self-test: the A/B must flag a planted 3% slowdown ==", flush=True)
            selftest = planted_ab(Path(tmp), PLANT, False, args.tolerance)
        print("== how far from the limit ==", flush=True)
        float32 = configs(MODES[mode]["batches"], ["float32"])
        reached = limit.measure(float32, rounds=3 if args.quick else 8)
        verdicts, raw = gate.judge(blocks, gate.load_thresholds()), json_file.read_text("utf-8")
        seconds = time.perf_counter() - start
        run = Run(mode, args.threads, blocks, verdicts, selftest, reached, compared,
                  args.tolerance, seconds, raw)  # fmt: skip
        path = write_bench_report(run, reports)
    print(f"wrote {path} ({run.seconds:.0f} s)")
    for line in run.verdict_lines():
        print(line)
    status = 0 if args.quick or run.passed() else REGRESSION
    if compared is not None:
        for c in compared[0]:
            print(f"  A/B {c.line()}")
        print(ab.summary(compared[0], args.baseline, args.tolerance))
        if any(c.verdict == "slower" for c in compared[0]):
            status = REGRESSION
    return status
