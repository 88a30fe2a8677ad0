"""The regression gate: ratios nplearn / fused floor against ``benchmarks/thresholds.json``.

Contract
--------
:func:`load_thresholds` reads the thresholds file: per network, dtype and batch size the largest
allowed ratio of nplearn's training step to the fused floor measured in the same run, plus the
issue's target (``<= 1.15`` for float32 at batch >= 16), which the limits it covers now equal
(``test_gate`` keeps them there). :func:`judge` turns a ratio table
(:func:`results.ratio_table`) into one :class:`Verdict` per configuration for an
implementation. A configuration with no threshold is reported and never fails. A failing
verdict's message names the benchmark, both timings, the ratio and the limit. :func:`merge`
replaces the verdicts of configurations that were re-timed (a failure is only final once an
interleaved recheck confirms it). The self-test judges nplearn with a deliberately slowed
``Linear`` with the same thresholds: the gate must reject it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

__all__ = ["THRESHOLDS", "Thresholds", "Verdict", "judge", "load_thresholds", "merge"]

#: The thresholds file of the repository.
THRESHOLDS = Path(__file__).resolve().parent.parent / "thresholds.json"

Config = tuple[str, str, int]


@dataclass(frozen=True)
class Thresholds:
    """Largest allowed ratio step / fused floor per configuration, and the issue's target.

    Attributes:
        limits: ``(net, dtype, batch) -> max ratio``.
        target: the target ratio (1.15).
        target_dtype: the dtype the target is about (float32).
        target_min_batch: the smallest batch the target is about (16).
        path: where the thresholds came from.
    """

    limits: dict[Config, float]
    target: float
    target_dtype: str
    target_min_batch: int
    path: str

    def limit(self, net: str, dtype: str, batch: int) -> float | None:
        """The threshold of a configuration, or None when it is not gated."""
        return self.limits.get((net, dtype, batch))

    def target_applies(self, dtype: str, batch: int) -> bool:
        """Whether the issue's target covers this dtype and batch size."""
        return dtype == self.target_dtype and batch >= self.target_min_batch


def load_thresholds(path: str | os.PathLike[str] = THRESHOLDS) -> Thresholds:
    """Read the thresholds file.

    Args:
        path: a JSON file with ``"target": {"max_ratio", "dtype", "min_batch"}`` and
            ``"max_ratio": {net: {dtype: {batch: limit}}}``.

    Returns:
        The :class:`Thresholds`.

    Raises:
        ValueError: a malformed file or a limit that is not a number > 0 (the message names
            the file and the entry).
    """
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    try:
        target = data["target"]
        limits: dict[Config, float] = {}
        for net, by_dtype in data["max_ratio"].items():
            for dtype, by_batch in by_dtype.items():
                for batch, limit in by_batch.items():
                    if not (isinstance(limit, (int, float)) and limit > 0):
                        raise ValueError(f"max_ratio.{net}.{dtype}.{batch} = {limit!r}")
                    limits[(net, dtype, int(batch))] = float(limit)
        return Thresholds(
            limits=limits,
            target=float(target["max_ratio"]),
            target_dtype=str(target["dtype"]),
            target_min_batch=int(target["min_batch"]),
            path=os.fspath(path),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)}: malformed thresholds ({exc})") from exc


@dataclass(frozen=True)
class Verdict:
    """The gate's decision for one implementation and configuration.

    Attributes:
        impl: ``"nplearn"`` (the gate) or ``"nplearn-copy"`` (the self-test).
        net, dtype, batch: the configuration.
        ratio: step / fused floor (median of the interleaved block ratios).
        low, high: the lowest and highest block ratio (the noise).
        time, floor_time: the two step times, seconds.
        limit: the threshold, or None (not gated).
        target: the issue's target when it applies here, else None.
        rechecked: the figures come from the interleaved recheck.
    """

    impl: str
    net: str
    dtype: str
    batch: int
    ratio: float
    low: float
    high: float
    time: float
    floor_time: float
    limit: float | None
    target: float | None
    rechecked: bool = False

    @property
    def config(self) -> Config:
        return (self.net, self.dtype, self.batch)

    @property
    def passed(self) -> bool:
        """Within the threshold (always True when not gated)."""
        return self.limit is None or self.ratio <= self.limit

    @property
    def meets_target(self) -> bool | None:
        """Within the issue's target, or None where the target does not apply."""
        return None if self.target is None else self.ratio <= self.target

    @property
    def name(self) -> str:
        """The benchmark, e.g. ``nplearn train_step relu float32 batch 100``."""
        return f"{self.impl} train_step {self.net} {self.dtype} batch {self.batch}"

    def message(self) -> str:
        """One line: benchmark, both timings, ratio, limit, verdict."""
        limit = "not gated" if self.limit is None else f"limit {self.limit:.3f}"
        verdict = "ok" if self.passed else "EXCEEDS THRESHOLD"
        again = ", after recheck" if self.rechecked else ""
        return (
            f"{self.name}: {self.time * 1e3:.4f} ms vs fused floor {self.floor_time * 1e3:.4f} ms "
            f"= {self.ratio:.3f}x (blocks {self.low:.3f}-{self.high:.3f}{again}), "
            f"{limit}: {verdict}"
        )


def judge(
    ratios: pd.DataFrame, thresholds: Thresholds, impl: str, *, rechecked: bool = False
) -> list[Verdict]:
    """Verdicts for ``impl`` in every configuration of a ratio table.

    Args:
        ratios: :func:`benchmarks.timing.results.ratio_table` against the fused floor.
        thresholds: the limits.
        impl: the implementation judged.
        rechecked: mark the verdicts as coming from a recheck.

    Returns:
        One verdict per configuration where ``impl`` was timed, in table order.
    """
    verdicts = []
    for row in ratios[ratios["impl"] == impl].itertuples(index=False):
        net, dtype, batch = str(row.net), str(row.dtype), int(row.batch)
        verdicts.append(
            Verdict(
                impl=impl,
                net=net,
                dtype=dtype,
                batch=batch,
                ratio=float(row.ratio),
                low=float(row.low) if not math.isnan(row.low) else float(row.ratio),
                high=float(row.high) if not math.isnan(row.high) else float(row.ratio),
                time=float(row.time),
                floor_time=float(row.ref_time),
                limit=thresholds.limit(net, dtype, batch),
                target=thresholds.target if thresholds.target_applies(dtype, batch) else None,
                rechecked=rechecked,
            )
        )
    return verdicts


def merge(first: Iterable[Verdict], again: Iterable[Verdict]) -> list[Verdict]:
    """``first`` with each configuration found in ``again`` replaced by the recheck's verdict."""
    redone = {(v.impl, v.config): replace(v, rechecked=True) for v in again}
    return [redone.get((v.impl, v.config), v) for v in first]
