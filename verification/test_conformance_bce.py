"""Binary cross-entropy and LeakyReLU rows on correct NumPy pieces and on planted bugs.

Correct BCEs (probabilities or logits, each reduction) pass every row; each planted bug is
``wrong`` or ``unstable`` with its diagnosis. A correct LeakyReLU passes every activation row;
a "relu" that is leaky, a LeakyReLU that is a plain ReLU, and one of another slope are named by
the slope fitted on the negative inputs.
"""

from __future__ import annotations

import pytest

from verification.conformance_support import LINEAR, ROWS, load_text, run

HEAD = '''
import numpy as np
import scipy.special
import nplearn

NAME = "planted pieces"
'''

BCE = '''
CONVENTIONS = {{"bce": {{"input": "{given}", "reduction": "{reduction}"}}}}


class bce:
    def __call__(self, x, t):
        n = {{"sum": 1, "mean": len(x), "mean_all": x.size}}["{reduction}"]
        if "{given}" == "logits":
            value = np.sum(np.logaddexp(0, x) - t * x) / n
            self.grad = (scipy.special.expit(x) - t) / n
        else:
            value = -np.sum(scipy.special.xlogy(t, x) + scipy.special.xlogy(1 - t, 1 - x)) / n
            self.grad = GRAD
        return float(value)
'''
RIGHT = "(np.where(t > 0, -t / np.where(x > 0, x, 1), 0) + np.where(t < 1, (1 - t) / np.where(x < 1, 1 - x, 1), 0)) / n"  # noqa: E501
BCE_ROWS = ("bce-own-gradient", "bce-vs-torch", "bce-stability", "bce-inputs-not-mutated")


def _bce(given: str, reduction: str, grad: str = RIGHT, extra: str = "") -> str:
    return HEAD + BCE.format(given=given, reduction=reduction).replace("GRAD", grad) + extra


@pytest.mark.parametrize("given", ["probabilities", "logits"])
@pytest.mark.parametrize("reduction", ["sum", "mean", "mean_all"])
def test_correct_bce_passes(tmp_path, given: str, reduction: str) -> None:
    target = load_text(tmp_path, "bce", _bce(given, reduction))
    for row_id in BCE_ROWS:
        result = run(target, row_id)
        assert result.verdict == "pass", result


CLIPPED = '''
class bce(bce):
    """Clips p into [1e-7, 1 - 1e-7], as a library does on purpose to keep the loss finite."""

    def __call__(self, x, t):
        return super().__call__(np.clip(x, 1e-7, 1 - 1e-7), t)
'''

LOGITS_GRAD = "self.grad = (scipy.special.expit(x) - t) / n"
PLANTED_BCE = {
    "logits' gradient for probabilities": (
        "probabilities", "mean", [(f"self.grad = {RIGHT}", "self.grad = (x - t) / n")],
        "bce-vs-torch",
        "gradient: the gradient with respect to the logits (p - t), not to the probabilities"),
    "logits' gradient, own gradient": (
        "probabilities", "mean", [(f"self.grad = {RIGHT}", "self.grad = (x - t) / n")],
        "bce-own-gradient",
        "gradient and loss value disagree: gradient the gradient with respect to the logits"),
    "a mean loss with a summed gradient": (
        "logits", "mean", [(LOGITS_GRAD, "self.grad = scipy.special.expit(x) - t")],
        "bce-own-gradient",
        "gradient and loss value disagree: gradient off by a factor equal to the batch size"),
    "a gradient 4 times too large": (
        "logits", "sum", [(LOGITS_GRAD, LOGITS_GRAD.replace("= (", "= 4 * ("))],
        "bce-vs-torch", "gradient: off by a constant factor 4; loss value is right"),
    "log(0) at p = 0": (
        "probabilities", "sum",
        [("scipy.special.xlogy(t, x) + scipy.special.xlogy(1 - t, 1 - x)",
          "t * np.log(x) + (1 - t) * np.log(1 - x)")],
        "bce-stability", "loss value not finite at logits of +-1000"),
}


@pytest.mark.parametrize("case", list(PLANTED_BCE))
def test_planted_bce_bug_is_diagnosed(tmp_path, case: str) -> None:
    given, reduction, replacements, row_id, words = PLANTED_BCE[case]
    source = _bce(given, reduction)
    for old, new in replacements:
        assert old in source
        source = source.replace(old, new)
    result = run(load_text(tmp_path, "bce", source), row_id)
    assert result.verdict in ("wrong", "unstable"), result
    assert words in (result.diagnosis or ""), result
    assert result.counterexample, result


def test_a_clipped_bce_is_stable(tmp_path) -> None:
    """A clip to [1e-7, 1 - 1e-7] costs ~1e-7 at p = 0 and 1: a pass, the deviation said."""
    target = load_text(tmp_path, "bce", _bce("probabilities", "mean", extra=CLIPPED))
    result = run(target, "bce-stability")
    assert result.verdict == "pass", result
    assert 1e-8 < result.worst_error < 1e-6 and "deviates" in (result.detail or ""), result


LEAKY = LINEAR.replace("{", "{{").replace("}", "}}") + '''

network, cross_entropy, sgd = nplearn.Network, nplearn.CrossEntropyLoss, nplearn.SGD


class {name}:
    params, grads = {{}}, {{}}

    def __init__(self, {args}):
        self.slope = {slope}

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.slope * x)

    def backward(self, grad, input_grad=True):
        return grad * np.where(self.x > 0, 1.0, self.slope)
'''
LEAKY_ROWS = [r for r in ROWS if r.startswith("leaky_relu-")] + ["network+leaky_relu-end-to-end"]


def test_correct_leaky_relu_passes(tmp_path) -> None:
    target = load_text(tmp_path, "leaky", HEAD + LEAKY.format(
        name="leaky_relu", args="slope", slope="slope"))
    for row_id in LEAKY_ROWS:
        result = run(target, row_id)
        assert result.verdict == "pass", result


@pytest.mark.parametrize("name, slope, row_id, words", [
    ("relu", "0.01", "relu-forward", "a leaky ReLU: constant slope 0.01 for negative inputs"),
    ("relu", "0.01", "relu-backward-vs-torch", "dx: a leaky ReLU: constant slope 0.01"),
    ("leaky_relu", "0.0", "leaky_relu-forward", "a plain ReLU: slope 0 for negative inputs"),
    ("leaky_relu", "0.01", "leaky_relu-backward-vs-torch",
     "constant slope 0.01 for negative inputs, not 0.15"),
])
def test_leaky_slopes_are_fitted(tmp_path, name: str, slope: str, row_id: str,
                                 words: str) -> None:
    """A "relu" that is leaky, a LeakyReLU that ignores its slope: named by the fitted slope."""
    args = "slope" if name == "leaky_relu" else ""
    target = load_text(tmp_path, "leaky", HEAD + LEAKY.format(name=name, args=args, slope=slope))
    result = run(target, row_id)
    assert result.verdict == "wrong", result
    assert words in (result.diagnosis or ""), result
