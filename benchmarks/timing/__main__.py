"""``python -m benchmarks.timing [--quick] [--reports DIR] [--baseline REF] [--self-test]``.

Contract
--------
Pins BLAS/OpenMP/PyTorch/XLA to ``--threads`` (default ``$NPLEARN_BENCH_THREADS`` or 1), then runs
the timing pass and :mod:`.gate` over its JSON; in full mode the self-test (an A/B against a copy
made :data:`run.PLANT` slower must say ``slower``, else the gate fails); "How far from the limit"
(:mod:`.limit`); with ``--baseline REF`` the A/B (:mod:`.ab`) of the working tree against REF.
A full run writes ``reports/bench.md`` (or ``--reports DIR``) and exits 1 when the gate fails;
``--quick`` writes under ``reports/quick/`` and judges nothing. The A/B judges in both modes:
exit 1 on a regression, last line ``A/B: ...``. ``--self-test [--runs N]``: N A/Bs against a
planted slowdown and N against an unmodified copy, exit 0 when >= 95% of each come out right.
Exit 2: bad input (unknown ref, a REF whose nplearn fails to import) or a benchmark error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.threads import default_threads, pinned_environment

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.timing",
        description="Time nplearn's training step against a fused NumPy floor, PyTorch, JAX and "
        "the post's code; with --baseline REF, against REF's nplearn.",
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="smoke test: batches 16 and 100, short, no verdicts")
    add("--reports", type=Path, help="report folder (default reports/, quick: reports/quick/)")
    add("--threads", type=int, default=default_threads(), help="pinned BLAS/OpenMP/torch threads")
    add("--baseline", metavar="REF", help="A/B: time the working tree's nplearn against REF's")
    add("--tolerance", type=float, default=0.03, help="A/B: smallest slowdown flagged (0.03 = 3%%)")
    add("--self-test", action="store_true", help="only the A/B's planted-slowdown check")
    add("--runs", type=int, default=1, help="self-test: A/Bs of each kind (acceptance: 20)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.update(pinned_environment(args.threads))
    from benchmarks.timing import run  # after the pinning: it loads NumPy's BLAS

    if args.self_test:
        return run.self_test(args.runs, args.tolerance)
    try:
        return run.run_all(args, args.reports or ROOT / "reports" / ("quick" if args.quick else ""))
    except run.ab.ABError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return run.BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
