"""Edge cases of the core math that the other tests leave open (found by mutation testing).

Each test pins one behaviour that a small change of the library could break unnoticed:
integer and empty inputs, defaults and attributes a user reads, and the in-place buffers that
keep a step free of extra allocations (measured with :mod:`tracemalloc`, which sees NumPy's
array buffers).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from nplearn.functional import sigmoid, to_one_hot
from nplearn.init import INITS
from nplearn.layers import Layer, Linear


def peak_bytes(fn: Callable[..., object], *args: object) -> int:
    """The peak of memory newly allocated while ``fn(*args)`` runs, in bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn(*args)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8, np.bool_])
def test_sigmoid_of_integers_is_float64(dtype: type) -> None:
    """Non-float input gives float64 values of sigma, not an integer array or an error."""
    x = np.array([-3, 0, 1, 3]).astype(dtype)
    y = sigmoid(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x.astype(np.float64))), rtol=1e-15)


def test_sigmoid_allocates_only_its_output() -> None:
    """sigmoid works in its one output buffer: no temporary array of the input's size."""
    x = np.linspace(-5, 5, 250_000)
    assert peak_bytes(sigmoid, x) < 1.5 * x.nbytes


def test_to_one_hot_of_no_labels() -> None:
    """No labels and no num_classes: shape (0, 0); with num_classes: (0, num_classes)."""
    empty = np.array([], dtype=np.int64)
    assert to_one_hot(empty).shape == (0, 0)
    assert to_one_hot(empty, num_classes=3).shape == (0, 3)


def test_layer_base_has_empty_dicts_and_trains() -> None:
    """A bare Layer has no parameters and no gradients, and starts in training mode."""
    layer = Layer()
    assert layer.params == {} and layer.grads == {}
    assert layer.training is True


@pytest.mark.parametrize("init", INITS)
def test_linear_remembers_its_init(init: str) -> None:
    """Linear(init=...).init is the scheme it was built with (the default is pytorch)."""
    assert Linear(3, 2, init=init, rng=0).init == init
    assert Linear(3, 2, rng=0).init == "pytorch"
