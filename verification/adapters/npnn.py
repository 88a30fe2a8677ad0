"""npnn in the conformance protocol of ``verification.card``.

Contract: every piece below runs npnn's own code; this file only converts layouts and calling
conventions, never the math. npnn is an autograd library: a batch is a ``(batch, n, 1)`` stack
of column vectors, ``Linear`` holds ``A`` ``(1, out, in)`` and ``b`` ``(1, out, 1)`` and computes
``A @ x + b``, and ``backward()`` starts from a ``(batch, 1, 1)`` loss, adding each sample's
gradient into the leaves' ``grad``. It has no sigmoid, no tanh and no mean squared error (its
``Norm`` is the unsquared 2-norm), so those factories are absent.

- ``cross_entropy``: ``NLL(LogSoftmax(z), y)``, the pair npnn's own training script uses, per
  sample; the value is the sum over the batch, whose gradient npnn's backward computes.
- ``sgd``: npnn's ``SGD`` with ``weight_decay`` (PyTorch's rule); its step divides each
  parameter's accumulated gradient by the number of samples backpropagated into it.
- ``momentum``: npnn's ``SGD`` with ``momentum`` and ``nesterov``: PyTorch's form (the buffer
  starts at the first gradient, Nesterov steps by ``g + mu buf``).
- ``adam``: npnn's ``Adam`` (``betas``; eps added outside the square root).
- Every optimizer keeps npnn's state on its parameters (``b``, ``m``, ``v``) and its step
  counter in the optimizer, so one npnn optimizer serves every step over the same layers; like
  npnn's own, it divides each accumulated gradient by its sample count.
- npnn has no RMSprop, Adagrad, dropout, batch norm, BCE, leaky ReLU or convolution; its
  ``Flatten`` turns one sample's matrix into a column and has no image layout, so none of
  those factories is defined.
- ``network``: npnn's ``Sequential`` over the layers' npnn modules and operations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import numpy as np

# npnn logs a warning at import when cupy is missing; adapters must not print.
logging.getLogger("npnn.base").setLevel(logging.ERROR)

import npnn.functional as F  # noqa: E402
from npnn import (  # noqa: E402
    Tensor,
    nn,
    optim,
)

NAME = f"npnn {version('npnn')}"

CONVENTIONS = {
    "cross_entropy": {"input": "logits", "grad_wrt": "input", "reduction": "sum"},
    "sgd": {"l2_rule": "weight_decay"},
    "momentum": {"form": "pytorch"},
    "adam": {"eps": "outside_sqrt"},
}


def _columns(x: np.ndarray) -> Tensor:
    """A ``(batch, n)`` array as npnn's ``(batch, n, 1)`` stack of column vectors (a view)."""
    return Tensor(np.asarray(x)[:, :, None])


def _leaf_grads(scalar: Callable[[Tensor, int], Tensor], x: np.ndarray) -> np.ndarray:
    """``d scalar(x[i], i) / d x[i]`` for every row, one npnn graph per sample.

    npnn differentiates only with respect to leaves of batch size 1 (a leaf with
    ``requires_grad`` must have batch 1), so a gradient with respect to a batch of inputs is
    one backward per sample; parameters accumulate over them as over a batch.
    """
    out = np.empty(np.shape(x))
    for i in range(len(x)):
        leaf = Tensor(np.array(x[i], dtype=np.float64)[None, :, None], requires_grad=True)
        scalar(leaf, i).backward()
        out[i] = leaf.grad[0, :, 0]
    return out


class _Layer:
    """A layer over an npnn callable (module or operation) on column vectors."""

    def __init__(self, lib: Callable[[Tensor], Tensor]) -> None:
        self.lib = lib

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return self.lib(_columns(x)).data[:, :, 0]

    def backward(self, grad: np.ndarray) -> np.ndarray:
        # npnn backpropagates only from a scalar per sample: NLL(y, -grad) = sum(y * grad) is
        # one, so its gradient with respect to the input is dL/dx for the upstream ``grad``.
        return _leaf_grads(lambda leaf, i: F.NLL()(self.lib(leaf), _columns(-grad[i : i + 1])),
                           self.x)


class _Linear(_Layer):
    """npnn's ``Linear``; ``params``/``grads`` are transposed views of its ``A`` and ``b``."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        super().__init__(nn.Linear(*W.shape))
        self.lib.A.data[0] = W.T  # npnn computes A @ x, so A is W transposed
        self.lib.b.data[0, :, 0] = b
        self.params = {"W": self.lib.A.data[0].T, "b": self.lib.b.data[0, :, 0]}
        self.grads = {"W": self.lib.A.grad[0].T, "b": self.lib.b.grad[0, :, 0]}

    def zero_grad(self) -> None:
        # npnn adds every backward into ``grad`` until the optimizer's zero_grad (which would
        # replace the arrays); the protocol's ``grads`` hold the last backward's gradients.
        for p in self.lib.parameters():
            p.grad[...] = 0.0
            p.back_counter = 0

    def backward(self, grad: np.ndarray) -> np.ndarray:
        self.zero_grad()
        return super().backward(grad)


def linear(W: np.ndarray, b: np.ndarray) -> _Linear:
    """npnn's ``Linear`` with exactly ``W`` (in, out) and ``b`` (out,)."""
    return _Linear(W, b)


def relu() -> _Layer:
    return _Layer(F.ReLU())


def softmax() -> _Layer:
    return _Layer(F.Softmax())


class _CrossEntropy:
    """``NLL(LogSoftmax(logits), onehot)``: value summed over the batch, ``grad`` d/dlogits."""

    def __call__(self, logits: np.ndarray, onehot: np.ndarray) -> float:
        def per_sample(leaf: Tensor, i: int) -> Tensor:
            return F.NLL()(F.LogSoftmax()(leaf), _columns(onehot[i : i + 1]))

        self.grad = _leaf_grads(per_sample, logits)
        return float(F.NLL()(F.LogSoftmax()(_columns(logits)), _columns(onehot)).data.sum())


def cross_entropy() -> _CrossEntropy:
    return _CrossEntropy()


class _Optimizer:
    """An npnn optimizer over the linear layers' parameters, built at the first step."""

    def __init__(self, make: Callable[[list[Tensor]], Any]) -> None:
        self.make, self.lib, self.params = make, None, []

    def step(self, layers: list[Any]) -> None:
        linears = [layer.lib for layer in layers if isinstance(layer, _Linear)]
        params = [p for lib in linears for p in lib.parameters()]
        if self.lib is None or list(map(id, params)) != list(map(id, self.params)):
            self.lib, self.params = self.make(params), params
        kept = [p.data for p in params]
        self.lib.step()
        for p, array in zip(params, kept, strict=True):
            # npnn's step assigns new arrays; writing them back keeps ``params`` views valid.
            array[...] = p.data
            p.data = array


def sgd(lr: float, l2: float = 0.0) -> _Optimizer:
    return _Optimizer(lambda params: optim.SGD(params, lr=lr, weight_decay=l2))


def momentum(lr: float, mu: float, nesterov: bool = False) -> _Optimizer:
    return _Optimizer(lambda params: optim.SGD(params, lr=lr, momentum=mu, nesterov=nesterov))


def adam(lr: float, beta1: float, beta2: float, eps: float) -> _Optimizer:
    return _Optimizer(lambda params: optim.Adam(params, lr=lr, betas=[beta1, beta2], eps=eps))


class _Network(_Layer):
    """npnn's ``Sequential`` over the npnn modules and operations of ``layers``."""

    def __init__(self, layers: list[_Layer]) -> None:
        super().__init__(nn.Sequential(*(layer.lib for layer in layers)))
        self.layers = layers

    def backward(self, grad: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            if isinstance(layer, _Linear):
                layer.zero_grad()
        return super().backward(grad)


def network(layers: list[_Layer]) -> _Network:
    return _Network(layers)
