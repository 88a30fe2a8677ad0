"""Batch norm in training: forward against PyTorch, backward against PyTorch and differences.

Contract
--------
A layer is ``batchnorm(n, EPS, m)`` over ``(batch, n)`` inputs, ``m`` being :data:`MOMENTUM` in
the declared reading (``pytorch``: the batch's weight; ``keras``: the old value's, ``1 - m``);
the example's ``gamma`` and ``beta`` are written into its ``params`` in place (as an optimizer
does); it is used in the training mode it starts in. A layer without ``params`` ``gamma`` and
``beta`` (after backward, ``grads``), ``train()`` or ``eval()``, or whose output on a moderate
batch is not finite, is an ``error`` row.

:func:`forward` compares ``y`` with ``F.batch_norm(training=True)``; :func:`backward_torch`
``dx``, ``dgamma``, ``dbeta`` with PyTorch's autograd; :func:`backward_differences` with
central differences of ``sum(grad * forward)`` through fresh layers. Diagnoses name the
suspected mistakes of :func:`suspects` (``np.std`` used as the variance, the unbiased variance
in the normalisation, eps outside the square root, ``gamma``/``beta`` not read from ``params``;
``dx`` without the mean or variance terms; the eps passed ignored for a library's own,
:data:`OTHER_EPS`) or a factor equal to the batch size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st

from verification.conformance import calls, diagnosis, inputs, oracle
from verification.conformance.calls import CheckError
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, errors, fd_step, fd_tol, gradient, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target
from verification.registry import values

__all__ = ["EPS", "MOMENTUM", "backward_differences", "backward_of", "backward_torch", "examples",
           "forward", "layer", "measure", "reference", "strategy", "suspects", "training_dx"]

# Neither is a library's default, so that one ignoring the argument shows; MOMENTUM is the batch's
# weight in a running statistic.
EPS, MOMENTUM = 2e-3, 0.3
OTHER_EPS = (1e-5, 1e-3, 1e-8, 1e-7, 1e-6, 0.0)  # libraries' own, used by one that ignores EPS
BATCH, FEATURES = 5, 4


def examples(count: int = 2, offset: int = 0) -> list[Example]:
    """``{x (BATCH, FEATURES), gamma, beta, grad}``; each feature its own mean and spread."""
    out = []
    for i in range(count):
        rng = np.random.default_rng([inputs.SEED, 600 + offset + i])
        x = rng.normal(rng.uniform(-2, 2, FEATURES), rng.uniform(0.5, 2, FEATURES),
                       (BATCH, FEATURES))
        out.append({"x": x, "gamma": rng.uniform(0.5, 1.5, FEATURES),
                    "beta": rng.uniform(-1, 1, FEATURES),
                    "grad": rng.standard_normal((BATCH, FEATURES))})
    return out


@st.composite
def _small(draw, constant: bool) -> Example:
    batch, n = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    x = draw(values((batch, n), 3.0).filter(lambda a: bool(np.all(np.ptp(a, axis=0) > 0.1))))
    if constant:
        x[:, 0] = x[0, 0]
    return {"x": x, "gamma": draw(values((n,), 1.5)), "beta": draw(values((n,), 1.0)),
            "grad": draw(values((batch, n), 2.0))}


def strategy(constant: bool = False) -> st.SearchStrategy[Example]:
    """Small examples (batch 2 to 4, features spread out, or the first one ``constant``)."""
    return _small(constant)


def _table(made: Any, which: str) -> Mapping[str, np.ndarray]:
    table = getattr(made, which, None)
    if not isinstance(table, Mapping) or not {"gamma", "beta"} <= table.keys():
        raise CheckError(f"the batch norm layer has no {which} dict with keys 'gamma' and 'beta'")
    return table


def layer(target: Target, example: Example) -> Any:
    """A fresh layer in training mode with the example's ``gamma`` and ``beta``."""
    keras = target.convention("batchnorm", "momentum") == "keras"
    made = calls.build(target, "batchnorm", example["x"].shape[1], EPS,
                       1 - MOMENTUM if keras else MOMENTUM)
    calls.switch(made, None)  # it starts in training mode
    params = _table(made, "params")
    for key in ("gamma", "beta"):
        params[key][...] = example[key]
    return made


def run(made: Any, x: np.ndarray, moderate: bool = True) -> np.ndarray:
    """``made.forward(x)``; a non-finite output on a ``moderate`` batch is an error."""
    y = np.asarray(made.forward(np.array(x, dtype=np.float64)))
    if moderate and not np.all(np.isfinite(y)):
        raise CheckError(f"forward returned non-finite values ({y.ravel()[0]} first) on a "
                         "moderate batch")
    return y


def reference(example: Example, training: bool = True, stats: tuple | None = None
              ) -> dict[str, np.ndarray]:
    """``{"y", "dx", "dgamma", "dbeta"}`` of ``F.batch_norm`` in float64 (at eval: with the
    running statistics ``stats``)."""
    t = oracle.torch()
    leaf = {k: t.tensor(np.asarray(example[k], dtype=np.float64), requires_grad=True)
            for k in ("x", "gamma", "beta")}
    mean, var = (t.tensor(np.asarray(s, dtype=np.float64)) for s in (
        stats or (np.zeros(example["x"].shape[1]), np.ones(example["x"].shape[1]))))
    y = t.nn.functional.batch_norm(leaf["x"], mean, var, leaf["gamma"], leaf["beta"],
                                   training=training, momentum=MOMENTUM, eps=EPS)
    y.backward(t.tensor(np.asarray(example["grad"], dtype=np.float64)))
    return {"y": y.detach().numpy(), **{f"d{k}": v.grad.numpy() for k, v in leaf.items()}}


def training_dx(grad: np.ndarray, gamma: np.ndarray, xhat: np.ndarray, inv: np.ndarray
                ) -> np.ndarray:
    """The training backward's ``dx`` from ``x_hat`` and ``inv = 1 / sqrt(var + eps)``."""
    return gamma * inv * (grad - grad.mean(axis=0) - xhat * (grad * xhat).mean(axis=0))


def suspects(example: Example) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Suspected mistakes per tensor (``"y"``, ``"dx"``, ``"dgamma"``): words and values."""
    x, gamma, beta, g = example["x"], example["gamma"], example["beta"], example["grad"]
    centred, var = x - x.mean(axis=0), x.var(axis=0)

    def out(denominator: np.ndarray, scale: Any = gamma, shift: Any = beta) -> np.ndarray:
        return scale * centred / denominator + shift

    inv = 1 / np.sqrt(var + EPS)
    xhat = centred * inv

    ignored = [(f"eps ignored: computed with eps={e:g} whatever is passed", 1 / np.sqrt(var + e))
               for e in OTHER_EPS]
    return {
        "y": [("normalised by sqrt(std + eps): np.std used as the variance",
               out(np.sqrt(x.std(axis=0) + EPS))),
              ("normalised with the unbiased variance (ddof=1)",
               out(np.sqrt(x.var(axis=0, ddof=1) + EPS))),
              ("eps added outside the square root", out(np.sqrt(var) + EPS)),
              ("gamma and beta written into params do not reach forward",
               out(np.sqrt(var + EPS), 1.0, 0.0)),
              *[(words, out(1 / other)) for words, other in ignored]],
        "dx": [("gamma * grad / sqrt(var + eps): the mean and variance terms left out",
                gamma * g * inv),
               ("the variance term left out", gamma * inv * (g - g.mean(axis=0))),
               ("the mean term left out",
                gamma * inv * (g - xhat * (g * xhat).mean(axis=0))),
               *[(words, training_dx(g, gamma, centred * other, other))
                 for words, other in ignored]],
        "dgamma": [(words, (g * centred * other).sum(axis=0)) for words, other in ignored],
    }


def measure(target: Target, example: Example, moderate: bool = True
            ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(y, {"dx", "dgamma", "dbeta"})`` of a fresh layer in training mode on ``example``."""
    made = layer(target, example)
    y = run(made, example["x"], moderate)
    return y, backward_of(made, example["grad"])


def backward_of(made: Any, grad: np.ndarray) -> dict[str, np.ndarray]:
    """``{"dx", "dgamma", "dbeta"}`` of ``made.backward(grad)`` after its last forward."""
    dx = np.asarray(made.backward(np.array(grad, dtype=np.float64)))
    grads = _table(made, "grads")
    # gamma and beta kept as (1, n) rows are as good as (n,) vectors
    return {"dx": dx, **{f"d{k}": np.array(grads[k]).reshape(-1) for k in ("gamma", "beta")}}


def _diagnose(example: Example, ref: Mapping[str, np.ndarray], found: dict[str, Any],
              tol: float) -> str | None:
    sizes = {"batch size": len(example["x"])}
    # Against central differences (a noisy reference) an eps suspect within the match tolerance
    # of PyTorch's exact values tells nothing: keep only those PyTorch's values do not match.
    exact, close = reference(example), diagnosis.match_tol(tol)
    telling = {k: [(w, v) for w, v in formulas if not error(v, exact[k]) <= close]
               for k, formulas in suspects(example).items()}
    return diagnosis.tensors(found, ref, telling, sizes, tol)


def forward(target: Target, piece: str) -> Result:
    """The training-mode output against ``F.batch_norm(training=True)``."""

    def trial(example: Example) -> Finding:
        y = run(layer(target, example), example["x"])
        ref, tol = reference(example), oracle_tol(dtype_of(y))
        e = error(y, ref["y"])
        return Finding(e, tol, _diagnose(example, ref, {"y": y}, tol) if e > tol else None)

    return judge(piece, "forward", trial, examples(), strategy())


def backward_torch(target: Target, piece: str) -> Result:
    """``dx``, ``dgamma``, ``dbeta`` against PyTorch's autograd."""

    def trial(example: Example) -> Finding:
        y, found = measure(target, example)
        ref, tol = reference(example), oracle_tol(dtype_of(y, *found.values()))
        worst = max(errors(found, ref).values())
        return Finding(worst, tol, _diagnose(example, ref, found, tol) if worst > tol else None)

    return judge(piece, "backward vs torch", trial, examples(), strategy())


def backward_differences(target: Target, piece: str) -> Result:
    """``dx``, ``dgamma``, ``dbeta`` against central differences of the library's forward."""

    def trial(example: Example) -> Finding:
        y, found = measure(target, example)
        dtype = dtype_of(y, *found.values())
        live = {k: np.array(example[k], dtype=np.float64) for k in ("x", "gamma", "beta")}

        def f() -> float:
            out = run(layer(target, {**example, **live}), live["x"], moderate=False)
            return float(np.vdot(example["grad"], np.asarray(out, dtype=np.float64)))

        numeric = {f"d{k}": gradient(f, v, fd_step(dtype)) for k, v in live.items()}
        tol = fd_tol(dtype)
        worst = max(errors(found, numeric).values())
        return Finding(worst, tol, _diagnose(example, numeric, found, tol)
                       if worst > tol else None)

    return judge(piece, "backward vs differences", trial, examples(), strategy())
