"""pytest-benchmark timings of the plain-NumPy floors (:mod:`benchmarks.timing.floors`).

Contract
--------
``floor-fused`` times one hand-fused training step after checking, on its first step, that it
gives nplearn's loss value and gradients from the same weights and batch (it must compute the
same thing, only faster). ``floor-gemm`` times the five matrix products of a step alone.
"""

from __future__ import annotations

import math

import pytest

from benchmarks.timing.floors import FusedStep, GemmFloor
from benchmarks.timing.plan import Case, Timed
from benchmarks.timing.workloads import LR, assert_same_step, make_nplearn


@pytest.mark.impls("floor-fused")
def test_fused_floor(case: Case, timed: Timed) -> None:
    work = make_nplearn(case.net, case.dtype, case.batch)
    floor = FusedStep(work.parameters(), case.net, case.batch, LR)
    x, y = work.batch.x, work.batch.y
    assert_same_step(floor(x, y), floor.grads, case.dtype, work)
    assert math.isfinite(timed(floor, x, y))


@pytest.mark.impls("floor-gemm")
def test_gemm_floor(case: Case, timed: Timed) -> None:
    work = make_nplearn(case.net, case.dtype, case.batch)
    timed(GemmFloor(work.parameters(), case.batch), work.batch.x)
