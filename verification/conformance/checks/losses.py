"""Loss checks: each loss against its own gradient, and against PyTorch under its conventions.

Contract
--------
Cross-entropy is fed one-hot targets, and logits (or their softmax when its declared input is
``"probabilities"``); binary cross-entropy targets of 0 and 1, and logits (or their sigmoid);
MSE real targets. *Own gradient*: central differences of the library's own
loss value, with respect to what its gradient is declared to be taken of, against ``loss.grad``;
whatever the convention, a value and a gradient that disagree fail here, and a fitted factor
names the disagreement. *Against PyTorch*: the value and the gradient against the float64
oracle under the declared reduction (and scale), each diagnosed on its own (suspects: softmax
over the wrong axis, a BCE over probabilities giving the logits' gradient ``p - t``, a fitted
factor or constant, named only when it holds across the examples).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special

from verification.conformance import calls, diagnosis, inputs, oracle
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, fd_step, fd_tol, gradient, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target

__all__ = ["against_torch", "examples", "own_gradient", "sizes"]


def sizes(example: Example, piece: str = "cross_entropy") -> dict[str, int]:
    """The sizes a fitted factor may equal: the batch size and the number of classes (of
    outputs, for BCE)."""
    batch, classes = np.shape(example["z"])
    return {"batch size": batch,
            f"number of {'outputs' if piece == 'bce' else 'classes'}": classes}


def _binary(example: Example) -> Example:
    return {**example, "target": (example["target"] > 0).astype(np.float64)}


def examples(piece: str, bound: float) -> tuple[list[Example], Any]:
    """Fixed examples and a strategy for a loss: one-hot targets for cross-entropy, 0 or 1
    entries for BCE, real ones for MSE."""
    ce = piece == "cross_entropy"
    fixed, strategy = inputs.loss_examples(ce, bound), inputs.loss_strategy(ce, bound)
    if piece == "bce":
        return [_binary(e) for e in fixed], strategy.map(_binary)
    return fixed, strategy


def _logits_gradient(piece: str, conventions: dict[str, Any], example: Example,
                     fed: np.ndarray) -> list[tuple[str, Any]]:
    """A BCE over probabilities returning the gradient with respect to the logits, p - t."""
    if piece != "bce" or conventions["input"] != "probabilities":
        return []
    n = {"sum": 1, "mean": fed.shape[0], "mean_all": fed.size}[conventions["reduction"]]
    return [("the gradient with respect to the logits (p - t), not to the probabilities",
             (fed - example["target"]) / n)]


def own_gradient(target: Target, piece: str) -> Result:
    """``loss.grad`` against central differences of the library's own loss value."""
    conventions = target.conventions[piece]
    # Only a loss that takes probabilities can give its gradient with respect to other values
    # than its input: the logits, whose softmax it is fed.
    wrt_logits = (piece == "cross_entropy" and conventions["input"] == "probabilities"
                  and conventions["grad_wrt"] == "logits")

    def trial(example: Example) -> Finding:
        fed, _, _ = oracle.loss(piece, conventions, example["z"], example["target"])
        _, grad = calls.run_loss(target, piece, fed, example["target"])
        dtype = dtype_of(grad)
        live = np.array(example["z"] if wrt_logits else fed, dtype=np.float64)

        def f() -> float:
            given = scipy.special.softmax(live, axis=1) if wrt_logits else live
            return calls.run_loss(target, piece, given, example["target"])[0]

        numeric = gradient(f, live, fd_step(dtype))
        tol = fd_tol(dtype)
        e = error(grad, numeric)
        if e <= tol:
            return Finding(e, tol)
        words = (diagnosis.formula(grad, _logits_gradient(piece, conventions, example, fed), tol)
                 or diagnosis.scale(grad, numeric, sizes(example, piece), tol)
                 or diagnosis.offset(grad, numeric, tol))
        return Finding(e, tol, words and f"gradient and loss value disagree: gradient {words}")

    return judge(piece, "own gradient", trial, *examples(piece, 3.0))


BINARY = "binary cross-entropy summed over the classes (the (1 - y) log(1 - p) terms added)"


def _suspects(piece: str, conventions: dict[str, Any], example: Example, name: str
              ) -> list[tuple[str, Any]]:
    """The loss values (``name`` "value") or gradients of suspected mistakes: softmax over the
    wrong axis, the other reduction, a binary cross-entropy over the classes."""
    z, t = example["z"], example["target"]
    out = _logits_gradient(piece, conventions, example, oracle.loss(
        piece, conventions, z, t)[0]) if piece == "bce" and name == "gradient" else []
    if piece != "cross_entropy":
        return out
    batch = z.shape[0] if conventions["reduction"] == "mean" else 1
    if conventions["input"] == "logits" and name == "gradient":
        for words, axis in (("axis 0, across the batch", 0), ("the whole batch", None)):
            p = scipy.special.softmax(z, axis=axis)
            out.append((f"softmax normalised over the wrong axis ({words})", (p - t) / batch))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = scipy.special.softmax(z, axis=1)
        if name == "value":
            out.append((BINARY, -(scipy.special.xlogy(t, p) + scipy.special.xlogy(1 - t, 1 - p))
                        .sum() / batch))
        elif conventions["input"] == "probabilities" and conventions["grad_wrt"] == "input":
            out.append((BINARY, (-t / p + (1 - t) / (1 - p)) / batch))
    return out


def against_torch(target: Target, piece: str) -> Result:
    """The loss value and ``loss.grad`` against PyTorch float64 under the declared conventions."""
    conventions = dict(target.conventions[piece])

    def trial(example: Example) -> Finding:
        fed, value, grad = oracle.loss(piece, conventions, example["z"], example["target"])
        got_value, got_grad = calls.run_loss(target, piece, fed, example["target"])
        tol = oracle_tol(dtype_of(got_grad))
        errors = {"value": error(got_value, value), "gradient": error(got_grad, grad)}
        worst = max(errors.values())
        if worst <= tol:
            return Finding(worst, tol)
        found = {}
        for name, got, ref in (("value", got_value, value), ("gradient", got_grad, grad)):
            failed = not errors[name] <= tol
            words = None
            if failed:
                formulas = _suspects(piece, conventions, example, name)
                words = (diagnosis.formula(got, formulas, tol)
                         or diagnosis.scale(got, ref, sizes(example, piece), tol)
                         or diagnosis.offset(got, ref, tol))
            found[f"loss {name}" if name == "value" else name] = (failed, words)
        return Finding(worst, tol, diagnosis.per_tensor(found))

    # Logits reach +-20, except when the loss takes probabilities: it then sees p as small as
    # 1e-17, where a library may rightly clip them (e.g. add eps to p before the log).
    logits = piece == "cross_entropy" and conventions["input"] == "logits"
    return judge(piece, "vs torch", trial, *examples(piece, 20.0 if logits else 3.0))
