"""Correct NumPy dropout and batch norm for the conformance suite's own tests.

Small reference pieces in the protocol's interface under either declared convention (dropout
scaling ``inverted`` or ``at_eval``; batch-norm momentum ``pytorch`` or ``keras`` and running
variance ``unbiased`` or ``biased``): the correct twins the planted bugs of
``test_conformance_modal.py`` are written against.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BatchNorm1d", "Dropout"]


class Dropout:
    """Drops each entry with probability ``p`` in training, from its own ``Generator``."""

    def __init__(self, p: float, scaling: str = "inverted", seed: int | None = None) -> None:
        self.p, self.scaling = p, scaling
        self.rng = np.random.default_rng(seed)
        self.training = True

    def train(self) -> None:
        self.training = True

    def eval(self) -> None:
        self.training = False

    def factor(self) -> np.ndarray | float:
        """What forward multiplies ``x`` by: the scaled mask in training, a constant at eval."""
        if not self.training:
            return 1.0 if self.scaling == "inverted" else 1 - self.p
        keep = self.rng.random(self.shape) >= self.p
        return keep / (1 - self.p) if self.scaling == "inverted" else keep * 1.0

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = np.shape(x)
        self.mask = self.factor()
        return x * self.mask

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.mask


class BatchNorm1d:
    """Batch norm over ``(batch, n)``: batch statistics in training, running ones at eval."""

    def __init__(self, n: int, eps: float, momentum: float, form: str = "pytorch",
                 running_var: str = "unbiased") -> None:
        self.eps, self.form, self.unbiased = eps, form, running_var == "unbiased"
        self.new = momentum if form == "pytorch" else 1 - momentum  # the batch's weight
        self.params = {"gamma": np.ones(n), "beta": np.zeros(n)}
        self.grads: dict[str, np.ndarray] = {}
        self.running_mean, self.running_var = np.zeros(n), np.ones(n)
        self.training = True

    def train(self) -> None:
        self.training = True

    def eval(self) -> None:
        self.training = False

    def statistics(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean and (biased) variance forward normalises with."""
        if not self.training:
            return self.running_mean, self.running_var
        mean, var = x.mean(axis=0), x.var(axis=0)
        stored = var * len(x) / (len(x) - 1) if self.unbiased else var
        self.running_mean = (1 - self.new) * self.running_mean + self.new * mean
        self.running_var = (1 - self.new) * self.running_var + self.new * stored
        return mean, var

    def forward(self, x: np.ndarray) -> np.ndarray:
        mean, var = self.statistics(x)
        self.inv = 1 / np.sqrt(var + self.eps)
        self.xhat = (x - mean) * self.inv
        return self.params["gamma"] * self.xhat + self.params["beta"]

    def input_grad(self, dxhat: np.ndarray) -> np.ndarray:
        """``dx`` from ``dL/dxhat``: the mean and variance terms in training."""
        if not self.training:
            return dxhat * self.inv
        centred = dxhat - dxhat.mean(axis=0)
        return self.inv * (centred - self.xhat * (dxhat * self.xhat).mean(axis=0))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        self.grads = {"gamma": (grad * self.xhat).sum(axis=0), "beta": grad.sum(axis=0)}
        return self.input_grad(grad * self.params["gamma"])
