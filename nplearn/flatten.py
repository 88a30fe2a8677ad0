"""``Flatten``: ``(N, *)`` to ``(N, features)``, between the spatial layers and ``Linear``."""

from __future__ import annotations

import numpy as np

from nplearn.functional import Tensor
from nplearn.layers import Layer, _bad_grad

__all__ = ["Flatten"]


class Flatten(Layer):
    """Flatten every axis but the first, in C order (``torch.nn.Flatten``'s NCHW order).

    Shape:
        - input: ``(N, *)``, at least 1-D.
        - output: ``(N, prod(*))``; backward reshapes the gradient back to the input's shape.
    """

    def __init__(self) -> None:
        super().__init__()
        self.shape: tuple[int, ...] | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Return ``x.reshape(len(x), -1)`` (a view when ``x`` is C-contiguous)."""
        x = np.asarray(x)
        if x.ndim < 1:
            raise ValueError(f"{self!r} expects input of shape (N, *), got shape {x.shape}")
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Return ``grad`` reshaped to the last input's shape.

        Shape:
            - grad: ``(N, prod(*))``; output: ``(N, *)``.
        """
        grad = np.asarray(grad)
        expected = None if self.shape is None else (self.shape[0], int(np.prod(self.shape[1:])))
        if expected is None or self.shape is None or grad.shape != expected:
            raise _bad_grad(self, grad, expected)
        return grad.reshape(self.shape) if input_grad else None
