"""Layer checks: forward against PyTorch, backward against central differences and PyTorch.

Contract
--------
Each check takes a target and a layer piece and returns its :class:`Result`. Inputs reach the
piece's oracle bound for the PyTorch comparisons and its gradient-check bound for central
differences (``verification.registry``), clear of kinks by more than the difference step. The
central differences are of ``sum(grad * forward(x))`` through the library's own forward, with
respect to ``x`` and, for a linear layer, ``W`` and ``b`` (a fresh layer per evaluation).
Diagnoses compare with the suspected mistakes of :func:`suspects`, with a ReLU or LeakyReLU of
the slope fitted on the negative inputs, and fit a scale factor per tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special

from nplearn.functional import softmax_backward
from verification.conformance import calls, diagnosis, inputs, oracle
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, errors, fd_step, fd_tol, gradient, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target

__all__ = ["backward_differences", "backward_torch", "forward", "suspects"]

SIZES = {"batch size": inputs.BATCH}


def suspects(piece: str, example: Example, y: np.ndarray) -> dict[str, list[tuple[str, Any]]]:
    """Suspected mistakes per tensor (``"y"``, ``"dx"``): their words and values on ``example``.

    ``y`` is the correct output. Activations: sigmoid or tanh of ``-x``; the registry's
    plausible wrong derivative (e.g. the derivative applied to the output),
    ``np.maximum(grad, 0)``, the gradient passed through unchanged. Softmax: normalised over
    axis 0 or over the whole batch, the Jacobian's diagonal only, the gradient passed through.
    """
    x, g = example["x"], example["grad"]
    spec, out = oracle.SPECS[piece], {"y": [], "dx": []}
    if piece == "softmax":
        for words, axis in (("axis 0, across the batch", 0), ("the whole batch", None)):
            p = scipy.special.softmax(x, axis=axis)
            text = f"normalised over the wrong axis ({words}) instead of each row"
            out["y"].append((text, p))
            out["dx"].append((text, softmax_backward(p, g, axis)))
        out["dx"].append(("uses only the Jacobian's diagonal, y(1 - y) * grad", y * (1 - y) * g))
    elif piece != "linear":
        if piece in ("sigmoid", "tanh"):  # both odd about their centre: f(-x) from y
            out["y"].append(("computes f(-x), the sign of x flipped (exp(x) where exp(-x) is "
                             "needed)", 1 - y if piece == "sigmoid" else -y))
        if spec.wrong_derivative is not None:
            out["dx"].append((spec.wrong, g * spec.wrong_derivative(y)))
        out["dx"].append((
            "passes positive upstream gradients whatever the input (np.maximum(grad, 0))",
            np.maximum(g, 0),
        ))
    if piece != "linear":
        out["dx"].append(("passes the upstream gradient through unchanged", g))
    return out


def _slopes(piece: str, example: Example, found: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """A ReLU or LeakyReLU measured as a leaky ReLU of some slope: per tensor (``y``, ``dx``),
    the words of the slope fitted on the negative inputs and that leaky ReLU's values."""
    if piece not in ("relu", "leaky_relu"):
        return {}
    x, g = example["x"], example["grad"]
    out = {}
    for name, along in (("y", x), ("dx", g)):
        value = np.asarray(found.get(name, np.nan), dtype=np.float64)
        negative = x < 0
        if value.shape != x.shape or not np.any(along[negative]):
            continue
        a = along[negative]
        slope = float(value[negative] @ a / (a @ a))
        if piece == "relu":
            words = f"a leaky ReLU: constant slope {slope:.3g} for negative inputs, not 0"
        elif abs(slope) < 1e-12:
            words = f"a plain ReLU: slope 0 for negative inputs, not {inputs.SLOPE:g}"
        else:
            words = f"constant slope {slope:.3g} for negative inputs, not {inputs.SLOPE:g}"
        out[name] = (words, np.where(negative, slope, 1.0) * along)
    return out


def _diagnose(
    piece: str, example: Example, ref: dict[str, Any], found: dict[str, Any], tol: float
) -> str | None:
    """Per-tensor diagnosis of ``found`` against the reference ``ref`` (same keys)."""
    formulas = suspects(piece, example, ref["y"]) if "y" in ref else {}
    for name, words_value in _slopes(piece, example, found).items():
        formulas.setdefault(name, []).append(words_value)
    return diagnosis.tensors(found, ref, formulas, SIZES, tol)


def _examples(piece: str, bound: float, margin: float) -> tuple[list[Example], Any]:
    spec, linear = oracle.SPECS[piece], piece == "linear"
    return (
        inputs.layer_examples(linear, bound, spec.kinks, margin),
        inputs.layer_strategy(linear, bound, spec.kinks, margin),
    )


def forward(target: Target, piece: str) -> Result:
    """The layer's output against PyTorch float64."""

    def trial(example: Example) -> Finding:
        y = calls.forward(target, piece, example, example["x"])
        ref = oracle.layer(piece, example["x"], example["grad"], _params(example))
        tol = oracle_tol(dtype_of(y))
        e = error(y, ref["y"])
        return Finding(e, tol, _diagnose(piece, example, ref, {"y": y}, tol) if e > tol else None)

    bound = oracle.SPECS[piece].oracle_bound
    return judge(piece, "forward", trial, *_examples(piece, bound, 0.0))


def _params(example: Example) -> dict[str, np.ndarray]:
    return {k: example[k] for k in ("W", "b") if k in example}


def backward_torch(target: Target, piece: str) -> Result:
    """``dx`` (and ``dW``, ``db``) against PyTorch float64's autograd."""

    def trial(example: Example) -> Finding:
        y, dx, grads = calls.run_layer(target, piece, example)
        ref = oracle.layer(piece, example["x"], example["grad"], _params(example))
        found = {"dx": dx, **{f"d{k}": v for k, v in grads.items()}}
        tol = oracle_tol(dtype_of(dx, y, *grads.values()))
        worst = max(errors(found, ref).values())
        diag = _diagnose(piece, example, ref, found, tol) if not worst <= tol else None
        return Finding(worst, tol, diag)

    bound = oracle.SPECS[piece].oracle_bound
    return judge(piece, "backward vs torch", trial, *_examples(piece, bound, 0.0))


def backward_differences(target: Target, piece: str) -> Result:
    """``dx`` (and ``dW``, ``db``) against central differences of the library's own forward."""

    def trial(example: Example) -> Finding:
        y, dx, grads = calls.run_layer(target, piece, example)
        dtype = dtype_of(dx, y, *grads.values())
        step, tol = fd_step(dtype), fd_tol(dtype)
        live = {k: np.array(v, dtype=np.float64) for k, v in example.items() if k != "grad"}

        def f() -> float:
            out = calls.forward(target, piece, live, live["x"])
            return float(np.vdot(example["grad"], np.asarray(out, dtype=np.float64)))

        ref = {f"d{k}": gradient(f, live[k], step) for k in ("x", "W", "b") if k in live}
        found = {"dx": dx, **{f"d{k}": v for k, v in grads.items()}}
        worst = max(errors(found, ref).values())
        if worst <= tol:
            return Finding(worst, tol)
        ref["y"] = oracle.layer(piece, example["x"], example["grad"], _params(example))["y"]
        return Finding(worst, tol, _diagnose(piece, example, ref, found, tol))

    spec = oracle.SPECS[piece]
    margin = 4 * fd_step(np.dtype(np.float32))  # clear of kinks for a float32 library's step
    return judge(piece, "backward vs differences", trial, *_examples(piece, spec.bound, margin))
