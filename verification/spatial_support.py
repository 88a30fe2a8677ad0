"""Correct NumPy conv2d, max/avg pooling and flatten for the conformance suite's own tests.

Small reference pieces in the protocol's interface, under either declared layout (``NCHW`` or
``NHWC``) and weight layout (``OIHW`` or ``HWIO``): the correct twins the planted bugs of
``test_conformance_spatial.py`` and ``test_conformance_shapes.py`` are written against (a conv
kernel may have two sizes). They compute NCHW inside, through a strided window view and one
``einsum``; ``padded_dx`` and ``windows`` are the steps a planted bug replaces.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["HEAD", "AvgPool2d", "Conv2d", "Flatten", "MaxPool2d"]

#: The start of a test adapter of these pieces (a planted library replaces one of them after it).
HEAD = '''
import numpy as np
import nplearn
from verification.spatial_support import AvgPool2d, Conv2d, Flatten, MaxPool2d

conv2d, maxpool2d, avgpool2d, flatten = Conv2d, MaxPool2d, AvgPool2d, Flatten
'''


class _Spatial:
    """Layout at the boundary: the library's arrays in, NCHW inside, the library's out."""

    def __init__(self, k: int, stride: int, padding: int = 0, layout: str = "NCHW",
                 kw: int | None = None) -> None:
        self.k, self.stride, self.padding, self.layout = k, stride, padding, layout
        self.kw = k if kw is None else kw  # the window's width (its height is k)

    def _in(self, x: np.ndarray) -> np.ndarray:
        return x.transpose(0, 3, 1, 2) if self.layout == "NHWC" else x

    def _out(self, y: np.ndarray) -> np.ndarray:
        return y.transpose(0, 2, 3, 1) if self.layout == "NHWC" else y

    def windows(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, OH, OW, k, kw)``: the windows of the padded NCHW input."""
        p, s = self.padding, self.stride
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        return sliding_window_view(xp, (self.k, self.kw), axis=(2, 3))[:, :, ::s, ::s]

    def padded_dx(self, parts: np.ndarray) -> np.ndarray:
        """Sum ``parts`` ``(N, C, OH, OW, k, kw)`` back into the input's pixels, unpadded."""
        n, c, oh, ow, k, kw = parts.shape
        h, w = self.shape[2:]
        s, p = self.stride, self.padding
        dxp = np.zeros((n, c, h + 2 * p, w + 2 * p))
        for i in range(k):
            for j in range(kw):
                dxp[:, :, i:i + s * oh:s, j:j + s * ow:s] += parts[..., i, j]
        return dxp[:, :, p:p + h, p:p + w]

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._in(np.asarray(x, dtype=np.float64))
        self.shape, self.x = x.shape, x
        return self._out(self.compute(self.windows(x)))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return self._out(self.padded_dx(self.spread(self._in(np.asarray(grad)))))


class Conv2d(_Spatial):
    """Cross-correlation as F.conv2d; ``W`` in ``weight_layout``, kept as given."""

    def __init__(self, W, b, stride, padding, layout="NCHW", weight_layout="OIHW"):
        hwio = weight_layout == "HWIO"
        super().__init__(W.shape[0 if hwio else 2], stride, padding, layout,
                         kw=W.shape[1 if hwio else 3])
        self.weight_layout = weight_layout
        self.params = {"W": W, "b": b}
        self.grads: dict[str, np.ndarray] = {}

    def _oihw(self) -> np.ndarray:
        W = self.params["W"]
        return W.transpose(3, 2, 0, 1) if self.weight_layout == "HWIO" else W

    def compute(self, windows: np.ndarray) -> np.ndarray:
        self.cols = windows
        y = np.einsum("nchwij,ocij->nohw", windows, self._oihw())
        return y + self.params["b"][None, :, None, None]

    def spread(self, grad: np.ndarray) -> np.ndarray:
        dW = np.einsum("nchwij,nohw->ocij", self.cols, grad)
        self.grads = {"W": dW.transpose(2, 3, 1, 0) if self.weight_layout == "HWIO" else dW,
                      "b": grad.sum(axis=(0, 2, 3))}
        return np.einsum("nohw,ocij->nchwij", grad, self._oihw())


class MaxPool2d(_Spatial):
    """The gradient goes to the first maximum of each window, as PyTorch's."""

    def __init__(self, k, stride, layout="NCHW"):
        super().__init__(k, stride, 0, layout)

    def compute(self, windows: np.ndarray) -> np.ndarray:
        flat = windows.reshape(*windows.shape[:4], -1)
        self.first = flat.argmax(axis=-1)
        return flat.max(axis=-1)

    def spread(self, grad: np.ndarray) -> np.ndarray:
        parts = np.zeros((*grad.shape, self.k * self.k))
        np.put_along_axis(parts, self.first[..., None], grad[..., None], axis=-1)
        return parts.reshape(*grad.shape, self.k, self.k)


class AvgPool2d(_Spatial):
    def __init__(self, k, stride, layout="NCHW"):
        super().__init__(k, stride, 0, layout)

    def compute(self, windows: np.ndarray) -> np.ndarray:
        return windows.mean(axis=(-2, -1))

    def spread(self, grad: np.ndarray) -> np.ndarray:
        share = grad / (self.k * self.k)
        return np.broadcast_to(share[..., None, None], (*grad.shape, self.k, self.k))


class Flatten:
    """``(N, ...) -> (N, -1)`` in the order of the array as given (its layout's)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = np.shape(x)
        return np.reshape(x, (len(x), -1))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.reshape(grad, self.shape)
