"""pytest-benchmark timings of nplearn: forward alone, backward alone and the training step.

Contract
--------
For each planned case (see :mod:`benchmarks.timing.plan`): ``forward`` times ``net.forward(x)``;
``backward`` times ``net.backward(dL/dlogits, input_grad=False)`` with the loss gradient computed
once beforehand; ``step`` times ``nplearn.training.train_step`` (forward, ``CrossEntropyLoss``,
backward, ``SGD`` update), called directly as the floor's step is, with no wrapper of ours.
``nplearn-copy`` is the same step with the deliberately slowed ``CopyingLinear`` (the gate's
self-test). The step's loss must stay finite over the run.
"""

from __future__ import annotations

import math

import pytest

from benchmarks.timing.plan import Case, Timed
from benchmarks.timing.workloads import make_nplearn
from nplearn.training import train_step


@pytest.mark.impls("nplearn", "nplearn-copy")
def test_nplearn(case: Case, timed: Timed) -> None:
    work = make_nplearn(case.net, case.dtype, case.batch, slowed=case.impl == "nplearn-copy")
    if case.kind == "forward":
        out = timed(work.forward)
        assert out.shape == (case.batch, 10) and out.dtype == case.dtype
    elif case.kind == "backward":
        timed(work.backward, work.prepare_backward())
    else:  # nplearn's own function, called directly (as the floor's step is)
        net, loss, optimizer, data = work.net, work.loss, work.optimizer, work.batch
        assert math.isfinite(timed(train_step, net, loss, optimizer, data.x, data.y))
