"""Training checks: SGD against its declared L2 rule, and end-to-end parameter gradients.

Contract
--------
*SGD*: a linear layer's ``params`` and ``grads`` (filled by its own backward) before one
``opt.step([layer])``, and its ``params`` after: the step taken must be the declared rule's,
``post`` ``w - lr*grad - 2*l2*w``, ``weight_decay`` ``w - lr*(grad + l2*w)`` or ``none``
``w - lr*grad``, at ``l2 = 0.01`` and at ``l2 = 0``; diagnosed by another rule's step or a fitted
factor. *End to end*: a linear-activation-linear network built by the library's own
``network(layers)`` and its loss (cross-entropy, else MSE); after ``net.backward(loss.grad)``,
each linear layer's ``grads`` against central differences of the library's own loss value
through the network (a fresh network per evaluation). Hidden pre-activations stay clear of
kinks by more than the difference step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import scipy.special
from hypothesis import strategies as st

from verification.conformance import calls, diagnosis, inputs
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, fd_step, fd_tol, gradient, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target
from verification.registry import values

__all__ = ["RULES", "end_to_end", "sgd"]

Params = Mapping[str, np.ndarray]
#: The update ``w_new - w`` of each L2 rule, from ``(w, grad, lr, l2)``.
RULES: dict[str, tuple[str, Callable[..., np.ndarray]]] = {
    "post": ("the post's rule w - lr*grad - 2*l2*w", lambda w, g, lr, l2: -lr * g - 2 * l2 * w),
    "weight_decay": ("weight decay w - lr*(grad + l2*w)", lambda w, g, lr, l2: -lr * (g + l2 * w)),
    "none": ("no L2 term, w - lr*grad", lambda w, g, lr, l2: -lr * g),
}
STEPS = ((0.1, 0.01), (0.5, 0.0))
HIDDEN = 6
MARGIN = 0.05  # hidden pre-activations stay this far from a kink (above a float32 step of 5e-3)


def _step_trial(target: Target, rule: str):
    def trial(example: Example) -> Finding:
        made = calls.layer(target, "linear", example)
        made.forward(np.array(example["x"]))
        made.backward(np.array(example["grad"]))
        before, grads = calls.params_of(made, "params"), calls.params_of(made)
        lr, l2 = example["lr"], example["l2"]
        opt = target.factories["sgd"](lr) if rule == "none" else target.factories["sgd"](lr, l2)
        opt.step([made])
        taken = {k: v - before[k] for k, v in calls.params_of(made, "params").items()}
        expected = {k: RULES[rule][1](before[k], grads[k], lr, l2) for k in before}
        tol = oracle_tol(dtype_of(*before.values()))
        worst = max(error(taken[k], expected[k]) for k in taken)
        if worst <= tol:
            return Finding(worst, tol)
        flat = np.concatenate([taken["W"].ravel(), taken["b"].ravel()])
        others = [
            (f"follows {words}, not the declared {rule} rule",
             np.concatenate([f(before[k], grads[k], lr, l2).ravel() for k in ("W", "b")]))
            for name, (words, f) in RULES.items() if name != rule
        ] + [(
            "the L2 term is not applied to the biases",
            np.concatenate([expected["W"].ravel(), -lr * grads["b"].ravel()]),
        )]
        words = diagnosis.formula(flat, others, tol) or diagnosis.per_tensor({
            f"step of {k}": (not error(taken[k], expected[k]) <= tol,
                             diagnosis.scale(taken[k], expected[k], {"batch size": inputs.BATCH},
                                             tol))
            for k in taken
        })
        return Finding(worst, tol, words)

    return trial


def sgd(target: Target, piece: str) -> Result:
    """One ``opt.step`` against the declared L2 rule, with and without L2."""
    rule = target.convention("sgd", "l2_rule")
    layers = inputs.layer_examples(True, 3.0, (), 0.0, count=len(STEPS))
    examples = [{**ex, "lr": lr, "l2": l2} for ex, (lr, l2) in zip(layers, STEPS, strict=True)]
    strategy = st.tuples(inputs.layer_strategy(True, 3.0, (), 0.0), st.sampled_from(STEPS)).map(
        lambda pair: {**pair[0], "lr": pair[1][0], "l2": pair[1][1]}
    )
    return judge(piece, "L2 rule", _step_trial(target, rule), examples, strategy)


def _clear_of_kinks(example: Example) -> bool:
    hidden = example["x"] @ example["W1"] + example["b1"]
    return bool(np.min(np.abs(hidden)) >= MARGIN)


def _network_examples() -> list[Example]:
    out, seed = [], 0
    while len(out) < 2:
        rng = np.random.default_rng([inputs.SEED, 300 + seed])
        seed += 1
        example = {
            "x": rng.uniform(-1, 1, (inputs.BATCH, inputs.IN)),
            "W1": rng.uniform(-1, 1, (inputs.IN, HIDDEN)), "b1": rng.uniform(-1, 1, HIDDEN),
            "W2": rng.uniform(-1, 1, (HIDDEN, inputs.CLASSES)),
            "b2": rng.uniform(-1, 1, inputs.CLASSES),
            "target": inputs.onehot(rng.integers(0, inputs.CLASSES, inputs.BATCH), inputs.CLASSES),
        }
        if _clear_of_kinks(example):
            out.append(example)
    return out


@st.composite
def _small_network(draw) -> Example:
    b, n_in, hidden, classes = (draw(st.integers(lo, 2)) for lo in (1, 1, 1, 2))
    example = {
        "x": draw(values((b, n_in), 1.0)),
        "W1": draw(values((n_in, hidden), 1.0)), "b1": draw(values((hidden,), 1.0)),
        "W2": draw(values((hidden, classes), 1.0)), "b2": draw(values((classes,), 1.0)),
    }
    labels = draw(st.lists(st.integers(0, classes - 1), min_size=b, max_size=b))
    return {**example, "target": inputs.onehot(np.array(labels), classes)}


def _value_and_net(target: Target, activation: str, loss_piece: str, params: Params, x, y):
    """``(value, net, layers, loss)`` after one forward and loss call through ``network``."""
    conventions = target.conventions[loss_piece]
    probabilities = loss_piece == "cross_entropy" and conventions["input"] == "probabilities"
    inside = probabilities and conventions["grad_wrt"] == "input" and target.has("softmax")
    layers = [
        calls.layer(target, "linear", {"W": params["W1"], "b": params["b1"]}),
        calls.layer(target, activation),
        calls.layer(target, "linear", {"W": params["W2"], "b": params["b2"]}),
    ] + ([calls.layer(target, "softmax")] if inside else [])
    net = target.factories["network"](layers)
    out = np.asarray(net.forward(np.array(x, dtype=np.float64)), dtype=np.float64)
    if probabilities and not inside:
        out = scipy.special.softmax(out, axis=1)
    loss = target.factories[loss_piece]()
    value = float(loss(out, np.array(y, dtype=np.float64)))
    return value, net, layers, loss


def end_to_end(target: Target, piece: str) -> Result:
    """Parameter gradients through ``network`` against differences of the library's own loss."""
    activation = piece.split("+", 1)[1]
    loss_piece = "cross_entropy" if target.has("cross_entropy") else "mse"
    names = ("W1", "b1", "W2", "b2")

    def trial(example: Example) -> Finding:
        x, y = example["x"], example["target"]
        _, net, layers, loss = _value_and_net(target, activation, loss_piece, example, x, y)
        net.backward(np.array(loss.grad))
        grads = [calls.params_of(layers[i]) for i in (0, 2)]
        found = {n: grads[i // 2][n[0]] for i, n in enumerate(names)}
        dtype = dtype_of(*found.values())
        live = {n: np.array(example[n], dtype=np.float64) for n in names}

        def f() -> float:
            return _value_and_net(target, activation, loss_piece, live, x, y)[0]

        numeric = {n: gradient(f, live[n], fd_step(dtype)) for n in names}
        tol = fd_tol(dtype)
        errors = {n: error(found[n], numeric[n]) for n in names}
        worst = max(errors.values())
        if worst <= tol:
            return Finding(worst, tol)
        sizes = {"batch size": x.shape[0], "number of classes": y.shape[1]}
        words = diagnosis.per_tensor({
            f"d{n}": (not errors[n] <= tol, diagnosis.scale(found[n], numeric[n], sizes, tol))
            for n in names
        })
        return Finding(worst, tol, words and f"not the gradient of the loss value: {words}")

    strategy = _small_network().filter(_clear_of_kinks)
    return judge(piece, "end to end", trial, _network_examples(), strategy)
