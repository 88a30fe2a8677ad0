"""The run configurations of the MNIST reproduction, and how each one is built.

Contract
--------
A :class:`RunConfig` is plain, frozen data naming everything a training run
needs: architecture (always 784-128-10), hidden activation, loss, weight
initialisation, SGD's hyperparameters, learning-rate schedule,
batch size, epochs, shuffling and which training set (the post's 48k split or
all 60k images). :func:`build` turns a config and a seeded
``numpy.random.Generator`` into ``(network, loss, optimizer)``; :func:`lr_at`
gives the learning rate of an epoch. Nothing here trains or touches data.

The named configurations:

- :data:`POST_CE`, :data:`POST_MSE`: the post's two scripts, hyperparameter
  for hyperparameter (see ``postfaithful`` for the post's ReLU bug and its
  evaluation quirks).
- :data:`BEST`: nplearn's best 784-128-10 recipe (ReLU, He init, shuffling,
  SGD with momentum, cosine learning-rate decay, trained on all 60k images).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from nplearn import MSE, SGD, CrossEntropyLoss, Linear, Network, ReLU, Sigmoid
from nplearn.functional import Tensor
from nplearn.layers import Layer
from nplearn.losses import Loss
from nplearn.optim import Optimizer
from verification.post_impl import PostReLU

__all__ = ["BEST", "POST_CE", "POST_MSE", "RunConfig", "SummedMSE", "build", "lr_at", "scaled"]

HIDDEN = 128
INPUTS, CLASSES = 784, 10


@dataclass(frozen=True)
class RunConfig:
    """One training recipe for the 784-128-10 network.

    Attributes:
        key: short identifier used in file names and tables (``"post-ce"``).
        label: human-readable name for tables and plots.
        activation: ``"sigmoid"``, ``"relu"`` or ``"post-relu"`` (the post's
            wrong ReLU backward, for reproduction only).
        loss: ``"ce-sum"`` (the post's ``p - y`` gradient), ``"ce-mean"``
            (PyTorch's), ``"mse"`` (the post's, gradient ``/batch``) or
            ``"mse-sum"`` (the same gradient not divided by the batch).
        init: ``Linear`` init: ``"randn"`` (the post's), ``"he"``, ``"pytorch"``.
        lr: (initial) learning rate.
        epochs: number of epochs.
        l2: the post's L2 rule ``w <- w - lr*g - 2*l2*w``.
        momentum: SGD heavy-ball momentum.
        weight_decay: coupled weight decay.
        schedule: ``"constant"`` or ``"cosine"`` (per-epoch cosine decay to 0).
        shuffle: reshuffle the training set every epoch (seeded generator).
        full_train: train on all 60k training images instead of the post's
            48k split (no validation set then).
        batch_size: samples per step.
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
    key="post-ce",
    label="post CE (Sigmoid, randn, SGD 5e-2, L2 1e-4)",
    activation="sigmoid",
    loss="ce-sum",
    init="randn",
    lr=5e-2,
    l2=1e-4,
    epochs=200,
    claim='"Average Test Accuracy: 0.95"',
)

POST_MSE = RunConfig(
    key="post-mse",
    label="post MSE (ReLU as the post's, randn, SGD 1e-4)",
    activation="post-relu",
    loss="mse",
    init="randn",
    lr=1e-4,
    epochs=100,
    claim='"performs poorly", "Test Error is 2643.26"',
)

BEST = RunConfig(
    key="best",
    label="nplearn best (ReLU, He, shuffle, SGD momentum 0.9, cosine, 60k)",
    activation="relu",
    loss="ce-mean",
    init="he",
    lr=0.1,
    momentum=0.9,
    weight_decay=1e-4,
    schedule="cosine",
    shuffle=True,
    full_train=True,
    epochs=20,
    claim="target >= 0.980",
)


class SummedMSE(MSE):
    r"""The post's MSE with its gradient summed over the batch, not averaged.

    :math:`L = \frac12\|p - t\|^2` (no ``1/batch``), gradient :math:`p - t`:
    the same per-sample scale as the post's cross-entropy gradient ``p - y``.
    Used only by the ablation ("gradient scale" factor).
    """

    reduction = "sum"  # its value is summed over the batch, as CrossEntropyLoss(reduction="sum")

    def _value_and_grad(self, pred: Tensor, true: Tensor) -> tuple[float, Tensor]:
        value, grad = super()._value_and_grad(pred, true)
        batch = pred.shape[0]
        grad *= batch
        return value * batch, grad

    def __repr__(self) -> str:
        return "SummedMSE()"


def _activation(name: str) -> Layer:
    layers: dict[str, type[Layer]] = {"sigmoid": Sigmoid, "relu": ReLU, "post-relu": PostReLU}
    if name not in layers:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(layers)}")
    return layers[name]()


def _loss(name: str) -> Loss:
    losses = {
        "ce-sum": lambda: CrossEntropyLoss(reduction="sum"),
        "ce-mean": lambda: CrossEntropyLoss(reduction="mean"),
        "mse": MSE,
        "mse-sum": SummedMSE,
    }
    if name not in losses:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(losses)}")
    return losses[name]()


def build(cfg: RunConfig, rng: np.random.Generator) -> tuple[Network, Loss, Optimizer]:
    """Build the float32 784-128-10 network, its loss and optimiser.

    Args:
        cfg: the recipe.
        rng: initialises both ``Linear`` layers, in the post's order
            (``W1``, ``b1``, ``W2``, ``b2``).

    Returns:
        ``(network, loss, optimizer)``; the optimiser starts at ``lr_at(cfg, 0)``.
    """
    net = Network(
        [
            Linear(INPUTS, HIDDEN, init=cfg.init, rng=rng),
            _activation(cfg.activation),
            Linear(HIDDEN, CLASSES, init=cfg.init, rng=rng),
        ]
    )
    optimizer = SGD(cfg.lr, l2=cfg.l2, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    optimizer.lr = lr_at(cfg, 0)
    return net, _loss(cfg.loss), optimizer


def lr_at(cfg: RunConfig, epoch: int) -> float:
    """Learning rate of 0-based ``epoch`` under ``cfg.schedule``.

    ``"cosine"``: ``lr * (1 + cos(pi * epoch / epochs)) / 2``, so the first
    epoch uses ``lr`` and the last one a small positive rate.
    """
    if cfg.schedule == "constant":
        return cfg.lr
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * epoch / cfg.epochs))
    raise ValueError(f"unknown schedule {cfg.schedule!r}; choose 'constant' or 'cosine'")


def scaled(cfg: RunConfig, scale: float = 1.0, cap: int | None = None) -> RunConfig:
    """``cfg`` with ``epochs`` multiplied by ``scale`` (at least 1), then capped at ``cap``.

    Used by the quick mode and by reduced development runs; the schedule
    follows the new epoch count.
    """
    epochs = max(1, round(cfg.epochs * scale))
    if cap is not None:
        epochs = min(epochs, cap)
    return replace(cfg, epochs=epochs)
