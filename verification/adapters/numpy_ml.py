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
- ``leaky_relu``: its ``LeakyReLU`` activation (slope ``alpha``) inside ``Add``.
- ``bce``: the reconstruction term of ``VAELoss``, a binary cross-entropy on probabilities
  summed over the features and averaged over the batch, at ``t_mean = t_log_var = 0``, where
  its KL term is exactly 0 (numpy-ml has no loss of its own for BCE).
- ``momentum``: ``SGD(momentum=mu)``, ``update = mu update + lr g; w -= update`` (the
  ``classic`` form with the sign folded into the update); it has no Nesterov variant.
- ``adam``, ``rmsprop``, ``adagrad``: ``Adam``, ``RMSProp`` (``decay`` is PyTorch's ``alpha``)
  and ``AdaGrad``, each dividing by ``sqrt(...) + eps``.
- ``dropout``: its ``Dropout`` wrapper (inverted scaling) around a ``Flatten`` layer, which
  is the identity on the protocol's (batch, n) inputs; numpy-ml has no stand-alone dropout.
- ``batchnorm``: ``BatchNorm1D``; its running statistics are ``m old + (1 - m) batch`` with
  the biased batch variance; ``gamma``/``beta`` are its ``scaler``/``intercept``.
- ``conv2d``, ``maxpool2d``, ``avgpool2d``, ``flatten``: ``Conv2D``, ``Pool2D`` (``"max"``,
  ``"average"``) and ``Flatten``, on NHWC inputs; ``Conv2D`` keeps ``W`` as (kH, kW, in,
  out) and its bias as (1, 1, 1, out).
- Modes: numpy-ml switches a layer to inference with ``freeze()`` (dropout off, batch norm on
  its running statistics) and back with ``unfreeze()``; they are the protocol's ``eval()`` and
  ``train()``.
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
    from numpy_ml.neural_nets import activations, layers, losses, optimizers, wrappers

NAME = f"numpy-ml {version('numpy-ml')}"

CONVENTIONS = {
    "cross_entropy": {"input": "probabilities", "grad_wrt": "logits", "reduction": "sum"},
    "mse": {"reduction": "sum", "scale": 0.5},
    "sgd": {"l2_rule": "none"},
    "bce": {"input": "probabilities", "reduction": "mean"},
    "momentum": {"form": "classic"},
    "adam": {"eps": "outside_sqrt"},
    "rmsprop": {"eps": "outside_sqrt"},
    "adagrad": {"eps": "outside_sqrt"},
    "dropout": {"scaling": "inverted"},
    "batchnorm": {"momentum": "keras", "running_var": "biased"},
    "conv2d": {"layout": "NHWC", "weight_layout": "HWIO"},
    "maxpool2d": {"layout": "NHWC"},
    "avgpool2d": {"layout": "NHWC"},
    "flatten": {"layout": "NHWC"},
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


class _Params(_Layer):
    """A layer with parameters: ``params``/``grads`` are views of numpy-ml's own arrays.

    ``names`` maps the protocol's parameter names to numpy-ml's; each view is reshaped to
    ``shapes`` (numpy-ml keeps biases with leading axes of size 1).
    """

    def __init__(self, lib: Any, names: dict[str, str], shapes: dict[str, tuple[int, ...]]):
        super().__init__(lib)
        self.names = names
        self.params = {k: lib.parameters[n].reshape(shapes[k]) for k, n in names.items()}
        self.grads = {k: lib.gradients[n].reshape(shapes[k]) for k, n in names.items()}

    def backward(self, grad: np.ndarray) -> np.ndarray:
        # numpy-ml adds every backward's gradients to the previous ones until its update()
        # flushes them; the protocol's ``grads`` hold the last backward's gradients.
        for g in self.lib.gradients.values():
            g[...] = 0.0
        return self.lib.backward(grad)


class _Modes:
    """numpy-ml's inference switch: ``freeze()`` is ``eval()``, ``unfreeze()`` ``train()``."""

    lib: Any

    def train(self) -> None:
        self.lib.unfreeze()

    def eval(self) -> None:
        self.lib.freeze()


def _sized(lib: Any, sizes: dict[str, int], **values: np.ndarray) -> Any:
    """``lib`` with its arrays made for ``sizes`` without a forward pass, set to ``values``."""
    for attribute, size in sizes.items():
        setattr(lib, attribute, size)
    lib._init_params()
    for name, value in values.items():
        lib.parameters[name][...] = value.reshape(lib.parameters[name].shape)
    return lib


class _BatchNorm(_Modes, _Params):
    pass


class _Dropout(_Modes, _Layer):
    pass


class _Activation(_Layer):
    """numpy-ml's ``Add`` layer over one input: ``act(x)``, backward ``grad * act.grad(x)``."""

    def __init__(self, act_fn: Any) -> None:
        super().__init__(layers.Add(act_fn=act_fn))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._forget()
        return self.lib.forward([x])  # Add takes the list of its inputs

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return self.lib.backward(grad)[0]  # one gradient per input


def linear(W: np.ndarray, b: np.ndarray) -> _Params:
    """A ``FullyConnected`` layer with exactly ``W`` (in, out) and ``b`` (out,)."""
    lib = _sized(layers.FullyConnected(W.shape[1], act_fn=None), {"n_in": W.shape[0]}, W=W, b=b)
    return _Params(lib, {"W": "W", "b": "b"}, {"W": W.shape, "b": b.shape})


def conv2d(W: np.ndarray, b: np.ndarray, stride: int, padding: int) -> _Params:
    """``Conv2D`` with exactly ``W`` (kH, kW, in, out) and ``b`` (out,), no activation."""
    lib = layers.Conv2D(W.shape[3], W.shape[:2], pad=padding, stride=stride, act_fn=None)
    _sized(lib, {"in_ch": W.shape[2]}, W=W, b=b)
    return _Params(lib, {"W": "W", "b": "b"}, {"W": W.shape, "b": b.shape})


def maxpool2d(k: int, stride: int) -> _Layer:
    return _Layer(layers.Pool2D((k, k), stride=stride, mode="max"))


def avgpool2d(k: int, stride: int) -> _Layer:
    return _Layer(layers.Pool2D((k, k), stride=stride, mode="average"))


def flatten() -> _Layer:
    return _Layer(layers.Flatten(keep_dim="first"))


def batchnorm(n: int, eps: float, momentum: float) -> _BatchNorm:
    """``BatchNorm1D`` over ``n`` features with its own initial ``scaler`` (gamma)."""
    lib = _sized(layers.BatchNorm1D(momentum=momentum, epsilon=eps), {"n_in": n, "n_out": n})
    return _BatchNorm(lib, {"gamma": "scaler", "beta": "intercept"}, {"gamma": (n,), "beta": (n,)})


def dropout(p: float) -> _Dropout:
    """numpy-ml's ``Dropout`` wrapper with drop probability ``p`` around ``Flatten``."""
    return _Dropout(wrappers.Dropout(layers.Flatten(keep_dim="first"), p))


def relu() -> _Activation:
    return _Activation(activations.ReLU())


def sigmoid() -> _Activation:
    return _Activation(activations.Sigmoid())


def tanh() -> _Activation:
    return _Activation(activations.Tanh())


def leaky_relu(slope: float) -> _Activation:
    return _Activation(activations.LeakyReLU(alpha=slope))


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


def bce() -> _Loss:
    """``VAELoss``'s binary cross-entropy: its KL term is 0 at a zero mean and log-variance."""

    def kl_zero(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((len(y), 1)), np.zeros((len(y), 1))

    return _Loss(lambda y, p: losses.VAELoss.loss(y, p, *kl_zero(y)),
                 lambda y, p: losses.VAELoss.grad(y, p, *kl_zero(y))[0])


class _Optimizer:
    """A numpy-ml optimizer applied to every layer's parameters, in place."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib

    def step(self, net_layers: list[Any]) -> None:
        self.lib.step()
        for layer in net_layers:
            for name in getattr(layer, "names", {}).values():
                param = layer.lib.parameters[name]
                # numpy-ml returns new arrays; writing them back keeps ``params`` views
                # valid. The optimizer's state is keyed by name, so the name is per layer.
                param[...] = self.lib(param, layer.lib.gradients[name], f"{name}{id(layer)}")


def sgd(lr: float, l2: float = 0.0) -> _Optimizer:
    """numpy-ml's SGD; it has no L2 term, so ``l2`` must be 0."""
    if l2:
        raise ValueError(f"numpy-ml's SGD has no L2 term; got l2={l2}")
    return _Optimizer(optimizers.SGD(lr=lr))


def momentum(lr: float, mu: float) -> _Optimizer:
    """numpy-ml's SGD with ``momentum=mu``; no ``nesterov`` keyword: it has no Nesterov variant."""
    return _Optimizer(optimizers.SGD(lr=lr, momentum=mu))


def adam(lr: float, beta1: float, beta2: float, eps: float) -> _Optimizer:
    return _Optimizer(optimizers.Adam(lr=lr, decay1=beta1, decay2=beta2, eps=eps))


def rmsprop(lr: float, alpha: float, eps: float) -> _Optimizer:
    return _Optimizer(optimizers.RMSProp(lr=lr, decay=alpha, eps=eps))


def adagrad(lr: float, eps: float) -> _Optimizer:
    return _Optimizer(optimizers.AdaGrad(lr=lr, eps=eps))
