"""Stateless math of the spatial layers: 2-D convolution and max/average pooling, NCHW.

Contract
--------
Every function is pure (inputs are never mutated) and keeps the input's floating dtype. Windows
are read through a strided view (:func:`numpy.lib.stride_tricks.sliding_window_view`), never by a
Python loop over pixels; their gradients are summed back by :func:`col2im`, one vectorised add
per kernel offset. Output sizes are floored as PyTorch's: ``out = (in + 2 * padding - k) //
stride + 1``; an input smaller than the kernel (after padding) raises ``ValueError`` giving
both shapes.

- ``conv2d``: im2col (one copy of the windows) and one matrix product with the ``(O, C*kh*kw)``
  weight matrix; ``conv2d_backward`` is two matrix products and a col2im.
- ``max_pool2d`` routes each output's gradient to the first maximum of its window (as PyTorch);
  ``avg_pool2d`` spreads it evenly over the window.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "col2im",
    "conv2d",
    "conv2d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "pool_output_size",
    "windows",
]


def pool_output_size(
    shape: tuple[int, ...], kernel: tuple[int, int], stride: int, padding: int = 0
) -> tuple[int, int]:
    """``(out_h, out_w)`` of a window of ``kernel`` sliding over the last two axes of ``shape``.

    Raises:
        ValueError: the padded input is smaller than the kernel (both shapes named), or the
            input is not ``(N, C, H, W)``.
    """
    if len(shape) != 4:
        raise ValueError(f"expected an input of shape (N, C, H, W), got shape {tuple(shape)}")
    h, w = shape[2] + 2 * padding, shape[3] + 2 * padding
    if h < kernel[0] or w < kernel[1]:
        raise ValueError(
            f"kernel {kernel} is larger than the input of shape {tuple(shape)} "
            f"with padding {padding} (padded size {(h, w)})"
        )
    return (h - kernel[0]) // stride + 1, (w - kernel[1]) // stride + 1


def windows(x: np.ndarray, kernel: tuple[int, int], stride: int, padding: int = 0) -> np.ndarray:
    """A read-only strided view of every window of ``x`` (zero-padded by ``padding``).

    Shape:
        - x: ``(N, C, H, W)``
        - output: ``(N, C, kh, kw, out_h, out_w)``: ``out[n, c, p, q, i, j]`` is
          ``x_padded[n, c, i * stride + p, j * stride + q]``.
    """
    out_h, out_w = pool_output_size(x.shape, kernel, stride, padding)
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    view = sliding_window_view(x, kernel, axis=(2, 3))[:, :, ::stride, ::stride]
    return view[:, :, :out_h, :out_w].transpose(0, 1, 4, 5, 2, 3)


def col2im(
    cols: np.ndarray, shape: tuple[int, ...], stride: int, padding: int = 0
) -> np.ndarray:
    """Sum window gradients back onto the input: the adjoint of :func:`windows`.

    One vectorised add per kernel offset ``(p, q)`` (a loop of ``kh * kw``), each over every
    window at once; overlapping windows (``stride < k``) add up.

    Shape:
        - cols: ``(N, C, kh, kw, out_h, out_w)``
        - shape: the input's ``(N, C, H, W)``
        - output: ``(N, C, H, W)``, dtype of ``cols``.
    """
    n, c, kh, kw, out_h, out_w = cols.shape
    padded = np.zeros((n, c, shape[2] + 2 * padding, shape[3] + 2 * padding), cols.dtype)
    for p in range(kh):
        for q in range(kw):
            rows = slice(p, p + stride * (out_h - 1) + 1, stride)
            columns = slice(q, q + stride * (out_w - 1) + 1, stride)
            padded[:, :, rows, columns] += cols[:, :, p, q]
    if padding:
        return padded[:, :, padding:-padding, padding:-padding].copy()
    return padded


def conv2d(
    x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Cross-correlation :math:`y_{n,o} = b_o + \sum_c W_{o,c} \star x_{n,c}`, as PyTorch's conv2d.

    Args:
        x: input, ``(N, C, H, W)``.
        W: weights, ``(O, C, kh, kw)`` (OIHW).
        b: bias, ``(O,)``.
        stride, padding: as ``torch.nn.functional.conv2d`` (zero padding on every side).

    Shape:
        - output: ``(N, O, out_h, out_w)``, C-ordered.

    Returns:
        ``(y, cols)`` where ``cols`` (``(N, C*kh*kw, out_h*out_w)``) is what the backward needs.
    """
    if x.ndim != 4 or x.shape[1] != W.shape[1]:
        raise ValueError(
            f"conv2d expects input of shape (N, {W.shape[1]}, H, W) for weights of shape "
            f"{W.shape}, got shape {x.shape}"
        )
    view = windows(x, (W.shape[2], W.shape[3]), stride, padding)
    n, _, _, _, out_h, out_w = view.shape
    cols = view.reshape(n, -1, out_h * out_w)  # the one copy: im2col
    y = np.matmul(W.reshape(W.shape[0], -1), cols)  # (O, CKK) @ (N, CKK, L) -> (N, O, L)
    y += b[:, None]
    return y.reshape(n, W.shape[0], out_h, out_w), cols


def conv2d_backward(
    grad: np.ndarray,
    cols: np.ndarray,
    W: np.ndarray,
    x_shape: tuple[int, ...],
    stride: int = 1,
    padding: int = 0,
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    r"""Gradients of :func:`conv2d`: :math:`dW = \sum_n g_n\,cols_n^T`, :math:`db = \sum g`,
    :math:`dx = \mathrm{col2im}(W^T g)`.

    Args:
        grad: ``dL/dy``, ``(N, O, out_h, out_w)``.
        cols: the ``cols`` returned by the forward.
        W: the weights, ``(O, C, kh, kw)``.
        x_shape: the input's shape ``(N, C, H, W)``.
        input_grad: also compute ``dL/dx`` (else it is None).

    Returns:
        ``(dx, dW, db)`` with the shapes of ``x``, ``W`` and ``b``.
    """
    n, o = grad.shape[:2]
    g = grad.reshape(n, o, -1)
    # dW = sum_n g_n cols_n^T as one product over the merged (n, l) axis.
    dW = np.tensordot(g, cols, axes=([0, 2], [0, 2])).reshape(W.shape)
    db = g.sum(axis=(0, 2))
    if not input_grad:
        return None, dW, db
    dcols = np.matmul(W.reshape(o, -1).T, g)  # (CKK, O) @ (N, O, L) -> (N, CKK, L)
    out_h, out_w = grad.shape[2:]
    dcols = dcols.reshape(n, W.shape[1], W.shape[2], W.shape[3], out_h, out_w)
    return col2im(dcols, x_shape, stride, padding), dW, db


def max_pool2d(x: np.ndarray, kernel: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximum of each ``kernel x kernel`` window (no padding, floor), as PyTorch's max_pool2d.

    Shape:
        - x: ``(N, C, H, W)``; output: ``(N, C, out_h, out_w)``.

    Returns:
        ``(y, argmax)``: ``argmax`` (``(N, C, out_h, out_w)``) is the flat offset ``p * k + q``
        of the first maximum in each window, which the backward routes the gradient to.
    """
    view = windows(x, (kernel, kernel), stride)
    n, c, _, _, out_h, out_w = view.shape
    flat = view.reshape(n, c, kernel * kernel, out_h, out_w)
    argmax = flat.argmax(axis=2)  # argmax returns the first of tied maxima
    return np.take_along_axis(flat, argmax[:, :, None], axis=2)[:, :, 0], argmax


def max_pool2d_backward(
    grad: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...], kernel: int, stride: int
) -> np.ndarray:
    """``dL/dx`` of :func:`max_pool2d`: each window's gradient to its (first) maximum.

    Shape:
        - grad, argmax: ``(N, C, out_h, out_w)``; output: ``x_shape``.
    """
    offsets = np.arange(kernel * kernel).reshape(kernel, kernel, 1, 1)
    cols = np.where(argmax[:, :, None, None] == offsets, grad[:, :, None, None], 0)
    return col2im(cols.astype(grad.dtype, copy=False), x_shape, stride)


def avg_pool2d(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Mean of each ``kernel x kernel`` window (no padding, floor), as PyTorch's avg_pool2d.

    Shape:
        - x: ``(N, C, H, W)``; output: ``(N, C, out_h, out_w)``, dtype of ``x``.
    """
    view = windows(x, (kernel, kernel), stride)
    return view.mean(axis=(2, 3), dtype=x.dtype)


def avg_pool2d_backward(
    grad: np.ndarray, x_shape: tuple[int, ...], kernel: int, stride: int
) -> np.ndarray:
    """``dL/dx`` of :func:`avg_pool2d`: each window's gradient spread as ``grad / k**2``.

    Shape:
        - grad: ``(N, C, out_h, out_w)``; output: ``x_shape``.
    """
    share = grad / grad.dtype.type(kernel * kernel)
    n, c, out_h, out_w = grad.shape
    cols = np.broadcast_to(share[:, :, None, None], (n, c, kernel, kernel, out_h, out_w))
    return col2im(cols, x_shape, stride)
