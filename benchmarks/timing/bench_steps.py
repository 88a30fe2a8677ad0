"""pytest-benchmark timings of every training step of :mod:`benchmarks.timing.steps`.

Contract
--------
One benchmark function, parametrised by the plan of ``conftest.cases``: each case is one block
of one implementation on one configuration. ``benchmark.pedantic`` times single steps (one step
per round, as many rounds as fill the mode's block), so a step the scheduler interrupted stands
out instead of inflating a mean. ``extra_info`` carries the case (implementation, network, dtype,
batch, repeat) and ``value``, the block's low quantile in seconds, which the gate pairs; the step's
loss must stay finite.
"""

from __future__ import annotations

import math
import time
from typing import Any

from benchmarks.timing.conftest import Case, record
from benchmarks.timing.steps import Step


def test_step(benchmark: Any, case: Case, step: Step, block: float) -> None:
    start = time.perf_counter()
    step()
    rounds = min(5000, max(5, round(block / max(time.perf_counter() - start, 1e-7))))
    assert math.isfinite(benchmark.pedantic(step, rounds=rounds, iterations=1, warmup_rounds=2))
    value = record(case, benchmark.stats.stats.data)
    cfg = case.config
    benchmark.extra_info.update(
        impl=case.impl,
        net=cfg.net,
        dtype=cfg.dtype,
        batch=cfg.batch,
        repeat=case.repeat,
        value=value,
    )
