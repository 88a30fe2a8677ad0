"""``python -m verification.card ADAPTER [ADAPTER ...]``: a report card for each library.

Contract
--------
For each adapter file (see ``verification.conformance.target``) it runs every check
(:func:`verification.conformance.run_checks`) and writes, atomically, ``<DIR>/<name>.md`` and
``<DIR>/<name>.json``, ``name`` being the adapter file's stem. The markdown starts with the
provenance (library name and version, numpy, CPU...), then the summary line ("14 of 19 checks
pass: 3 wrong, 1 unstable, 1 not present"), one table of the checks and, unless ``--no-timing``
or the library cannot train the post's network, the timing row. The JSON holds the library, the
summary, the provenance, one record per check (piece, check, verdict, worst_error, diagnosis,
counterexample, detail, where) and the timing. A row's evidence column holds its diagnosis ("no
known pattern" for a failing row without one), where an error was raised, or a passing row's
detail. It prints one line per card.

Exit status: 0 when every card was written (whatever its verdicts); 2 when a file is not an
adapter, an option is bad or a card cannot be written (one line on stderr, no traceback; the
other cards are written).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nplearn.atomic import atomic_write_text
from verification.conformance import NotAnAdapter, Result, load_adapter, run_checks
from verification.conformance.result import PASS, VERDICTS
from verification.conformance.runner import DEFAULT_TIMEOUT
from verification.conformance.target import Target
from verification.markdown import fmt, markdown_table, write_report
from verification.provenance import provenance

__all__ = ["main", "render", "summary"]

COLUMNS = ("piece", "check", "verdict", "worst error", "diagnosis or evidence", "counterexample")


def summary(results: Sequence[Result]) -> str:
    """``"14 of 19 checks pass: 3 wrong, 1 unstable, 1 not present"``."""
    counts = Counter(r.verdict for r in results)
    rest = [f"{counts[v]} {v}" for v in VERDICTS if v != PASS and counts[v]]
    head = f"{counts[PASS]} of {len(results)} checks pass"
    return f"{head}: {', '.join(rest)}" if rest else head


def _cell(value: float | None) -> str:
    return "" if value is None else fmt(float(value), 3)


def render(target: Target, results: Sequence[Result], timing: dict[str, Any] | None) -> str:
    """The card's markdown body (after the provenance)."""
    rows = [
        (r.piece, r.check, r.verdict_text(), _cell(r.worst_error), r.evidence(),
         r.counterexample if r.failed and r.counterexample else "")
        for r in results
    ]
    body = [f"**{summary(results)}**\n", markdown_table(COLUMNS, rows)]
    body.append(
        "Worst error: relative to the largest reference entry, against PyTorch float64 or "
        "central differences of the library's own values; tolerances follow the precision of "
        "the dtype the library returns.\n"
    )
    if timing is not None:
        body.append(f"## Timing\n\n{_timing_table(timing)}{timing['text']}\n")
    return "\n".join(body)


def _timing_table(timing: dict[str, Any]) -> str:
    """The timing row: step times and the library's ratios with their 95% intervals."""
    if "seconds" not in timing:
        return ""
    ms = {k: f"{1e3 * v:.3g}" for k, v in timing["seconds"].items()}
    ratios = [f"{r[0]:.2f} [{r[1]:.2f}, {r[2]:.2f}]"
              for r in (timing["ratio_to_nplearn"], timing["ratio_to_floor"])]
    columns = ("step", "library (ms)", "nplearn (ms)", "fused floor (ms)",
               "library / nplearn", "library / floor")
    row = (f"784-128-10 {timing['config']}", ms["library"], ms["nplearn"], ms["floor"], *ratios)
    return markdown_table(columns, [row]) + "\n"


def _write(target: Target, results: list[Result], timing: dict | None, out: Path,
           settings: dict[str, object]) -> Path:
    extra = {"library": target.name, "adapter": target.path.name, **settings}
    path = out / f"{target.slug}.md"
    write_report(path, f"Conformance card: {target.name}", render(target, results, timing),
                 extra=extra)
    record = {
        "library": target.name,
        "adapter": target.path.name,
        "summary": summary(results),
        "provenance": provenance(extra=extra),
        "checks": [r.record() for r in results],
        "timing": timing,
    }
    atomic_write_text(out / f"{target.slug}.json", json.dumps(record, indent=2) + "\n")
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m verification.card",
        description="Run the conformance checks on each adapter file and write its report card "
        "(<DIR>/<name>.md and <DIR>/<name>.json).",
        epilog="Exit status: 0 every card written (whatever its verdicts); 2 a file that is not "
        "an adapter, a bad option, or a card that cannot be written (the other cards are still "
        "written).",
    )
    parser.add_argument("adapters", nargs="+", type=Path, metavar="ADAPTER",
                        help="a Python file presenting a library in the post's interface")
    parser.add_argument("--out", type=Path, default=Path("reports/cards"), metavar="DIR",
                        help="folder of the cards (default: reports/cards)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"time limit of each check in seconds (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--no-timing", action="store_true",
                        help="skip the timing row (the training step against nplearn's)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Write the cards; return the exit status (module contract)."""
    args = _parser().parse_args(argv)
    if not args.timeout > 0:
        print(f"card: error: --timeout must be positive, got {args.timeout}", file=sys.stderr)
        return 2
    status = 0
    for adapter in args.adapters:
        try:
            target = load_adapter(adapter)
        except NotAnAdapter as exc:
            print(f"card: error: {exc}", file=sys.stderr)
            status = 2
            continue
        start = time.perf_counter()
        results = run_checks(target, timeout=args.timeout)
        seconds = time.perf_counter() - start
        timing = None
        if not args.no_timing:
            from verification.conformance.timing import timing_row

            timing = timing_row(target, timeout=max(args.timeout, 180.0))
        settings = {"check time limit (s)": f"{args.timeout:g}",
                    "checks took (s)": f"{seconds:.1f}"}
        try:
            path = _write(target, results, timing, args.out, settings)
        except OSError as exc:
            print(f"card: error: cannot write the card of {adapter} into {args.out}: {exc}",
                  file=sys.stderr)
            status = 2
            continue
        print(f"{path}: {summary(results)} ({seconds:.1f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
