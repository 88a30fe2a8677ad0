"""The run configurations of the MNIST reproduction, and how each one is built.

Contract
--------
A :class:`RunConfig` is plain, frozen data naming everything a training run of the 784-128-10
network needs. :func:`build` turns a config and a seeded ``numpy.random.Generator`` into
``(network, loss, optimizer)``; :func:`lr_at` gives the learning rate of an epoch; :func:`scaled`
changes the epoch count. Nothing here trains or touches data. The named configurations:
:data:`POST_CE` and :data:`POST_MSE`, the post's two scripts hyperparameter for hyperparameter
(the post's ReLU bug is ``verification.post_impl.PostReLU``), and :data:`BEST`, nplearn's best
recipe (ReLU, He init, shuffling, SGD with momentum, cosine decay, all 60k images).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from nplearn import MSE, SGD, CrossEntropyLoss, Linear, Network, ReLU, Sigmoid
from nplearn.functional import Tensor
from nplearn.losses import Loss
from nplearn.optim import Optimizer
from verification.post_impl import PostReLU


@dataclass(frozen=True)
class RunConfig:
    """One training recipe for the 784-128-10 network.

    Attributes:
        key, label: identifier for file names and tables (``"post-ce"``); readable name.
        activation, init: a key of :data:`ACTIVATIONS` (``"post-relu"``: the post's backward);
            ``Linear``'s init (``"randn"``: the post's).
        loss: a key of :data:`LOSSES`: cross-entropy summed (the post's) or mean; MSE per batch
            (the post's) or summed.
        lr, epochs, l2, momentum, weight_decay, batch_size: SGD's settings; ``l2`` is the post's
            rule ``w <- w - lr*g - 2*l2*w``; ``schedule`` ``"constant"`` or ``"cosine"``.
        shuffle, full_train: reshuffle every epoch; train on all 60k images (no validation).
        claim: what the post claims for this recipe, or its target (headline table).
    """

    key: str
    label: str
    activation: str
    loss: str
    init: str
    lr: float
    epochs: int
    l2: float = 0.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "constant"
    shuffle: bool = False
    full_train: bool = False
    batch_size: int = 100
    claim: str = ""


POST_CE = RunConfig(
    "post-ce", "post CE (Sigmoid, randn, SGD 5e-2, L2 1e-4)", "sigmoid", "ce-sum", "randn",
    lr=5e-2, l2=1e-4, epochs=200, claim='"Average Test Accuracy: 0.95"',
)  # fmt: skip
POST_MSE = RunConfig(
    "post-mse", "post MSE (ReLU as the post's, randn, SGD 1e-4)", "post-relu", "mse", "randn",
    lr=1e-4, epochs=100, claim='"performs poorly", "Test Error is 2643.26"',
)  # fmt: skip
BEST = RunConfig(
    "best", "nplearn best (ReLU, He, shuffle, SGD momentum 0.9, cosine, 60k)", "relu", "ce-mean",
    "he", lr=0.1, momentum=0.9, weight_decay=1e-4, schedule="cosine", shuffle=True,
    full_train=True, epochs=20, claim="target >= 0.980",
)  # fmt: skip


class SummedMSE(MSE):
    """The post's MSE summed over the batch (gradient ``p - t``, the CE run's ``p - y`` scale)."""

    reduction = "sum"  # its value is summed over the batch, as CrossEntropyLoss(reduction="sum")

    def _value_and_grad(self, pred: Tensor, true: Tensor) -> tuple[float, Tensor]:
        value, grad = super()._value_and_grad(pred, true)
        grad *= pred.shape[0]
        return value * pred.shape[0], grad


ACTIVATIONS = {"sigmoid": Sigmoid, "relu": ReLU, "post-relu": PostReLU}
LOSSES = {
    "ce-sum": partial(CrossEntropyLoss, reduction="sum"),
    "ce-mean": partial(CrossEntropyLoss, reduction="mean"),
    "mse": MSE,
    "mse-sum": SummedMSE,
}


def build(cfg: RunConfig, rng: np.random.Generator) -> tuple[Network, Loss, Optimizer]:
    """The float32 784-128-10 network, its loss and SGD (at ``lr_at(cfg, 0)``).

    ``rng`` initialises both ``Linear`` layers in the post's order (``W1, b1, W2, b2``).
    """
    first = Linear(784, 128, init=cfg.init, rng=rng)
    net = Network([first, ACTIVATIONS[cfg.activation](), Linear(128, 10, init=cfg.init, rng=rng)])
    optimizer = SGD(cfg.lr, l2=cfg.l2, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    optimizer.lr = lr_at(cfg, 0)
    return net, LOSSES[cfg.loss](), optimizer


def lr_at(cfg: RunConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch``: ``lr``, or ``lr*(1+cos(pi*epoch/epochs))/2`` (cosine)."""
    cosine = cfg.schedule == "cosine"
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * epoch / cfg.epochs)) if cosine else cfg.lr


def scaled(cfg: RunConfig, scale: float = 1.0, cap: int | None = None) -> RunConfig:
    """``cfg`` with ``epochs`` times ``scale`` (at least 1), capped at ``cap``."""
    return replace(cfg, epochs=min(max(1, round(cfg.epochs * scale)), cap or math.inf))
