"""The MNIST training bar's time estimate is right within 2x from the first finished run.

Contract
--------
A simulated full run (every job of the full plan, run times proportional to ``Job.cost`` with a
fixed overhead and noise, on 2 workers, longest first as ``execute`` orders them) drives a
:class:`benchmarks.mnist.progress.CostBar` on a fake clock, recounted every
:data:`REFRESH` seconds as a shown bar is. At every finished run and every recount, from the
first finished run until the last run starts, the estimate tqdm shows (``smoothing=0``: the rest
of the cost at the average rate so far) must be within 2x of the time actually left. (After the
last start, one worker idles and a few seconds are left.) The same schedule counted in runs
must miss it by far: the test can fail.
"""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from benchmarks.mnist.execute import plan
from benchmarks.mnist.progress import CostBar

WORKERS = 2
SECONDS_PER_BATCH = 6.5e-4  # about a full run's pace; only ratios matter
OVERHEAD = 1.5  # seconds per run that do not scale with its batches (loading, evaluation)
REFRESH = 5.0  # CostBar's default refresh_every


def _estimates(costs: list[float], seconds: np.ndarray) -> list[tuple[float, float]]:
    """``(shown estimate, true time left)`` at every finished run and every recount of a
    simulated execution, from the first finished run until the last run starts."""
    now = [0.0]
    bar = CostBar(costs, disable=True, clock=lambda: now[0])
    waiting = sorted(range(len(costs)), key=lambda i: -seconds[i])  # longest first
    running: list[tuple[float, int]] = []
    seen: list[tuple[float, float]] = []  # (time, bar count) while runs wait to start
    while waiting or running:
        while waiting and len(running) < WORKERS:
            bar.start(waiting[0])
            heapq.heappush(running, (now[0] + seconds[waiting[0]], waiting.pop(0)))
        done_at, j = heapq.heappop(running)
        for tick in np.arange(REFRESH * (now[0] // REFRESH + 1), done_at, REFRESH):
            now[0] = tick
            bar.refresh()
            seen += [(tick, bar.count)] if waiting else []
        now[0] = done_at
        bar.finish(j)
        seen += [(done_at, bar.count)] if waiting else []
    end = now[0]
    counted = [(t, n - bar.initial) for t, n in seen if n > bar.initial]
    return [((bar.total - bar.initial - n) * t / n, end - t) for t, n in counted]


@pytest.fixture
def schedule() -> tuple[list[float], np.ndarray]:
    """The full plan's costs and simulated run times (seconds, noise +-15 %)."""
    costs = [float(job.cost) for job in plan(quick=False, seeds=(0, 1, 2)).jobs]
    noise = np.random.default_rng(0).uniform(0.85, 1.15, len(costs))
    return costs, (OVERHEAD + SECONDS_PER_BATCH * np.array(costs)) * noise


def test_the_estimate_is_within_2x_from_the_first_finished_run(
    schedule: tuple[list[float], np.ndarray],
) -> None:
    costs, seconds = schedule
    assert max(costs) > 5 * min(costs)  # the case at hand: runs of very unequal cost
    for shown, left in _estimates(costs, seconds):
        assert left / 2 <= shown <= 2 * left, f"estimate {shown:.0f} s, {left:.0f} s left"


def test_counting_runs_instead_misses_by_far(schedule: tuple[list[float], np.ndarray]) -> None:
    costs, seconds = schedule
    shown, left = _estimates([1.0] * len(costs), seconds)[0]
    assert shown > 4 * left


def test_the_tqdm_bar_shows_the_count_and_averages_over_the_whole_job() -> None:
    now = [0.0]
    with CostBar([3.0, 1.0, 2.0, 4.0], done=[0], clock=lambda: now[0]) as bar:
        assert bar.bar.smoothing == 0  # the estimate is the average rate, as simulated above
        assert (bar.initial, bar.count, bar.total, bar.bar.n) == (3.0, 3.0, 10.0, 3.0)
        bar.start(1)
        bar.start(3)
        now[0] = 1.0
        bar.finish(1, "mnist/best/seed 0: 0.98")
        # run 1: 1 cost unit in 1 s; run 3, still running, is credited 1 s at that pace
        assert bar.count == bar.bar.n == 3.0 + 1.0 + 1.0
        assert bar.finished == {0, 1}
        assert "2/4 runs, mnist/best/seed 0: 0.98" in str(bar.bar)
