"""``Conv2d``: 2-D convolution (cross-correlation) over NCHW input with OIHW weights."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike

from nplearn.functional import Tensor, conv2d, conv2d_backward, pool_output_size
from nplearn.layers import Layer, _bad_grad

__all__ = ["Conv2d"]


class Conv2d(Layer):
    r"""2-D convolution :math:`y_{n,o} = b_o + \sum_c W_{o,c} \star x_{n,c}`, as
    ``torch.nn.Conv2d`` (:func:`nplearn.functional.conv2d`: im2col and one matrix product).

    Args:
        in_channels: ``C``, channels of the input.
        out_channels: ``O``, channels of the output.
        kernel_size: ``k`` or ``(kh, kw)``.
        stride: step between windows.
        padding: zeros added on every side of each image.
        dtype: floating dtype of ``W``, ``b``, their gradients and the output.
        rng: a ``numpy.random.Generator`` or an int seed for the initial weights, drawn as
            PyTorch's: ``W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, ``fan_in = C * kh * kw``.

    Shape:
        - input: ``(N, C, H, W)``
        - output: ``(N, O, out_h, out_w)`` with ``out_h = (H + 2 * padding - kh) // stride + 1``
          (likewise ``out_w``), floored as PyTorch.
        - ``W``: ``(O, C, kh, kw)``, ``b``: ``(O,)``

    Attributes:
        params: ``{"W": W, "b": b}``; grads: their gradients after ``backward``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int = 0,
        *,
        dtype: DTypeLike = np.float32,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if min(in_channels, out_channels, kh, kw, stride) < 1 or padding < 0:
            raise ValueError(
                f"Conv2d needs positive in_channels, out_channels, kernel_size and stride and "
                f"padding >= 0, got ({in_channels}, {out_channels}, {(kh, kw)}, "
                f"stride={stride}, padding={padding})"
            )
        self.dtype = np.dtype(dtype)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), stride, padding
        bound = 1 / math.sqrt(in_channels * kh * kw)
        rng = np.random.default_rng(rng)
        W = rng.uniform(-bound, bound, (out_channels, in_channels, kh, kw))
        b = rng.uniform(-bound, bound, out_channels)
        self.params = {"W": W.astype(self.dtype), "b": b.astype(self.dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.cache: tuple[Tensor, tuple[int, ...], tuple[int, ...]] | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Convolve ``x`` with ``W`` and add ``b``; keep the im2col columns for backward.

        Shape:
            - x: ``(N, C, H, W)``; output: ``(N, O, out_h, out_w)``.
        """
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.in_channels}, H, W), got shape "
                f"{x.shape}"
            )
        pool_output_size(x.shape, self.kernel_size, self.stride, self.padding)  # raises if small
        x = x.astype(self.dtype, copy=False)
        y, cols = conv2d(x, self.params["W"], self.params["b"], self.stride, self.padding)
        self.cache = (cols, x.shape, y.shape)
        return y

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Store ``dL/dW``, ``dL/db`` and return ``dL/dx`` (None when ``input_grad`` is False).

        Shape:
            - grad: ``(N, O, out_h, out_w)``; output: ``(N, C, H, W)``.
        """
        grad = np.asarray(grad)
        if self.cache is None or grad.shape != self.cache[2]:
            raise _bad_grad(self, grad, None if self.cache is None else self.cache[2])
        cols, x_shape, _ = self.cache
        dx, dW, db = conv2d_backward(
            grad, cols, self.params["W"], x_shape, self.stride, self.padding, input_grad
        )
        self.grads["W"][...] = dW
        self.grads["b"][...] = db
        return dx

    def __repr__(self) -> str:
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dtype={self.dtype.name})"
        )
