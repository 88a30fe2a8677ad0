"""API tests of the ``Softmax`` layer and ``functional.softmax_backward``.

Contract pinned here: ``Softmax`` normalises each row of a ``(batch, classes)`` batch (not each
column); its backward is ``y * (grad - sum(grad * y, axis=1))``; it is a parameter-free ``Layer``
(empty ``params``/``grads``), not an elementwise ``Activation``; float32 stays float32; neither
call writes into its arguments; a non-2-D input raises ``ValueError`` naming its shape.
``softmax_backward`` sums over ``axis`` (the last by default). Expected values are written out
by hand: softmax of ``[0, ln 3]`` is ``[1/4, 3/4]`` and of ``[ln 2, ln 2]`` is ``[1/2, 1/2]``.
The gradient check, the torch oracle and the must-fail plant run over the registry entry.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import nplearn
from nplearn import Activation, Layer, Softmax
from nplearn.functional import softmax_backward

X = np.array([[0.0, np.log(3.0)], [np.log(2.0), np.log(2.0)]])
Y = np.array([[0.25, 0.75], [0.5, 0.5]])
G = np.array([[4.0, 0.0], [2.0, 0.0]])
# sum(G * Y) per row is [1, 1]: dx = Y * (G - 1).
DX = np.array([[0.75, -0.75], [0.5, -0.5]])


def test_softmax_is_exported_as_a_parameter_free_layer() -> None:
    """``nplearn.Softmax`` is public, a Layer but not an Activation, with empty params/grads."""
    assert "Softmax" in nplearn.__all__ and nplearn.Softmax is Softmax
    layer = Softmax()
    assert isinstance(layer, Layer) and not isinstance(layer, Activation)
    assert layer.params == {} and layer.grads == {}
    assert repr(layer) == "Softmax()"


def test_forward_and_backward_hand_values() -> None:
    """Each row is normalised on its own; backward is the row-wise Jacobian-vector product."""
    layer = Softmax()
    np.testing.assert_allclose(layer.forward(X), Y, rtol=1e-15)
    np.testing.assert_allclose(layer.backward(G), DX, rtol=1e-15)
    assert layer.backward(G, input_grad=False) is None
    assert layer.params == {} and layer.grads == {}


def test_softmax_backward_sums_over_the_given_axis() -> None:
    """The default axis is the last; axis 0 sums down the columns instead (hand values)."""
    np.testing.assert_allclose(softmax_backward(Y, G), DX, rtol=1e-15)
    np.testing.assert_allclose(softmax_backward(Y, G, axis=1), DX, rtol=1e-15)
    # sum(G * Y) per column is [2, 0]: dx = Y * (G - [2, 0]).
    np.testing.assert_allclose(softmax_backward(Y, G, axis=0), [[0.5, 0.0], [0.0, 0.0]], atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype_and_leaves_its_arguments_alone(dtype: type) -> None:
    """float32 stays float32; x, grad and the cached output are unchanged, twice in a row, and
    backward returns a new array each time."""
    x, grad = X.astype(dtype), G.astype(dtype)
    x_before, grad_before = x.copy(), grad.copy()
    layer = Softmax()
    y = layer.forward(x)
    y_before = y.copy()
    first, second = layer.backward(grad), layer.backward(grad)
    assert first is not None and second is not None
    assert y.dtype == dtype and first.dtype == dtype
    assert not np.shares_memory(first, second)
    assert not np.shares_memory(first, grad) and not np.shares_memory(first, y)
    np.testing.assert_array_equal(first, second)
    for after, before in ((x, x_before), (grad, grad_before), (y, y_before)):
        np.testing.assert_array_equal(after, before)
    np.testing.assert_allclose(first, DX, rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("shape", [(3,), (2, 1, 3)])
def test_rejects_input_that_is_not_a_batch_of_rows(shape: tuple[int, ...]) -> None:
    """A 1-D or 3-D input raises ValueError naming the layer and the shape."""
    pattern = re.escape(f"Softmax() expects input of shape (batch, classes), got shape {shape}")
    with pytest.raises(ValueError, match=pattern):
        Softmax().forward(np.zeros(shape))
