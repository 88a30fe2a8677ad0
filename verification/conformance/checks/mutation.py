"""Inputs not mutated: forward and backward leave their arguments as they were given.

Contract
--------
A layer gets ``x`` and then the upstream gradient; a loss gets its predictions and targets. The
check keeps copies and compares after each call; the worst error is the largest change relative
to the largest entry, and any change fails (tolerance 0). The diagnosis names the call and the
argument: "backward overwrote the caller's input x", "backward overwrote the upstream
gradient", "the loss overwrote its predictions".
"""

from __future__ import annotations

import numpy as np

from verification.conformance import calls, inputs, oracle
from verification.conformance.checks import losses
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error
from verification.conformance.result import Result
from verification.conformance.target import EXTRA_LOSSES, LOSSES, Target

__all__ = ["not_mutated"]


def _changes(watched: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """``{name: change}`` of each (given, copy) pair that differs."""
    out = {}
    for name, (given, copy) in watched.items():
        changed = error(given, copy) if given.shape == copy.shape else np.inf
        if not changed == 0:
            out[name] = changed
    return out


def _layer_trial(target: Target, piece: str):
    def trial(example: Example) -> Finding:
        made = calls.layer(target, piece, example if piece == "linear" else None)
        x, grad = np.array(example["x"]), np.array(example["grad"])
        x0, grad0 = x.copy(), grad.copy()
        made.forward(x)
        found = {f"forward overwrote its input {k}": c for k, c in _changes({"x": (x, x0)}).items()}
        x[...] = x0  # judge backward on its own
        made.backward(grad)
        for name, change in _changes({"x": (x, x0), "grad": (grad, grad0)}).items():
            what = "the caller's input x" if name == "x" else "the upstream gradient"
            found[f"backward overwrote {what}"] = change
        worst = max(found.values(), default=0.0)
        return Finding(worst, 0.0, "; ".join(found) or None)

    return trial


def _loss_trial(target: Target, piece: str):
    def trial(example: Example) -> Finding:
        fed, _, _ = oracle.loss(piece, target.conventions[piece], example["z"], example["target"])
        pred, true = np.array(fed), np.array(example["target"], dtype=np.float64)
        watched = {"predictions": (pred, pred.copy()), "targets": (true, true.copy())}
        target.factories[piece]()(pred, true)
        found = {f"the loss overwrote its {k}": c for k, c in _changes(watched).items()}
        return Finding(max(found.values(), default=0.0), 0.0, "; ".join(found) or None)

    return trial


def not_mutated(target: Target, piece: str) -> Result:
    """Forward and backward (or the loss call) leave their array arguments unchanged."""
    if piece not in (*LOSSES, *EXTRA_LOSSES):
        spec, linear = oracle.SPECS[piece], piece == "linear"
        examples = inputs.layer_examples(linear, spec.bound, spec.kinks, 0.0)
        strategy = inputs.layer_strategy(linear, spec.bound, spec.kinks, 0.0)
        return judge(piece, "inputs not mutated", _layer_trial(target, piece), examples, strategy)
    trial = _loss_trial(target, piece)
    return judge(piece, "inputs not mutated", trial, *losses.examples(piece, 3.0))
