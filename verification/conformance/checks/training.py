"""End to end: a network's parameter gradients against differences of the library's own loss.

Contract
--------
A linear-activation-linear network built by the library's own ``network(layers)`` and its loss
(cross-entropy, else MSE). Its output must be PyTorch's composition of those layers (a network
that drops or adds a layer computes another function, whose gradients may still be its own);
after ``net.backward(loss.grad)``, each linear layer's ``grads``
against central differences of the library's own loss value through the network (a fresh
network per evaluation). Hidden pre-activations stay clear of kinks by more than the difference
step. A failure is diagnosed against reference networks computed here: the gradient reaching
the second linear layer is measured as central differences of the library's loss with respect
to that layer's output, and backpropagated by hand, once with the activation's true derivative
and once with each suspected mistake of the activation's backward (the layer checks'
suspects, e.g. the derivative applied to the output), scaled by the factor fitted on ``dW2``
and ``db2``. The first reference whose ``dW1`` and ``db1`` match names the mistake; else each
tensor gets a fitted factor, or ``wrong, no known pattern``; but gradients that are the declared
loss's (PyTorch's) while the library's loss value is another function are said to be so.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.special
from hypothesis import strategies as st

from verification.conformance import calls, diagnosis, inputs, oracle
from verification.conformance.checks.layers import suspects
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, errors, fd_step, fd_tol, gradient, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import Target
from verification.registry import values

__all__ = ["end_to_end", "head"]

Params = Mapping[str, np.ndarray]
HIDDEN = 6
MARGIN = 0.05  # hidden pre-activations stay this far from a kink (above a float32 step of 5e-3)


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


def head(target: Target, loss_piece: str) -> tuple[bool, bool]:
    """``(probabilities, inside)``: whether the loss takes probabilities, and whether the
    network then ends with the library's softmax layer (else the check applies softmax)."""
    conventions = target.conventions[loss_piece]
    probabilities = loss_piece == "cross_entropy" and conventions["input"] == "probabilities"
    return probabilities, probabilities and conventions["grad_wrt"] == "input" and target.has(
        "softmax")


def _value_and_net(target: Target, activation: str, loss_piece: str, params: Params, x, y):
    """``(value, net, layers, loss, out)`` after one forward and loss call through ``network``
    (``out``: what the loss was given, probabilities where it takes them)."""
    probabilities, inside = head(target, loss_piece)
    layers = [
        calls.part(target, "linear", {"W": params["W1"], "b": params["b1"]}),
        calls.part(target, activation),
        calls.part(target, "linear", {"W": params["W2"], "b": params["b2"]}),
    ] + ([calls.part(target, "softmax")] if inside else [])
    net = target.factories["network"](layers)
    out = np.asarray(net.forward(np.array(x, dtype=np.float64)))
    if probabilities and not inside:
        out = scipy.special.softmax(out, axis=1)
    loss = target.factories[loss_piece]()
    value = float(loss(out, np.array(y, dtype=np.float64)))
    return value, net, layers, loss, out


def _composed(target: Target, activation: str, loss_piece: str, example: Example) -> np.ndarray:
    """PyTorch's linear, activation, linear on the example's ``x`` (and a softmax where the loss
    takes probabilities): what the network of those layers computes."""
    h = example["x"]
    for piece, n in (("linear", 1), (activation, 0), ("linear", 2)):
        params = {"W": example[f"W{n}"], "b": example[f"b{n}"]} if n else None
        width = params["W"].shape[1] if params else h.shape[1]
        h = oracle.layer(piece, h, np.zeros((len(h), width)), params)["y"]
    return scipy.special.softmax(h, axis=1) if head(target, loss_piece)[0] else h


def _loss_of_logits(target: Target, loss_piece: str, z: np.ndarray, y: np.ndarray) -> float:
    """The library's loss value at the second linear layer's output ``z`` (through its softmax
    layer, or softmax, when the loss takes probabilities)."""
    probabilities, inside = head(target, loss_piece)
    if inside:
        z = calls.forward(target, "softmax", {}, z)
    elif probabilities:
        z = scipy.special.softmax(z, axis=1)
    return calls.run_loss(target, loss_piece, z, y)[0]


def _references(target: Target, activation: str, loss_piece: str, example: Example,
                found: dict[str, np.ndarray], tol: float) -> tuple[str, list[tuple[str, dict]]]:
    """The words on ``dW2``/``db2`` (their fitted factor) and the reference gradients of
    ``W1``, ``b1``: the true backward's first, then each suspected mistake's."""
    x, y = example["x"], example["target"]
    h = x @ example["W1"] + example["b1"]
    ref = oracle.layer(activation, h, np.zeros_like(h))
    a = ref["y"]
    live = a @ example["W2"] + example["b2"]
    delta = gradient(lambda: _loss_of_logits(target, loss_piece, live, y), live,
                     fd_step(dtype_of(*found.values())))
    second = np.concatenate([(a.T @ delta).ravel(), delta.sum(axis=0)])
    got = np.concatenate([found["W2"].ravel(), found["b2"].ravel()])
    c = float(got @ second) / float(second @ second) if np.any(second) else 1.0
    if error(got, c * second) > diagnosis.match_tol(tol):
        c = 1.0
    sizes = {"batch size": x.shape[0], "number of classes": y.shape[1]}
    upstream = c * delta @ example["W2"].T
    dh = oracle.layer(activation, h, upstream)["dx"]
    candidates = [("", dh)] + suspects(activation, {"x": h, "grad": upstream}, a)["dx"]
    firsts = [(words, {"W1": x.T @ d, "b1": d.sum(axis=0)}) for words, d in candidates]
    return diagnosis.factor_words(c, sizes, tol), firsts


def _declared(target: Target, activation: str, loss_piece: str, example: Example
              ) -> dict[str, np.ndarray]:
    """The parameter gradients of the declared loss (PyTorch's), through true derivatives."""
    conventions = dict(target.conventions[loss_piece])
    if loss_piece == "cross_entropy":  # the same function of the logits, whatever it is fed
        conventions["input"] = "logits"
    x, W2 = example["x"], example["W2"]
    h = x @ example["W1"] + example["b1"]
    a = oracle.layer(activation, h, np.zeros_like(h))["y"]
    delta = oracle.loss(loss_piece, conventions, a @ W2 + example["b2"], example["target"])[2]
    dh = oracle.layer(activation, h, delta @ W2.T)["dx"]
    return {"W1": x.T @ dh, "b1": dh.sum(axis=0), "W2": a.T @ delta, "b2": delta.sum(axis=0)}


def _diagnose(target: Target, activation: str, loss_piece: str, example: Example,
              found: dict[str, np.ndarray], numeric: dict[str, np.ndarray], tol: float) -> str:
    """The end-to-end failure in words (module contract)."""
    close = diagnosis.match_tol(tol)
    second, firsts = _references(target, activation, loss_piece, example, found, tol)
    first = next((words or "right" for words, ref in firsts
                  if max(error(found[n], ref[n]) for n in ("W1", "b1")) <= close), None)
    if first == "right" and second != "right":
        return f"dW1 and db1 and dW2 and db2: {second}"
    if first is not None and first != "right":
        backward = f"as in a network whose {activation} backward is wrong: {first}"
        if second == "right":
            return f"dW1 and db1: {backward}; dW2 and db2 are right"
        return f"dW1 and db1: {backward}, upstream {second}; dW2 and db2: {second}"
    declared = _declared(target, activation, loss_piece, example)
    if all(error(found[n], declared[n]) <= close for n in found):
        return (f"the gradients are the declared {loss_piece.replace('_', '-')}'s (PyTorch's), "
                f"but the library's loss value is another function (see the {loss_piece} rows)")
    sizes = {"batch size": example["x"].shape[0],
             "number of classes": example["target"].shape[1]}
    findings = {f"d{n}": (not error(found[n], numeric[n]) <= tol,
                          diagnosis.scale(found[n], numeric[n], sizes, tol)) for n in found}
    failed = [name for name, (bad, _) in findings.items() if bad]
    return diagnosis.per_tensor(findings) or f"{' and '.join(failed)}: wrong, no known pattern"


def end_to_end(target: Target, piece: str) -> Result:
    """Parameter gradients through ``network`` against differences of the library's own loss."""
    activation = piece.split("+", 1)[1]
    loss_piece = "cross_entropy" if target.has("cross_entropy") else "mse"
    names = ("W1", "b1", "W2", "b2")

    def trial(example: Example) -> Finding:
        x, y = example["x"], example["target"]
        _, net, layers, loss, out = _value_and_net(target, activation, loss_piece, example, x, y)
        off = error(out, _composed(target, activation, loss_piece, example))
        if not off <= oracle_tol(dtype_of(out)):
            return Finding(off, oracle_tol(dtype_of(out)), "the network's output is not its "
                           f"layers' (linear, {activation}, linear, as PyTorch composes them): "
                           "network(layers) computes another function")
        net.backward(np.array(loss.grad))
        grads = [calls.params_of(layers[i]) for i in (0, 2)]
        found = {n: grads[i // 2][n[0]] for i, n in enumerate(names)}
        dtype = dtype_of(*found.values())
        live = {n: np.array(example[n], dtype=np.float64) for n in names}

        def f() -> float:
            return _value_and_net(target, activation, loss_piece, live, x, y)[0]

        numeric = {n: gradient(f, live[n], fd_step(dtype)) for n in names}
        tol = fd_tol(dtype)
        worst = max(errors(found, numeric).values())
        if worst <= tol:
            return Finding(worst, tol)
        words = _diagnose(target, activation, loss_piece, example, found, numeric, tol)
        return Finding(worst, tol, f"not the gradient of the loss value: {words}")

    strategy = _small_network().filter(_clear_of_kinks)
    return judge(piece, "end to end", trial, _network_examples(), strategy)
