"""numpy-ml (``numpy_ml.neural_nets``) in the conformance protocol of ``verification.card``.

Contract: every piece below runs numpy-ml's own code; this file only converts layouts and
calling conventions, never the math. numpy-ml has no generic network class (its models chain
their layers by hand), so there is no ``network`` factory.

- ``linear``: ``FullyConnected`` with the identity activation; its bias is stored ``(1, out)``.
- ``relu``, ``sigmoid``, ``tanh``: numpy-ml's element-wise activations inside its ``Add``
  layer, the one layer that applies an activation to a single input and backpropagates it.
- ``softmax``: its ``Softmax`` layer (last axis).
- ``mse``: ``SquaredError``, ``0.5 * ||pred - true||^2`` summed over the batch.
- ``cross_entropy``: ``CrossEntropy`` takes probabilities and returns the gradient with
  respect to the softmax's input (logits), summed over the batch.
- ``sgd``: its ``SGD`` optimizer, which has no L2 term.
"""

from __future__ import annotations

import collections
import collections.abc
import warnings
from importlib.metadata import version
from typing import Any

import numpy as np

# numpy-ml 0.1.2 imports ``collections.Hashable``, which Python 3.10 removed (it lives in
# ``collections.abc``); without this alias the package cannot be imported at all.
if not hasattr(collections, "Hashable"):
    collections.Hashable = collections.abc.Hashable  # type: ignore[attr-defined]

with warnings.catch_warnings():
    # Importing the package warns that its reinforcement-learning part has no ``gym``.
    warnings.simplefilter("ignore")
    from numpy_ml.neural_nets import activations, layers, losses, optimizers

NAME = f"numpy-ml {version('numpy-ml')}"

CONVENTIONS = {
    "cross_entropy": {"input": "probabilities", "grad_wrt": "logits", "reduction": "sum"},
    "mse": {"reduction": "sum", "scale": 0.5},
    "sgd": {"l2_rule": "none"},
}


class _Layer:
    """A numpy-ml layer that remembers only its last input.

    numpy-ml layers append every forward input to ``layer.X`` and pair the upstream gradients
    of ``backward`` with those inputs from the first one on, so a second forward would make
    ``backward`` use the first input (and return a list). The protocol's forward replaces the
    previous one, so the retained inputs are cleared first.
    """

    def __init__(self, lib: Any) -> None:
        self.lib = lib

    def _forget(self) -> None:
        self.lib.X.clear()
        for retained in self.lib.derived_variables.values():
            retained.clear()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._forget()
        return self.lib.forward(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return self.lib.backward(grad)


class _Linear(_Layer):
    """``FullyConnected`` with ``params``/``grads`` as views of numpy-ml's own arrays."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        super().__init__(layers.FullyConnected(W.shape[1], act_fn=None))
        self.lib.n_in = W.shape[0]
        self.lib._init_params()  # sizes its arrays without a forward pass
        self.lib.parameters["W"][...] = W
        self.lib.parameters["b"][...] = b  # numpy-ml stores the bias as (1, out)
        self.params = {"W": self.lib.parameters["W"], "b": self.lib.parameters["b"].reshape(-1)}
        self.grads = {"W": self.lib.gradients["W"], "b": self.lib.gradients["b"].reshape(-1)}

    def backward(self, grad: np.ndarray) -> np.ndarray:
        # numpy-ml adds every backward's gradients to the previous ones until its update()
        # flushes them; the protocol's ``grads`` hold the last backward's gradients.
        for g in self.lib.gradients.values():
            g[...] = 0.0
        return self.lib.backward(grad)


class _Activation(_Layer):
    """numpy-ml's ``Add`` layer over one input: ``act(x)``, backward ``grad * act.grad(x)``."""

    def __init__(self, act_fn: Any) -> None:
        super().__init__(layers.Add(act_fn=act_fn))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._forget()
        return self.lib.forward([x])  # Add takes the list of its inputs

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return self.lib.backward(grad)[0]  # one gradient per input


def linear(W: np.ndarray, b: np.ndarray) -> _Linear:
    """A ``FullyConnected`` layer with exactly ``W`` (in, out) and ``b`` (out,)."""
    return _Linear(W, b)


def relu() -> _Activation:
    return _Activation(activations.ReLU())


def sigmoid() -> _Activation:
    return _Activation(activations.Sigmoid())


def tanh() -> _Activation:
    return _Activation(activations.Tanh())


def softmax() -> _Layer:
    return _Layer(layers.Softmax(dim=-1))


class _Loss:
    """``loss(pred, onehot) -> float`` and ``loss.grad``; numpy-ml takes ``(y, y_pred)``."""

    def __init__(self, value: Any, grad: Any) -> None:
        self._value, self._grad = value, grad
        self.grad: np.ndarray | None = None

    def __call__(self, pred: np.ndarray, onehot: np.ndarray) -> float:
        self.grad = self._grad(onehot, pred)
        return float(self._value(onehot, pred))


def mse() -> _Loss:
    # SquaredError.grad is taken with respect to the pre-activation z of the output layer's
    # act_fn; with the identity, z is the prediction itself.
    identity = activations.Identity()
    return _Loss(
        losses.SquaredError.loss, lambda y, pred: losses.SquaredError.grad(y, pred, pred, identity)
    )


def cross_entropy() -> _Loss:
    return _Loss(losses.CrossEntropy.loss, losses.CrossEntropy.grad)


class _SGD:
    """numpy-ml's ``SGD`` applied to each linear layer's parameters, in place."""

    def __init__(self, lr: float) -> None:
        self.lib = optimizers.SGD(lr=lr)

    def step(self, net_layers: list[Any]) -> None:
        self.lib.step()
        for layer in net_layers:
            if isinstance(layer, _Linear):
                for name, param in layer.lib.parameters.items():
                    # numpy-ml returns new arrays; writing them back keeps ``params`` views
                    # valid. The optimizer's state is keyed by name, so the name is per layer.
                    key = f"{name}{id(layer)}"
                    param[...] = self.lib(param, layer.lib.gradients[name], key)


def sgd(lr: float, l2: float = 0.0) -> _SGD:
    """numpy-ml's SGD; it has no L2 term, so ``l2`` must be 0."""
    if l2:
        raise ValueError(f"numpy-ml's SGD has no L2 term; got l2={l2}")
    return _SGD(lr)
