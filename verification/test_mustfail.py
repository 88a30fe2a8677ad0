"""Must-fail self-test: the post's mistakes and plausible wrong derivatives, planted into copies
of our pieces, must be caught.

Each planted bug is a subclass of the correct piece: the post's bugs and hand-made Linear and loss
bugs below, plus, for every layer of ``verification.registry`` that gives one, the activation
with its plausible wrong derivative or the layer with its plausible wrong backward. The test
asserts that ``gradcheck`` raises ``GradcheckError`` on the bug and passes on the correct piece
with the same inputs, so the check discriminates (a checker that cannot fail verifies nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from nplearn import MSE, CrossEntropyLoss, Linear, Network, ReLU, softmax, to_one_hot
from nplearn.checks import GradcheckError, gradcheck
from verification.post_impl import PostReLU
from verification.registry import ACTIVATIONS, LAYERS, LayerEntry

F64 = np.float64


class PostCrossEntropy(CrossEntropyLoss):
    """The post's cross-entropy: loss averaged over batch*classes, gradient ``p - y`` undivided."""

    def _value_and_grad(self, logits, true):
        p = softmax(logits, axis=1)
        return float(-np.mean(true * np.log(p))), p - true


class TransposedWeightGrad(Linear):
    """Weight gradient ``grad.T @ x`` (the transpose of ``x.T @ grad``)."""

    def backward(self, grad, *, input_grad=True):
        out = super().backward(grad, input_grad=input_grad)
        self.grads["W"] = grad.T @ self.input
        return out


class BiasMeanGrad(Linear):
    """Bias gradient averaged over the batch instead of summed."""

    def backward(self, grad, *, input_grad=True):
        out = super().backward(grad, input_grad=input_grad)
        self.grads["b"][...] = grad.mean(axis=0)
        return out


class BiasFirstSampleGrad(Linear):
    """Bias gradient of the first sample only (not summed over the batch)."""

    def backward(self, grad, *, input_grad=True):
        out = super().backward(grad, input_grad=input_grad)
        self.grads["b"][...] = grad[0]
        return out


class AccumulatingGrad(Linear):
    """Gradients added to the previous ones instead of overwritten (backward twice differs)."""

    def backward(self, grad, *, input_grad=True):
        previous = {k: g.copy() for k, g in self.grads.items()}
        out = super().backward(grad, input_grad=input_grad)
        for key, value in previous.items():
            self.grads[key] += value
        return out


class UntransposedInputGrad(Linear):
    """Input gradient ``grad @ W`` instead of ``grad @ W.T`` (square layer: shapes agree)."""

    def backward(self, grad, *, input_grad=True):
        super().backward(grad, input_grad=False)
        return grad @ self.params["W"]


class PostMSEFormula(MSE):
    """The gradient formula printed in the post, ``(true - pred) / m``: the wrong sign."""

    def _value_and_grad(self, pred, true):
        value, grad = super()._value_and_grad(pred, true)
        return value, -grad


@dataclass(frozen=True)
class Plant:
    """A planted bug: the buggy and the correct module, and how to draw their inputs."""

    id: str
    description: str
    buggy: Callable[[], Any]
    correct: Callable[[], Any]
    inputs: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray | None]]


def _x(shape: tuple[int, ...]) -> Callable[[np.random.Generator], tuple[np.ndarray, None]]:
    return lambda rng: (rng.standard_normal(shape), None)


def _logits_onehot(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((4, 5)), to_one_hot(rng.integers(0, 5, 4), 5, dtype=F64)


def _pred_target(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((4, 5)), rng.standard_normal((4, 5))


def _linear(cls: type[Linear], n_in: int, n_out: int) -> Callable[[], Linear]:
    return lambda: cls(n_in, n_out, dtype=F64, rng=7)


def _mnist_net(activation: type) -> Callable[[], Network]:
    return lambda: Network(
        [Linear(784, 128, dtype=F64, rng=1), activation(), Linear(128, 10, dtype=F64, rng=2)]
    )


PLANTS = [
    Plant("post-relu", "the post's ReLU backward np.maximum(grad, 0)", PostReLU, ReLU, _x((4, 6))),
    Plant(
        "post-relu-in-784-128-10",
        "the post's ReLU backward inside a 784-128-10 network",
        _mnist_net(PostReLU),
        _mnist_net(ReLU),
        lambda rng: (rng.random((2, 784)), None),
    ),
    Plant(
        "post-cross-entropy",
        "CE loss averaged over batch*classes with gradient p - y",
        PostCrossEntropy,
        CrossEntropyLoss,
        _logits_onehot,
    ),
    Plant(
        "transposed-dW-square",
        "transposed weight gradient, square 5x5 layer (values differ)",
        _linear(TransposedWeightGrad, 5, 5),
        _linear(Linear, 5, 5),
        _x((3, 5)),
    ),
    Plant(
        "transposed-dW-5x3",
        "transposed weight gradient, 5x3 layer (shape check)",
        _linear(TransposedWeightGrad, 5, 3),
        _linear(Linear, 5, 3),
        _x((3, 5)),
    ),
    Plant(
        "bias-grad-mean",
        "bias gradient averaged over the batch, not summed",
        _linear(BiasMeanGrad, 5, 3),
        _linear(Linear, 5, 3),
        _x((4, 5)),
    ),
    Plant(
        "bias-grad-first-sample",
        "bias gradient of the first sample only, not summed",
        _linear(BiasFirstSampleGrad, 5, 3),
        _linear(Linear, 5, 3),
        _x((4, 5)),
    ),
    Plant(
        "accumulating-grads",
        "gradients accumulated across backward calls",
        _linear(AccumulatingGrad, 5, 3),
        _linear(Linear, 5, 3),
        _x((4, 5)),
    ),
    Plant(
        "untransposed-dx",
        "input gradient grad @ W instead of grad @ W.T (square layer)",
        _linear(UntransposedInputGrad, 4, 4),
        _linear(Linear, 4, 4),
        _x((3, 4)),
    ),
    Plant(
        "post-mse-formula",
        "the post's printed MSE gradient (true - pred)/m",
        PostMSEFormula,
        MSE,
        _pred_target,
    ),
]


def _planted(entry: LayerEntry, kind: str, methods: dict[str, Any]) -> Plant:
    """The layer of ``entry`` with ``methods`` replaced by its registered wrong ``kind``."""
    wrong = type(f"Wrong{entry.id}", (entry.layer,), methods)
    return Plant(
        f"{entry.id.lower()}-wrong-{kind}",
        f"{entry.id}: {entry.wrong}",
        wrong,
        entry.layer,
        lambda rng: (rng.uniform(-entry.bound, entry.bound, (4, 6)), None),
    )


def _wrong_derivative(entry: LayerEntry) -> Plant:
    """The activation of ``entry`` with its registered wrong derivative planted."""
    derivative = staticmethod(entry.wrong_derivative)  # type: ignore[arg-type]
    return _planted(entry, "derivative", {"derivative": derivative})


def _wrong_backward(entry: LayerEntry) -> Plant:
    """The layer of ``entry`` with its registered wrong backward planted (from its last output)."""
    wrong_backward = entry.wrong_backward
    assert wrong_backward is not None

    def backward(self: Any, grad: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        return wrong_backward(self.output, grad) if input_grad else None

    return _planted(entry, "backward", {"backward": backward})


PLANTS += [_wrong_derivative(e) for e in ACTIVATIONS if e.wrong_derivative is not None]
PLANTS += [_wrong_backward(e) for e in LAYERS if e.wrong_backward is not None]


@pytest.mark.parametrize("plant", PLANTS, ids=[p.id for p in PLANTS])
def test_planted_bug_is_caught(check_record, rng, plant: Plant) -> None:
    """A planted bug makes gradcheck fail, while the correct piece passes on the same inputs."""
    x, target = plant.inputs(rng)
    kwargs = {"target": target, "max_elements": 300, "rng": 0}
    gradcheck(plant.correct(), x, **kwargs)
    with pytest.raises(GradcheckError) as info:
        gradcheck(plant.buggy(), x, **kwargs)
    caught = str(info.value).split(": ", 1)[1].split(" (atol")[0]
    caught = re.sub(r"-?\d+\.\d{5,}(e-?\d+)?", lambda m: f"{float(m.group()):.4g}", caught)
    check_record(f"caught: {caught}", "atol 1e-5, rtol 1e-3", what=f"planted: {plant.description}")
