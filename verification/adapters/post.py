"""The post's library (``verification/post_impl.py``, verbatim) in the post's interface.

Its linear layer keeps ``W``, ``b`` and its gradients ``dydw``, ``dydb`` as attributes, exposed
here as the protocol's ``params`` and ``grads``; its ``SGD.step`` takes a network (anything with
``layers``). Softmax is a function there, not a layer, and the post has no MSE class in this
code: neither factory is defined. Its cross-entropy takes logits; its gradient ``p - y`` is the
summed loss's, which is what it declares (its loss value is averaged over batch x classes).
"""

from types import SimpleNamespace

import numpy as np

from verification import post_impl as post

NAME = "the post's NumPy-Learn (verification/post_impl.py)"
CONVENTIONS = {
    "cross_entropy": {"input": "logits", "grad_wrt": "input", "reduction": "sum"},
    "sgd": {"l2_rule": "post"},
}


class _Linear(post.Linear):
    params = property(lambda self: {"W": self.W, "b": self.b})
    grads = property(lambda self: {"W": self.dydw, "b": self.dydb})


def linear(W, b):
    layer = _Linear(*W.shape)
    layer.W, layer.b = np.array(W), np.array(b)
    return layer


relu, sigmoid = post.ReLU, post.Sigmoid
cross_entropy, network = post.CrossEntropyLoss, post.Network


class sgd(post.SGD):
    def step(self, layers):
        super().step(SimpleNamespace(layers=layers))
