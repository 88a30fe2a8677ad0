"""nplearn in the post's interface: its own pieces, in float64, under its default conventions.

``SGD.step`` takes anything with ``parameter_groups()``; the protocol passes a list of layers.
"""

import numpy as np

import nplearn

NAME = f"nplearn {nplearn.__version__}"
CONVENTIONS = {
    "cross_entropy": {"input": "logits", "grad_wrt": "input", "reduction": "sum"},
    "mse": {"reduction": "mean", "scale": 0.5},
    "sgd": {"l2_rule": "post"},
}


def linear(W, b):
    layer = nplearn.Linear(*W.shape, dtype=np.float64)
    layer.W, layer.b = W, b
    return layer


relu, sigmoid, tanh, softmax = nplearn.ReLU, nplearn.Sigmoid, nplearn.Tanh, nplearn.Softmax
mse, cross_entropy, network = nplearn.MSE, nplearn.CrossEntropyLoss, nplearn.Network


class _Layers:
    """The protocol's list of layers as the parameter groups nplearn's optimizers update."""

    def __init__(self, layers):
        self.groups = [(l.params[k], l.grads[k]) for l in layers for k in l.params]  # noqa: E741

    def parameter_groups(self):
        return self.groups


class sgd(nplearn.SGD):
    def step(self, layers):
        super().step(_Layers(layers))
