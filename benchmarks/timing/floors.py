"""Floors: what the hardware and BLAS allow for one training step, in plain NumPy.

Contract
--------
Two floors of the 784-128-10 step, each built once per configuration with every buffer
preallocated, then called once per timed round:

- :class:`GemmFloor` runs only the five matrix products of a step (``X@W1``, ``H@W2``,
  ``H.T@dZ``, ``dZ@W2.T``, ``X.T@dH``) into preallocated outputs: the BLAS bound.
- :class:`FusedStep` is the whole step hand-fused: the same math as
  ``nplearn.training.train_step`` (forward, max-shifted log-softmax cross-entropy summed over the
  batch *with its value*, backward without the input gradient, the SGD update in place) and the
  same observable results (the loss value, the gradients, the updated parameters), with no layer
  objects and no allocation beyond a few ``(batch,)`` temporaries. Parameters and gradients live
  in two flat arrays, so the SGD update is one pass over each (nplearn's ``Network`` does the
  same). The sigmoid is the library's formula ``1 / (1 + exp(-x))``, computed in place, so the
  ratio nplearn / floor measures abstraction cost only.

The benchmarks check (``workloads.assert_same_step``) that a fused step gives nplearn's loss value
and gradients, so the floor cannot silently compute something cheaper.

Choices, each the fastest of the variants tried on this code (1 BLAS thread, batch 16 and 100):
the ReLU mask is a preallocated boolean array multiplied in place (``np.copyto(..., where=)`` and
``grad * (h > 0)`` were slower); the bias gradients are ``ones @ dZ`` (a BLAS GEMV, 2-3x faster
than ``sum(axis=0)``); likewise the softmax row sums are ``Z @ ones`` and the row maxima are
read at the ``argmax`` (NumPy's ``max`` along a row of 10 is 3-5x slower); the softmax is
normalised by a reciprocal multiply; the label entries are reached through flat indices; at
batch 1 the weight gradients (outer products) use ``np.dot``, because ``np.matmul`` with an inner
dimension of 1 skips BLAS (about 8x slower there). All of it stays in one OpenBLAS (NumPy's):
calling ``scipy.linalg.blas`` in the same loop makes two thread pools fight over the cores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from benchmarks.timing.workloads import HIDDEN, OUTPUTS
from nplearn.functional import Tensor

__all__ = ["FusedStep", "GemmFloor", "weight_grad_product"]


def weight_grad_product(batch: int) -> Callable[..., Tensor]:
    """The fastest NumPy product for ``x.T @ grad`` at this batch size (see module docstring)."""
    return np.dot if batch == 1 else np.matmul


class GemmFloor:
    """The five GEMMs of a step, into preallocated outputs (no elementwise work).

    Args:
        params: ``W1 (784, 128)``, ``W2 (128, 10)`` (others ignored).
        batch: rows per batch.

    Shape:
        - x (call): ``(batch, 784)`` of the parameters' dtype.
    """

    def __init__(self, params: Mapping[str, Tensor], batch: int) -> None:
        self.W1, self.W2 = params["W1"].copy(), params["W2"].copy()
        dtype = self.W1.dtype
        self.H = np.empty((batch, HIDDEN), dtype)
        self.Z = np.empty((batch, OUTPUTS), dtype)
        self.dH = np.empty((batch, HIDDEN), dtype)
        self.dW1, self.dW2 = np.empty_like(self.W1), np.empty_like(self.W2)
        self.wgrad = weight_grad_product(batch)

    def __call__(self, x: Tensor) -> None:
        """Run the five products once."""
        np.matmul(x, self.W1, out=self.H)
        np.matmul(self.H, self.W2, out=self.Z)
        self.wgrad(self.H.T, self.Z, out=self.dW2)
        np.matmul(self.Z, self.W2.T, out=self.dH)
        self.wgrad(x.T, self.dH, out=self.dW1)


class FusedStep:
    """One SGD step of the 784-128-10 network with cross-entropy, hand-fused.

    Args:
        params: initial ``W1 (784, 128)``, ``b1 (128,)``, ``W2 (128, 10)``, ``b2 (10,)``
            (copied; their dtype is the step's dtype).
        activation: ``"relu"`` or ``"sigmoid"``.
        batch: rows per batch.
        lr: the SGD learning rate.

    Shape:
        - x (call): ``(batch, 784)`` of the step's dtype
        - y (call): ``(batch,)`` integer labels in ``[0, 10)``

    Attributes:
        params: the live parameters ``W1, b1, W2, b2``; grads: their gradients.
    """

    def __init__(
        self, params: Mapping[str, Tensor], activation: str, batch: int, lr: float
    ) -> None:
        if activation not in ("relu", "sigmoid"):
            raise ValueError(f"unknown activation {activation!r}")
        names = ("W1", "b1", "W2", "b2")
        dtype = np.asarray(params["W1"]).dtype
        # All parameters in one flat array and all gradients in another (views per tensor),
        # so that the SGD update is one pass over each, as in nplearn's flat storage.
        sizes = np.cumsum([0, *(np.size(params[k]) for k in names)])
        self.flat_params = np.empty(sizes[-1], dtype)
        self.flat_grads = np.zeros(sizes[-1], dtype)
        self.flat_tmp = np.empty(sizes[-1], dtype)
        self.params, self.grads = {}, {}
        for k, start, stop in zip(names, sizes[:-1], sizes[1:], strict=True):
            shape = np.shape(params[k])
            self.params[k] = self.flat_params[start:stop].reshape(shape)
            self.params[k][...] = params[k]
            self.grads[k] = self.flat_grads[start:stop].reshape(shape)
        self.lr = dtype.type(lr)
        self.relu = activation == "relu"
        self.H = np.empty((batch, HIDDEN), dtype)  # hidden activations
        self.dH = np.empty((batch, HIDDEN), dtype)  # their gradient
        self.T = np.empty((batch, HIDDEN), dtype) if not self.relu else None
        self.mask = np.empty((batch, HIDDEN), bool) if self.relu else None
        self.Z = np.empty((batch, OUTPUTS), dtype)  # logits, then probabilities, then dZ
        self.Zflat = self.Z.reshape(-1)
        self.rowmax = np.empty(batch, dtype)
        self.rowsum = np.empty(batch, dtype)
        self.ones_out = np.ones(OUTPUTS, dtype)
        self.row_offsets = np.arange(batch) * OUTPUTS
        self.flat = np.empty(batch, np.intp)
        self.ones = np.ones(batch, dtype)
        self.wgrad = weight_grad_product(batch)

    def __call__(self, x: Tensor, y: Tensor) -> float:
        """Run forward, loss, backward and the SGD update; return the loss before the update."""
        p, g = self.params, self.grads
        H, dH, Z = self.H, self.dH, self.Z
        # forward
        np.matmul(x, p["W1"], out=H)
        np.add(H, p["b1"], out=H)
        if self.relu:
            np.maximum(H, 0, out=H)
        else:  # sigmoid: 1 / (1 + exp(-h)), as nplearn.functional.sigmoid
            np.negative(H, out=H)
            with np.errstate(over="ignore"):
                np.exp(H, out=H)
            H += 1
            np.reciprocal(H, out=H)
        np.matmul(H, p["W2"], out=Z)
        np.add(Z, p["b2"], out=Z)
        # cross-entropy: L = sum_rows(log sum exp(z - max) - (z_y - max)); dZ = softmax - onehot
        np.add(self.row_offsets, Z.argmax(axis=1), out=self.flat)
        np.take(self.Zflat, self.flat, out=self.rowmax)
        np.subtract(Z, self.rowmax[:, None], out=Z)
        np.add(self.row_offsets, y, out=self.flat)
        picked = self.Zflat[self.flat]
        np.exp(Z, out=Z)
        np.matmul(Z, self.ones_out, out=self.rowsum)
        value = float(np.add.reduce(np.log(self.rowsum) - picked, dtype=np.float64))
        np.reciprocal(self.rowsum, out=self.rowsum)
        np.multiply(Z, self.rowsum[:, None], out=Z)
        self.Zflat[self.flat] -= 1
        # backward (no input gradient)
        self.wgrad(H.T, Z, out=g["W2"])
        np.matmul(self.ones, Z, out=g["b2"])
        np.matmul(Z, p["W2"].T, out=dH)
        if self.mask is not None:
            np.greater(H, 0, out=self.mask)
            np.multiply(dH, self.mask, out=dH)
        else:
            assert self.T is not None
            np.subtract(1, H, out=self.T)
            np.multiply(self.T, H, out=self.T)
            np.multiply(dH, self.T, out=dH)
        self.wgrad(x.T, dH, out=g["W1"])
        np.matmul(self.ones, dH, out=g["b1"])
        # SGD: w <- w - lr * grad for all parameters at once, in place, gradients kept
        np.multiply(self.flat_grads, self.lr, out=self.flat_tmp)
        np.subtract(self.flat_params, self.flat_tmp, out=self.flat_params)
        return value
