"""Overfit-50, the post's own sanity test, through the library's own pieces, kept cheap.

Contract
--------
The first 50 images of the real MNIST training set (``nplearn.data.load_mnist``, data folder
from ``NPLEARN_DATA_DIR``), scaled to [0, 1], float64; a 784-:data:`HIDDEN`-10 network of the
library's ``linear``, its first activation of ReLU, sigmoid, tanh, and ``network``; its
cross-entropy (else MSE) and ``sgd``; weights drawn as PyTorch's default init from a fixed seed.
Training is full-batch gradient descent (all 50 images per step) at a learning rate fixed per
loss and activation and scaled by the declared conventions, so that every convention takes the
same steps. The first step is measured along ``-lr * grads``: an optimizer whose steps are a
positive multiple of that (e.g. one that divides the gradient by the batch size) gets its
learning rate divided by the multiple, since this row asks whether training follows the
library's own gradient and the SGD row whether the step has the declared size. Each step's
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

from verification.conformance import calls, inputs
from verification.conformance.calls import CheckError
from verification.conformance.result import PASS, WRONG, Result
from verification.conformance.target import ACTIVATIONS, Target

__all__ = ["BUDGET", "HIDDEN", "MAX_STEPS", "overfit"]

N_IMAGES, HIDDEN, MAX_STEPS = 50, 32, 300
BUDGET = 20.0  # seconds of training, within the runner's per-check limit
#: Learning rates per loss (averaged over the batch; MSE with scale 1/2) and hidden activation.
LR = {
    "cross_entropy": {"relu": 0.3, "sigmoid": 2.0, "tanh": 0.3},
    "mse": {"relu": 0.2, "sigmoid": 0.25, "tanh": 0.1},
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


def _step_scale(opt: Any, layers: list[Any], linears: list[Any], lr: float) -> float:
    """Take the first step and return its size along ``-lr * grads`` (a least-squares factor;
    1 for the declared rule at l2 = 0, NaN for no gradient)."""
    before = [calls.params_of(layer, "params") for layer in linears]
    grads = [calls.params_of(layer) for layer in linears]
    opt.step(layers)
    after = [calls.params_of(layer, "params") for layer in linears]
    pairs = zip(after, before, strict=True)
    taken = np.concatenate([(a[k] - b[k]).ravel() for a, b in pairs for k in a])
    along = np.concatenate([-lr * g[k].ravel() for g in grads for k in g])
    norm = float(along @ along)
    return float(taken @ along) / norm if norm > 0 else math.nan


def _data() -> tuple[np.ndarray, np.ndarray]:
    from nplearn.data import load_mnist

    x_all, labels = load_mnist()[:2]
    return x_all[:N_IMAGES].astype(np.float64) / 255, np.asarray(labels[:N_IMAGES])


def overfit(target: Target, piece: str) -> Result:
    """100% training accuracy on 50 MNIST images with the library's own pieces."""
    activation = next(a for a in ACTIVATIONS if target.has(a))
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
    layers = [calls.layer(target, "linear", params[0]), calls.layer(target, activation),
              calls.layer(target, "linear", params[1])]
    layers += [calls.layer(target, "softmax")] if inside else []
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
            c = _step_scale(opt, layers, [layers[0], layers[2]], lr)
            if math.isfinite(c) and c > 0 and abs(c - 1) > 0.01:
                opt, lr = target.factories["sgd"](lr / c), lr / c
                setting += f"; its steps measured at {c:.3g} x lr*grad, so lr set to {lr:g}"
        else:
            opt.step(layers)
        seconds = time.perf_counter() - start
        if seconds > BUDGET:
            raise CheckError(f"too slow to judge: {seconds / (step + 1):.2g} s per step, "
                             f"{accuracy:.0%} after {step + 1} of up to {MAX_STEPS} steps")
    words = (f"training accuracy {accuracy:.0%} after {step} full-batch steps, "
             f"loss {value:.3g}")
    return Result(piece, "overfit 50", WRONG, 1 - accuracy, words, setting)
