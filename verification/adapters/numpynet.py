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
- ``leaky_relu``: ``ActivationLayer(LeakyReLuActivation(coef=slope))``.
- ``dropout``: ``DropoutLayer`` (inverted scaling, NumPy's global random state), in training
  while numpynet's ``nn.training`` flag is set: ``train()``/``eval()`` set that flag.
- ``conv2d``: ``Padding2DLayer`` (zeros) when ``padding``, then ``Conv2DLayer``; images are
  (H, W, C), so batches are NHWC; its kernels are (out, kH, kW, in), presented as HWIO views.
  Its kernel sizes must be odd; shapes it rejects raise numpynet's own error at the first
  forward, where the layers are connected as ``Sequential.compile`` connects them.
- ``maxpool2d``: ``Pool2DLayer(k)``, whose window moves by its own size (a ``stride`` other
  than ``k`` is refused); numpynet has no average pooling. ``flatten``: ``FlattenLayer``
  (NHWC order).
- numpynet has no optimizer beside its per-sample SGD, no batch norm and no BCE.
"""

from __future__ import annotations

import warnings
from importlib.metadata import version
from typing import Any

import numpy as np
from numpynet.activations import LeakyReLuActivation
from numpynet.layers import (
    ActivationLayer,
    BiasLayer,
    DenseLayer,
    FlattenLayer,
    InputLayer,
    Pool2DLayer,
    SoftmaxLayer,
)
from numpynet.losses import CceLoss, MseLoss
from numpynet.network import Sequential

from verification.adapters._numpynet_parts import (
    Conv,
    Dropout,
    Recording,
    Spatial,
    compile_numba,
    recorded_grads,
    replay,
)
from verification.adapters._numpynet_parts import Layer as _Layer

NAME = f"numpynet {version('numpynet')}"

compile_numba()

CONVENTIONS = {
    "cross_entropy": {"input": "probabilities", "grad_wrt": "input", "reduction": "sum"},
    "mse": {"reduction": "mean_all", "scale": 1.0},
    "sgd": {"l2_rule": "none"},
    "dropout": {"scaling": "inverted"},
    "conv2d": {"layout": "NHWC", "weight_layout": "HWIO"},
    "maxpool2d": {"layout": "NHWC"},
    "flatten": {"layout": "NHWC"},
}


class _Dense(Recording, DenseLayer):
    def input_of(self) -> np.ndarray:
        return self._DenseLayer__x  # type: ignore[attr-defined]


class _Bias(Recording, BiasLayer):
    pass


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
        self.grads["W"][...] = recorded_grads(self.dense)[0].T
        self.grads["b"][...] = recorded_grads(self.bias)[0]

    def replay(self, lr: float) -> None:
        replay(self.dense, lr)
        replay(self.bias, lr)

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


def leaky_relu(slope: float) -> _Layer:
    return _Layer(ActivationLayer(LeakyReLuActivation(coef=slope)))


def dropout(p: float) -> Dropout:
    return Dropout(p)


def conv2d(W: np.ndarray, b: np.ndarray, stride: int, padding: int) -> Conv:
    """numpynet's convolution with exactly ``W`` (kH, kW, in, out) and ``b`` (out,)."""
    return Conv(W, b, stride, padding)


def maxpool2d(k: int, stride: int) -> Spatial:
    """``Pool2DLayer``, whose window moves by its own size: ``stride`` must equal ``k``."""
    if stride != k:
        raise ValueError(f"numpynet's Pool2DLayer moves by its pool size {k}; got stride={stride}")
    return Spatial(Pool2DLayer(k, variant="max"))


def flatten() -> Spatial:
    return Spatial(FlattenLayer())


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
            if hasattr(layer, "replay"):
                layer.replay(self.lr)


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

    def _build(self, shape: tuple[int, ...]) -> Sequential:
        libs = [lib for layer in self.layers for lib in layer.libs]
        kept = [list(lib.weights) for lib in libs]
        net = Sequential([_Input(shape), *libs])
        net.compile()  # connects the layers (shapes, ``nn``) and re-initialises their weights
        for lib, weights in zip(libs, kept, strict=True):
            lib.weights[:] = weights
        net.learning_rate = 0.0
        return net

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.lib = self.lib or self._build(x.shape[1:])
        self.x = x
        return np.stack([self.lib._Sequential__propagate(row) for row in x])

    def backward(self, grad: np.ndarray) -> np.ndarray:
        linears = [layer for layer in self.layers if hasattr(layer, "read_grads")]
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
