"""Overfit-50, the post's own sanity test, through the library's own pieces, kept cheap.

Contract
--------
The first 50 images of the real MNIST training set (``nplearn.data.load_mnist``, data folder
from ``NPLEARN_DATA_DIR``), scaled to [0, 1], float64; a 784-:data:`HIDDEN`-10 network of the
library's ``linear``, its first activation of ReLU, sigmoid, tanh, LeakyReLU, and ``network``; its
cross-entropy (else MSE) and ``sgd``; weights drawn as PyTorch's default init from a fixed seed.
Training is full-batch gradient descent (all 50 images per step) at a learning rate fixed per
loss and activation and scaled by the declared conventions, so that every convention takes the
same steps. The first step is measured along ``-lr`` times the declared loss's gradient (by
hand through the oracle), else along ``-lr * grads``: a library whose step is a positive
multiple of either (an optimizer or a ``grads`` divided by the batch size) gets its learning
rate divided by the multiple, since this row asks whether training follows the gradient, and
other rows whether the steps and gradients have the declared size. Each step's
forward pass gives the training accuracy before the step; the row passes as soon as it is 100%
within :data:`MAX_STEPS` steps (a correct library needs far fewer) and is ``wrong`` otherwise,
the worst error being ``1 - accuracy``. A small hidden layer and full batches keep a slow but
correct library within the time limit; one still too slow to finish within :data:`BUDGET`
seconds gets ``error`` with its measured step time, not a verdict on its math.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import scipy.special

from verification.conformance import calls, inputs, oracle
from verification.conformance.calls import CheckError
from verification.conformance.numeric import error
from verification.conformance.result import PASS, WRONG, Result
from verification.conformance.target import ACTIVATIONS, EXTRA_ACTIVATIONS, Target

__all__ = ["BUDGET", "HIDDEN", "MAX_STEPS", "overfit", "true_gradient"]

N_IMAGES, HIDDEN, MAX_STEPS = 50, 32, 300
BUDGET = 20.0  # seconds of training, within the runner's per-check limit
ALIGNED = 1e-2  # a first step within this relative error of a multiple of a direction is along it
#: Learning rates per loss (averaged over the batch; MSE with scale 1/2) and hidden activation.
LR = {
    "cross_entropy": {"relu": 0.3, "sigmoid": 2.0, "tanh": 0.3, "leaky_relu": 0.3},
    "mse": {"relu": 0.2, "sigmoid": 0.25, "tanh": 0.1, "leaky_relu": 0.2},
}


def _lr(target: Target, activation: str, loss: str) -> float:
    """The learning rate that takes the same steps under the declared conventions."""
    conventions = target.conventions[loss]
    lr = LR[loss][activation]
    if conventions["reduction"] == "sum":
        lr /= N_IMAGES
    if loss == "mse":
        lr *= 10 if conventions["reduction"] == "mean_all" else 1
        lr *= 0.5 / conventions["scale"]
    return lr


def true_gradient(target: Target, activation: str, loss_piece: str, params: list[dict],
                   x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient of the declared loss at ``params``, backpropagated by hand through the
    oracle's activation, flat in the order ``W1, b1, W2, b2``."""
    conventions = target.conventions[loss_piece]
    (w1, b1), (w2, b2) = ((p["W"], p["b"]) for p in params)
    h = x @ w1 + b1
    a = oracle.layer(activation, h, np.zeros_like(h))["y"]
    fed, _, grad = oracle.loss(loss_piece, conventions, a @ w2 + b2, y)
    if loss_piece == "cross_entropy" and conventions["input"] == "probabilities" and (
            conventions["grad_wrt"] == "input"):
        grad = fed * (grad - np.sum(grad * fed, axis=1, keepdims=True))  # through softmax
    dh = oracle.layer(activation, h, grad @ w2.T)["dx"]
    return np.concatenate([(x.T @ dh).ravel(), dh.sum(axis=0), (a.T @ grad).ravel(),
                           grad.sum(axis=0)])


def _first_step(opt: Any, layers: list[Any], lr: float, true: np.ndarray) -> tuple[float, str]:
    """Take the first step; return its factor along ``-lr * (the declared loss's gradient)``
    when it is a multiple of it, else along ``-lr * grads`` (NaN if neither is measurable),
    and what it was measured along."""
    linears = [layers[0], layers[2]]
    before = [calls.params_of(layer, "params") for layer in linears]
    grads = [calls.params_of(layer) for layer in linears]
    opt.step(layers)
    after = [calls.params_of(layer, "params") for layer in linears]
    pairs = zip(after, before, strict=True)
    taken = np.concatenate([(a[k] - b[k]).ravel() for a, b in pairs for k in a])
    own = np.concatenate([g[k].ravel() for g in grads for k in g])
    c = _factor(taken, -lr * true)
    if math.isfinite(c) and error(taken, -c * lr * true) <= ALIGNED:
        return c, "the loss's gradient"
    return _factor(taken, -lr * own), "its grads"


def _factor(taken: np.ndarray, along: np.ndarray) -> float:
    """The least-squares ``c`` of ``taken = c * along`` (NaN if ``along`` is 0)."""
    norm = float(along @ along)
    return float(taken @ along) / norm if norm > 0 else math.nan


def _data() -> tuple[np.ndarray, np.ndarray]:
    from nplearn.data import load_mnist

    x_all, labels = load_mnist()[:2]
    return x_all[:N_IMAGES].astype(np.float64) / 255, np.asarray(labels[:N_IMAGES])


def overfit(target: Target, piece: str) -> Result:
    """100% training accuracy on 50 MNIST images with the library's own pieces."""
    activation = next(a for a in (*ACTIVATIONS, *EXTRA_ACTIVATIONS) if target.has(a))
    loss_piece = "cross_entropy" if target.has("cross_entropy") else "mse"
    x, labels = _data()
    y = inputs.onehot(labels, 10)
    rng = np.random.default_rng(inputs.SEED)
    params = []
    for fan_in, fan_out in ((784, HIDDEN), (HIDDEN, 10)):
        bound = 1 / math.sqrt(fan_in)
        params.append({"W": rng.uniform(-bound, bound, (fan_in, fan_out)),
                       "b": rng.uniform(-bound, bound, fan_out)})
    conventions = target.conventions[loss_piece]
    probabilities = loss_piece == "cross_entropy" and conventions["input"] == "probabilities"
    inside = probabilities and conventions["grad_wrt"] == "input" and target.has("softmax")
    layers = [calls.part(target, "linear", params[0]), calls.part(target, activation),
              calls.part(target, "linear", params[1])]
    layers += [calls.part(target, "softmax")] if inside else []
    net, loss = target.factories["network"](layers), target.factories[loss_piece]()
    lr = _lr(target, activation, loss_piece)
    opt = target.factories["sgd"](lr)
    setting = (f"{activation}, {loss_piece}, sgd({lr:g}), 784-{HIDDEN}-10, full batches of the "
               f"first {N_IMAGES} MNIST training images")
    accuracy, value, start = 0.0, math.nan, time.perf_counter()
    for step in range(MAX_STEPS):
        out = np.asarray(net.forward(x.copy()), dtype=np.float64)
        accuracy = float(np.mean(out.argmax(axis=1) == labels))
        if accuracy == 1.0:
            return Result(piece, "overfit 50", PASS, 0.0, detail=f"100% after {step} steps")
        fed = scipy.special.softmax(out, axis=1) if probabilities and not inside else out
        value = float(loss(fed, y.copy()))
        if not math.isfinite(value):
            break
        net.backward(np.array(loss.grad))
        if step == 0:
            c, along = _first_step(opt, layers, lr, true_gradient(
                target, activation, loss_piece, params, x, y))
            if math.isfinite(c) and c > 0 and abs(c - 1) > 0.01:
                opt, lr = target.factories["sgd"](lr / c), lr / c
                setting += f"; first step {c:.3g} x lr * {along}, so lr set to {lr:g}"
        else:
            opt.step(layers)
        seconds = time.perf_counter() - start
        if seconds > BUDGET:
            raise CheckError(f"too slow to judge: {seconds / (step + 1):.2g} s per step, "
                             f"{accuracy:.0%} after {step + 1} of up to {MAX_STEPS} steps")
    words = (f"training accuracy {accuracy:.0%} after {step} full-batch steps, "
             f"loss {value:.3g}")
    return Result(piece, "overfit 50", WRONG, 1 - accuracy, words, setting)
