"""``python -m benchmarks.timing``: the timing run's command line (options: ``--help``).

Contract
--------
Pins BLAS/OpenMP/PyTorch/XLA to ``--threads`` (default ``$NPLEARN_BENCH_THREADS`` or 1) and every
timed process to one core (not with ``--no-pin``); runs the timing pass and :mod:`.gate` (rows
straddling the limit timed again), in full mode the self-test (an A/B against a copy
:data:`run.PLANT` slower must say ``REGRESSION``), "How far from the limit" (:mod:`.limit`), with
``--baseline REF`` and/or ``--baseline-env SPEC`` the A/B (:mod:`.ab`, :mod:`.envs`), and in full
mode appends to :mod:`.history`. ``--bisect`` runs only :mod:`.bisect`, ``--self-test`` only
:func:`.run.self_test`. Each sequential comparison measures until decided or ``--budget`` seconds
(:data:`BUDGET`). Writes ``reports/bench.md`` (or ``--reports DIR``); ``--quick`` writes under
``reports/quick/`` and judges no gate, but the A/B judges in both modes (last line ``A/B:
REGRESSION|no regression|INCONCLUSIVE``). Exit statuses: :data:`EPILOG`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from benchmarks.threads import CORE, OFF, default_threads, pin, pinned_environment

ROOT = Path(__file__).resolve().parents[2]
BUDGET = {"quick": 100.0, "full": 600.0}  #: Default seconds per sequential comparison.
EPILOG = """exit status: 0 passed / no regression / bisect done; 1 REGRESSION, GATE FAILED or
SELF-TEST FAILED; 2 bad input (an option out of range, an unknown ref or one not an ancestor of
BAD, a ref without nplearn or whose nplearn fails to import, an interpreter without numpy, a
requirement pip cannot install, a corrupt history line) or a benchmark error; 3 INCONCLUSIVE (the
A/B, the gate or the bisect's endpoints could not decide within --budget: too noisy)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, no usage block, exit ``sequential.BAD_INPUT``."""
        from benchmarks.timing.sequential import BAD_INPUT  # exiting: NumPy may load unpinned

        self.exit(BAD_INPUT, f"{self.prog}: error: {message}\n")


def _number(low: float, high: float, what: str, *, closed: bool = False, kind: type = float
            ) -> Callable[[str], float]:  # fmt: skip
    """A parser of ``kind`` (float or int) in ``(low, high)`` (``[low, high)`` when ``closed``)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not ((low <= value) if closed else (low < value)) or not value < high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = Parser(prog="python -m benchmarks.timing", epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    description="Time nplearn's training step against a fused NumPy floor, "
                    "PyTorch, JAX and the post's code; with --baseline REF, against REF's nplearn.")
    add = parser.add_argument
    add("--quick", action="store_true", help="smoke test: batches 16 and 100, short, no gate")
    add("--reports", type=Path, help="report folder (default reports/, quick: reports/quick/)")
    add("--threads", type=int, default=default_threads(), help="pinned BLAS/OpenMP/torch threads")
    add("--no-pin", action="store_true", help="do not pin every timed process to one core")
    add("--baseline", metavar="REF", help="A/B: time the working tree's nplearn against REF's")
    add("--tolerance", type=_number(0, 0.5, "in (0, 0.5)"), default=0.03,
        help="A/B: the slowdown to rule in or out (0.03 = 3%%), in (0, 0.5)")  # fmt: skip
    add("--budget", metavar="SECONDS", type=_number(0, math.inf, "a positive number"),
        help="seconds each comparison may measure before it reads INCONCLUSIVE "
        f"(default: {BUDGET['quick']:.0f} quick, {BUDGET['full']:.0f} full)")  # fmt: skip
    add("--baseline-env", metavar="SPEC", help="A/B: the baseline side in another Python: a path, "
        "or pip requirements such as numpy==2.3.5 (a cached venv)")  # fmt: skip
    add("--bisect", nargs=2, metavar=("GOOD", "BAD"), help="the first commit after GOOD (first "
        "parents) whose nplearn is slower; or the range, or creep")  # fmt: skip
    add("--config", metavar="NAME", help="bisect only this configuration (relu-float32-b100)")
    add("--resume", action="store_true", help="continue an interrupted --bisect")
    add("--self-test", action="store_true", help="only quick A/Bs against planted slowdowns")
    add("--runs", type=_number(1, math.inf, "a positive whole number", closed=True, kind=int),
        default=1, help="self-test: A/Bs of each kind (acceptance: 20)")  # fmt: skip
    add("--plant", metavar="F", action="append", type=_number(0, 1, "in [0, 1)", closed=True),
        help="self-test: slow the copy's train_step by F (0: identical copy); repeatable; "
        "default 0.03 and 0")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.update(pinned_environment(args.threads, OFF if args.no_pin else None))
    if why := pin():  # before run loads NumPy: threads started later inherit the core
        print(f"{why}; timing unpinned", file=sys.stderr)
        os.environ[CORE] = OFF
    # Only after the pinning: these load NumPy, whose BLAS starts its threads on import.
    from benchmarks.timing import run
    from benchmarks.timing.sequential import BAD_INPUT, BenchError

    short = args.quick or args.self_test or args.bisect
    args.budget = args.budget or BUDGET["quick" if short else "full"]
    try:
        if args.bisect:
            from benchmarks.timing import bisect

            if args.config and args.config not in bisect.CONFIGS:
                raise BenchError(f"--config {args.config!r}: no such configuration (see --help)")
            picked = [bisect.CONFIGS[args.config]] if args.config else run._configs(True)
            return bisect.bisect(*args.bisect, picked, args.tolerance, args.budget, args.resume)
        if args.self_test:
            return run.self_test(args.runs, args.tolerance, args.plant or [run.PLANT, 0.0],
                                 args.budget)  # fmt: skip
        return run.run_all(args, args.reports or ROOT / "reports" / ("quick" if args.quick else ""))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
