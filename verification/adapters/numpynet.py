"""numpynet in the conformance protocol of ``verification.card``.

Contract: every piece below runs numpynet's own code; this file only converts layouts and
calling conventions, never the math. numpynet works on one sample (a 1-D array) at a time, so
every batch is a loop over its rows; its layers keep the state of their last sample only, so a
row is propagated again right before it is backpropagated. Its ``DenseLayer`` stores ``W`` as
``(out, in)`` and has no bias (a ``BiasLayer`` follows it); it keeps no gradient: inside
``backpropagate`` it subtracts ``learning_rate * gradient`` from its weights (plain SGD per
sample, no L2).

- ``linear``: ``DenseLayer`` then ``BiasLayer``. Backward runs them at learning rate 0 (nothing
  changes) and records what reached them; ``grads`` are then read off numpynet's own update,
  run at learning rate -1 on zeroed weights, which leaves exactly the gradient it applies.
- ``relu``, ``sigmoid``, ``tanh``: ``ActivationLayer``; ``softmax``: ``SoftmaxLayer``.
- ``mse``: ``MseLoss`` on the whole batch (its mean and ``.size`` are over every element).
- ``cross_entropy``: ``CceLoss``, the loss its README pairs with ``SoftmaxLayer``: it takes
  probabilities and gives the gradient with respect to them; per sample, summed over the batch.
- ``sgd``: replays the last backward's records through numpynet's own update at ``lr``.
- ``network``: numpynet's ``Sequential`` (its propagate and backpropagate loops).
"""

from __future__ import annotations

import warnings
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpynet.layers import ActivationLayer, BiasLayer, DenseLayer, InputLayer, SoftmaxLayer
from numpynet.losses import CceLoss, MseLoss
from numpynet.network import Sequential

NAME = f"numpynet {version('numpynet')}"

CONVENTIONS = {
    "cross_entropy": {"input": "probabilities", "grad_wrt": "input", "reduction": "sum"},
    "mse": {"reduction": "mean_all", "scale": 1.0},
    "sgd": {"l2_rule": "none"},
}


class _Dense(DenseLayer):
    """numpynet's ``DenseLayer``, recording the ``(input, delta)`` of each backpropagate."""

    def backpropagate(self, delta: np.ndarray) -> np.ndarray:
        self.seen.append((self._DenseLayer__x, delta))  # type: ignore[attr-defined]
        return super().backpropagate(delta)


class _Bias(BiasLayer):
    """numpynet's ``BiasLayer``, recording the delta of each backpropagate."""

    def backpropagate(self, delta: np.ndarray) -> np.ndarray:
        self.seen.append((None, delta))
        return super().backpropagate(delta)


def _update(lib: Any, x: np.ndarray | None, delta: np.ndarray, lr: float, weights: np.ndarray):
    """numpynet's own update of one sample, ``weights -= lr * gradient``, applied to ``weights``.

    ``lib`` is a ``_Dense`` or ``_Bias``; its own weights are swapped out for ``weights`` during
    the call, and ``x`` is propagated first because ``DenseLayer`` reads its last input.
    """
    kept, lib.weights[0], lib.nn.learning_rate = lib.weights[0], weights, lr
    if x is not None:
        lib.propagate(x)
    type(lib).__base__.backpropagate(lib, delta)  # the library's method, not recorded again
    lib.weights[0], lib.nn.learning_rate = kept, 0.0
    return weights


class _Layer:
    """numpynet layers (``libs``, applied in order) over a batch, one row at a time."""

    def __init__(self, *libs: Any) -> None:
        self.libs = libs
        for lib in libs:
            lib.nn = SimpleNamespace(learning_rate=0.0)  # a network replaces it with itself

    def _propagate(self, row: np.ndarray) -> np.ndarray:
        for lib in self.libs:
            row = lib.propagate(row)
        return row

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.stack([self._propagate(row) for row in x])

    def backward(self, grad: np.ndarray) -> np.ndarray:
        dx = []
        for row, delta in zip(self.x, grad, strict=True):
            self._propagate(row)
            for lib in reversed(self.libs):
                delta = lib.backpropagate(delta)
            dx.append(delta)
        return np.stack(dx)


class _Linear(_Layer):
    """``DenseLayer`` + ``BiasLayer``; ``params`` are views of their arrays (W transposed)."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.dense, self.bias = _Dense(W.shape[1]), _Bias()
        super().__init__(self.dense, self.bias)
        self.dense.connections = np.array(W.T, dtype=np.float64)  # numpynet computes x @ W.T
        self.bias.bias = np.array(b, dtype=np.float64)
        self.params = {"W": self.dense.connections.T, "b": self.bias.bias}
        self.grads = {"W": np.zeros(W.shape), "b": np.zeros(b.shape)}
        self.forget()

    def forget(self) -> None:
        self.dense.seen, self.bias.seen = [], []

    def read_grads(self) -> None:
        """Sum over the recorded samples of the gradient numpynet's update applies."""
        self.grads["W"][...] = sum(
            _update(self.dense, x, d, -1.0, np.zeros_like(self.dense.connections))
            for x, d in self.dense.seen
        ).T
        self.grads["b"][...] = sum(
            _update(self.bias, None, d, -1.0, np.zeros_like(self.bias.bias))
            for _, d in self.bias.seen
        )

    def backward(self, grad: np.ndarray) -> np.ndarray:
        self.forget()
        dx = super().backward(grad)
        self.read_grads()
        return dx


def linear(W: np.ndarray, b: np.ndarray) -> _Linear:
    """numpynet's dense and bias layers with exactly ``W`` (in, out) and ``b`` (out,)."""
    return _Linear(W, b)


def relu() -> _Layer:
    return _Layer(ActivationLayer("relu"))


def sigmoid() -> _Layer:
    return _Layer(ActivationLayer("sigmoid"))


def tanh() -> _Layer:
    return _Layer(ActivationLayer("tanh"))


def softmax() -> _Layer:
    return _Layer(SoftmaxLayer())


class _MSE:
    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        self.grad = MseLoss().deriv(pred, target)
        return float(MseLoss().call(pred, target))


class _CrossEntropy:
    def __call__(self, probs: np.ndarray, onehot: np.ndarray) -> float:
        self.grad = np.stack([CceLoss().deriv(p, t) for p, t in zip(probs, onehot, strict=True)])
        with warnings.catch_warnings():
            # NumPy warns on every call that CceLoss's np.log(..., where=p > 0) leaves the
            # entries where p == 0 uninitialised; the card reports what that does, unprinted.
            warnings.simplefilter("ignore", UserWarning)
            return float(sum(CceLoss().call(p, t) for p, t in zip(probs, onehot, strict=True)))


def mse() -> _MSE:
    return _MSE()


def cross_entropy() -> _CrossEntropy:
    return _CrossEntropy()


class _SGD:
    """numpynet's own per-sample update at ``lr``, replayed from the last backward's records."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def step(self, layers: list[Any]) -> None:
        for layer in layers:
            if isinstance(layer, _Linear):
                for lib in (layer.dense, layer.bias):
                    for x, d in lib.seen:
                        _update(lib, x, d, self.lr, lib.weights[0])


def sgd(lr: float, l2: float = 0.0) -> _SGD:
    """numpynet's update has no L2 term, so ``l2`` must be 0."""
    if l2:
        raise ValueError(f"numpynet's update has no L2 term; got l2={l2}")
    return _SGD(lr)


class _Input(InputLayer):
    """numpynet's input layer, keeping the gradient that reaches it (``Sequential`` drops it)."""

    def backpropagate(self, delta: np.ndarray) -> np.ndarray:
        self.grad = delta
        return delta


class _Network:
    """numpynet's ``Sequential`` over the layers, built at the first forward (it needs the input
    size); its private propagate/backpropagate are its model code for one sample."""

    def __init__(self, layers: list[_Layer]) -> None:
        self.layers, self.lib = layers, None

    def _build(self, n_in: int) -> Sequential:
        libs = [lib for layer in self.layers for lib in layer.libs]
        kept = [list(lib.weights) for lib in libs]
        net = Sequential([_Input((n_in,)), *libs])
        net.compile()  # connects the layers (shapes, ``nn``) and re-initialises their weights
        for lib, weights in zip(libs, kept, strict=True):
            lib.weights[:] = weights
        net.learning_rate = 0.0
        return net

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.lib = self.lib or self._build(x.shape[1])
        self.x = x
        return np.stack([self.lib._Sequential__propagate(row) for row in x])

    def backward(self, grad: np.ndarray) -> np.ndarray:
        linears = [layer for layer in self.layers if isinstance(layer, _Linear)]
        for layer in linears:
            layer.forget()
        dx = []
        for row, delta in zip(self.x, grad, strict=True):
            self.lib._Sequential__propagate(row)
            self.lib._Sequential__backpropagate(delta)
            dx.append(self.lib.layers[0].grad)
        for layer in linears:
            layer.read_grads()
        return np.stack(dx)


def network(layers: list[_Layer]) -> _Network:
    return _Network(layers)
