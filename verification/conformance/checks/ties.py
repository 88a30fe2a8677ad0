"""Max pooling at tied maxima: the output is the maximum and ``dx`` one of the valid subgradients.

Contract
--------
Inputs take few values (0, 1, 2), so most windows hold several equal maxima; windows that do not
overlap (k = stride = 2) and windows that do (k = 3, stride 1). Where a window's maximum is
tied, any split of its upstream gradient among the tied entries (weights >= 0, summing to 1) is
a valid subgradient, PyTorch's choice (the first) being one. The row measures, with a linear
program (:func:`scipy.optimize.linprog`), the smallest possible difference between the
library's ``dx`` and any valid subgradient, relative to the largest upstream gradient; the output
must be PyTorch's. Diagnosis: the whole gradient given to every tied maximum, or none to any;
a ``dx`` wrong on the same windows with their ties broken too (a backward wrong regardless of
ties); else no known pattern.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.sparse
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from verification.conformance import diagnosis, inputs, spatial
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target

__all__ = ["distance", "ties"]


def _windows(example: Example) -> list[tuple[float, np.ndarray]]:
    """Per window: its upstream gradient and the flat indices of its maxima."""
    x, g, k, s = example["x"], example["grad"], example["k"], example["stride"]
    index = np.arange(x.size).reshape(x.shape)
    out = []
    for n, c, i, j in np.ndindex(g.shape):
        window = x[n, c, i * s:i * s + k, j * s:j * s + k]
        tied = index[n, c, i * s:i * s + k, j * s:j * s + k][window == window.max()]
        out.append((float(g[n, c, i, j]), tied))
    return out


def distance(example: Example, dx: np.ndarray) -> float:
    """The largest entry of ``dx - d`` for the valid subgradient ``d`` nearest ``dx`` (in L1),
    relative to the largest upstream gradient."""
    windows = _windows(example)
    count = sum(len(t) for _, t in windows)
    size = dx.size
    rows, cols, vals = [], [], []
    simplex = scipy.sparse.lil_matrix((len(windows), count + 2 * size))
    col = 0
    for w, (g, tied) in enumerate(windows):
        for e in tied:
            rows.append(e), cols.append(col), vals.append(g)
            simplex[w, col] = 1.0
            col += 1
    spread = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(size, count)).tocsr()
    eye = scipy.sparse.identity(size, format="csr")
    a_eq = scipy.sparse.vstack([scipy.sparse.hstack([spread, eye, -eye]), simplex.tocsr()])
    b_eq = np.concatenate([dx.ravel(), np.ones(len(windows))])
    cost = np.concatenate([np.zeros(count), np.ones(2 * size)])
    solved = scipy.optimize.linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    scale = max(float(np.max(np.abs(example["grad"]))), 1e-300)
    if not solved.success:
        return np.inf
    slack = solved.x[count:count + size] + solved.x[count + size:]
    return float(np.max(slack)) / scale


def _suspects(example: Example) -> list[tuple[str, np.ndarray]]:
    every, none = np.zeros(example["x"].size), np.zeros(example["x"].size)
    for g, tied in _windows(example):
        every[tied] += g
        none[tied] += g if len(tied) == 1 else 0.0
    shape = example["x"].shape
    return [("the whole gradient given to every tied maximum", every.reshape(shape)),
            ("no gradient to any tied maximum", none.reshape(shape))]


def _examples() -> list[Example]:
    out = []
    for i, (k, s, hw) in enumerate(((2, 2, (4, 6)), (3, 1, (5, 4)))):
        rng = np.random.default_rng([inputs.SEED, 500 + i])
        x = rng.integers(0, 3, (inputs.BATCH, 2, *hw)).astype(np.float64)
        shape = (inputs.BATCH, 2, *(spatial.out_size(n, k, s, 0) for n in hw))
        out.append({"x": x, "k": k, "stride": s, "grad": rng.standard_normal(shape)})
    return out


@st.composite
def _small(draw) -> Example:
    k, s = draw(st.sampled_from(((2, 2), (3, 1), (2, 1))))
    hw = (k + s * draw(st.integers(0, 1)), k + s * draw(st.integers(0, 1)))
    x = draw(hnp.arrays(np.float64, (1, 1, *hw), elements=st.sampled_from([1.0, 0.0, 2.0])))
    shape = (1, 1, *(spatial.out_size(n, k, s, 0) for n in hw))
    grad = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([1.0, -1.0, 0.5])))
    return {"x": x, "k": k, "stride": s, "grad": grad}


def ties(target: Target, piece: str) -> Result:
    """Output and ``dx`` at tied maxima: the maximum and a valid subgradient (module contract)."""

    def trial(example: Example) -> Finding:
        y, dx, _ = spatial.run(target, piece, example)
        ref = spatial.reference(piece, example)
        tol = oracle_tol(dtype_of(y, dx))
        if dx.shape != example["x"].shape:
            return Finding(np.inf, tol, "dx has a shape other than the input's")
        e = max(error(y, ref["y"]), distance(example, dx))
        if e <= tol:
            return Finding(e, tol)
        if error(y, ref["y"]) > tol:
            return Finding(e, tol, "the output is not the window's maximum where it is tied")
        words = diagnosis.formula(dx, _suspects(example), tol)
        if words:
            return Finding(e, tol, f"dx at tied maxima: {words}")
        # The same windows with every tie broken (offsets below the gap between values).
        untied = {**example, "x": example["x"] + np.arange(dx.size).reshape(dx.shape) / dx.size / 4}
        _, again, _ = spatial.run(target, piece, untied)
        if error(again, spatial.reference(piece, untied)["dx"]) > tol:
            return Finding(e, tol, "dx is wrong where no maximum is tied too (see the backward "
                           "vs torch row)")
        return Finding(e, tol)

    return judge(piece, "ties", trial, _examples(), _small())
