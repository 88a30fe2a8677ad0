"""Building blocks of the numpynet adapter (``numpynet.py``): batches over numpynet's one-sample
layers, the gradient its own update applies, and its image and dropout layers.

Contract: numpynet's layers take one sample (a 1-D vector, or an (H, W, C) image) and keep the
state of their last sample only; :class:`Layer` runs a batch row by row and propagates a row
again right before backpropagating it. numpynet keeps no gradient: a layer's ``backpropagate``
subtracts ``nn.learning_rate * gradient`` from its weights. :func:`update` runs that update on
weights of the caller's choosing, so at learning rate -1 on zeroed weights it leaves exactly the
gradient numpynet applies. Nothing here changes numpynet's math.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from numpynet.layers import Conv2DLayer, DropoutLayer, Padding2DLayer, Pool2DLayer

__all__ = [
    "Conv", "Dropout", "Layer", "Recording", "Spatial", "compile_numba", "recorded_grads", "update",
]


class Recording:
    """Mixin for a numpynet layer: records ``(input, delta)`` of each backpropagate.

    ``input_of(lib)`` reads the library's own copy of its last input (``None`` for a layer
    whose update does not read it).
    """

    seen: list[tuple[np.ndarray | None, np.ndarray]]

    def input_of(self) -> np.ndarray | None:
        return None

    def backpropagate(self, delta: np.ndarray) -> np.ndarray:
        self.seen.append((self.input_of(), delta))
        return super().backpropagate(delta)  # type: ignore[misc]


def update(lib: Any, x: np.ndarray | None, delta: np.ndarray, lr: float,
           weights: list[np.ndarray]) -> list[np.ndarray]:
    """numpynet's own update of one sample, ``weights -= lr * gradient``, applied to ``weights``.

    ``lib`` is a :class:`Recording` layer; its own weights are swapped out for ``weights``
    during the call, and ``x`` is propagated first because the update reads the last input.
    """
    kept, lib.nn.learning_rate = list(lib.weights), lr
    lib.weights[:] = weights
    if x is not None:
        lib.propagate(x)
    super(Recording, lib).backpropagate(delta)  # the library's method, not recorded again
    lib.weights[:], lib.nn.learning_rate = kept, 0.0
    return weights


def recorded_grads(lib: Any) -> list[np.ndarray]:
    """Sum over ``lib.seen`` of the gradient of each of its weights that numpynet applies."""
    total = [np.zeros_like(w) for w in lib.weights]
    for x, delta in lib.seen:
        for t, g in zip(total, update(lib, x, delta, -1.0, [np.zeros_like(w) for w in total]),
                        strict=True):
            t += g
    return total


def replay(lib: Any, lr: float) -> None:
    """numpynet's update at ``lr`` of every recorded sample, on ``lib``'s own weights."""
    for x, delta in lib.seen:
        update(lib, x, delta, lr, lib.weights)


class Layer:
    """numpynet layers (``libs``, applied in order) over a batch, one row at a time."""

    def __init__(self, *libs: Any) -> None:
        self.libs = libs
        self.nn = SimpleNamespace(learning_rate=0.0, training=True)  # a network replaces it
        for lib in libs:
            lib.nn = self.nn

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


class Spatial(Layer):
    """Image layers over an NHWC batch, connected to the sample shape as ``Sequential.compile``
    connects them (which validates the shape and raises numpynet's error for one it rejects)."""

    shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1:] != self.shape:
            previous: Any = SimpleNamespace(output_shape=np.array(x.shape[1:]))
            for lib in self.libs:
                kept = list(lib.weights)
                lib.connect(self.nn, previous, None)  # initialises the weights again
                if all(w is not None for w in kept):
                    lib.weights[:] = kept
                previous = lib
            self.shape = x.shape[1:]
        return super().forward(x)


class _Conv2D(Recording, Conv2DLayer):
    def input_of(self) -> np.ndarray:
        return self._Conv2DLayer__x  # type: ignore[attr-defined]


class Conv(Spatial):
    """``Padding2DLayer`` (zeros, when ``padding``) then ``Conv2DLayer``, which keeps its kernels
    as (out, kH, kW, in); ``params["W"]`` is their (kH, kW, in, out) view."""

    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int, padding: int) -> None:
        self.conv = _Conv2D(W.shape[3], W.shape[:2], stride=stride)
        self.conv.kernels = np.array(W.transpose(3, 0, 1, 2), dtype=np.float64)
        self.conv.biases = np.array(b, dtype=np.float64)
        self.conv.seen = []
        super().__init__(*((Padding2DLayer(padding),) if padding else ()), self.conv)
        self.params = {"W": self.conv.kernels.transpose(1, 2, 3, 0), "b": self.conv.biases}
        self.grads = {"W": np.zeros(W.shape), "b": np.zeros(b.shape)}

    def forget(self) -> None:
        self.conv.seen = []

    def read_grads(self) -> None:
        dW, db = recorded_grads(self.conv)
        self.grads["W"][...], self.grads["b"][...] = dW.transpose(1, 2, 3, 0), db

    def replay(self, lr: float) -> None:
        replay(self.conv, lr)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        self.forget()
        dx = super().backward(grad)
        self.read_grads()
        return dx


class Dropout(Layer):
    """``DropoutLayer``, one per row of the last batch so that each row's backward uses the mask
    its forward drew; ``train()``/``eval()`` set numpynet's ``nn.training`` flag."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p, self.rows = p, []

    def train(self) -> None:
        self.nn.training = True

    def eval(self) -> None:
        self.nn.training = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.rows = [DropoutLayer(self.p) for _ in x]
        for lib in self.rows:
            lib.nn = self.nn
        return np.stack([lib.propagate(row) for lib, row in zip(self.rows, x, strict=True)])

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.stack([lib.backpropagate(d) for lib, d in zip(self.rows, grad, strict=True)])


def compile_numba() -> None:
    """Run numpynet's numba-compiled convolution and pooling once on a tiny image.

    numba compiles them at their first call (tens of seconds); the card runs each check in a
    process forked from the one that imported the adapter, so compiling here once spares every
    check its own compilation (and its time limit).
    """
    c = np.linspace(-1.0, 1.0, 50).reshape(1, 5, 5, 2)
    for x in (c, c.transpose(0, 2, 1, 3)):  # contiguous and strided arrays compile apart
        for stride in (1, 2):
            conv = Conv(np.ones((3, 3, 2, 1)), np.zeros(1), stride, 1)
            y = conv.forward(x)
            conv.backward(np.ones_like(y))
            conv.backward(np.ones_like(y.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3))
        pool = Spatial(Pool2DLayer(2))
        y = pool.forward(x[:, :4, :4])
        pool.backward(np.ones_like(y))
        pool.backward(np.ones_like(y.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3))
