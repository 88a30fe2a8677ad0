"""``MaxPool2d`` and ``AvgPool2d``: window maxima and means over NCHW input, no padding."""

from __future__ import annotations

import numpy as np

from nplearn.functional import (
    Tensor,
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
)
from nplearn.layers import Layer, _bad_grad

__all__ = ["AvgPool2d", "MaxPool2d"]


class _Pool2d(Layer):
    """The shared part of both poolings: arguments, input checks and the cached shapes.

    Args:
        kernel_size: ``k``, the square window's side.
        stride: step between windows; None means ``kernel_size`` (PyTorch's default).

    Shape:
        - input: ``(N, C, H, W)``
        - output: ``(N, C, (H - k) // stride + 1, (W - k) // stride + 1)`` (floored as PyTorch).
    """

    def __init__(self, kernel_size: int, stride: int | None = None) -> None:
        super().__init__()
        stride = kernel_size if stride is None else stride
        if kernel_size < 1 or stride < 1:
            raise ValueError(
                f"{type(self).__name__} needs kernel_size and stride >= 1, got "
                f"kernel_size={kernel_size}, stride={stride}"
            )
        self.kernel_size, self.stride = kernel_size, stride
        self.shapes: tuple[tuple[int, ...], tuple[int, ...]] | None = None  # input, output

    def _input(self, x: Tensor) -> Tensor:
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"{self!r} expects input of shape (N, C, H, W), got shape {x.shape}")
        return x if x.dtype.kind == "f" else x.astype(np.float64)

    def _grad(self, grad: Tensor) -> tuple[Tensor, tuple[int, ...]]:
        """``grad`` as an array and the input's shape; raises if it does not fit the output."""
        grad = np.asarray(grad)
        if self.shapes is None or grad.shape != self.shapes[1]:
            raise _bad_grad(self, grad, None if self.shapes is None else self.shapes[1])
        return grad, self.shapes[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kernel_size}, stride={self.stride})"


class MaxPool2d(_Pool2d):
    """Maximum over each window, as ``torch.nn.MaxPool2d(kernel_size, stride)``.

    Backward routes each window's gradient to one maximum: the first in row-major order when
    several tie (PyTorch's choice); overlapping windows add up.
    """

    def forward(self, x: Tensor) -> Tensor:
        """Return each window's maximum and keep where it was for backward."""
        x = self._input(x)
        y, self.argmax = max_pool2d(x, self.kernel_size, self.stride)
        self.shapes = (x.shape, y.shape)
        return y

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Return ``dL/dx``: each window's gradient at its maximum, zeros elsewhere."""
        grad, x_shape = self._grad(grad)
        if not input_grad:
            return None
        return max_pool2d_backward(grad, self.argmax, x_shape, self.kernel_size, self.stride)


class AvgPool2d(_Pool2d):
    """Mean over each window, as ``torch.nn.AvgPool2d(kernel_size, stride)``."""

    def forward(self, x: Tensor) -> Tensor:
        """Return each window's mean."""
        x = self._input(x)
        y = avg_pool2d(x, self.kernel_size, self.stride)
        self.shapes = (x.shape, y.shape)
        return y

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Return ``dL/dx``: each window's gradient spread evenly over it."""
        grad, x_shape = self._grad(grad)
        if not input_grad:
            return None
        return avg_pool2d_backward(grad, x_shape, self.kernel_size, self.stride)
