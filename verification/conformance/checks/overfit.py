"""Overfit-50, the post's own sanity test, through the library's own pieces.

Contract
--------
The first 50 images of the real MNIST training set (``nplearn.data.load_mnist``, data folder
from ``NPLEARN_DATA_DIR``), scaled to [0, 1], float64; a 784-128-10 network of the library's
``linear``, its first activation of ReLU, sigmoid, tanh, and ``network``; its cross-entropy (else
MSE) and ``sgd``; weights drawn as PyTorch's default init from a fixed seed; mini-batches of 10 in
order. The learning rate is fixed per activation and scaled by the declared conventions, so that
every convention takes the same steps. The row passes when the training accuracy reaches 100%
within :data:`EPOCHS` epochs; the worst error is ``1 - accuracy``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special

from verification.conformance import calls, inputs
from verification.conformance.result import PASS, WRONG, Result
from verification.conformance.target import ACTIVATIONS, Target

__all__ = ["EPOCHS", "overfit"]

N_IMAGES, BATCH, EPOCHS = 50, 10, 150
#: Learning rates for a loss averaged over the batch, per hidden activation.
LR = {"relu": 0.1, "sigmoid": 0.5, "tanh": 0.1}


def _lr(target: Target, activation: str, loss: str) -> float:
    """The learning rate that takes the same steps under the declared conventions."""
    conventions = target.conventions[loss]
    lr = LR[activation]
    if conventions["reduction"] == "sum":
        lr /= BATCH
    if loss == "mse":
        lr *= 10 if conventions["reduction"] == "mean_all" else 1
        lr *= 0.5 / conventions["scale"]
    return lr


def overfit(target: Target, piece: str) -> Result:
    """100% training accuracy on 50 MNIST images with the library's own pieces."""
    from nplearn.data import load_mnist

    activation = next(a for a in ACTIVATIONS if target.has(a))
    loss_piece = "cross_entropy" if target.has("cross_entropy") else "mse"
    x_all, labels = load_mnist()[:2]
    x, labels = x_all[:N_IMAGES].astype(np.float64) / 255, labels[:N_IMAGES]
    y = inputs.onehot(labels, 10)
    rng = np.random.default_rng(inputs.SEED)
    params = []
    for fan_in, fan_out in ((784, 128), (128, 10)):
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
    setting = (f"{activation}, {loss_piece}, sgd({lr:g}), batches of {BATCH}, "
               f"first {N_IMAGES} MNIST training images")
    accuracy, value = 0.0, math.nan
    for epoch in range(1, EPOCHS + 1):
        for start in range(0, N_IMAGES, BATCH):
            out = np.asarray(net.forward(x[start:start + BATCH].copy()), dtype=np.float64)
            fed = scipy.special.softmax(out, axis=1) if probabilities and not inside else out
            value = float(loss(fed, y[start:start + BATCH].copy()))
            net.backward(np.array(loss.grad))
            opt.step(layers)
        scores = np.asarray(net.forward(x.copy()))
        accuracy = float(np.mean(scores.argmax(axis=1) == labels))
        if accuracy == 1.0:
            return Result(piece, "overfit 50", PASS, 0.0, detail=f"100% at epoch {epoch}")
        if not math.isfinite(value):
            break
    words = f"training accuracy {accuracy:.0%} after {epoch} epochs, last batch loss {value:.3g}"
    return Result(piece, "overfit 50", WRONG, 1 - accuracy, words, setting)
