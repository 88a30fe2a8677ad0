"""nplearn: the post's "NumPy-Learn" library, made correct and fast.

A small PyTorch-like multilayer perceptron library in pure NumPy/SciPy::

    from nplearn import Linear, ReLU, Network, CrossEntropyLoss, SGD
    net = Network([Linear(784, 128), ReLU(), Linear(128, 10)])
    loss, optim = CrossEntropyLoss(), SGD(5e-2)
    value = loss(net(x), y)        # float; loss.grad = dL/dlogits
    net.backward(loss.grad)
    optim.step(net)

Modules, one idea each: ``functional`` (math), ``layers``, ``softmax_layer``, ``losses``,
``network``, ``optim``; beyond the post ``leaky_relu``, ``dropout``, ``batchnorm``, ``conv``,
``pooling``, ``flatten``, ``bce`` and ``optim_adaptive``; around them ``training``
(fit/evaluate), ``data`` (MNIST IDX/CSV loading) and ``checks`` (numerical gradient checks, whose
:func:`gradcheck` is exported here). The ``training`` and ``data`` names are
imported on first use, so that ``import nplearn`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from nplearn.batchnorm import BatchNorm1d
from nplearn.bce import BCELoss, BCEWithLogitsLoss
from nplearn.checks import GradcheckError, gradcheck
from nplearn.conv import Conv2d
from nplearn.dropout import Dropout
from nplearn.flatten import Flatten
from nplearn.functional import Tensor, log_softmax, relu, sigmoid, softmax, to_one_hot
from nplearn.layers import Activation, Layer, Linear, ReLU, Sigmoid, Tanh
from nplearn.leaky_relu import LeakyReLU
from nplearn.losses import MSE, CrossEntropyLoss, Loss
from nplearn.network import Network
from nplearn.optim import SGD, Adam, Optimizer
from nplearn.optim_adaptive import Adagrad, RMSprop
from nplearn.pooling import AvgPool2d, MaxPool2d
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
    "Adagrad",
    "Adam",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "GradcheckError",
    "Layer",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MaxPool2d",
    "Network",
    "Optimizer",
    "RMSprop",
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
