"""Planted bugs for the stability, SGD, end-to-end and overfit checks, and their correct twins.

Each planted library is nplearn's pieces with one piece replaced. A bug must come out ``wrong``
or ``unstable`` with its diagnosis; the correct twin (an ``xlogy`` cross-entropy, a slow SGD, an
SGD that divides its step by the batch size) must pass: proof both ways.
"""

from __future__ import annotations

import pytest

from verification.conformance import NotAnAdapter
from verification.conformance.checks.stability import ZERO_BESIDE
from verification.conformance_support import DIVIDED_LINEAR, load_text, run

NPLEARN = '''
import time
import numpy as np
import scipy.special
import nplearn

NAME = "planted"


def linear(W, b):
    layer = nplearn.Linear(*W.shape, dtype=np.float64)
    layer.W, layer.b = W, b
    return layer


relu, network, cross_entropy = nplearn.ReLU, nplearn.Network, nplearn.CrossEntropyLoss
'''

PROBABILITY_CE = '''
CONVENTIONS = {"cross_entropy": {"input": "probabilities", "grad_wrt": "input",
                                 "reduction": "sum"}}


class cross_entropy:
    """-sum t*log p; np.log(p, where=p > 0) without out leaves the p = 0 entries as whatever
    memory it got: here the freed t / p, NaN at 0/0."""

    def __call__(self, p, t):
        self.grad = 0 - t / p
        return float(-np.sum(t * np.log(p, where=p > 0)))
'''

XLOGY_CE = '''
CONVENTIONS = {"cross_entropy": {"input": "probabilities", "grad_wrt": "input",
                                 "reduction": "sum"}}


class cross_entropy:
    def __call__(self, p, t):
        self.grad = np.divide(-t, p, out=np.zeros_like(p), where=t > 0)
        return float(-np.sum(scipy.special.xlogy(t, p)))
'''


@pytest.mark.parametrize("body, verdict", [(PROBABILITY_CE, "unstable"), (XLOGY_CE, "pass")])
def test_probability_loss_value_at_a_zero_probability(tmp_path, body: str, verdict: str) -> None:
    """A probability cross-entropy whose value is NaN where a non-target class has p = 0 is
    unstable there; the xlogy one passes (its value is judged, not skipped as NaN)."""
    target = load_text(tmp_path, "ce", NPLEARN + body)
    result = run(target, "cross_entropy-stability")
    assert result.verdict == verdict, result
    if verdict == "unstable":
        assert f"loss value not finite at {ZERO_BESIDE}" in (result.diagnosis or ""), result
    for row_id in ("cross_entropy-own-gradient", "cross_entropy-vs-torch"):
        assert run(target, row_id).verdict == "pass", row_id


BINARY_CE = '''
CONVENTIONS = {"cross_entropy": {"input": "probabilities", "grad_wrt": "input",
                                 "reduction": "sum"}}


class cross_entropy:
    """Binary cross-entropy over every class of a softmax output: a real library's."""

    def __call__(self, p, t):
        self.grad = -t / p + (1 - t) / (1 - p)
        return float(-np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)))
'''


def test_binary_cross_entropy_over_the_classes_is_named(tmp_path) -> None:
    """Its value and gradient are both named, by the formula they follow."""
    result = run(load_text(tmp_path, "ce", NPLEARN + BINARY_CE), "cross_entropy-vs-torch")
    assert result.verdict == "wrong", result
    binary = "binary cross-entropy summed over the classes (the (1 - y) log(1 - p) terms added)"
    assert result.diagnosis == f"loss value and gradient: {binary}", result


SGD = '''
CONVENTIONS = {{"sgd": {{"l2_rule": "weight_decay"}}}}


class sgd:
    def __init__(self, lr, l2=0.0):
        self.lr, self.l2 = lr, l2

    def step(self, layers):
        for layer in layers:
            n = len(layer.input)
            for k, p in layer.params.items():
                p -= self.lr * ({grad} + {l2} * self.l2 * p)
'''


@pytest.mark.parametrize("grad, l2, words", [
    ("layer.grads[k] / n", 1,
     "the gradient term of the step is off by a factor equal to 1/batch size; the L2 term is "
     "right"),
    ("layer.grads[k]", 2, "the gradient term of the step is right; the L2 term is off by a "
     "factor equal to 2"),
])
def test_sgd_terms_are_fitted_separately(tmp_path, grad: str, l2: int, words: str) -> None:
    target = load_text(tmp_path, "sgd", NPLEARN + SGD.format(grad=grad, l2=l2))
    result = run(target, "sgd-L2-rule")
    assert result.verdict == "wrong", result
    assert result.diagnosis == words, result


WEIGHTS_ONLY_SGD = '''
CONVENTIONS = {{"sgd": {{"l2_rule": "{rule}"{on}}}}}


class sgd:
    """Weight decay on {decayed}, as hipsternet (L2 on W only) or torch param groups."""

    def __init__(self, lr, l2=0.0):
        self.lr, self.l2 = lr, l2

    def step(self, layers):
        for layer in layers:
            for k, p in layer.params.items():
                decay = self.l2 if k in {decayed!r} else 0.0
                p -= self.lr * (layer.grads[k] + decay * p)
'''


BIASES_TOO = ("the L2 term is applied to the biases too, but l2_on 'weights' (weights only) is "
              "declared")


@pytest.mark.parametrize("rule, on, decayed, words", [
    ("weight_decay", ', "l2_on": "weights"', ("W",), None),
    ("weight_decay", "", ("W",), "the L2 term is not applied to the biases, but l2_on 'all' "
     "(biases included) is declared"),
    ("weight_decay", ', "l2_on": "weights"', ("W", "b"), BIASES_TOO),
    ("weight_decay", "", ("W", "b"), None),
    ("post", ', "l2_on": "weights"', ("W", "b"), "follows weight decay w - lr*(grad + l2*w), "
     f"not the declared post rule; {BIASES_TOO}"),
], ids=["weights-declared", "weights-undeclared", "all-declared-weights", "all-undeclared",
        "both-declarations-off"])
def test_sgd_l2_on_the_weights_only(tmp_path, rule: str, on: str, decayed: tuple,
                                    words: str | None) -> None:
    """A library that decays the weights only passes when it declares ``l2_on: weights`` and
    reads wrong, pointed to the convention, when it does not; one that decays the biases too
    while declaring weights only is wrong, and passes under the default ``all``; with the rule
    declared wrong as well, both are named."""
    body = WEIGHTS_ONLY_SGD.format(rule=rule, on=on, decayed=decayed)
    result = run(load_text(tmp_path, "sgd", NPLEARN + body), "sgd-L2-rule")
    assert result.verdict == ("pass" if words is None else "wrong"), result
    assert result.diagnosis == words, result


def test_sgd_l2_on_is_validated(tmp_path) -> None:
    """A value outside ``all``, ``weights`` is not an adapter, the message naming the key."""
    body = NPLEARN + 'CONVENTIONS = {"sgd": {"l2_on": "biases"}}\n'
    with pytest.raises(NotAnAdapter, match=r"\['sgd'\]\['l2_on'\] = 'biases'; allowed: "
                       r"'all', 'weights'"):
        load_text(tmp_path, "sgd", body)


NETWORK = '''
class sigmoid(nplearn.Sigmoid):
    """The derivative applied to the output."""

    def backward(self, grad, *, input_grad=True):
        s = nplearn.sigmoid(self.output)
        return grad * s * (1 - s)


class tanh(nplearn.Tanh):
    """A backward of no known pattern."""

    def backward(self, grad, *, input_grad=True):
        return grad * np.cos(3 * self.output)
'''


@pytest.mark.parametrize("row_id, words", [
    ("network+sigmoid-end-to-end", "dW1 and db1: as in a network whose sigmoid backward is "
     "wrong: sigma'(.) applied to the output instead of the input; dW2 and db2 are right"),
    ("network+tanh-end-to-end", "dW1 and db1: wrong, no known pattern"),
])
def test_end_to_end_is_diagnosed(tmp_path, row_id: str, words: str) -> None:
    """The network's gradients are compared with reference networks: a suspected activation
    backward is named; anything else says so explicitly. The ReLU network passes."""
    target = load_text(tmp_path, "net", NPLEARN + NETWORK)
    result = run(target, row_id)
    assert result.verdict == "wrong", result
    assert result.diagnosis == f"not the gradient of the loss value: {words}", result
    assert run(target, "network+relu-end-to-end").verdict == "pass"


VALUE_OF_ANOTHER_LOSS = '''
class cross_entropy(nplearn.CrossEntropyLoss):
    """The gradient softmax - y, but the value of a binary cross-entropy over the classes."""

    def __call__(self, pred, true):
        super().__call__(pred, true)
        p = scipy.special.softmax(pred, axis=1)
        return float(-(true * np.log(p) + (1 - true) * np.log(1 - p)).sum())
'''


def test_end_to_end_names_gradients_of_the_declared_loss(tmp_path) -> None:
    """Gradients that are the declared cross-entropy's while the loss value is another function
    are said to be so, not "no known pattern"."""
    result = run(load_text(tmp_path, "net", NPLEARN + VALUE_OF_ANOTHER_LOSS),
                 "network+relu-end-to-end")
    assert result.verdict == "wrong", result
    assert result.diagnosis == (
        "not the gradient of the loss value: the gradients are the declared cross-entropy's "
        "(PyTorch's), but the library's loss value is another function (see the cross_entropy "
        "rows)"), result


STEPPER = '''
class sgd:
    def __init__(self, lr, l2=0.0):
        self.lr = lr

    def step(self, layers):
        time.sleep({sleep})
        for layer in layers:
            for k, p in getattr(layer, "params", {{}}).items():
                p -= self.lr * {direction}
'''


@pytest.mark.parametrize("sleep, direction, verdict", [
    (0.1, "layer.grads[k]", "pass"),
    (0.0, "layer.grads[k] / 50", "pass"),
    (0.0, "-layer.grads[k]", "wrong"),
    (0.0, "np.abs(layer.grads[k])", "wrong"),
])
def test_overfit(tmp_path, sleep: float, direction: str, verdict: str) -> None:
    """A slow library (0.1 s a step: 75 s at 750 steps) and one whose SGD divides by the batch
    size still reach 100%; one that steps uphill, or along |grad|, fails."""
    target = load_text(tmp_path, "fit", NPLEARN + STEPPER.format(sleep=sleep,
                                                                 direction=direction))
    result = run(target, "training-overfit-50")
    assert result.verdict == verdict, result
    if verdict == "wrong":
        assert "training accuracy" in (result.diagnosis or ""), result


def test_overfit_with_gradients_divided_by_the_batch(tmp_path) -> None:
    """Its first step is 1/50 of the declared loss's gradient step: training follows the
    gradient (the linear rows name the factor), so it reaches 100% at a rescaled rate."""
    body = STEPPER.format(sleep=0.0, direction="layer.grads[k]") + DIVIDED_LINEAR
    result = run(load_text(tmp_path, "fit", NPLEARN + body), "training-overfit-50")
    assert result.verdict == "pass", result
