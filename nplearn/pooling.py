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
    """The shared part of both poolings: arguments, checks, forward/backward around ``_pool``
    and ``_unpool``, and the cached shapes.

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

    def forward(self, x: Tensor) -> Tensor:
        """Pool every window of ``x`` and keep what backward needs.

        Shape:
            - x: ``(N, C, H, W)``; output: ``(N, C, out_h, out_w)``.
        """
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"{self!r} expects input of shape (N, C, H, W), got shape {x.shape}")
        y = self._pool(x if x.dtype.kind == "f" else x.astype(np.float64))
        self.shapes = (x.shape, y.shape)
        return y

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Return ``dL/dx`` of the last forward (None when ``input_grad`` is False).

        Shape:
            - grad: ``(N, C, out_h, out_w)``; output: ``(N, C, H, W)``.
        """
        grad = np.asarray(grad)
        if self.shapes is None or grad.shape != self.shapes[1]:
            raise _bad_grad(self, grad, None if self.shapes is None else self.shapes[1])
        return self._unpool(grad, self.shapes[0]) if input_grad else None

    def _pool(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _unpool(self, grad: Tensor, x_shape: tuple[int, ...]) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kernel_size}, stride={self.stride})"


class MaxPool2d(_Pool2d):
    """Maximum over each window, as ``torch.nn.MaxPool2d(kernel_size, stride)``.

    Backward routes each window's gradient to one maximum: the first in row-major order when
    several tie (PyTorch's choice); overlapping windows add up.
    """

    def _pool(self, x: Tensor) -> Tensor:
        y, self.argmax = max_pool2d(x, self.kernel_size, self.stride)
        return y

    def _unpool(self, grad: Tensor, x_shape: tuple[int, ...]) -> Tensor:
        return max_pool2d_backward(grad, self.argmax, x_shape, self.kernel_size, self.stride)


class AvgPool2d(_Pool2d):
    """Mean over each window, as ``torch.nn.AvgPool2d(kernel_size, stride)``; backward spreads
    each window's gradient evenly over it."""

    def _pool(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride)

    def _unpool(self, grad: Tensor, x_shape: tuple[int, ...]) -> Tensor:
        return avg_pool2d_backward(grad, x_shape, self.kernel_size, self.stride)
