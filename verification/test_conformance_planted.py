"""Planted bugs in small libraries written here, and a correct float32 library.

Each planted bug must come out ``wrong`` or ``unstable`` with the right diagnosis, found by
measurement, and a shrunk counterexample: proof that the checks can fail. A correct library
computing in float32 (with a softmax layer) must pass every layer and loss row: no false alarm.
"""

from __future__ import annotations

import pytest

from verification.conformance_support import DIVIDED_LINEAR, ROWS, load_text, run

PLANTED = '''
import numpy as np
import scipy.special
import nplearn

NAME = "planted bugs"


''' + DIVIDED_LINEAR + '''

class sigmoid(nplearn.Sigmoid):
    """The derivative applied to the output."""

    def backward(self, grad, *, input_grad=True):
        return grad * nplearn.sigmoid(self.output) * (1 - nplearn.sigmoid(self.output))


class relu:
    """Right values, but backward writes into the caller's input."""

    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, grad):
        self.x[self.x <= 0] = 0
        return grad * (self.x > 0)


class softmax:
    """Softmax normalised over axis 0 (across the batch)."""

    def forward(self, x):
        self.y = scipy.special.softmax(x, axis=0)
        return self.y

    def backward(self, grad):
        return self.y * (grad - (grad * self.y).sum(axis=0, keepdims=True))


class mse(nplearn.MSE):
    """Loss 0.5 * sum / batch, gradient twice its derivative."""

    def __call__(self, pred, true):
        value = super().__call__(pred, true)
        self.grad = 2 * self.grad
        return value


class cross_entropy:
    """log(softmax) computed naively: NaN at large negative logits."""

    def __call__(self, logits, true):
        p = scipy.special.softmax(logits, axis=1)
        self.grad = p - true
        return float(-np.sum(true * np.log(p)))
'''

PLANTED_FINDINGS = {
    "linear-backward-vs-torch": "dW and db: off by a factor equal to 1/batch size; dx is right",
    "linear-backward-vs-differences": "dW and db: off by a factor equal to 1/batch size",
    "sigmoid-backward-vs-torch": "applied to the output instead of the input",
    "relu-inputs-not-mutated": "backward overwrote the caller's input x",
    "softmax-forward": "normalised over the wrong axis (axis 0, across the batch)",
    "softmax-backward-vs-torch": "normalised over the wrong axis (axis 0, across the batch)",
    "mse-own-gradient": "gradient off by a factor equal to 2",
    "mse-vs-torch": "gradient: off by a factor equal to 2; loss value is right",
    "cross_entropy-stability": "not finite at large negative logits",
}


PLANTED_TOO = '''
import numpy as np
import scipy.special
import nplearn

NAME = "more planted bugs"


class relu(nplearn.ReLU):
    """Slope 1 on both sides of the kink."""

    def backward(self, grad, *, input_grad=True):
        return grad * (self.output >= 0)


class tanh(nplearn.Tanh):
    """The derivative applied to the output."""

    def backward(self, grad, *, input_grad=True):
        return grad * (1 - np.tanh(self.output) ** 2)


class sigmoid:
    """exp(x) where exp(-x) is needed: sigmoid(-x)."""

    def forward(self, x):
        self.y = 1 / (1 + np.exp(x))
        return self.y

    def backward(self, grad):
        return grad * self.y * (1 - self.y)


class softmax:
    """Softmax normalised over the whole batch."""

    def forward(self, x):
        self.y = scipy.special.softmax(x, axis=None)
        return self.y

    def backward(self, grad):
        return self.y * (grad - (grad * self.y).sum())


class mse:
    """Value averaged over batch x outputs, gradient divided by the batch only."""

    def __call__(self, pred, true):
        self.grad = 2 * (pred - true) / len(pred)
        return float(np.mean((pred - true) ** 2))
'''
CONVENTIONS_TOO = {"mse": {"reduction": "mean_all", "scale": 1.0}}

PLANTED_FINDINGS_TOO = {
    "relu-backward-vs-torch": "slope 1 on both sides of the kink",
    "tanh-backward-vs-differences": "tanh'(.) applied to the output instead of the input",
    "sigmoid-forward": "y: computes f(-x), the sign of x flipped (exp(x) where exp(-x) is "
                       "needed)",
    "softmax-forward": "normalised over the wrong axis (the whole batch) instead of each row",
    "softmax-backward-vs-torch": "normalised over the wrong axis (the whole batch)",
    "mse-own-gradient": "gradient off by a factor equal to the number of classes",
    "mse-vs-torch": "gradient: off by a factor equal to the number of classes",
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return load_text(tmp_path_factory.mktemp("planted"), "planted", PLANTED)


@pytest.fixture(scope="module")
def planted_too(tmp_path_factory):
    return load_text(tmp_path_factory.mktemp("planted_too"), "planted_too",
                     PLANTED_TOO + f"CONVENTIONS = {CONVENTIONS_TOO!r}\n")


@pytest.mark.parametrize("row_id", list(PLANTED_FINDINGS))
def test_planted_bug_is_diagnosed(planted, row_id: str) -> None:
    """Each planted bug is found, named by measurement, with a shrunk counterexample."""
    result = run(planted, row_id)
    assert result.verdict in ("wrong", "unstable"), result
    assert PLANTED_FINDINGS[row_id] in (result.diagnosis or ""), result
    assert result.counterexample, result


@pytest.mark.parametrize("row_id", list(PLANTED_FINDINGS_TOO))
def test_more_planted_bugs_are_diagnosed(planted_too, row_id: str) -> None:
    """More planted bugs: found and named, whatever the declared conventions."""
    result = run(planted_too, row_id)
    assert result.verdict == "wrong", result
    assert PLANTED_FINDINGS_TOO[row_id] in (result.diagnosis or ""), result
    assert result.counterexample, result


CORRECT = '''
import numpy as np
import nplearn

NAME = "correct float32 library"


def _f32(x):
    return np.asarray(x, dtype=np.float32)


def linear(W, b):
    layer = nplearn.Linear(*W.shape, dtype=np.float32)
    layer.W, layer.b = W, b
    return layer


class _Float32:
    def forward(self, x):
        return super().forward(_f32(x))

    def backward(self, grad):
        return super().backward(_f32(grad))


class relu(_Float32, nplearn.ReLU): pass
class sigmoid(_Float32, nplearn.Sigmoid): pass
class tanh(_Float32, nplearn.Tanh): pass
class softmax(_Float32, nplearn.Softmax): pass


class cross_entropy(nplearn.CrossEntropyLoss):
    def __call__(self, logits, true):
        return super().__call__(_f32(logits), _f32(true))


class mse(nplearn.MSE):
    def __call__(self, pred, true):
        return super().__call__(_f32(pred), _f32(true))
'''


@pytest.fixture(scope="module")
def correct(tmp_path_factory):
    return load_text(tmp_path_factory.mktemp("correct32"), "correct32", CORRECT)


@pytest.mark.parametrize("row_id", [r for r in ROWS if r.split("-")[0] in (
    "linear", "relu", "sigmoid", "tanh", "softmax", "mse", "cross_entropy")])
def test_correct_float32_library_passes(correct, row_id: str) -> None:
    """No false alarm: a correct library computing in float32 (with a softmax layer) passes."""
    result = run(correct, row_id)
    assert result.verdict == "pass", result
