"""``LeakyReLU``: the elementwise activation ``x if x > 0 else slope * x``."""

from __future__ import annotations

import numpy as np

from nplearn.functional import Tensor, leaky_relu
from nplearn.layers import Activation

__all__ = ["LeakyReLU"]


class LeakyReLU(Activation):
    r"""Leaky rectified linear unit, :math:`f(x) = x` if :math:`x > 0` else :math:`slope\,x`
    (:func:`nplearn.functional.leaky_relu`), as ``torch.nn.LeakyReLU``.

    Its derivative is 1 where ``x > 0`` and ``slope`` elsewhere; with ``slope >= 0`` the sign of
    the output is the sign of the input, so backward reads it off the cached output. At ``x == 0``
    the slope ``slope`` is used, as in PyTorch.

    Args:
        slope: the negative side's slope, ``>= 0`` (PyTorch's ``negative_slope``).

    Shape:
        - input: ``(*)``; output: same as input.
    """

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        if not slope >= 0:
            raise ValueError(f"LeakyReLU: slope must be >= 0, got {slope}")
        self.slope = slope

    def function(self, x: Tensor) -> Tensor:
        """``leaky_relu(x, slope)``."""
        return leaky_relu(x, self.slope)

    def derivative(self, y: Tensor) -> Tensor:  # type: ignore[override]
        """``f'(x) = 1 if x > 0 else slope``, from ``y = f(x)`` (one new array)."""
        y = np.asarray(y)
        return np.where(y > 0, y.dtype.type(1), y.dtype.type(self.slope))

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope})"
