"""``python -m benchmarks.timing [--quick] [--threads N] [--self-test] [pytest options]``.

Contract
--------
Pins the BLAS/OpenMP thread count with ``threadpoolctl`` for the whole run, runs the
pytest-benchmark modules of this package through ``pytest.main`` (results autosaved under
``.benchmarks/``, read back from ``--benchmark-json``), computes the ratios, re-times any
configuration whose ratio exceeds its threshold (interleaved, twice the blocks) and then gates:
every verdict is printed, and each failure names the benchmark and both timings. Only when all
timings completed does it write ``reports/bench.md`` and ``reports/bench/*``.

The thread count defaults to ``$NPLEARN_BENCH_THREADS`` or 1 (one core gives the most stable
ratios on a shared machine, and the elementwise work does not use more). Exit status: 0 the
gate passed; 1 the gate failed; 2 a benchmark errored (nothing written).
With ``--self-test`` only the gate's must-fail check runs (float32, nplearn with a slowed
``Linear`` against the fused floor, nothing written): 0 when the gate rejects the slowed library
in every configuration, 3 when it does not. Options this parser does not know are passed to
pytest (e.g. ``--benchmark-compare``, ``-k``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from benchmarks.threads import default_threads
from benchmarks.timing.gate import THRESHOLDS, Verdict, judge, load_thresholds, merge
from benchmarks.timing.plan import (
    FULL,
    QUICK,
    Settings,
    recheck_settings,
    save_settings,
    selftest_settings,
)
from benchmarks.timing.report import Run, write_bench_report
from benchmarks.timing.results import load_results, ratio_table, time_table
from benchmarks.timing.workloads import SEED

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GATE_FAILED, BENCH_ERROR, SELFTEST_FAILED = 1, 2, 3


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The run's options and the leftover arguments for pytest."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.timing",
        description="Time nplearn's 784-128-10 training step against plain-NumPy floors and "
        "peers, gate the ratios against benchmarks/thresholds.json, write reports/bench.md. "
        "Unknown options go to pytest (e.g. --benchmark-compare).",
    )
    parser.add_argument("--quick", action="store_true", help="CI mode: batch 16 and 100, short")
    parser.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help="BLAS/OpenMP/torch threads, pinned for the whole run (default: $NPLEARN_BENCH_THREADS"
        " or 1, the most stable ratios on a shared machine)",
    )
    parser.add_argument("--self-test", action="store_true", help="only the gate's must-fail check")
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS, help="gate limits (JSON)")
    parser.add_argument(
        "--reports", type=Path, default=ROOT / "reports", help="where bench.md is written"
    )
    return parser.parse_known_args(argv)


def run_pass(settings: Settings, threads: int, work: Path, extra: Sequence[str]) -> Path | None:
    """Run the benchmark modules once; the JSON results, or None if pytest failed."""
    settings_file = work / f"{settings.name.replace(' ', '-')}.settings.json"
    json_file = work / f"{settings.name.replace(' ', '-')}.json"
    save_settings(settings, settings_file)
    args = [
        str(HERE),
        "-o",
        "python_files=test_*.py bench_*.py",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--rootdir={ROOT}",
        f"--timing-settings={settings_file}",
        f"--timing-threads={threads}",
        f"--benchmark-json={json_file}",
        f"--benchmark-storage=file://{ROOT / '.benchmarks'}",
        "--benchmark-warmup=on",
        "--benchmark-warmup-iterations=10",
        "--benchmark-columns=median,iqr,min,rounds",
        "--benchmark-sort=name",
        *(["--benchmark-autosave"] if settings.name in ("quick", "full") else []),
        *extra,
    ]
    print(f"\n== timing pass: {settings.name} ==", flush=True)
    code = pytest.main(args)
    if code != pytest.ExitCode.OK or not json_file.exists():
        print(f"benchmark pass {settings.name!r} failed (pytest exit {int(code)})", file=sys.stderr)
        return None
    return json_file


def _to_recheck(gate: list[Verdict], selftest: list[Verdict]) -> set[tuple[str, str, int]]:
    """Configurations to re-time: nplearn over its limit, or the slowed nplearn within it."""
    return {v.config for v in gate if not v.passed} | {
        v.config for v in selftest if v.passed and v.limit is not None
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the timings, gate them, write the report; the exit status (module docstring)."""
    args, extra = parse_args(argv)
    thresholds = load_thresholds(args.thresholds)
    settings = QUICK if args.quick else FULL
    if args.self_test:
        settings = selftest_settings(settings)
    start = time.perf_counter()
    with threadpool_limits(limits=args.threads), tempfile.TemporaryDirectory() as tmp:
        json_file = run_pass(settings, args.threads, Path(tmp), extra)
        if json_file is None:
            return BENCH_ERROR
        results = load_results(json_file)
        vs_floor = ratio_table(results)
        gate = judge(vs_floor, thresholds, "nplearn")
        selftest = judge(vs_floor, thresholds, "nplearn-copy")
        redo = _to_recheck(gate, selftest)
        if redo:
            again = run_pass(recheck_settings(settings, redo), args.threads, Path(tmp), extra)
            if again is None:
                return BENCH_ERROR
            ratios_again = ratio_table(load_results(again))
            gate = merge(gate, judge(ratios_again, thresholds, "nplearn"))
            selftest = merge(selftest, judge(ratios_again, thresholds, "nplearn-copy"))
        seconds = time.perf_counter() - start
        print("\n== gate: nplearn step / fused floor ==")
        for verdict in gate:
            print(verdict.message())
        print("== self-test: nplearn with a slowed Linear (must be rejected) ==")
        for verdict in selftest:
            print(verdict.message())
        missed = [v for v in selftest if v.passed]
        if args.self_test:
            print(
                "SELF-TEST "
                + (
                    "FAILED: the gate accepted the slowed library"
                    if missed
                    else "PASSED: the gate rejects the slowed library"
                )
            )
            return SELFTEST_FAILED if missed else 0
        run = Run(
            mode=settings.name,
            threads=args.threads,
            times=time_table(results),
            vs_floor=vs_floor,
            vs_torch=ratio_table(results, reference="torch"),
            gate=gate,
            selftest=selftest,
            thresholds=thresholds,
            settings={
                "pairs": settings.pairs,
                "block_time": settings.block_time,
                "single_time": settings.single_time,
            },
            seconds=seconds,
            seed=SEED,
        )
        path = write_bench_report(run, args.reports)
    failed = [v for v in gate if not v.passed]
    print(f"wrote {path} ({seconds:.0f} s of timings)")
    if failed:
        print("GATE FAILED:", file=sys.stderr)
        for verdict in failed:
            print("  " + verdict.message(), file=sys.stderr)
        return GATE_FAILED
    print("GATE PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
