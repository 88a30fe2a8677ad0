"""How the registry's entries draw their inputs and build their layers.

Contract
--------
:func:`values` and :func:`distinct_values` are hypothesis strategies for input arrays; the
``_name`` builders are the ``make`` and ``shape`` functions of :mod:`verification.registry`'s
entries: ``make(features, dtype, seed) -> layer`` draws a layer's sizes, options and parameters
from ``seed``, so that every example of a test sees a reproducible, non-trivial layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import DTypeLike

from nplearn import AvgPool2d, BatchNorm1d, Conv2d, Dropout, Layer, Linear, MaxPool2d
from nplearn.functional import Tensor

__all__ = ["F64", "KINK", "distinct_values", "values"]

#: Inputs stay at least this far from a kink, where central differences straddle two slopes.
KINK = 1e-3
F64 = np.float64


def values(
    shape: tuple[int, ...], bound: float, kinks: tuple[float, ...] = (), dtype: DTypeLike = F64
) -> st.SearchStrategy[Tensor]:
    """Arrays of ``shape`` and ``dtype``, entries in ``[-bound, bound]`` and ``KINK`` from kinks.

    An entry that falls within ``KINK`` of a kink is moved to ``KINK`` from it, on its side.
    """
    dtype = np.dtype(dtype)
    bound = float(dtype.type(bound))
    elements = st.floats(-bound, bound, width=dtype.itemsize * 8, allow_subnormal=False)

    def clear(v: float) -> float:
        for kink in kinks:
            if abs(v - kink) < KINK:
                v = kink + math.copysign(KINK, v - kink)
        return v

    return hnp.arrays(dtype, shape, elements=elements.map(clear) if kinks else elements)


def distinct_values(
    shape: tuple[int, ...], bound: float, dtype: DTypeLike = F64
) -> st.SearchStrategy[Tensor]:
    """Arrays of ``shape`` whose entries are a shuffled evenly spaced grid over
    ``[-bound, bound]``: no two closer than ``2 * bound / size``, so a finite-difference step
    never swaps which entry of a window is the largest."""
    size = math.prod(shape)
    grid = np.linspace(-bound, bound, size, dtype=dtype) if size > 1 else np.zeros(size, dtype)
    return st.permutations(list(range(size))).map(lambda order: grid[order].reshape(shape))



def rows(batch: int, features: int) -> tuple[int, ...]:
    """The default input shape: ``(batch, features)``."""
    return (batch, features)


def no_options(layer: Layer) -> dict[str, object]:
    """No keyword arguments for the torch equivalent beyond the parameters."""
    return {}


def linear(features: int, dtype: DTypeLike, seed: int) -> Linear:
    """A Linear layer with 1 to 6 outputs, the count and the weights drawn from ``seed``."""
    out = int(np.random.default_rng(seed).integers(1, 7))
    return Linear(features, out, dtype=dtype, rng=seed)


def conv2d(features: int, dtype: DTypeLike, seed: int) -> Conv2d:
    """A Conv2d over 2 channels: 1 to 4 filters of 1 to 3 pixels, stride 1 to 3, padding 0 to 1,
    all drawn from ``seed`` (inputs are :func:`images`, never smaller than the kernel)."""
    out, kernel, stride, padding = np.random.default_rng(seed).integers([1, 1, 1, 0], [5, 4, 4, 2])
    return Conv2d(2, int(out), int(kernel), int(stride), int(padding), dtype=dtype, rng=seed)


def images(batch: int, features: int) -> tuple[int, ...]:
    """``(batch, 2, features + 3, features + 2)``: two channels, not square, at least 4x3."""
    return (batch, 2, features + 3, features + 2)


def pool(cls: type[MaxPool2d | AvgPool2d]) -> Callable[[int, DTypeLike, int], Layer]:
    """``cls(kernel, stride)`` with a kernel of 1 or 2 and a stride of 1, 2 or the kernel's."""

    def make(features: int, dtype: DTypeLike, seed: int) -> Layer:
        kernel, stride = np.random.default_rng(seed).integers([1, 0], [3, 3])
        return cls(int(kernel), None if stride == 0 else int(stride))

    return make


def batchnorm(features: int, dtype: DTypeLike, seed: int) -> BatchNorm1d:
    """A BatchNorm1d whose gamma and beta are drawn from ``seed`` (not the trivial 1 and 0)."""
    layer = BatchNorm1d(features, dtype=dtype)
    for param in layer.params.values():
        param[...] = np.random.default_rng(seed).uniform(-2, 2, param.shape)
    return layer


def dropout(features: int, dtype: DTypeLike, seed: int) -> Dropout:
    return Dropout(float(np.random.default_rng(seed).uniform(0, 0.9)), np.random.default_rng(seed))


def pool_options(layer: Layer) -> dict[str, object]:
    """A pooling layer's window for its torch equivalent."""
    return {"kernel_size": layer.kernel_size, "stride": layer.stride}


def upstream(shape: tuple[int, ...], distinct: bool) -> st.SearchStrategy[Tensor]:
    """Upstream gradients ``dL/dy`` of ``shape``: :func:`values` in ``[-3, 3]``, or, if
    ``distinct``, seeded standard normal draws (no structure for hypothesis to find)."""
    if not distinct:
        return values(shape, 3.0)
    seeds = st.integers(0, 2**32 - 1)
    return seeds.map(lambda seed: np.random.default_rng(seed).standard_normal(shape))
