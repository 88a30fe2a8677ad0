"""The gate: nplearn's step over the fused floor's, paired block by block, against thresholds.json.

Contract
--------
``python -m benchmarks.timing.gate RESULTS.json [--thresholds FILE]`` judges a ``--benchmark-json``
file and exits 1 when a configuration is over its limit. :func:`paired` gives per configuration
the median over repeats of ``impl / reference`` of the two blocks of one repeat (timed next to
each other), with their range. :func:`judge`: ``pass``, ``FAIL``, or ``noise`` when the floor
came out slower than the step it bounds (neither a pass nor a failure, never a result).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

THRESHOLDS = Path(__file__).resolve().parents[1] / "thresholds.json"
CONFIG = ["net", "dtype", "batch"]


def blocks(path: str | Path) -> pd.DataFrame:
    """One row per timed block of a ``--benchmark-json`` file."""
    with open(path, encoding="utf-8") as f:
        rows = [b["extra_info"] for b in json.load(f)["benchmarks"] if "value" in b["extra_info"]]
    if not rows:
        raise ValueError(f"{path}: no timing blocks in the file")
    return pd.DataFrame.from_records(rows)


def paired(frame: pd.DataFrame, impl: str, reference: str = "floor") -> pd.DataFrame:
    """Per configuration: ``ratio``, ``low``, ``high``, ``time`` and ``ref_time`` (medians, s)."""
    wide = frame.pivot_table(index=[*CONFIG, "repeat"], columns="impl", values="value")
    if impl not in wide or reference not in wide:
        return pd.DataFrame(columns=[*CONFIG, "ratio", "low", "high", "time", "ref_time"])
    both = wide[[impl, reference]].dropna()
    both["r"] = both[impl] / both[reference]
    out = both.groupby(level=CONFIG).agg(
        ratio=("r", "median"),
        low=("r", "min"),
        high=("r", "max"),
        time=(impl, "median"),
        ref_time=(reference, "median"),
    )
    return out.reset_index()


def load_thresholds(path: str | Path = THRESHOLDS) -> dict:
    """``{"limits": {(dtype, batch): max ratio}, "target": {...}}``; ValueError naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        limits = {
            (d, int(b)): float(v) for d, by in data["max_ratio"].items() for b, v in by.items()
        }
        if not all(v > 0 for v in limits.values()):
            raise ValueError("a limit is not > 0")
        return {"limits": limits, "target": data["target"]}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: malformed thresholds ({exc})") from exc


def judge(frame: pd.DataFrame, thresholds: dict) -> pd.DataFrame:
    """:func:`paired` nplearn / floor with ``limit`` and ``verdict`` (or ``not gated``)."""

    def verdict(ratio: float, limit: float | None) -> str:
        if ratio < 1:
            return "noise (floor slower)"
        return "not gated" if limit is None else "pass" if ratio <= limit else "FAIL"

    out = paired(frame, "nplearn")
    keys = zip(out["dtype"], out["batch"], strict=True)
    out["limit"] = [thresholds["limits"].get(k) for k in keys]
    out["verdict"] = [verdict(r, m) for r, m in zip(out["ratio"], out["limit"], strict=True)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.timing.gate")
    parser.add_argument("results", type=Path, help="--benchmark-json file of the timing pass")
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS)
    args = parser.parse_args(argv)
    verdicts = judge(blocks(args.results), load_thresholds(args.thresholds))
    for row in verdicts.itertuples():
        print(
            f"nplearn / floor {row.net} {row.dtype} batch {row.batch}: {row.ratio:.3f} "
            f"(blocks {row.low:.3f}-{row.high:.3f}, "
            f"{1e3 * row.time:.3f} vs {1e3 * row.ref_time:.3f} ms), "
            f"limit {row.limit}: {row.verdict}"
        )
    failed = int((verdicts["verdict"] == "FAIL").sum())
    print(
        f"GATE {'FAILED' if failed else 'PASSED'}: nplearn / fused floor "
        f"({failed} of {len(verdicts)} configurations over their limit)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
