"""The card's timing row: the library's training step against nplearn's and the fused floor's.

Contract
--------
Where the library can train the post's network (``linear``, ReLU or sigmoid, ``cross_entropy``,
``sgd``, ``network``), its 784-128-10 step (forward, loss, ``net.backward(loss.grad)``,
``opt.step(layers)``) on the weights and batch of ``benchmarks.timing.steps.Config`` is timed
against ``make_step("nplearn", ...)`` and ``make_step("floor", ...)`` in one run, one BLAS
thread: :data:`ROUNDS` rounds of blocks in ABBA order (the order reversed every other round),
a block standing for the median of its steps (fewer rounds, at least :data:`MIN_ROUNDS`, when
they would take over :data:`BUDGET_SECONDS`). Each round gives the ratios library / nplearn and
library / floor; a ratio is the geometric mean over rounds with a 95% bootstrap interval
(``scipy.stats.bootstrap``). The measurement runs in a child process with a time limit;
:func:`timing_row` returns None when the library cannot train, else plain data with a ``text``
sentence (or the error that stopped it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special
from scipy import stats
from threadpoolctl import threadpool_limits

from benchmarks.timing.steps import LR, Config, make_step
from verification.conformance import calls, inputs
from verification.conformance.runner import ChildFailed, in_child
from verification.conformance.target import Target

__all__ = ["ROUNDS", "library_step", "timing_row"]

ROUNDS, MIN_ROUNDS = 15, 3
BLOCK_SECONDS = 0.02  # a block's steps take about this long (at least one step)
BUDGET_SECONDS = 60.0  # fewer rounds (not fewer than MIN_ROUNDS) for a slow library


def library_step(target: Target, cfg: Config) -> Callable[[], float]:
    """One training step of the library on ``cfg``'s weights and batch."""
    w, (x, labels) = cfg.weights(), cfg.batch_data()
    conventions = target.conventions["cross_entropy"]
    probabilities = conventions["input"] == "probabilities"
    inside = probabilities and conventions["grad_wrt"] == "input" and target.has("softmax")
    layers = [calls.layer(target, "linear", {"W": w["W1"], "b": w["b1"]}),
              calls.layer(target, cfg.net.lower()),
              calls.layer(target, "linear", {"W": w["W2"], "b": w["b2"]})]
    layers += [calls.layer(target, "softmax")] if inside else []
    net, loss = target.factories["network"](layers), target.factories["cross_entropy"]()
    opt, y = target.factories["sgd"](LR), inputs.onehot(labels, 10)

    def step() -> float:
        out = net.forward(x)
        value = loss(scipy.special.softmax(out, axis=1) if probabilities and not inside else out, y)
        net.backward(loss.grad)
        opt.step(layers)
        return float(value)

    return step


def _block(step: Callable[[], float], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _measure(target: Target, cfg: Config) -> dict[str, Any]:
    with threadpool_limits(1):
        steps = {"library": library_step(target, cfg), "nplearn": make_step("nplearn", cfg),
                 "floor": make_step("floor", cfg)}
        for step in steps.values():
            step()
        seconds = {k: max(_block(s, 1), 1e-6) for k, s in steps.items()}
        counts = {k: max(1, min(50, int(BLOCK_SECONDS / t))) for k, t in seconds.items()}
        per_round = 2 * sum(counts[k] * seconds[k] for k in steps)
        rounds_run = max(MIN_ROUNDS, min(ROUNDS, int(BUDGET_SECONDS / per_round)))
        rounds = []
        for r in range(rounds_run):
            order = list(steps) + list(reversed(steps))
            order = order if r % 2 == 0 else order[::-1]
            blocks: dict[str, list[float]] = {k: [] for k in steps}
            for name in order:
                blocks[name].append(_block(steps[name], counts[name]))
            rounds.append({k: float(np.mean(v)) for k, v in blocks.items()})
    out: dict[str, Any] = {"config": cfg.id, "rounds": rounds_run,
                           "seconds": {k: float(np.median([r[k] for r in rounds])) for k in steps}}
    for base in ("nplearn", "floor"):
        logs = np.log([r["library"] / r[base] for r in rounds])
        ci = stats.bootstrap((logs,), np.mean, confidence_level=0.95, random_state=0)
        low, high = ci.confidence_interval
        out[f"ratio_to_{base}"] = [float(np.exp(logs.mean())), float(np.exp(low)),
                                   float(np.exp(high))]
    return out


def timing_row(target: Target, timeout: float = 180.0) -> dict[str, Any] | None:
    """The timing data and sentence, or None if the library cannot train the post's network."""
    activation = "relu" if target.has("relu") else "sigmoid"
    if not target.has("linear", activation, "cross_entropy", "sgd", "network"):
        return None
    cfg = Config("ReLU" if activation == "relu" else "Sigmoid", "float64", 100)
    try:
        data = in_child(lambda: _measure(target, cfg), timeout)
    except ChildFailed as exc:
        return {"config": cfg.id, "error": str(exc), "text": f"not measured: {exc}"}
    data["text"] = (
        f"The library's training step of the post's network ({cfg.net}, float64, batch "
        f"{cfg.batch}, one BLAS thread) against nplearn's and the hand-fused NumPy floor's, "
        f"measured in one run: median step times; ratios are geometric means over "
        f"{data['rounds']} interleaved rounds (library, nplearn, floor, then the reverse), with "
        "95% bootstrap intervals."
    )
    return data
