"""nplearn in the post's interface: its own pieces, in float64, under its default conventions.

``SGD.step`` and the other optimizers take anything with ``parameter_groups()``; the protocol
passes a list of layers. nplearn's BCELoss averages over every element, as PyTorch's, which the
protocol calls ``"mean_all"``.
"""

import numpy as np

import nplearn

NAME = f"nplearn {nplearn.__version__}"
CONVENTIONS = {
    "cross_entropy": {"input": "logits", "grad_wrt": "input", "reduction": "sum"},
    "mse": {"reduction": "mean", "scale": 0.5},
    "sgd": {"l2_rule": "post"},
    "bce": {"input": "probabilities", "reduction": "mean_all"},
}
F64 = np.float64


def linear(W, b):
    layer = nplearn.Linear(*W.shape, dtype=F64)
    layer.W, layer.b = W, b
    return layer


def conv2d(W, b, stride, padding):
    out_channels, in_channels, kh, kw = W.shape
    layer = nplearn.Conv2d(in_channels, out_channels, (kh, kw), stride, padding, dtype=F64)
    layer.params["W"][...], layer.params["b"][...] = W, b
    return layer


def batchnorm(n, eps, momentum):
    return nplearn.BatchNorm1d(n, eps, momentum, dtype=F64)


def dropout(p):
    return nplearn.Dropout(p, np.random.default_rng(0))


relu, sigmoid, tanh, softmax = nplearn.ReLU, nplearn.Sigmoid, nplearn.Tanh, nplearn.Softmax
leaky_relu, flatten = nplearn.LeakyReLU, nplearn.Flatten
maxpool2d, avgpool2d = nplearn.MaxPool2d, nplearn.AvgPool2d
mse, cross_entropy, bce = nplearn.MSE, nplearn.CrossEntropyLoss, nplearn.BCELoss
network = nplearn.Network


class _Layers:
    """The protocol's list of layers as the parameter groups nplearn's optimizers update."""

    def __init__(self, layers):
        self.groups = [(l.params[k], l.grads[k]) for l in layers for k in l.params]  # noqa: E741

    def parameter_groups(self):
        return self.groups


def _on_layers(cls):
    """``cls`` with a ``step(layers)`` that takes the protocol's list of layers."""

    def step(self, layers):
        cls.step(self, _Layers(layers))

    return type(cls.__name__, (cls,), {"step": step})


sgd, _Adam, _RMSprop, _Adagrad = map(
    _on_layers, (nplearn.SGD, nplearn.Adam, nplearn.RMSprop, nplearn.Adagrad)
)


def momentum(lr, mu, nesterov=False):
    return sgd(lr, momentum=mu, nesterov=nesterov)


def adam(lr, beta1, beta2, eps):
    return _Adam(lr, (beta1, beta2), eps)


def rmsprop(lr, alpha, eps):
    return _RMSprop(lr, alpha, eps)


def adagrad(lr, eps):
    return _Adagrad(lr, eps)
