"""nplearn: the seed's "NumPy-Learn" library, made correct and fast.

A small PyTorch-like multilayer perceptron library in pure NumPy/SciPy::

    from nplearn import Linear, ReLU, Network, CrossEntropyLoss, SGD
    net = Network([Linear(784, 128), ReLU(), Linear(128, 10)])
    loss, optim = CrossEntropyLoss(), SGD(5e-2)
    value = loss(net(x), y)        # float; loss.grad = dL/dlogits
    net.backward(loss.grad)
    optim.step(net)

Modules, one idea each: ``functional`` (math), ``layers``, ``losses``,
``network``, ``optim``; around them ``training`` (fit/evaluate), ``data``
(MNIST IDX/CSV loading), ``gradcheck`` (numerical gradient checks) and
``provenance`` (run metadata for reports). The heavier ``training``,
``gradcheck`` and ``data`` names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from nplearn.functional import (
    Tensor,
    log_softmax,
    relu,
    sigmoid,
    sigmoid_prime,
    softmax,
    to_one_hot,
)
from nplearn.layers import Layer, Linear, ReLU, Sigmoid
from nplearn.losses import MSE, CrossEntropyLoss, Loss
from nplearn.network import Network
from nplearn.optim import SGD, Adam, Optimizer

__version__ = "0.1.0"

_LAZY = {
    "fit": "nplearn.training",
    "evaluate": "nplearn.training",
    "predict": "nplearn.training",
    "train_step": "nplearn.training",
    "History": "nplearn.training",
    "gradcheck": "nplearn.gradcheck",
    "load_mnist": "nplearn.data",
    "DataError": "nplearn.data",
}

__all__ = [
    "MSE",
    "SGD",
    "Adam",
    "CrossEntropyLoss",
    "Layer",
    "Linear",
    "Loss",
    "Network",
    "Optimizer",
    "ReLU",
    "Sigmoid",
    "Tensor",
    "log_softmax",
    "relu",
    "sigmoid",
    "sigmoid_prime",
    "softmax",
    "to_one_hot",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nplearn' has no attribute {name!r}")
