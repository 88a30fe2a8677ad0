"""A progress bar over training runs of unequal cost, whose time estimate holds from the start.

Contract
--------
:class:`CostBar` is a ``tqdm`` bar counted in expected cost (``Job.cost``: a job's epochs times
batches per epoch), not in runs: the longest runs start first, and a bar counting runs takes the
first one to finish for an average run, estimating the whole job many times too long. The bar
also credits every run in progress with the cost its running time covers at the pace of the runs
finished so far (at most its own cost), so that the first of k runs started together to finish
does not read as 1/k of the work done; a shown bar recounts that credit every few seconds. Its
rate is the average over the whole job (``smoothing=0``): runs finish in bursts, which a moving
average of the last few mistakes for the pace. :meth:`CostBar.start` may be called from another
thread (joblib dispatches from one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence

from tqdm.auto import tqdm


class CostBar:
    """Progress of ``costs[i]``-weighted runs; ``count`` is the cost done and credited so far
    (never decreasing), from ``initial`` (the runs in ``done``) to ``total``.

    Args:
        costs: expected cost of each run, in any unit (``Job.cost``: batches).
        done: indices of the runs finished before this bar (counted, not timed).
        disable: show nothing (the counts are kept all the same).
        clock: seconds, for the pace (tests pass a fake one and call :meth:`refresh`).
        refresh_every: seconds between two recounts of a shown bar (None: only on finish).
    """

    def __init__(
        self,
        costs: Sequence[float],
        done: Collection[int] = (),
        *,
        disable: bool = False,
        clock: Callable[[], float] = time.perf_counter,
        refresh_every: float | None = 5.0,
    ) -> None:
        self.costs, self.clock = costs, clock
        self.finished = set(done)
        self._started: dict[int, float] = {}
        self._timed = [0.0, 0.0]  # seconds and cost of the runs this bar saw from start to finish
        self._lock = threading.Lock()
        self.total = sum(costs)
        self.initial = self.count = sum(costs[i] for i in self.finished)
        self.bar = tqdm(
            total=self.total, initial=self.initial, smoothing=0, miniters=0, disable=disable,
            bar_format="{l_bar}{bar}| {elapsed}<{remaining}{postfix}",
        )  # fmt: skip
        self.bar.set_postfix_str(self._runs(), refresh=False)
        self.set_description = self.bar.set_description
        self._stop = threading.Event()
        if refresh_every and not disable:
            threading.Thread(target=self._recount, args=(refresh_every,), daemon=True).start()

    def __enter__(self) -> CostBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.bar.close()

    def _recount(self, every: float) -> None:
        while not self._stop.wait(every):
            self.refresh()

    def _runs(self, last: str = "") -> str:
        return f"{len(self.finished)}/{len(self.costs)} runs" + (f", {last}" if last else "")

    def start(self, i: int) -> None:
        """Run ``i`` starts now."""
        with self._lock:
            self._started[i] = self.clock()

    def finish(self, i: int, note: str = "") -> None:
        """Run ``i`` finished now; ``note`` is shown after the run count."""
        with self._lock:
            now = self.clock()
            self._timed[0] += now - self._started.pop(i, now)
            self._timed[1] += self.costs[i]
            self.finished.add(i)
            self.bar.set_postfix_str(self._runs(note), refresh=False)
        self.refresh()

    def refresh(self) -> None:
        """Recount: the finished runs, and those in progress at the pace of the finished ones."""
        with self._lock:
            now = self.clock()
            pace = self._timed[0] / self._timed[1] if self._timed[1] else 0.0  # seconds per cost
            running = self._started.items()
            credit = sum(min(self.costs[j], (now - t) / pace) for j, t in running) if pace else 0
            count = max(sum(self.costs[j] for j in self.finished) + credit, self.count)
            self.bar.update(count - self.count)
            self.count = count
