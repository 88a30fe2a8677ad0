"""``Dropout``: inverted dropout, a fresh random mask per call in training, identity at eval."""

from __future__ import annotations

import numpy as np

from nplearn.functional import Tensor, dropout_scale
from nplearn.layers import Layer, _bad_grad

__all__ = ["Dropout"]


class Dropout(Layer):
    r"""Zero each element with probability ``p`` and scale the rest by :math:`1/(1-p)` while
    training (inverted dropout, as ``torch.nn.Dropout``); the identity after ``eval()``.

    Every training forward draws a new mask from ``rng``, independently per element (so per
    row); backward multiplies by that same mask and scale. The input is never modified.

    Args:
        p: drop probability in ``[0, 1)``.
        rng: the ``numpy.random.Generator`` masks are drawn from (seed it to reproduce them);
            None draws a fresh generator.

    Shape:
        - input: ``(*)``; output: same shape and dtype.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must lie in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.default_rng() if rng is None else rng
        self.scale: Tensor | None = None  # mask / (1 - p) of the last forward; None: identity
        self.shape: tuple[int, ...] | None = None  # the last output's shape

    def forward(self, x: Tensor) -> Tensor:
        """Return ``x * mask / (1 - p)`` in training, ``x`` itself at evaluation.

        Shape:
            - x: ``(*)``; output: same as ``x``.
        """
        x = np.asarray(x)
        if not self.training or self.p == 0:
            self.scale, self.shape = None, x.shape
            return x
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        self.scale = dropout_scale(x.shape, self.p, self.rng, dtype)
        self.shape = x.shape
        return x * self.scale

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Return ``grad * mask / (1 - p)`` with the last forward's mask (``grad`` at eval).

        Shape:
            - grad, output: the shape of the last output.
        """
        grad = np.asarray(grad)
        if self.shape is None or grad.shape != self.shape:
            raise _bad_grad(self, grad, self.shape)
        if not input_grad:
            return None
        return grad if self.scale is None else grad * self.scale

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
