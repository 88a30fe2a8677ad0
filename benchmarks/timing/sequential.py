"""Paired, sequential timing comparisons in fresh worker processes taken in rotation.

Contract
--------
A :class:`Side` is the recipe of one :mod:`.worker` process; an arm is ``(side, impl)``, a ratio
one arm over another. :func:`measure` times in *clusters*: each starts one fresh worker per side
(order alternating), times :data:`ROUNDS` ABBA rounds of every open configuration (one block per
arm, then reversed; mirrored every round and cluster), keeps each ratio's mean log ratio and closes
its workers. A process's offset (memory layout, core) is so a sampled random effect, not a frozen
bias: intervals are Student-t over clusters, never over one process's rounds.

Stopping rule: a *look* after the cluster counts in :data:`LOOKS` and when the budget ends, at most
``K = len(LOOKS) + 1``, each at confidence :data:`LEVEL` = ``1 - ALPHA / K`` (Bonferroni: the
chance that any look misses the true ratio is at most :data:`ALPHA`), asks ``decide`` for each open
ratio's verdict; a configuration closes once all its ratios have one. Measuring ends when nothing
is open, when ``stop`` says so, after ``max_clusters``, or before a cluster that would overrun
``budget`` seconds (the first always runs). :class:`BenchError` names a side whose nplearn fails
to import or whose worker fails.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.threads import default_threads, pinned_environment
from benchmarks.timing.config import Config

ROOT = Path(__file__).resolve().parents[2]
#: A block (about ``block`` seconds of single steps) stands for its steps' 10th percentile.
QUANTILE = 0.1
ROUNDS = 2
LOOKS = (6, 9, 13, 19, 28, 40, 58, 84)
ALPHA = 0.05
LEVEL = 1 - ALPHA / (len(LOOKS) + 1)
PROGRESS = 10.0  #: Seconds between progress lines.
OK, FAILED, BAD_INPUT, INCONCLUSIVE = 0, 1, 2, 3  #: Exit statuses (see ``__main__.EPILOG``).

Arm = tuple[str, str]
Ratio = tuple[Arm, Arm]


class BenchError(RuntimeError):
    """A timing that cannot run: bad ref, an nplearn that fails to import, a worker that died."""


@dataclass(frozen=True)
class Side:
    """One worker process: ``label`` for messages, nplearn from ``folder``, the ``impls`` it
    times (:data:`.steps.IMPLS`), extra ``env`` variables, run by the interpreter ``python``."""

    label: str
    folder: Path
    impls: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    python: str = sys.executable


class Worker:
    """One :mod:`.worker` process for ``side``; :meth:`handshake` waits until it is ready."""

    def __init__(self, side: Side) -> None:
        self.side = side
        environ = {**os.environ, **pinned_environment(default_threads()), **dict(side.env)}
        environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(side.folder), str(ROOT)]))
        command, pipe = [side.python, "-m", "benchmarks.timing.worker"], subprocess.PIPE
        self.proc = subprocess.Popen(command, cwd=side.folder, env=environ, stdin=pipe, stdout=pipe,
                                     text=True)  # fmt: skip
        self.ready: dict[str, Any] = {}

    def handshake(self) -> None:
        first = self._read()
        if "error" in first:
            raise BenchError(f"{self.side.label}: its nplearn fails to import: {first['error']}")
        self.ready = first["ready"]
        if Path(self.ready["nplearn"]).parent != self.side.folder / "nplearn":  # an install shadows
            raise BenchError(f"{self.side.label}: imported nplearn from {self.ready['nplearn']}, "
                             f"not {self.side.folder}")  # fmt: skip

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            raise BenchError(f"{self.side.label}: the timing worker died (exit {self.proc.wait()})")
        return json.loads(line)

    def ask(self, **request: Any) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise BenchError(f"{self.side.label}: {answer['error']}")
        return answer

    def kernel(self) -> str:
        """The BLAS kernel this worker runs (OpenBLAS's core type), or ``unknown``."""
        pool = next((p for p in self.ready["blas"] if p.get("user_api") == "blas"), {})
        return str(pool.get("architecture") or "unknown")

    def close(self) -> None:
        self.proc.stdin.close()  # a no-op when closed already
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass(frozen=True)
class Estimate:
    """A ratio over clusters: point (exp of the mean log ratio), interval, clusters, SD of their
    log ratios, seconds a cluster spent on the config."""

    ratio: float
    low: float
    high: float
    clusters: int
    sd: float
    seconds: float

    def text(self) -> str:
        return f"{self.ratio:.3f}x [{self.low:.3f}, {self.high:.3f}]"


def estimate(logs: Sequence[float], seconds: float = math.nan, level: float = LEVEL) -> Estimate:
    """Student-t interval of the mean of per-cluster log ratios ``logs``, exponentiated."""
    a = np.asarray(logs, dtype=float)
    if a.size < 2:
        return Estimate(math.exp(a.mean()) if a.size else math.nan, 0.0, math.inf, a.size,
                        math.nan, seconds)  # fmt: skip
    mean, sd = float(a.mean()), float(a.std(ddof=1))
    low, high = (mean, mean) if sd < 1e-12 else stats.ttest_1samp(a, 0.0).confidence_interval(level)
    return Estimate(math.exp(mean), math.exp(low), math.exp(high), a.size, sd, seconds)


@dataclass
class Outcome:
    """Per configuration and ratio name the last :class:`Estimate` and verdict (None: the run
    ended first); per configuration and arm the median ms per step; kernels; clusters; looks."""

    estimates: dict[Config, dict[str, Estimate]] = field(default_factory=dict)
    verdicts: dict[Config, dict[str, str | None]] = field(default_factory=dict)
    times: dict[Config, dict[Arm, float]] = field(default_factory=dict)
    kernels: dict[str, str] = field(default_factory=dict)
    clusters: int = 0
    looks: int = 0


def _cluster(workers: Mapping[str, Worker], config: Config, arms: list[Arm], flip: bool,
             steps: dict[tuple[Config, Arm], int], block: float
             ) -> dict[Arm, list[float]]:  # fmt: skip
    """Build ``config`` in every arm; per arm, per ABBA round, its two blocks' sum (s per step)."""
    keys = {arm: [arm[1], config.net, config.dtype, config.batch] for arm in arms}
    for arm in arms:
        seconds = workers[arm[0]].ask(build=keys[arm])["seconds"]
        steps.setdefault((config, arm), max(8, round(block / max(seconds, 1e-7))))
    sums = {arm: [0.0] * ROUNDS for arm in arms}
    for r in range(ROUNDS):
        order = arms[::-1] if (r % 2 == 0) == flip else arms
        for arm in [*order, *order[::-1]]:
            times = workers[arm[0]].ask(time=keys[arm], steps=1, chunks=steps[config, arm])["times"]
            sums[arm][r] += float(np.quantile(times, QUANTILE))
    return sums


def measure(sides: Mapping[str, Side], ratios: Mapping[str, Ratio], configs: Sequence[Config], *,
            budget: float, decide: Callable[[Config, str, Estimate], str | None],
            stop: Callable[[Outcome], bool] = lambda outcome: False, max_clusters: int = LOOKS[-1],
            block: float = 0.03, level: float = LEVEL, say: Callable[[str], None] = print
            ) -> Outcome:  # fmt: skip
    """Time ``ratios`` on ``configs`` in clusters until decided or out of ``budget`` seconds;
    intervals at ``level`` (:data:`LEVEL` keeps the repeated looks' error rates)."""
    start = last_said = time.perf_counter()
    arms = list(dict.fromkeys(arm for ratio in ratios.values() for arm in ratio))
    out = Outcome(verdicts={c: dict.fromkeys(ratios) for c in configs})
    logs: dict[Config, dict[str, list[float]]] = {c: {name: [] for name in ratios} for c in configs}
    seen: dict[Config, dict[Arm, list[float]]] = {c: {arm: [] for arm in arms} for c in configs}
    cost: dict[Config, list[float]] = {c: [] for c in configs}
    startup, steps = list[float](), dict[tuple[Config, Arm], int]()
    open_, looked = list(configs), 0

    def look() -> None:
        nonlocal looked
        out.looks, looked = out.looks + 1, out.clusters
        for c in list(open_):
            for name in ratios:
                e = estimate(logs[c][name], float(np.mean(cost[c])), level)
                out.estimates.setdefault(c, {})[name] = e
                out.verdicts[c][name] = out.verdicts[c][name] or decide(c, name, e)
            if all(out.verdicts[c].values()):
                open_.remove(c)
                _say_config(say, c, out, start)

    while open_ and out.clusters < max_clusters and not (looked and stop(out)):
        ahead = np.mean(startup) + sum(np.mean(cost[c]) for c in open_) if startup else 0.0
        if startup and time.perf_counter() - start + ahead > budget:
            break
        began = time.perf_counter()
        flip = out.clusters % 2 == 1  # which side starts first and times first alternates too
        with ExitStack() as stack:  # every worker closed, even when one fails to start
            workers = {name: stack.enter_context(closing(Worker(sides[name])))
                       for name in (list(sides)[::-1] if flip else sides)}  # fmt: skip
            for worker in workers.values():
                worker.handshake()
            out.kernels = {name: w.kernel() for name, w in workers.items()}
            startup.append(time.perf_counter() - began)
            for c in open_:
                began = time.perf_counter()
                sums = _cluster(workers, c, arms, flip, steps, block)
                cost[c].append(time.perf_counter() - began)
                for arm, values in sums.items():
                    seen[c][arm] += values
                for name, (num, den) in ratios.items():
                    logs[c][name].append(float(np.mean(np.log(sums[num]) - np.log(sums[den]))))
        out.clusters += 1
        if out.clusters in LOOKS:
            look()
        if time.perf_counter() - last_said > PROGRESS:
            last_said = time.perf_counter()
            say(f"  {out.clusters} clusters, {len(open_)} of {len(configs)} configurations open "
                f"({last_said - start:.0f} s)")  # fmt: skip
    if looked != out.clusters:
        look()
    for c in open_:
        _say_config(say, c, out, start)
    out.times = {c: {a: 1e3 * float(np.median(v)) / 2 for a, v in seen[c].items() if v}
                 for c in configs}  # fmt: skip
    return out


def _say_config(say: Callable[[str], None], c: Config, out: Outcome, start: float) -> None:
    cells = ", ".join(f"{name} {e.text()} {out.verdicts[c][name] or ''}".rstrip()
                      for name, e in out.estimates.get(c, {}).items())  # fmt: skip
    say(f"  {c.id:<22} {cells} ({out.clusters} clusters, {time.perf_counter() - start:.0f} s)")
