"""pytest-benchmark timings of every step, parametrised by ``conftest.cases`` (one block each).

Contract
--------
``benchmark.pedantic`` times single steps (a step the scheduler interrupted stands out instead
of inflating a mean); ``extra_info`` carries the case and ``value``, the block's low quantile in
seconds, which the gate pairs; the loss must stay finite.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from typing import Any

from benchmarks.timing.conftest import Case, WorkerStep, record
from benchmarks.timing.steps import Step


def test_step(benchmark: Any, case: Case, step: Step) -> None:
    start = time.perf_counter()
    step()
    rounds = min(5000, max(5, round(case.block / max(time.perf_counter() - start, 1e-7))))
    if isinstance(step, WorkerStep):  # the block, warm-up included, back to back in its worker
        step.fetch(rounds + 2)
    assert math.isfinite(benchmark.pedantic(step, rounds=rounds, iterations=1, warmup_rounds=2))
    benchmark.extra_info.update(asdict(case.config), impl=case.impl, repeat=case.repeat,
                                value=record(case, benchmark.stats.stats.data))
