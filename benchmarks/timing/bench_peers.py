"""pytest-benchmark timings of the peers (:mod:`benchmarks.timing.peers`): one training step each.

Contract
--------
``torch`` (skipped when PyTorch is not installed) is checked on its first step to give nplearn's
loss value and gradients from the same weights and batch, then timed with the pinned thread
count. ``sklearn`` (skipped without scikit-learn) times one ``MLPClassifier.partial_fit`` on one
batch. ``seed`` times the seed's verbatim code (float64 weights, float32 inputs) and checks its
loss stays finite.
"""

from __future__ import annotations

import math

import pytest

from benchmarks.timing.peers import SeedStep, SklearnStep, TorchStep
from benchmarks.timing.plan import Case, Timed
from benchmarks.timing.workloads import LR, assert_same_step, make_batch, make_nplearn


@pytest.mark.impls("torch")
def test_torch(case: Case, timed: Timed, threads: int) -> None:
    pytest.importorskip("torch")
    work = make_nplearn(case.net, case.dtype, case.batch)
    step = TorchStep(work.parameters(), case.net, work.batch.x, work.batch.y, LR, threads)
    assert_same_step(step(), step.gradients(), case.dtype, work)
    assert math.isfinite(timed(step))


@pytest.mark.impls("sklearn")
def test_sklearn(case: Case, timed: Timed) -> None:
    pytest.importorskip("sklearn.neural_network")
    data = make_batch(case.net, case.dtype, case.batch)
    step = SklearnStep(case.net, data.x, data.y, LR)
    model = timed(step)
    assert model.coefs_[0].dtype == case.dtype


@pytest.mark.impls("seed")
def test_seed(case: Case, timed: Timed) -> None:
    params = make_nplearn(case.net, case.dtype, case.batch).parameters()
    data = make_batch(case.net, "float32", case.batch)
    assert math.isfinite(timed(SeedStep(params, case.net, data.x, data.y, LR)))
