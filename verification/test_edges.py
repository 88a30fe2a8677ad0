"""Edge cases of the core math that the other tests leave open (found by mutation testing).

Each test pins one behaviour that a small change of the library could break unnoticed:
integer and empty inputs, defaults and attributes a user reads, and the in-place buffers that
keep a call free of extra allocations (:mod:`verification.allocations`).
"""

from __future__ import annotations

import numpy as np
import pytest

from nplearn.functional import sigmoid, softmax, to_one_hot
from nplearn.init import INITS
from nplearn.layers import Layer, Linear
from verification.allocations import peak_bytes


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


def test_softmax_allocates_only_its_output_and_shift() -> None:
    """softmax divides in place: the shifted logits and their exp are its only full arrays."""
    x = np.random.default_rng(0).normal(size=(500, 100))
    assert peak_bytes(softmax, x) < 2.5 * x.nbytes


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
