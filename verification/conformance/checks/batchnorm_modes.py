"""Batch norm across steps and modes: running statistics, eval mode and its backward, a variance
of 0, batch 2.

Contract
--------
Layers are built as in :mod:`~verification.conformance.checks.batchnorm`. After :data:`STEPS`
training batches, the expected running statistics are PyTorch's rule under the declared
conventions (the batch's weight :data:`MOMENTUM`; the batch variance stored ``unbiased`` or
``biased``; starting from mean 0, variance 1). The protocol names no attribute for them, so
they are measured through ``eval()``:

- ``running statistics``: the eval outputs of one-row batches of 0 and of 1 per feature, against
  the expected statistics' (from the two outputs, the running mean and variance the layer uses
  are solved for, and compared with suspected mistakes: the other momentum reading, the other
  variance, ``np.std`` for the variance, a start other than mean 0 and variance 1 (variance 0,
  the first batch's statistics), never updated, the last batch's only);
- ``eval mode``: the eval output of a whole batch is the expected running statistics' (not the
  batch's own statistics', with eps or another; not running statistics of its own, fitted from
  the output and named when a running-statistics suspect matches them);
- ``eval backward``: ``dx``, ``dgamma``, ``dbeta`` of that eval batch against PyTorch's autograd
  through ``F.batch_norm(training=False)`` with the expected running statistics: ``x_hat`` from
  the running statistics, ``dx = grad * gamma / sqrt(running_var + eps)`` (no mean or variance
  terms). Diagnoses: the training backward's formula (batch statistics') used at eval; a
  backward right for the running statistics the eval forward uses, those being wrong, or the
  training formula on those;
- ``stability``: training forward and backward, against PyTorch, on a batch with a constant
  feature (variance 0), a batch of 2, and both: ``unstable`` when a quantity right on moderate
  batches is wrong or not finite there; quantities wrong on moderate batches already are judged
  only for being finite there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from verification.conformance import calls, diagnosis
from verification.conformance.checks.batchnorm import (
    EPS,
    MOMENTUM,
    OTHER_EPS,
    backward_of,
    examples,
    layer,
    measure,
    reference,
    run,
    strategy,
    training_dx,
)
from verification.conformance.judge import Example, Finding, judge, show
from verification.conformance.numeric import error, errors, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import PASS, UNSTABLE, WRONG, Result
from verification.conformance.target import Target

__all__ = ["STEPS", "eval_backward", "eval_mode", "running", "stability"]

STEPS = 3
#: Where running statistics start (PyTorch: mean 0, variance 1), and the words for the others.
STARTS = {"0, 1": "", "0, 0": "the running variance starting at 0 (not 1)",
          "first": "the running statistics starting from the first batch's (not mean 0, "
                   "variance 1)"}


def _batches(example: Example) -> list[np.ndarray]:
    """The training batches: the example's ``x`` moved and spread differently at each step."""
    x = example["x"]
    return [x * (1 + 0.5 * i) + i for i in range(STEPS)]


def _expected(batches: list[np.ndarray], weight: float, ddof: int, power: float = 1.0,
              start: str = "0, 1") -> tuple[np.ndarray, np.ndarray]:
    """The running statistics from ``start``: mean 0 and variance 1 (``"0, 1"``), variance 0
    (``"0, 0"``), or the first batch's own (``"first"``)."""
    first = batches[0]
    mean = first.mean(axis=0) if start == "first" else np.zeros(first.shape[1])
    var = (first.var(axis=0, ddof=ddof) ** power if start == "first"
           else np.full(first.shape[1], 1.0 if start == "0, 1" else 0.0))
    for x in batches:
        mean = (1 - weight) * mean + weight * x.mean(axis=0)
        var = (1 - weight) * var + weight * x.var(axis=0, ddof=ddof) ** power
    return mean, var


def declared(target: Target, example: Example) -> tuple[np.ndarray, np.ndarray]:
    """The running mean and variance expected after the training batches."""
    ddof = 1 if target.convention("batchnorm", "running_var") == "unbiased" else 0
    return _expected(_batches(example), MOMENTUM, ddof)


def _trained(target: Target, example: Example) -> Any:
    made = layer(target, example)
    for x in _batches(example):
        run(made, x)
    calls.switch(made, "eval")
    return made


def _eval_batch(example: Example) -> np.ndarray:
    """The batch run at eval: the example's ``x`` reversed, moved and narrowed."""
    return example["x"][::-1] * 0.8 + 0.3


def _eval_output(example: Example, x: np.ndarray, stats: tuple) -> np.ndarray:
    mean, var = stats
    return example["gamma"] * (x - mean) / np.sqrt(var + EPS) + example["beta"]


def _suspects(target: Target, example: Example) -> list[tuple[str, tuple]]:
    batches = _batches(example)
    keras = target.convention("batchnorm", "momentum") == "keras"
    other = "pytorch" if keras else "keras"
    out = [("never updated (mean 0, variance 1)", (np.zeros(len(example["gamma"])),
                                                 np.ones(len(example["gamma"])))),
           ("the last batch's statistics only", _expected(batches[-1:], 1.0, 0))]
    variances = ((1, 1, "unbiased"), (0, 1, "biased"), (0, 0.5, "np.std"), (1, 0.5, "np.std"))
    for start, begins in STARTS.items():
        for weight, form in ((MOMENTUM, ""), (1 - MOMENTUM, f"the {other} momentum reading")):
            for ddof, power, var in variances:
                words = [w for w in (begins, form) if w]
                if power != 1:
                    words.append("np.std (the standard deviation) stored as the variance")
                elif var != target.convention("batchnorm", "running_var"):
                    words.append(f"the {var} variance")
                if words:
                    out.append((" and ".join(words),
                                _expected(batches, weight, ddof, power, start)))
    return out


def running(target: Target, piece: str) -> Result:
    """The running statistics, measured through the eval output of one-row batches."""

    def trial(example: Example) -> Finding:
        made = _trained(target, example)
        probes = np.zeros((1, len(example["gamma"]))), np.ones((1, len(example["gamma"])))
        found = [np.asarray(made.forward(p.copy())) for p in probes]
        stats = declared(target, example)
        ref = [_eval_output(example, p, stats) for p in probes]
        tol = oracle_tol(dtype_of(*found))
        e = max(error(f, r) for f, r in zip(found, ref, strict=True))
        if e <= tol:
            return Finding(e, tol)
        z0, z1 = ((f[0] - example["beta"]) / example["gamma"] for f in found)
        if not np.all(np.isfinite(z1 - z0)) or np.any(np.abs(z1 - z0) < 1e-12):
            return Finding(e, tol, "the eval output does not move with the input: not the "
                           "running statistics (see the eval mode row)")
        s = 1 / (z1 - z0)
        measured = np.concatenate([-z0 * s, s**2 - EPS])
        words = next((w for w, (m, v) in _suspects(target, example)
                      if error(measured, np.concatenate([m, v])) <= diagnosis.match_tol(tol)),
                     None)
        return Finding(e, tol, f"running statistics: {words}" if words else None)

    return judge(piece, "running statistics", trial, examples(), strategy())


def eval_mode(target: Target, piece: str) -> Result:
    """The eval output of a whole batch uses the running statistics, not the batch's."""

    def trial(example: Example) -> Finding:
        made = _trained(target, example)
        x = _eval_batch(example)
        y = np.asarray(made.forward(x.copy()))
        tol = oracle_tol(dtype_of(y))
        e = error(y, _eval_output(example, x, declared(target, example)))
        if e <= tol:
            return Finding(e, tol)
        return Finding(e, tol, _eval_words(target, example, x, y, tol))

    return judge(piece, "eval mode", trial, examples(), strategy())


def _eval_words(target: Target, example: Example, x: np.ndarray, y: np.ndarray, tol: float
                ) -> str | None:
    """What a wrong eval output of ``x`` normalised with: the batch's own statistics (with the
    eps passed, or one the library uses instead), or running statistics other than expected."""
    close, centred = diagnosis.match_tol(tol), x - x.mean(axis=0)
    for eps in (EPS, *OTHER_EPS):
        batch = example["gamma"] * centred / np.sqrt(x.var(axis=0) + eps) + example["beta"]
        if error(y, batch) <= close:
            ignored = f" (eps={eps:g} whatever is passed)" if eps != EPS else ""
            return f"normalises with the batch's own statistics at eval{ignored}"
    used = _used_statistics({**example, "x": x}, y)
    if not (np.all(np.isfinite(used[1])) and error(y, _eval_output(example, x, used)) <= close):
        return None
    words = next((w for w, (m, v) in _suspects(target, example)
                  if error(np.concatenate(used), np.concatenate([m, v])) <= close), None)
    return ("normalises with its running statistics, which are not the expected ones"
            + (f": {words}" if words else "") + " (see the running statistics row)")


def _used_statistics(example: Example, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The running mean and variance an eval output ``y`` of ``example["x"]`` was normalised
    with: ``x = s z + m`` fitted per feature, ``z = (y - beta) / gamma``,
    ``s = sqrt(var + eps)``."""
    x, z = example["x"], (y - example["beta"]) / example["gamma"]
    zc = z - z.mean(axis=0)
    s = (zc * (x - x.mean(axis=0))).sum(axis=0) / (zc**2).sum(axis=0)
    return x.mean(axis=0) - s * z.mean(axis=0), s**2 - EPS


def _eval_backward_words(example: Example, stats: tuple, y: np.ndarray, found: dict,
                         ref: dict, tol: float) -> str | None:
    words = "eval backward uses the batch statistics' formula (training backward)"
    if error(y, ref["y"]) > tol and np.all(np.isfinite(y)):
        used = _used_statistics(example, y)
        own = reference(example, training=False, stats=used)
        if max(errors(found, own).values()) <= diagnosis.match_tol(tol):
            return ("right for the running statistics the eval forward uses, which are wrong "
                    "(see the running statistics and eval mode rows)")
        inv = 1 / np.sqrt(used[1] + EPS)
        dx = training_dx(example["grad"], example["gamma"], (example["x"] - used[0]) * inv, inv)
        if error(found["dx"], dx) <= diagnosis.match_tol(tol):
            return (f"dx: {words}, on the running statistics the eval forward uses, which are "
                    "wrong too (see the running statistics and eval mode rows)")
    inv = 1 / np.sqrt(stats[1] + EPS)
    in_training = training_dx(example["grad"], example["gamma"], (example["x"] - stats[0]) * inv,
                              inv)  # the training formula on the running statistics' x_hat
    batch = reference(example, training=True)
    formulas = {"dx": [(words, in_training), (words, batch["dx"])],
                "dgamma": [(words, batch["dgamma"])]}
    return diagnosis.tensors(found, ref, formulas, {"batch size": len(example["x"])}, tol)


def eval_backward(target: Target, piece: str) -> Result:
    """After training batches and ``eval()``: ``dx``, ``dgamma``, ``dbeta`` against PyTorch's
    autograd through ``F.batch_norm(training=False)`` with the expected running statistics."""

    def trial(example: Example) -> Finding:
        made = _trained(target, example)
        at_eval = {**example, "x": _eval_batch(example)}
        y = np.asarray(made.forward(at_eval["x"].copy()))
        found = backward_of(made, example["grad"])
        stats = declared(target, example)
        ref = reference(at_eval, training=False, stats=stats)
        tol = oracle_tol(dtype_of(y, *found.values()))
        worst = max(errors(found, ref).values())
        if worst <= tol:
            return Finding(worst, tol)
        return Finding(worst, tol, _eval_backward_words(at_eval, stats, y, found, ref, tol))

    return judge(piece, "eval backward", trial, examples(), strategy())


def _probes() -> list[Example]:
    base = examples(3, offset=10)
    base[0]["x"][:, 1] = 0.7  # a constant feature: variance 0
    base[1] = {k: v[:2] if k in ("x", "grad") else v for k, v in base[1].items()}
    base[2] = {k: v[:2] if k in ("x", "grad") else v for k, v in base[2].items()}
    base[2]["x"][:, 0] = -1.2
    return base


def _errors(target: Target, example: Example, moderate: bool) -> tuple[dict, dict, float]:
    y, grads = measure(target, example, moderate)
    found = {"y": y, **grads}
    ref, tol = reference(example), oracle_tol(dtype_of(y, *grads.values()))
    errors = {k: error(v, ref[k]) for k, v in found.items()}
    finite = {k: bool(np.all(np.isfinite(np.asarray(v, dtype=float)))) for k, v in found.items()}
    return errors, finite, tol


def stability(target: Target, piece: str) -> Result:
    """Finite and right with a constant feature and at batch 2 (module contract)."""
    moderate = [_errors(target, ex, True) for ex in examples()]
    right = {k: all(errors[k] <= tol for errors, _, tol in moderate) for k in moderate[0][0]}

    def trial(example: Example) -> Finding:
        errors, finite, tol = _errors(target, example, False)
        bad = sorted(k for k in errors if not finite[k] or (right[k] and errors[k] > tol))
        worst = max([errors[k] for k in right if right[k]] + [0.0])
        if not bad:
            return Finding(worst, tol)
        what = "not finite" if any(not finite[k] for k in bad) else "wrong"
        words = f"{' and '.join(bad)} {what} with a constant feature or at batch 2"
        return Finding(max(worst, 2 * tol), tol, words)

    probes = _probes()
    result = judge(piece, "stability", trial, probes, strategy(constant=True), verdict=UNSTABLE)
    wrong = [k for k, ok in right.items() if not ok]
    if result.verdict != PASS or not wrong:
        return result
    already = max(errors[k] for errors, _, _ in moderate for k in wrong)  # the row's number
    return Result(piece, "stability", WRONG, already,
                  f"{' and '.join(wrong)} wrong on moderate batches already (see the other "
                  "rows); finite with a constant feature and at batch 2", show(examples()[0]))
