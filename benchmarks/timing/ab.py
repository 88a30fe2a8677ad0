"""A/B: the working tree's nplearn against another nplearn, timed in interleaved blocks.

Contract
--------
:func:`baseline_tree` checks a git ref out with ``git worktree``; :func:`planted_tree` copies the
working tree's nplearn with ``train_step`` a given fraction slower (the self-test's regression).
:func:`compare` runs :data:`WORKERS` long-lived :mod:`.worker` processes per side, taken in turn,
and times every configuration in rounds (configurations round-robin): each round rebuilds the
steps behind random memory padding (sampling layouts), then times one block per side ABBA (BAAB
on alternate rounds); a block stands for its steps' :data:`QUANTILE`; a round gives one ratio
tree / baseline. :func:`judge`: 20% trimmed mean of the log ratios, 95% percentile-bootstrap
interval; ``slower`` when the interval lies above ``1 + tolerance/3`` and the point above
``1 + tolerance/2`` (rare false alarms, a slowdown of ``tolerance`` flagged), ``faster``
symmetrically, else ``same``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.threads import default_threads, pinned_environment
from benchmarks.timing.steps import Config

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
TRIM = 0.2
QUANTILE = 0.1


class ABError(RuntimeError):
    """An A/B that cannot run: bad ref, an nplearn that fails to import, a worker that died."""


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def _import_path(folder: Path, package: Path) -> Path:
    """``folder`` holding only a link to ``package`` (the suite's modules stay the tree's)."""
    folder.mkdir()
    (folder / "nplearn").symlink_to(package, target_is_directory=True)
    return folder


@contextmanager
def baseline_tree(ref: str, tmp: Path) -> Iterator[Path]:
    """Check ``ref`` out under ``tmp``; yield a folder to import it from (ABError naming it)."""
    found = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise ABError(f"--baseline {ref!r}: no such commit, branch or tag in this repository")
    tree = tmp / "baseline"
    added = git("worktree", "add", "--detach", "--quiet", str(tree), found.stdout.strip())
    if added.returncode != 0:
        raise ABError(f"--baseline {ref!r}: git worktree add failed: {added.stderr.strip()}")
    try:
        if not (tree / "nplearn" / "__init__.py").is_file():
            raise ABError(f"--baseline {ref!r}: that commit has no nplearn package")
        yield _import_path(tmp / "baseline-path", tree / "nplearn")
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


class Worker:
    """One :mod:`.worker` process importing nplearn from ``folder``."""

    def __init__(self, folder: Path, label: str, env: dict[str, str] | None = None) -> None:
        self.label = label
        environ = {**os.environ, **pinned_environment(default_threads()), **(env or {})}
        environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(folder), str(ROOT)]))
        command, pipe = [sys.executable, "-m", "benchmarks.timing.worker"], subprocess.PIPE
        self.proc = subprocess.Popen(
            command, cwd=folder, env=environ, stdin=pipe, stdout=pipe, text=True
        )
        first = self._read()
        if "error" in first:
            raise ABError(f"{label}: its nplearn fails to import: {first['error']}")
        self.ready: dict[str, Any] = first["ready"]
        if Path(self.ready["nplearn"]).parent != folder / "nplearn":  # e.g. an install shadows it
            raise ABError(f"{label}: imported nplearn from {self.ready['nplearn']}, not {folder}")

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            raise ABError(f"{self.label}: the timing worker died (exit {self.proc.wait()})")
        return json.loads(line)

    def ask(self, **request: Any) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise ABError(f"{self.label}: {answer['error']}")
        return answer

    def kernel(self) -> str:
        """The BLAS kernel this worker runs (OpenBLAS's core type), or ``unknown``."""
        pools = [p for p in self.ready["blas"] if p.get("user_api") == "blas"]
        return str(pools[0].get("architecture") or "unknown") if pools else "unknown"

    def block(self, key: list[Any], steps: int) -> float:
        """Time ``steps`` single steps of the built ``key``; their :data:`QUANTILE` in seconds."""
        return float(np.quantile(self.ask(time=key, steps=1, chunks=steps)["times"], QUANTILE))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@dataclass(frozen=True)
class Comparison:
    """One configuration's A/B: ratio tree / baseline, its 95% interval, verdict, samples."""
    config: Config
    ratio: float
    low: float
    high: float
    verdict: str
    rounds: list[float]
    tree_ms: float
    base_ms: float

    def line(self) -> str:
        return (
            f"{self.config.id}: {self.ratio:.3f}x [{self.low:.3f}, {self.high:.3f}] "
            f"({self.tree_ms:.3f} vs {self.base_ms:.3f} ms) {self.verdict}"
        )


def judge(
    config: Config,
    rounds: Sequence[float],
    tolerance: float,
    times: Sequence[float] = (np.nan, np.nan),
) -> Comparison:
    logs = np.log(np.asarray(rounds, dtype=float))

    def trimmed(a: np.ndarray, axis: int = -1) -> np.ndarray:
        return stats.trim_mean(a, TRIM, axis=axis)
    ci = stats.bootstrap(
        (logs,), trimmed, n_resamples=4000, method="percentile", rng=np.random.default_rng(0)
    ).confidence_interval
    point, low, high = (float(np.exp(v)) for v in (trimmed(logs), ci.low, ci.high))
    if low > 1 + tolerance / 3 and point > 1 + tolerance / 2:
        verdict = "slower"
    elif high < 1 - tolerance / 3 and point < 1 - tolerance / 2:
        verdict = "faster"
    else:
        verdict = "same"
    return Comparison(config, point, low, high, verdict, list(rounds), *times)


def compare(
    base: Path,
    tree: Path,
    configs: Sequence[Config],
    *,
    rounds: int,
    tolerance: float,
    labels: tuple[str, str] = ("baseline", "working tree"),
    block: float = 0.03,
) -> list[Comparison]:
    """One result per configuration, in order; blocks of about ``block`` seconds of single
    steps. ABError naming the side whose nplearn fails to import or whose worker fails."""
    rng = np.random.default_rng()
    with ExitStack() as stack:
        sides: dict[str, list[Worker]] = {}
        for side, folder, label in (("base", base, labels[0]), ("tree", tree, labels[1])):
            sides[side] = [Worker(folder, label) for _ in range(WORKERS)]
            for worker in sides[side]:
                stack.callback(worker.close)
        keys = {c: ["nplearn", c.net, c.dtype, c.batch] for c in configs}
        steps = {}
        for c in configs:
            seconds = [w.ask(build=keys[c])["seconds"] for ws in sides.values() for w in ws]
            steps[c] = max(8, round(block / float(np.median(seconds))))
        ratios: dict[Config, list[float]] = {c: [] for c in configs}
        times: dict[Config, dict[str, list[float]]] = {c: {"base": [], "tree": []} for c in configs}
        for r in range(rounds):
            a, b = ("tree", "base") if (r // WORKERS) % 2 else ("base", "tree")
            order = (a, b, b, a)
            for c in configs:
                pair = {side: workers[r % WORKERS] for side, workers in sides.items()}
                for worker in pair.values():
                    worker.ask(build=keys[c], pad=int(rng.integers(0, 1 << 16)))
                total = {"base": 0.0, "tree": 0.0}
                for side in order:
                    value = pair[side].block(keys[c], steps[c])
                    total[side] += value
                    times[c][side].append(value)
                ratios[c].append(total["tree"] / total["base"])
        ms = {c: [1e3 * float(np.median(times[c][s])) for s in ("tree", "base")] for c in configs}
        return [judge(c, ratios[c], tolerance, ms[c]) for c in configs]


def summary(results: Sequence[Comparison], baseline: str, tolerance: float) -> str:
    """The run's last line: ``A/B: REGRESSION`` naming the worst, or ``A/B: no regression``."""
    worst = max(results, key=lambda c: c.low)
    slower = [c for c in results if c.verdict == "slower"]
    if slower:
        worst = max(slower, key=lambda c: c.ratio)
        return (
            f"A/B: REGRESSION against {baseline}: {worst.config.id} {worst.ratio:.3f}x "
            f"[{worst.low:.3f}, {worst.high:.3f}] (working tree / baseline; "
            f"{len(slower)} of {len(results)} configurations slower at tolerance {tolerance:.0%})"
        )
    return (
        f"A/B: no regression against {baseline} (tolerance {tolerance:.0%}; closest "
        f"{worst.config.id} {worst.ratio:.3f}x [{worst.low:.3f}, {worst.high:.3f}])"
    )
