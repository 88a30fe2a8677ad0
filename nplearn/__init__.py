"""nplearn: the post's "NumPy-Learn" library, made correct and fast.

A small PyTorch-like multilayer perceptron library in pure NumPy/SciPy::

    from nplearn import Linear, ReLU, Network, CrossEntropyLoss, SGD
    net = Network([Linear(784, 128), ReLU(), Linear(128, 10)])
    loss, optim = CrossEntropyLoss(), SGD(5e-2)
    value = loss(net(x), y)        # float; loss.grad = dL/dlogits
    net.backward(loss.grad)
    optim.step(net)

Modules, one idea each: ``functional`` (math), ``layers``, ``softmax_layer``, ``losses``,
``network``, ``optim``; around them ``training`` (fit/evaluate), ``data``
(MNIST IDX/CSV loading) and ``checks`` (numerical gradient checks, whose
:func:`gradcheck` is exported here). The ``training`` and ``data`` names are
imported on first use, so that ``import nplearn`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from nplearn.checks import GradcheckError, gradcheck
from nplearn.functional import Tensor, log_softmax, relu, sigmoid, softmax, to_one_hot
from nplearn.layers import Activation, Layer, Linear, ReLU, Sigmoid, Tanh
from nplearn.losses import MSE, CrossEntropyLoss, Loss
from nplearn.network import Network
from nplearn.optim import SGD, Adam, Optimizer
from nplearn.softmax_layer import Softmax

__version__ = "0.1.0"

_LAZY = {
    "fit": "nplearn.training",
    "evaluate": "nplearn.training",
    "predict": "nplearn.training",
    "train_step": "nplearn.training",
    "History": "nplearn.training",
    "load_mnist": "nplearn.data",
    "DataError": "nplearn.data",
    "show_config": "nplearn.doctor",
}

__all__ = [
    "MSE",
    "SGD",
    "Activation",
    "Adam",
    "CrossEntropyLoss",
    "GradcheckError",
    "Layer",
    "Linear",
    "Loss",
    "Network",
    "Optimizer",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Tensor",
    "gradcheck",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "to_one_hot",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nplearn' has no attribute {name!r}")
