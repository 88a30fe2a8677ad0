"""Dropout: the rate, the scale, fresh masks, the backward, the modes, the input left alone.

Contract
--------
An example is ``{p, seed, x}``: ``x`` is drawn from the seed (entries of magnitude 0.5
to 1.5, so that an output of 0 means dropped), NumPy's global random state is seeded with it
before the layer ``dropout(p)`` is built (trials repeat for a library drawing from it), and the
layer is used in the training mode it starts in (``train()`` is judged after ``eval()`` only). A
layer without ``train()`` or ``eval()`` is an ``error`` row. The statistical tests run at the
false-alarm rate :data:`ALPHA` each; a row's worst error is the largest relative deviation it
measured (its verdict comes from the tests).

- ``drop rate and scale``: the fraction zeroed is ``p`` (:func:`scipy.stats.binomtest`), every
  survivor is scaled as declared (``inverted``: by ``1/(1-p)``; ``at_eval``: kept as is), and
  the mean of ``y/x`` is its expectation (``1``, or ``1 - p`` for ``at_eval``; z-test). A mask
  shared by the whole batch is one row of draws to these tests (the ``masks`` row judges the
  sharing).
- ``masks``: two calls draw different masks, and the rows of a batch different masks (failing
  only where a correct layer would coincide with probability below ``ALPHA``).
- ``backward``: ``dx = grad * y / x``: the forward's mask and scale.
- ``eval and train``: after ``eval()`` the output is ``x`` (``at_eval``: ``(1 - p) x``); after
  ``train()`` again it drops a fraction ``p``.
- ``eval backward``: after ``eval()``, ``dx`` is ``grad`` (``at_eval``: ``(1 - p) grad``), the
  eval forward's factor: on a layer run in training first, then on one never trained.
- ``inputs not mutated``: forward leaves ``x``, backward the upstream gradient, unchanged.

Diagnoses: survivors scaled by ``1 - p`` (``1.0/1.0 - p``, an operator-precedence slip), by 1,
by ``1/p`` or unevenly; ``1 - p`` dropped; nothing dropped; one mask for the whole batch or for
every call; a backward that ignores the mask, the scale or draws its own mask; eval output
scaled twice or not as declared; still dropping after ``eval()``; no dropping after ``train()``;
an eval backward that applies the training mask (stale), or scales by ``1/(1 - p)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats
from hypothesis import strategies as st

from verification.conformance import calls, diagnosis
from verification.conformance.calls import CheckError
from verification.conformance.checks.mutation import _changes
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target

__all__ = ["ALPHA", "backward", "eval_backward", "masks", "modes", "not_mutated",
           "rate_and_scale"]

#: False-alarm rate of each statistical test, for a correct layer.
ALPHA = 1e-6


def _with_x(example: Example) -> Example:
    """The example with its ``x`` (shown in a counterexample), drawn from its seed."""
    rng = np.random.default_rng(example["seed"])
    shape = (example["rows"], example["cols"])
    return {"p": example["p"], "seed": example["seed"],
            "x": rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)}


EXAMPLES = [_with_x({"p": 0.2, "rows": 64, "cols": 48, "seed": 0}),
            _with_x({"p": 0.7, "rows": 32, "cols": 64, "seed": 1})]
STRATEGY = st.fixed_dictionaries({
    "p": st.sampled_from([0.2, 0.7, 0.5]), "rows": st.integers(1, 64),
    "cols": st.integers(1, 64), "seed": st.integers(0, 3)}).map(_with_x)


def _layer(target: Target, piece: str, example: Example) -> Any:
    np.random.seed(example["seed"])  # noqa: NPY002 (a library drawing from it repeats)
    made = calls.build(target, piece, example["p"])
    calls.switch(made, None)  # it starts in training mode
    return made


def _forward(made: Any, x: np.ndarray) -> np.ndarray:
    y = np.asarray(made.forward(np.array(x)))
    if y.shape != x.shape:
        raise CheckError(f"forward returned shape {y.shape} for input {x.shape}")
    return y


def _scale(target: Target, p: float) -> float:
    return 1 / (1 - p) if target.convention("dropout", "scaling") == "inverted" else 1.0


def _draws(dropped: np.ndarray, p: float) -> np.ndarray:
    """The independent draws of a mask: its first row alone when every row is dropped alike
    where a correct layer would be with probability below :data:`ALPHA` (one mask for the batch:
    the masks row names it), so that the tests here judge the rate, not the sharing."""
    rows, cols = dropped.shape
    shared = rows > 1 and bool(np.all(dropped == dropped[:1]))
    return dropped[:1] if shared and (p**rows + (1 - p) ** rows) ** cols < ALPHA else dropped


def _rate_words(dropped: np.ndarray, p: float) -> str | None:
    """None if the fraction dropped passes the binomial test against ``p``, else its words."""
    dropped = _draws(dropped, p)
    k, n = int(dropped.sum()), dropped.size
    test = scipy.stats.binomtest(k, n, p).pvalue
    if test >= ALPHA:
        return None
    if k == 0:
        return "drops nothing"
    if scipy.stats.binomtest(k, n, 1 - p).pvalue >= ALPHA:
        return "drops a fraction 1 - p: p taken as the keep probability"
    return "drops a fraction other than p (binomial test)"


def _scale_words(ratio: np.ndarray, p: float, declared: float, tol: float) -> str | None:
    if ratio.size == 0 or error(ratio, np.full_like(ratio, declared)) <= tol:
        return None
    if np.ptp(ratio) > tol * abs(declared):
        return "survivors scaled unevenly"
    known = [(1 - p, "1 - p instead of 1/(1 - p): 1.0/1.0 - p, an operator-precedence slip"),
             (1.0, "1: not scaled"), (1 / (1 - p), "1/(1 - p) though at_eval is declared"),
             (1 / p, "1/p: p taken as the keep probability")]
    close = diagnosis.match_tol(tol)
    return next((f"survivors scaled by {words}" for value, words in known
                 if abs(ratio[0] - value) <= close * value), None)


def _verdict(deviation: float, words: list[str | None], failed: bool) -> Finding:
    said = "; ".join(w for w in words if w) or None
    return Finding(deviation, -np.inf if failed else np.inf, said)


def rate_and_scale(target: Target, piece: str) -> Result:
    """The fraction dropped, the survivors' scale and the mean (module contract)."""

    def trial(example: Example) -> Finding:
        p, x = example["p"], example["x"]
        y = _forward(_layer(target, piece, example), x)
        tol, declared, kept = oracle_tol(dtype_of(y)), _scale(target, p), y != 0
        ratio = y[kept] / x[kept]
        rate, scale = _rate_words(~kept, p), _scale_words(ratio, p, declared, tol)
        mean, expected = float(np.mean(y / x)), (1 - p) * declared
        draws = _draws(~kept, p).size
        z = abs(mean - expected) / (declared * np.sqrt(p * (1 - p) / draws))
        shifted = 2 * scipy.stats.norm.sf(z) < ALPHA
        # the mean follows from the rate and the scale: named alone when neither explains it
        mean_words = "the mean of y/x is not its expectation (z-test)" if shifted else None
        deviation = max(abs((1 - kept.mean()) - p) / p, abs(mean - expected) / expected,
                        error(ratio, np.full_like(ratio, declared)) if ratio.size else 0.0)
        failed = bool(rate or scale or shifted or (ratio.size and error(
            ratio, np.full_like(ratio, declared)) > tol))
        return _verdict(deviation, [rate, scale] if rate or scale else [mean_words], failed)

    return judge(piece, "drop rate and scale", trial, EXAMPLES, STRATEGY)


def masks(target: Target, piece: str) -> Result:
    """Masks differ between two calls and between the rows of a batch (module contract)."""

    def trial(example: Example) -> Finding:
        p, x = example["p"], example["x"]
        made = _layer(target, piece, example)
        first, second = _forward(made, x) != 0, _forward(made, x) != 0
        rows, cols = first.shape
        words = []
        if np.array_equal(first, second) and (p**2 + (1 - p) ** 2) ** first.size < ALPHA:
            words.append("the same mask on every call")
        alike = np.all(first == first[:1], axis=0).all()
        if rows > 1 and alike and (p**rows + (1 - p) ** rows) ** cols < ALPHA:
            words.append("one mask for the whole batch (every row dropped alike)")
        agree = max(float(np.mean(first == second)), float(np.mean(first[1:] == first[:1]))
                    if rows > 1 else 0.0)
        return _verdict(agree, words, bool(words))

    return judge(piece, "masks", trial, EXAMPLES, STRATEGY)


def backward(target: Target, piece: str) -> Result:
    """``dx`` is ``grad * y / x``: the forward's mask and scale (module contract)."""

    def trial(example: Example) -> Finding:
        p, x = example["p"], example["x"]
        grad = np.random.default_rng([example["seed"], 1]).standard_normal(x.shape)
        made = _layer(target, piece, example)
        y = _forward(made, x)
        dx = np.asarray(made.backward(np.array(grad)))
        tol, expected = oracle_tol(dtype_of(dx, y)), grad * y / x
        e = error(dx, expected)
        if e <= tol:
            return Finding(e, tol)
        kept, declared = y != 0, _scale(target, p)
        suspects = [("backward ignores the mask: the gradient passes through", grad),
                    ("backward applies the mask without the scale", grad * kept),
                    ("backward scales but ignores the mask", grad * declared)]
        words = diagnosis.formula(dx, suspects, tol)
        if words is None and dx.shape == x.shape and np.mean((dx != 0) != kept) > 0.05:
            words = "backward uses a mask other than the forward's (a new draw)"
        return Finding(e, tol, words)

    return judge(piece, "backward", trial, EXAMPLES, STRATEGY)


def modes(target: Target, piece: str) -> Result:
    """``eval()`` gives ``x`` (or ``(1 - p) x``); ``train()`` after it drops again."""

    def trial(example: Example) -> Finding:
        p, x = example["p"], example["x"]
        made = _layer(target, piece, example)
        _forward(made, x)
        calls.switch(made, "eval")
        at_eval = target.convention("dropout", "scaling") == "at_eval"
        y = _forward(made, x)
        tol = oracle_tol(dtype_of(y))
        e = error(y, (1 - p) * x if at_eval else x)
        words = []
        if e > tol:
            zeroed = float(np.mean(y == 0))
            known = [
                (1 - p, "eval output scaled by 1 - p, where inverted dropout (declared) has "
                 "scaled in training already: scaled twice"),
                (1.0, "eval output not scaled by 1 - p, as at_eval declares"),
                (1 / (1 - p), "eval output scaled by 1/(1 - p)"),
            ]
            said = next((w for value, w in known if error(y, value * x) <= tol), None)
            if zeroed > 0.05:
                said = "still drops after eval()"
            words.append(said)
        calls.switch(made, "train")
        dropped = _forward(made, x) == 0
        again = _rate_words(dropped, p)
        if again:
            words.append("after eval(), train() does not drop again: one eval() turns it off "
                         "for good" if not dropped.any() else f"after eval() and train(): {again}")
        deviation = max(e, abs(float(dropped.mean()) - p) / p)
        return _verdict(deviation, words, bool(e > tol or again))

    return judge(piece, "eval and train", trial, EXAMPLES, STRATEGY)


def _eval_words(dx: np.ndarray, grad: np.ndarray, x: np.ndarray, ys: tuple, p: float,
                at_eval: bool, tol: float) -> str | None:
    """The suspected mistake an eval-mode ``dx`` matches (``ys``: the training forward's output,
    None if there was none, and the eval forward's)."""
    trained, y = ys
    suspects = [] if trained is None else [
        ("eval backward applies the training mask (the last training forward's, stale)",
         grad * trained / x),
        ("eval backward applies the training mask without its scale", grad * (trained != 0))]
    suspects += [("eval backward scales by 1/(1 - p)", grad / (1 - p)),
                 ("eval backward passes the gradient through, where the at_eval forward scales "
                  "by 1 - p", grad) if at_eval else
                 ("eval backward scales by 1 - p, where inverted dropout (declared) is the "
                  "identity at eval", (1 - p) * grad),
                 ("eval backward follows an eval forward that is wrong (see the eval and train "
                  "row)", grad * y / x)]
    words = diagnosis.formula(dx, suspects, tol)
    if words is None and dx.shape == x.shape and np.mean(dx == 0) > 0.05:
        return "eval backward drops entries (a mask of its own)"
    return words


def eval_backward(target: Target, piece: str) -> Result:
    """After ``eval()``, ``dx`` is ``grad`` (``at_eval``: ``(1 - p) grad``), whether or not the
    layer ran in training before."""

    def trial(example: Example) -> Finding:
        p, x = example["p"], example["x"]
        grad = np.random.default_rng([example["seed"], 2]).standard_normal(x.shape)
        at_eval = target.convention("dropout", "scaling") == "at_eval"
        worst, tol = 0.0, 0.0
        for trained in (True, False):  # the stale mask first; then never run in training
            made = _layer(target, piece, example)
            ys = (_forward(made, x) if trained else None,)
            calls.switch(made, "eval")
            ys += (_forward(made, x),)
            dx = np.asarray(made.backward(np.array(grad)))
            tol = oracle_tol(dtype_of(dx, ys[1]))
            e = error(dx, (1 - p) * grad if at_eval else grad)
            if not e <= tol:
                return Finding(e, tol, _eval_words(dx, grad, x, ys, p, at_eval, tol))
            worst = max(worst, e)
        return Finding(worst, tol)

    return judge(piece, "eval backward", trial, EXAMPLES, STRATEGY)


def not_mutated(target: Target, piece: str) -> Result:
    """Forward leaves ``x``, backward the upstream gradient, as given."""

    def trial(example: Example) -> Finding:
        x = example["x"]
        grad, x0 = np.ones_like(x), x.copy()
        made = _layer(target, piece, example)
        made.forward(x)
        found = {f"forward overwrote its input {k}": c for k, c in _changes({"x": (x, x0)}).items()}
        made.backward(grad)
        if _changes({"grad": (grad, np.ones_like(x))}):
            found["backward overwrote the upstream gradient"] = 1.0
        return Finding(max(found.values(), default=0.0), 0.0, "; ".join(found) or None)

    return judge(piece, "inputs not mutated", trial, EXAMPLES[:1], STRATEGY)
