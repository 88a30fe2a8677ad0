"""A/B: the working tree's nplearn against another nplearn, with three verdicts.

Contract
--------
:func:`baseline_tree` checks a git ref out with ``git worktree``; :func:`planted_tree` copies the
tree's nplearn with ``train_step`` a fraction slower (the self-test's regression). :func:`compare`
times tree / baseline with :func:`.sequential.measure` until every configuration has a verdict,
one is ``slower``, or the budget ends. :func:`verdict` at tolerance t: ``slower`` when the
interval lies above ``1 + t/3`` and the point above ``1 + t/2`` (a slowdown of t flagged, rare
false alarms), ``faster`` symmetrically, ``same`` only within ``[1 - t, 1 + t]`` (two one-sided
tests), else ``inconclusive`` (with the noise seen and about how many more clusters would decide).
:func:`overall`: ``REGRESSION`` when a configuration is slower, ``no regression`` when every one is
same or faster, else ``INCONCLUSIVE``; :func:`summary` is the run's last line.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

from benchmarks.timing.config import Config
from benchmarks.timing.sequential import LEVEL, ROOT, BenchError, Estimate, Side, measure


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def _import_path(folder: Path, package: Path) -> Path:
    """``folder`` holding only a link to ``package`` (the suite's modules stay the tree's)."""
    folder.mkdir()
    (folder / "nplearn").symlink_to(package, target_is_directory=True)
    return folder


def named(ref: str, option: str = "--baseline") -> str:
    """The commit ``ref`` names (BenchError naming ``option`` and ``ref`` if none)."""
    found = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise BenchError(f"{option} {ref!r}: no such commit, branch or tag in this repository")
    return found.stdout.strip()


@contextmanager
def baseline_tree(ref: str, tmp: Path) -> Iterator[Path]:
    """Check ``ref`` out under ``tmp``; yield a folder to import it from (BenchError naming it)."""
    commit = named(ref)
    if git("cat-file", "-e", f"{commit}:nplearn/__init__.py").returncode != 0:
        raise BenchError(f"--baseline {ref!r}: that commit has no nplearn package folder")
    tree = tmp / commit[:12]
    added = git("worktree", "add", "--detach", "--quiet", str(tree), commit)
    if added.returncode != 0:
        raise BenchError(f"--baseline {ref!r}: git worktree add failed: {added.stderr.strip()}")
    try:
        yield _import_path(tmp / f"{commit[:12]}-path", tree / "nplearn")
    finally:
        git("worktree", "remove", "--force", str(tree))


PLANT = """

import time as _plant_time

_unplanted_train_step = train_step


def train_step(*args, **kwargs):
    start = _plant_time.perf_counter()
    value = _unplanted_train_step(*args, **kwargs)
    end = _plant_time.perf_counter()
    stop = end + {fraction!r} * (end - start)
    while _plant_time.perf_counter() < stop:
        pass
    return value
"""


def planted_tree(tmp: Path, fraction: float, name: str = "planted") -> Path:
    """A copy of the tree's nplearn, ``train_step`` ``fraction`` slower; the folder to import."""
    package = tmp / f"{name}-package" / "nplearn"
    shutil.copytree(ROOT / "nplearn", package, ignore=shutil.ignore_patterns("__pycache__"))
    if fraction:
        with open(package / "training.py", "a", encoding="utf-8") as f:
            f.write(PLANT.format(fraction=fraction))
    return _import_path(tmp / name, package)


@dataclass(frozen=True)
class Comparison:
    """One configuration's A/B: its :class:`Estimate` of tree / baseline, verdict, times (ms)."""

    config: Config
    estimate: Estimate
    verdict: str
    tree_ms: float
    base_ms: float
    tolerance: float

    def line(self) -> str:
        e = self.estimate
        text = (f"{self.config.id}: {e.text()} ({self.tree_ms:.3f} vs {self.base_ms:.3f} ms, "
                f"{e.clusters} clusters) {self.verdict}")  # fmt: skip
        return text + (f" ({self.undecided()})" if self.verdict == "inconclusive" else "")

    def undecided(self) -> str:
        """The noise seen and about how many more clusters (and seconds) would decide."""
        e, t = self.estimate, self.tolerance
        if not e.sd > 0:
            return "too few clusters to tell the noise"
        m = math.log(e.ratio)
        halves = [min(math.log1p(t) - m, m - math.log1p(-t))]  # same
        if m > math.log1p(t / 2):
            halves.append(m - math.log1p(t / 3))  # slower
        if m < math.log1p(-t / 2):
            halves.append(math.log1p(-t / 3) - m)  # faster
        noise = f"noise {e.sd:.1%} per cluster"
        if max(halves) <= 0:
            return f"{noise}; the estimate sits on a boundary, more time may not decide"
        z = float(stats.norm.ppf(1 - (1 - LEVEL) / 2))
        more = max(1, math.ceil((z * e.sd / max(halves)) ** 2) - e.clusters)
        seconds = max(1, round(more * e.seconds))  # this configuration's share of the clusters
        return f"{noise}; about {more} more clusters (~{seconds} s of its timing) would decide"


def verdict(e: Estimate, tolerance: float) -> str | None:
    """``slower``, ``faster``, ``same`` or None (undecided) for an interval, as in the contract."""
    t = tolerance
    if e.low > 1 + t / 3 and e.ratio > 1 + t / 2:
        return "slower"
    if e.high < 1 - t / 3 and e.ratio < 1 - t / 2:
        return "faster"
    return "same" if 1 - t <= e.low and e.high <= 1 + t else None


def compare(base: Path, tree: Path, configs: Sequence[Config], *, tolerance: float, budget: float,
            labels: tuple[str, str] = ("baseline", "working tree"), python: str = sys.executable
            ) -> list[Comparison]:  # fmt: skip
    """One result per configuration, in order (BenchError naming a side that fails); the
    baseline runs in the interpreter ``python``."""
    sides = {"base": Side(labels[0], base, ("nplearn",), python=python),
             "tree": Side(labels[1], tree, ("nplearn",))}  # fmt: skip
    ratio = f"{labels[1]} / {labels[0]}"
    outcome = measure(sides, {ratio: (("tree", "nplearn"), ("base", "nplearn"))}, configs,
                      budget=budget, decide=lambda c, name, e: verdict(e, tolerance),
                      stop=lambda o: any(v[ratio] == "slower" for v in o.verdicts.values()))
    ms = {c: [outcome.times[c][side, "nplearn"] for side in ("tree", "base")] for c in configs}
    return [Comparison(c, outcome.estimates[c][ratio], outcome.verdicts[c][ratio] or "inconclusive",
                       *ms[c], tolerance) for c in configs]  # fmt: skip


def overall(results: Sequence[Comparison]) -> str:
    """``REGRESSION``, ``no regression`` or ``INCONCLUSIVE`` (see the contract)."""
    verdicts = {c.verdict for c in results}
    if "slower" in verdicts:
        return "REGRESSION"
    return "no regression" if verdicts <= {"same", "faster"} else "INCONCLUSIVE"


def summary(results: Sequence[Comparison], baseline: str, tolerance: float) -> str:
    """The run's last line, ``A/B: <overall> ...``, naming the configuration that decided it."""
    word, tol = overall(results), f"tolerance {tolerance:.0%}"
    if word == "REGRESSION":
        slower = [c for c in results if c.verdict == "slower"]
        worst = max(slower, key=lambda c: c.estimate.ratio)
        return (f"A/B: REGRESSION against {baseline}: {worst.config.id} {worst.estimate.text()} "
                f"({len(slower)} of {len(results)} configurations slower at {tol})")  # fmt: skip
    if word == "no regression":
        worst = max(results, key=lambda c: c.estimate.high)
        return (f"A/B: no regression against {baseline} ({tol}: every configuration same or "
                f"faster; widest {worst.config.id} {worst.estimate.text()})")  # fmt: skip
    open_ = [c for c in results if c.verdict == "inconclusive"]
    worst = max(open_, key=lambda c: c.estimate.high - c.estimate.low)
    return (f"A/B: INCONCLUSIVE against {baseline}: {len(open_)} of {len(results)} configurations "
            f"undecided; this machine was too noisy to judge {tolerance:.0%} in the time given "
            f"(--budget); e.g. {worst.line()}")  # fmt: skip
