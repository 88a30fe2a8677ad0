"""Edge cases of the core math that the other tests leave open (found by mutation testing).

Each test pins one behaviour that a small change of the library could break unnoticed:
integer, empty and non-finite inputs, every shape and axis of softmax (whose ``(batch, classes)``
rows take a faster path), defaults and attributes a user reads, and the in-place buffers that
keep a call free of extra allocations (:mod:`verification.allocations`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special

from nplearn import functional
from nplearn.functional import log_softmax, sigmoid, softmax, to_one_hot
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_allocates_only_its_output_and_shift(dtype: type) -> None:
    """softmax divides in place and sums in the logits' dtype: the shifted logits and their exp
    are its only full arrays."""
    x = np.random.default_rng(0).normal(size=(500, 100)).astype(dtype)
    assert peak_bytes(softmax, x) < 2.5 * x.nbytes


LAYOUTS = [((5,), -1), ((5,), 0), ((4, 6), 0), ((4, 6), -2), ((4, 6), 1), ((4, 6), -1),
           ((2, 3, 4), -1), ((2, 3, 4), 1), ((2, 3, 4), 0)]


@pytest.mark.parametrize(("shape", "axis"), LAYOUTS, ids=str)
def test_softmax_and_log_softmax_along_any_axis(shape: tuple[int, ...], axis: int) -> None:
    """Every shape and axis agrees with scipy (float64), not only (batch, classes) rows."""
    x = 5 * np.random.default_rng(3).normal(size=shape)
    np.testing.assert_allclose(
        softmax(x, axis=axis), scipy.special.softmax(x, axis=axis), rtol=1e-13
    )
    np.testing.assert_allclose(
        log_softmax(x, axis=axis), scipy.special.log_softmax(x, axis=axis), rtol=1e-13, atol=1e-14
    )


@pytest.mark.parametrize("f", [softmax, log_softmax])
def test_softmax_of_no_rows(f: object) -> None:
    """A batch of no rows gives no rows, not an error."""
    assert f(np.zeros((0, 3)), axis=1).shape == (0, 3)


@pytest.mark.parametrize(("shape", "axis", "fast"), [
    ((4, 6), 1, True), ((4, 6), -1, True), ((4, 6), 0, False), ((4, 6), -2, False),
    ((2, 3, 4), -1, False), ((6,), -1, False),
])
def test_rows_are_summed_by_one_blas_call(
    monkeypatch: pytest.MonkeyPatch, shape: tuple[int, ...], axis: int, fast: bool
) -> None:
    """(batch, classes) rows along their last axis are summed by ``summing_vector`` (the fast
    path); every other layout by NumPy's sum."""
    calls = []
    original = functional.summing_vector

    def spy(*args: object) -> np.ndarray:
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(functional, "summing_vector", spy)
    softmax(np.ones(shape), axis=axis)
    assert bool(calls) == fast


@pytest.mark.parametrize("axis", [1, 0])
def test_non_finite_logits_give_nan_without_a_warning(axis: int) -> None:
    """Rows holding inf (a diverged network) become NaN silently; finite rows are unaffected."""
    x = np.array([[np.inf, 0.0], [-np.inf, -np.inf], [1.0, 2.0]])
    x = x if axis == 1 else x.T
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, log_p = softmax(x, axis=axis), log_softmax(x, axis=axis)
    p, log_p = (p, log_p) if axis == 1 else (p.T, log_p.T)
    assert np.isnan(p[:2]).all() and np.isnan(log_p[:2]).all()
    np.testing.assert_allclose(p[2], scipy.special.softmax([1.0, 2.0]), rtol=1e-15)


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
