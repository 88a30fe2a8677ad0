"""Softmax, log-softmax, cross-entropy and the activations: properties and stability at extreme
inputs.

Properties are drawn by hypothesis, in float32 and float64. "No warnings" is proved by turning
every warning into an error and every floating-point error except underflow into an exception
(underflow to 0, as in ``exp(-1e4)``, is the correctly rounded answer and numpy's default).
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nplearn import (
    CrossEntropyLoss,
    Sigmoid,
    log_softmax,
    sigmoid,
    softmax,
    to_one_hot,
)
from nplearn.checks import relative_error
from verification.registry import LAYERS, LayerEntry

DTYPES = [np.float32, np.float64]
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
shapes = st.tuples(st.integers(1, 6), st.integers(1, 8))
PARAMETER_FREE = [entry for entry in LAYERS if entry.make is None]


@contextlib.contextmanager
def strict() -> Iterator[None]:
    """Warnings and floating-point errors (but underflow) raise inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            yield


def logits(dtype: type, bound: float, shape: st.SearchStrategy = shapes) -> st.SearchStrategy:
    """Finite arrays of ``dtype`` with entries in ``[-bound, bound]`` (bound included)."""
    bound = float(dtype(bound))
    width = np.finfo(dtype).bits
    elements = st.floats(-bound, bound, width=width, allow_nan=False, allow_infinity=False)
    return shape.flatmap(lambda s: hnp.arrays(dtype, s, elements=elements))


def eps(dtype: type) -> float:
    return float(np.finfo(dtype).eps)


@dtypes
@settings(max_examples=60)
@given(data=st.data())
def test_softmax_rows_are_distributions(check_record, dtype, data) -> None:
    """softmax rows lie in [0, 1], sum to 1, and keep the dtype (logits up to 1e30)."""
    x = data.draw(logits(dtype, 1e30))
    with strict():
        p = softmax(x, axis=1)
    assert p.dtype == dtype and np.all((p >= 0) & (p <= 1))
    worst = float(np.max(np.abs(p.sum(axis=1, dtype=np.float64) - 1)))
    tolerance = 2 * x.shape[1] * eps(dtype)
    check_record(worst, "abs 2*classes*eps")
    assert worst <= tolerance


@dtypes
@settings(max_examples=60)
@given(data=st.data())
def test_softmax_shift_invariant(check_record, dtype, data) -> None:
    """softmax(x + c) == softmax(x) per row, up to the rounding of x + c."""
    x = data.draw(logits(dtype, 50.0))
    c = data.draw(hnp.arrays(dtype, (x.shape[0], 1), elements=st.floats(-100, 100, width=32)))
    shifted = (x + c).astype(dtype)
    with strict():
        p, q = softmax(x, axis=1), softmax(shifted, axis=1)
    # Rounding x + c moves each logit by up to eps*|x + c|, so p changes by about that much.
    tolerance = 4 * eps(dtype) * (np.abs(shifted).max() + 1)
    worst = float(np.max(np.abs(p - q)))
    check_record(worst, "abs 4*eps*(max|x+c|+1)")
    assert worst <= tolerance


@dtypes
@settings(max_examples=60)
@given(data=st.data())
def test_softmax_and_log_softmax_match_scipy(check_record, dtype, data) -> None:
    """softmax and log_softmax agree with scipy.special to a few ulps."""
    x = data.draw(logits(dtype, 1e4))
    with strict():
        p, logp = softmax(x, axis=1), log_softmax(x, axis=1)
    expected_p = scipy.special.softmax(x.astype(np.float64), axis=1)
    expected_logp = scipy.special.log_softmax(x.astype(np.float64), axis=1)
    tolerance = 8 * eps(dtype)
    np.testing.assert_allclose(p, expected_p, rtol=tolerance, atol=tolerance)
    err = max(relative_error(p, expected_p), relative_error(logp, expected_logp))
    check_record(err, "rel 8*eps")
    assert logp.dtype == dtype and err <= tolerance


def check_extreme(x: np.ndarray, labels: np.ndarray) -> None:
    """softmax, CE (both targets, both reductions) and its gradient finite, no warnings."""
    with strict():
        p = softmax(x, axis=1)
        for target in (labels, to_one_hot(labels, x.shape[1], dtype=x.dtype)):
            for reduction in ("sum", "mean"):
                loss = CrossEntropyLoss(reduction)
                value = loss(x, target)
                assert np.isfinite(value) and value >= 0
                assert np.all(np.isfinite(loss.grad)) and loss.grad.dtype == x.dtype
    assert np.all(np.isfinite(p))


BOUNDS = pytest.mark.parametrize("bound", [1e4, 1e30], ids=["1e4", "1e30"])


@dtypes
@BOUNDS
@settings(max_examples=40)
@given(data=st.data())
def test_extreme_logits(dtype, bound, data) -> None:
    """Random logits up to the bound: softmax, CE and its gradient finite, no warnings."""
    x = data.draw(logits(dtype, bound))
    labels = data.draw(hnp.arrays(np.int64, x.shape[0], elements=st.integers(0, x.shape[1] - 1)))
    check_extreme(x, labels)


def grid(b: float, dtype: type) -> np.ndarray:
    """Every row of 3 logits from ``{-b, -1, 0, 1, b}`` (125 rows)."""
    return np.array(list(itertools.product([-b, -1.0, 0.0, 1.0, b], repeat=3)), dtype=dtype)


@dtypes
@BOUNDS
def test_extreme_logit_grid(dtype, bound) -> None:
    """Every row of 3 logits from {-b, -1, 0, 1, b}, every label: finite, no warnings."""
    for label in range(3):
        check_extreme(grid(bound, dtype), np.full(125, label))


@dtypes
def test_softmax_full_range(dtype) -> None:
    """softmax of logits up to +-finfo.max (rows such as [max, -max]): exact, no warnings.

    The cross-entropy value is not asserted here: summed over a batch it can exceed the dtype's
    range for real (log_softmax may be -inf when a row's spread overflows, as documented).
    """
    x = grid(float(np.finfo(dtype).max), dtype)
    with strict():
        p = softmax(x, axis=1)
        log_softmax(x, axis=1)
    expected = scipy.special.softmax(x.astype(np.longdouble), axis=1)  # x - max fits here
    assert p.dtype == dtype and np.all(np.isfinite(p))
    assert relative_error(p, expected.astype(np.float64)) <= 8 * eps(dtype)


@dtypes
@settings(max_examples=60)
@given(data=st.data())
def test_log_softmax_finite_where_log_of_softmax_is_not(check_record, dtype, data) -> None:
    """log_softmax stays finite and exact where log(softmax) underflows to -inf."""
    x = data.draw(logits(dtype, 1e4, st.tuples(st.integers(1, 4), st.integers(2, 6))))
    x[:, 0] = 1e4  # a spread of at least 1e4 in every row: some p underflows to 0
    x[:, 1] = -1e4
    with strict():
        logp = log_softmax(x, axis=1)
    with np.errstate(divide="ignore", under="ignore"):
        assert np.any(np.isneginf(np.log(softmax(x, axis=1))))  # the naive form fails here
    expected = scipy.special.log_softmax(x.astype(np.float64), axis=1)
    assert np.all(np.isfinite(logp))
    err = relative_error(logp, expected)
    check_record(err, "rel 8*eps")
    assert err <= 8 * eps(dtype)


@dtypes
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@settings(max_examples=60)
@given(data=st.data())
def test_cross_entropy_targets_and_gradient(check_record, dtype, reduction, data) -> None:
    """CE: one-hot targets equal label targets (value and grad); gradient rows sum to 0."""
    x = data.draw(logits(dtype, 1e4))
    labels = data.draw(hnp.arrays(np.int64, x.shape[0], elements=st.integers(0, x.shape[1] - 1)))
    by_index, by_onehot = CrossEntropyLoss(reduction), CrossEntropyLoss(reduction)
    with strict():
        value = by_index(x, labels)
        value_onehot = by_onehot(x, to_one_hot(labels, x.shape[1], dtype=dtype))
    assert value >= 0
    tolerance = 4 * x.size * eps(dtype)
    assert abs(value - value_onehot) <= tolerance * max(abs(value), 1.0)
    np.testing.assert_allclose(by_index.grad, by_onehot.grad, rtol=0, atol=4 * eps(dtype))
    row_sums = np.abs(by_index.grad.sum(axis=1, dtype=np.float64))
    worst = float(row_sums.max())
    check_record(worst, "abs classes*2*eps (row sums)")
    assert worst <= 2 * x.shape[1] * eps(dtype)


@pytest.mark.parametrize("entry", PARAMETER_FREE, ids=lambda e: e.id)
@dtypes
@settings(max_examples=60)
@given(data=st.data())
def test_parameter_free_layer_never_warns(entry: LayerEntry, dtype, data) -> None:
    """Every parameter-free layer (the activations, softmax) is finite, silent and keeps the
    dtype for any input up to +-finfo.max.

    Forward and backward (with a unit upstream gradient) run under warnings-as-errors."""
    x = data.draw(logits(dtype, np.finfo(dtype).max))
    layer = entry.layer()
    with strict():
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert y.dtype == dtype and dx is not None and dx.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))


@dtypes
@settings(max_examples=60)
@given(data=st.data())
def test_sigmoid_never_warns(dtype, data) -> None:
    """Sigmoid forward and backward: no warnings, values in range, any |x|."""
    x = data.draw(logits(dtype, np.finfo(dtype).max))
    upstream = np.ones_like(x)
    layer = Sigmoid()
    with strict():
        y, s = layer.forward(x), sigmoid(x)
        dx = layer.backward(upstream)
    assert y.dtype == dtype and dx.dtype == dtype
    assert np.all((y >= 0) & (y <= 1)) and np.array_equal(y, s)
    assert np.all((dx >= 0) & (dx <= 0.25))


@dtypes
@settings(max_examples=60)
@given(data=st.data())
def test_sigmoid_agrees_with_expit(check_record, dtype, data) -> None:
    """sigmoid = 1/(1+exp(-x)) is within 4 ulps of scipy's expit (computed in float64) wherever
    sigma(x) is a normal float, and within the smallest normal of it below that; limits exact."""
    x = data.draw(logits(dtype, 200.0))
    y = sigmoid(x)
    exact = scipy.special.expit(x.astype(np.float64))
    tiny = float(np.finfo(dtype).tiny)
    normal = exact >= tiny
    worst = float(np.max(np.abs(y - exact)[normal] / exact[normal], initial=0.0)) / eps(dtype)
    check_record(worst, "4 ulps (relative / eps)")
    assert worst <= 4
    assert np.all(np.abs(y - exact)[~normal] <= tiny)
    limits = sigmoid(np.array([-np.inf, -1e4, 0.0, 1e4, np.inf], dtype))
    np.testing.assert_array_equal(limits, [0.0, 0.0, 0.5, 1.0, 1.0])
