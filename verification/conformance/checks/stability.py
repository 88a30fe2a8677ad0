"""Stability at extreme inputs: finite and correct, for activations, softmax and the
cross-entropies.

Contract
--------
Activations get inputs of +-1000 and tiny ones (+-1e-300, +-1e-30); the softmax layer and
cross-entropy get logits with entries of +-1000, moderate logits times 1000, and rows where a
class has probability exactly 0 beside a target class of p > 0 (so that a probability loss's
value, ``-sum xlogy(y, p)``, is finite and judged); binary cross-entropy gets logits of +-1000
(probabilities of exactly 0 and 1) at their own targets and at the other ones, and moderate
logits times 1000. Forward and backward (for a loss: value and gradient), each called twice,
are compared with the PyTorch float64 oracle; entries where the oracle itself is not finite are
not judged. The row is ``unstable`` when an extreme probe fails:
a quantity right on moderate inputs is wrong there by more than :data:`FAR` times the
tolerance, or any quantity is not finite where the oracle is (a passing row beyond the
tolerance itself says so in its detail, with the deviation measured); ``wrong`` when no probe
fails but a quantity is wrong on moderate inputs already. The diagnosis says which quantity
fails at which probe, and whether it is not finite.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verification.conformance import calls, inputs, oracle
from verification.conformance.checks.losses import examples
from verification.conformance.judge import Example, Finding, judge, show, shrink
from verification.conformance.numeric import error, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import PASS, UNSTABLE, WRONG, Result
from verification.conformance.target import Target

__all__ = ["FAR", "LABELS", "PROBES", "ZERO_BESIDE", "stability"]

#: A probe's error fails beyond this multiple of the tolerance on moderate inputs: blow-ups are
#: errors of order 1 or values that are not finite, while a deliberate clip that keeps a loss
#: finite (p into [1e-7, 1 - 1e-7]) costs about 1e-7, a few float64 tolerances.
FAR = 100
_RNG = np.random.default_rng(inputs.SEED)
_MODERATE = _RNG.uniform(-3, 3, (inputs.BATCH, inputs.CLASSES))
ZERO_BESIDE = "a probability of 0 beside the target's (p > 0)"
OWN_TARGETS = "logits of +-1000 (p = 0 and 1) at their own targets"
#: Extreme probes: name -> input rows.
PROBES: dict[str, dict[str, np.ndarray]] = {
    "activation": {
        "inputs of +-1000": np.array([[1000.0, -1000.0, 500.0, -700.0], [-1000, 1000, 0.5, -2]]),
        "tiny inputs (+-1e-300, +-1e-30)": np.array([[1e-300, -1e-300, 1e-30, -1e-30]]),
    },
    "logits": {
        "large negative logits (-1000)": np.array(
            [[0.0, -1000, 2, 1, -1000], [-1000, -1000, -999, -1000, -1001], [3, -1000, 0, 0, 1]]
        ),
        "large positive logits (+1000)": np.array(
            [[1000.0, 0, -1, 2, 999], [1000, 1000, 1000, 1000, 1000], [0, 1, 1000, 2, 0]]
        ),
        "logits x1000": _MODERATE * 1000,
        ZERO_BESIDE: np.array([[1000.0, 999, -1000], [-1000, 0, 1], [0, 0, -746]]),
    },
    "binary": {
        OWN_TARGETS: np.array([[1000.0, -1000, 2, -1], [-1000, 1000, 0.5, 3]]),
        "logits of +-1000 at the other targets": np.array([[1000.0, -1000, 2], [-1000, 0, 1]]),
        "logits x1000": _MODERATE * 1000,
    },
}
#: Targets chosen by the probe (others are drawn): every target class here has p > 0 while
#: another class of its row has p = 0 exactly, so the loss value is finite and judged.
LABELS = {ZERO_BESIDE: np.array([1, 1, 0])}
#: BCE's targets where the probe chooses them: p = 0 and 1 (logits of +-1000) at their own
#: targets (the value is finite), and at the other ones.
TARGETS = {OWN_TARGETS: np.array([[1.0, 0, 1, 0], [0, 1, 0, 1]]),
           "logits of +-1000 at the other targets": np.array([[0.0, 1, 1], [1, 0, 0]])}
LOSSES = ("cross_entropy", "bce")
_EXTREMES = [-1000.0, 1000.0, 1e-300, -1e-300, 1e-30, -1e-30, 0.5, -2.0, 1.0]


def _probe_examples(kind: str, loss: bool) -> list[tuple[str, Example]]:
    out = []
    for i, (name, x) in enumerate(PROBES[kind].items()):
        rng = np.random.default_rng([inputs.SEED, 200 + i])
        if name in TARGETS:
            out.append((name, {"z": x, "target": TARGETS[name]}))
        elif loss:
            labels = LABELS.get(name, rng.integers(0, x.shape[1], x.shape[0]))
            out.append((name, {"z": x, "target": inputs.onehot(labels, x.shape[1])}))
        else:
            out.append((name, {"x": x, "grad": rng.standard_normal(x.shape)}))
    return out


def _strategy(loss: bool) -> st.SearchStrategy[Example]:
    shapes = st.tuples(st.integers(1, 2), st.integers(2, 4))

    def build(shape: tuple[int, int]) -> st.SearchStrategy[Example]:
        x = hnp.arrays(np.float64, shape, elements=st.sampled_from(_EXTREMES))
        if loss:
            labels = hnp.arrays(np.int64, shape[0], elements=st.integers(0, shape[1] - 1))
            return st.fixed_dictionaries({"z": x, "target": labels.map(
                lambda y: inputs.onehot(y, shape[1]))})
        grad = hnp.arrays(np.float64, shape, elements=st.sampled_from([1.0, -1.0, 0.5]))
        return st.fixed_dictionaries({"x": x, "grad": grad})

    return shapes.flatmap(build)


def _measure(target: Target, piece: str, example: Example) -> tuple[dict[str, Any], dict, float]:
    """The library's and the oracle's quantities on ``example``, and the tolerance.

    The oracle takes the inputs as the library's dtype holds them (1e-300 is 0 in float32).
    """
    if piece in LOSSES:
        conventions = target.conventions[piece]
        fed, _, _ = oracle.loss(piece, conventions, example["z"], example["target"])
        got_value, got_grad = calls.run_loss(target, piece, fed, example["target"])
        dtype = dtype_of(got_grad)
        z = example["z"].astype(dtype).astype(np.float64)
        _, value, grad = oracle.loss(piece, conventions, z, example["target"])
        found = {"loss value": got_value, "gradient": got_grad}
        return found, {"loss value": value, "gradient": grad}, oracle_tol(dtype)
    y, dx, _ = calls.run_layer(target, piece, example)
    dtype = dtype_of(dx, y)
    ref = oracle.layer(piece, example["x"].astype(dtype).astype(np.float64), example["grad"])
    return {"output": y, "dx": dx}, {"output": ref["y"], "dx": ref["dx"]}, oracle_tol(dtype)


def _errors(target: Target, piece: str, example: Example) -> tuple[dict, dict, float]:
    """Per quantity, the worse of two calls: the error against the oracle, whether the
    library's value is finite where the oracle's is, and the tolerance. Two calls, because a
    piece that reads uninitialised memory (``np.log(p, where=p > 0)`` without ``out``) may be
    right by chance once."""
    errors: dict[str, float] = {}
    finite: dict[str, bool] = {}
    for _ in range(2):
        found, ref, tol = _measure(target, piece, example)
        for k, v in found.items():
            judged = np.isfinite(np.asarray(ref[k], dtype=float))
            value = np.asarray(v, dtype=float)
            ok = value.shape == judged.shape and bool(np.all(np.isfinite(value[judged])))
            errors[k] = max(errors.get(k, 0.0), error(v, ref[k]))
            finite[k] = finite.get(k, True) and ok
    return errors, finite, tol


def _probe_trial(target: Target, piece: str, probe: str, right: dict[str, bool]):
    """A probe fails on a quantity right on moderate inputs that is wrong there, or on any
    quantity that is not finite where the oracle is."""

    def trial(example: Example) -> Finding:
        errors, finite, tol = _errors(target, piece, example)
        tol *= FAR
        bad = {k for k in errors if not finite[k] or (right[k] and not errors[k] <= tol)}
        worst = max((errors[k] for k in bad), default=max(e for k, e in errors.items()
                                                          if right[k]) if any(right.values())
                    else 0.0)
        if not bad:
            return Finding(worst, tol)
        names = sorted(bad)
        nonfinite = [k for k in names if not finite[k]]
        words = f"{' and '.join(names)} {'not finite' if nonfinite else 'wrong'} at {probe}"
        return Finding(max(worst, tol * 2, errors[names[0]]), tol, words)

    return trial


def _join(failing: list[tuple[str, Result]]) -> str | None:
    """One sentence for the failing probes: probes with the same finding share it."""
    groups: dict[str, list[str]] = {}
    for probe, result in failing:
        if result.diagnosis:
            groups.setdefault(result.diagnosis.replace(probe, "{}"), []).append(probe)
    return "; ".join(t.replace("{}", ", ".join(p)) for t, p in groups.items()) or None


def stability(target: Target, piece: str) -> Result:
    """Finite and correct at extreme inputs; ``unstable`` if only the extremes fail.

    A quantity already wrong on moderate inputs is judged at the extremes only for being finite.
    """
    loss = piece in LOSSES
    if loss:
        moderate = examples(piece, 3.0)[0]
    else:
        spec = oracle.SPECS[piece]
        moderate = inputs.layer_examples(False, spec.bound, spec.kinks, 0.0)
    measured = [_errors(target, piece, example) for example in moderate]
    right = {k: all(errors[k] <= tol for errors, _, tol in measured) for k in measured[0][0]}
    kind = "binary" if piece == "bce" else "logits" if loss or piece == "softmax" else "activation"
    probes = _probe_examples(kind, loss)
    rows = [
        judge(piece, "stability", _probe_trial(target, piece, name, right), [example],
              _strategy(loss), verdict=UNSTABLE)
        for name, example in probes
    ]
    failing = [(name, r) for (name, _), r in zip(probes, rows, strict=True) if r.failed]
    worst = max(r.worst_error or 0.0 for r in rows)
    wrong = [k for k, ok in right.items() if not ok]
    already = f"{' and '.join(wrong)} wrong on moderate inputs already (see the other rows)"
    if failing:
        words = "; ".join(w for w in (_join(failing), already if wrong else None) if w)
        return Result(piece, "stability", UNSTABLE, worst, words or None,
                      failing[0][1].counterexample)
    if not wrong:
        tol = measured[0][2]
        detail = (f"deviates from the oracle by up to {worst:.2g} at the extremes: beyond the "
                  f"{tol:.2g} of moderate inputs, within {FAR}x it (the cost of a clip, not a "
                  "blow-up)") if worst > tol else None
        return Result(piece, "stability", PASS, worst, detail=detail)
    words = f"{already}; finite at extremes"

    def fails(example: Example) -> bool:
        errors, _, tol = _errors(target, piece, example)
        return not max(errors[k] for k in wrong) <= tol

    small = shrink(examples(piece, 3.0)[1] if loss else inputs.layer_strategy(
        False, oracle.SPECS[piece].bound, oracle.SPECS[piece].kinks, 0.0), fails)
    return Result(piece, "stability", WRONG, max(e for m in measured for e in m[0].values()),
                  words, show(small or moderate[0]))
