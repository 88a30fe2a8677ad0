"""Models as other libraries build them, and optimizers on other shapes: a fixed model whose
layers are stand-ins carrying arrays (the README's third pattern), a network that computes
another function than its layers', a backward that returns None, an SGD that breaks on square
layers or takes an L2 strength of its own.
"""

from __future__ import annotations

from verification.conformance_support import load_text, run
from verification.test_conformance_training import NPLEARN

#: A fixed model (the README's third pattern): the layers only carry arrays; the network is one
#: linear-ReLU-linear function with its own gradients. DROP set True leaves out the ReLU.
FIXED_MODEL = '''
import numpy as np
import nplearn

DROP = False


class _Weights:
    def __init__(self, W, b):
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}


def linear(W, b):
    return _Weights(W.copy(), b.copy())


def relu():
    return "relu"


class network:
    def __init__(self, layers):
        self.first, self.second = layers[0], layers[2]

    def forward(self, x):
        self.x = x
        self.h = x @ self.first.params["W"] + self.first.params["b"]
        self.a = self.h if DROP else np.maximum(self.h, 0)
        return self.a @ self.second.params["W"] + self.second.params["b"]

    def backward(self, grad):
        self.second.grads["W"][...] = self.a.T @ grad
        self.second.grads["b"][...] = grad.sum(axis=0)
        da = grad @ self.second.params["W"].T
        dh = da if DROP else da * (self.h > 0)
        self.first.grads["W"][...] = self.x.T @ dh
        self.first.grads["b"][...] = dh.sum(axis=0)


cross_entropy = nplearn.CrossEntropyLoss
'''


def test_a_fixed_model_of_stand_ins_is_checked_end_to_end(tmp_path) -> None:
    """The README's third pattern: the layer rows are errors (there is no layer), the network's
    end-to-end row runs and passes for a right model."""
    target = load_text(tmp_path, "fixed", FIXED_MODEL)
    assert run(target, "linear-forward").verdict_text() == "error: not a layer (no backward)"
    assert run(target, "network+relu-end-to-end").verdict == "pass"


def test_a_network_computing_another_function_is_wrong(tmp_path) -> None:
    """A network that leaves out its activation has gradients that are its own (central
    differences agree): its output, against PyTorch's composition of the layers, tells."""
    target = load_text(tmp_path, "fixed", FIXED_MODEL.replace("DROP = False", "DROP = True"))
    result = run(target, "network+relu-end-to-end")
    assert result.verdict == "wrong", result
    assert result.diagnosis == ("the network's output is not its layers' (linear, relu, linear, "
                                "as PyTorch composes them): network(layers) computes another "
                                "function"), result


def test_a_backward_returning_none_says_so(tmp_path) -> None:
    """A layer whose backward returns nothing (it updates itself and stops) reads as such."""
    body = NPLEARN + '''
class relu(nplearn.ReLU):
    def backward(self, grad, *, input_grad=True):
        super().backward(grad)
'''
    result = run(load_text(tmp_path, "none", body), "relu-backward-vs-torch")
    assert result.verdict_text() == ("error: backward returned None, not dL/dx (no input "
                                     "gradient)"), result


def test_sgd_with_an_l2_strength_of_its_own_is_named(tmp_path) -> None:
    """An L2 strength fixed inside the library (0.001 whatever is passed) is named with it."""
    body = '''
CONVENTIONS = {"sgd": {"l2_rule": "weight_decay"}}


class sgd:
    def __init__(self, lr, l2=0.0):
        self.lr = lr

    def step(self, layers):
        for layer in layers:
            for k, p in layer.params.items():
                p -= self.lr * (layer.grads[k] + 0.001 * p)
'''
    result = run(load_text(tmp_path, "sgd", NPLEARN + body), "sgd-L2-rule")
    assert result.verdict == "wrong", result
    assert result.diagnosis == ("ignores l2: its steps take an L2 term of strength 0.001 (weight "
                                "decay w - lr*(grad + l2*w)) whether l2 is 0 or 0.01"), result


def test_sgd_steps_square_layers(tmp_path) -> None:
    """W and b packed into one object array break on a square layer (numpy cannot stack (3, 3)
    beside (3,)): the row is an error on that example, not a pass on (4, 5) alone."""
    body = '''
class sgd:
    def __init__(self, lr, l2=0.0):
        self.lr, self.l2 = lr, l2

    def step(self, layers):
        for layer in layers:
            packed = np.array([layer.params["W"], layer.params["b"]], dtype=object)
            grads = np.array([layer.grads["W"], layer.grads["b"]], dtype=object)
            for p, g in zip(packed, grads):
                p -= self.lr * (g + 2 * self.l2 / self.lr * p)
'''
    result = run(load_text(tmp_path, "sgd", NPLEARN + body), "sgd-L2-rule")
    assert result.verdict_text().startswith("error: ValueError"), result
    assert "W (3, 3)" in result.counterexample, result
