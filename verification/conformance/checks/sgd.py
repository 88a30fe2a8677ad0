"""The SGD check: one ``opt.step`` against the declared L2 rule, diagnosed term by term.

Contract
--------
A linear layer's ``params`` and ``grads`` (filled by its own backward) before one
``opt.step([layer])``, and its ``params`` after: the step taken must be the declared rule's,
``post`` ``w - lr*grad - 2*l2*w``, ``weight_decay`` ``w - lr*(grad + l2*w)`` or ``none``
``w - lr*grad``, at ``l2 = 0.01`` and at ``l2 = 0``, with the L2 term on the parameters the
``l2_on`` convention declares: ``all`` (biases included) or ``weights`` (``W`` only; the biases
take the plain step ``b - lr*grad``). A wrong step is diagnosed by another rule's step, by the
L2 term missing on the biases or present on them against the declared ``l2_on`` (the words name
it), or else by fitting its two terms separately: a step
taken at ``l2 = 0`` gives the factor on the gradient term ``-lr*grad``, and a step at
``l2 = 0.01`` on a fresh layer, less that gradient term, the factor on the declared L2 term
(``"the gradient term of the step is off by a factor equal to 1/batch size; the L2 term is
right"``), or by an L2 term of a strength of its own, whatever ``l2`` is passed. When no fit
explains the step, each tensor's step gets a fitted factor. The layers are ``(4, 5)`` and square,
``(3, 3)`` and ``(1, 1)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

from verification.conformance import calls, diagnosis, inputs
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target

__all__ = ["BIASES", "FIT_L2", "RULES", "STEPS", "sgd"]

#: The update ``w_new - w`` of each L2 rule, from ``(w, grad, lr, l2)``.
RULES: dict[str, tuple[str, Callable[..., np.ndarray]]] = {
    "post": ("the post's rule w - lr*grad - 2*l2*w", lambda w, g, lr, l2: -lr * g - 2 * l2 * w),
    "weight_decay": ("weight decay w - lr*(grad + l2*w)", lambda w, g, lr, l2: -lr * (g + l2 * w)),
    "none": ("no L2 term, w - lr*grad", lambda w, g, lr, l2: -lr * g),
}
STEPS = ((0.1, 0.01), (0.5, 0.0))
FIT_L2 = 0.01  # the L2 strength of the step that measures the L2 term
#: Per declared ``l2_on``: whether the biases take the L2 term, and the words for a step whose
#: biases do the opposite.
BIASES: dict[str, tuple[bool, str]] = {
    "all": (True, "the L2 term is not applied to the biases, but l2_on 'all' (biases included) "
                  "is declared"),
    "weights": (False, "the L2 term is applied to the biases too, but l2_on 'weights' (weights "
                       "only) is declared"),
}


def _update(rule: str, biases: bool, before: dict, grads: dict, lr: float, l2: float) -> dict:
    """The update of each tensor under ``rule``, the biases taking the L2 term iff ``biases``."""
    return {k: RULES[rule][1](before[k], grads[k], lr, l2 if biases or k != "b" else 0.0)
            for k in before}


def _step(target: Target, rule: str, example: Example, l2: float) -> tuple[dict, dict, dict]:
    """``(params before, grads, step taken)`` of one ``opt.step`` on a fresh linear layer."""
    made = calls.layer(target, "linear", example)
    made.forward(np.array(example["x"]))
    made.backward(np.array(example["grad"]))
    before, grads = calls.params_of(made, "params"), calls.params_of(made)
    lr = example["lr"]
    opt = target.factories["sgd"](lr) if rule == "none" else target.factories["sgd"](lr, l2)
    opt.step([made])
    taken = {k: v - before[k] for k, v in calls.params_of(made, "params").items()}
    return before, grads, taken


def _flat(tensors: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([tensors["W"].ravel(), tensors["b"].ravel()])


def _fit(actual: np.ndarray, term: np.ndarray, tol: float) -> float | None:
    """The factor ``c`` with ``actual = c * term`` within the match tolerance, else None."""
    norm = float(term @ term)
    if norm == 0:
        return None
    c = float(actual @ term) / norm
    return c if error(actual, c * term) <= diagnosis.match_tol(tol) else None


def _terms(target: Target, rule: str, on: str, example: Example, tol: float) -> str | None:
    """The gradient term's and the L2 term's factors, fitted from separate steps."""
    sizes = {"batch size": len(example["x"])}
    lr = example["lr"]
    _, grads, taken = _step(target, rule, example, 0.0)
    alpha = _fit(_flat(taken), -lr * _flat(grads), tol)
    if alpha is None:
        return None
    words = f"the gradient term of the step is {diagnosis.factor_words(alpha, sizes, tol)}"
    if rule == "none":
        return None if words.endswith("right") else words
    before, grads, taken = _step(target, rule, example, FIT_L2)
    l2_term = _update(rule, BIASES[on][0], before, {k: 0 * g for k, g in grads.items()}, lr,
                      FIT_L2)
    rest = _flat(taken) - alpha * (-lr * _flat(grads))
    beta = _fit(rest, _flat(l2_term), tol)
    l2_words = None if beta is None else diagnosis.factor_words(beta, sizes, tol)
    if l2_words is None or (words.endswith("right") and l2_words == "right"):
        return None  # the terms do not explain the failing step
    return f"{words}; the L2 term is {l2_words}"


def _own_strength(target: Target, rule: str, biases: bool, example: Example, tol: float
                  ) -> str | None:
    """The words for steps whose L2 term, of either rule's form, has one strength of its own
    at ``l2 = 0`` and at :data:`FIT_L2` (fresh layers)."""
    lr, found = example["lr"], set()
    for l2 in (0.0, FIT_L2):
        before, grads, taken = _step(target, rule, example, l2)
        zero = {k: 0 * g for k, g in grads.items()}
        plain = _flat(taken) - _flat(_update("none", biases, before, grads, lr, 0.0))
        fits = {form: _fit(plain, _flat(_update(form, biases, before, zero, lr, 1.0)), tol)
                for form in ("weight_decay", "post")}
        found.add(next(((f, round(c, 6)) for f, c in fits.items() if c), None))
    if len(found) != 1 or None in found:
        return None  # no L2 term, or one that follows l2
    form, strength = found.pop()
    return (f"ignores l2: its steps take an L2 term of strength {strength:.3g} "
            f"({RULES[form][0]}) whether l2 is 0 or {FIT_L2:g}")


def _step_trial(target: Target, rule: str, on: str):
    biases, opposite = BIASES[on]

    def trial(example: Example) -> Finding:
        before, grads, taken = _step(target, rule, example, example["l2"])
        lr, l2 = example["lr"], example["l2"]
        expected = _update(rule, biases, before, grads, lr, l2)
        tol = oracle_tol(dtype_of(*before.values()))
        worst = max(error(taken[k], expected[k]) for k in taken)
        if worst <= tol:
            return Finding(worst, tol)
        others = [
            (f"follows {words}, not the declared {rule} rule",
             _flat(_update(name, biases, before, grads, lr, l2)))
            for name, (words, _) in RULES.items() if name != rule
        ] + [(opposite, _flat(_update(rule, not biases, before, grads, lr, l2)))] + [
            (f"follows {words}, not the declared {rule} rule; {opposite}",
             _flat(_update(name, not biases, before, grads, lr, l2)))
            for name, (words, _) in RULES.items() if name not in (rule, "none")
        ]
        words = (diagnosis.formula(_flat(taken), others, tol)
                 or _own_strength(target, rule, biases, example, tol)
                 or _terms(target, rule, on, example, tol)
                 or diagnosis.per_tensor({
                     f"step of {k}": (not error(taken[k], expected[k]) <= tol,
                                      diagnosis.scale(taken[k], expected[k],
                                                      {"batch size": len(example["x"])}, tol))
                     for k in taken
                 }))
        return Finding(worst, tol, words)

    return trial


def sgd(target: Target, piece: str) -> Result:
    """One ``opt.step`` against the declared L2 rule and ``l2_on``, with and without L2."""
    rule, on = target.convention("sgd", "l2_rule"), target.convention("sgd", "l2_on")
    layers = inputs.layer_examples(True, 3.0, (), 0.0, count=len(STEPS))
    examples = [{**ex, "lr": lr, "l2": l2} for ex, (lr, l2) in zip(layers, STEPS, strict=True)]
    # square layers too: a library packing W and b into one array can break on (n, n) and (1, 1)
    examples += [{"x": ex["x"][:, :n], "W": ex["W"][:n, :n], "b": ex["b"][:n],
                  "grad": ex["grad"][:, :n], "lr": ex["lr"], "l2": ex["l2"]}
                 for ex, n in zip(examples, (3, 1), strict=True)]
    strategy = st.tuples(inputs.layer_strategy(True, 3.0, (), 0.0), st.sampled_from(STEPS)).map(
        lambda pair: {**pair[0], "lr": pair[1][0], "l2": pair[1][1]}
    )
    return judge(piece, "L2 rule", _step_trial(target, rule, on), examples, strategy)
