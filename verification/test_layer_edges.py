"""Layer behaviours the formula tests leave open (found by mutation testing).

- A refused backward names the layer by its repr, for every layer of the registry.
- Backward works in preallocated buffers: Linear writes its gradients with ``out=`` and sums the
  bias gradient in the layer's dtype (no float64 copy of a float32 gradient); an activation's
  derivative allocates only its terms, and backward scales a slope of the gradient's dtype in
  place (:mod:`verification.allocations`).
- A one-row batch computes ``dL/dW`` with ``np.dot`` (``np.matmul`` skips BLAS for it); larger
  batches with ``np.matmul``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from nplearn import Linear, Sigmoid, Tanh
from verification.allocations import peak_bytes
from verification.registry import LAYERS, LayerEntry


@pytest.mark.parametrize("entry", LAYERS, ids=lambda e: e.id)
def test_refused_backward_names_the_layer(entry: LayerEntry) -> None:
    """Before forward, and with a gradient of the wrong shape, the message starts with repr."""
    layer = entry.build(3)
    before = f"{layer!r}: backward() called before forward()"
    with pytest.raises(RuntimeError, match="^" + re.escape(before)):
        layer.backward(np.ones((4, 3)))
    out = layer(np.ones(entry.shape(4, 3)))
    wrong = (out.shape[0] + 1, *out.shape[1:])
    shape = f"{layer!r}: upstream gradient has shape {wrong}"
    with pytest.raises(ValueError, match="^" + re.escape(shape)):
        layer.backward(np.ones(wrong))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_backward_writes_into_its_gradients(dtype: type) -> None:
    """Without dL/dx, Linear's backward allocates far less than one gradient's size."""
    layer = Linear(4, 300, dtype=dtype, rng=0)
    layer(np.ones((500, 4), dtype))
    grad = np.ones((500, 300), dtype)
    assert peak_bytes(lambda: layer.backward(grad, input_grad=False)) < grad.nbytes / 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_backward_scales_its_slope_in_place(dtype: type) -> None:
    """Sigmoid's backward allocates its slope y(1 - y) and nothing more of that size."""
    layer = Sigmoid()
    layer(np.linspace(-3, 3, 100_000).astype(dtype))
    grad = np.ones(100_000, dtype)
    assert peak_bytes(layer.backward, grad) < 1.5 * grad.nbytes


@pytest.mark.parametrize(("layer", "arrays"), [(Sigmoid, 1), (Tanh, 2)], ids=["Sigmoid", "Tanh"])
def test_activation_derivative_allocates_only_its_terms(layer: type, arrays: int) -> None:
    """y(1 - y) needs one new array, (1 - y)(1 + y) two: the product is taken in place."""
    y = np.linspace(-0.99, 0.99, 100_000)
    assert peak_bytes(layer.derivative, y) < (arrays + 0.5) * y.nbytes


@pytest.mark.parametrize(("batch", "dot_calls"), [(1, 1), (4, 0)])
def test_one_row_batch_uses_dot(
    monkeypatch: pytest.MonkeyPatch, batch: int, dot_calls: int
) -> None:
    """dL/dW of a one-row batch goes through np.dot, of a larger batch through np.matmul."""
    calls = []
    dot = np.dot

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return dot(*args, **kwargs)

    layer = Linear(3, 2, dtype=np.float64, rng=0)
    x = np.arange(3.0 * batch).reshape(batch, 3)
    layer(x)
    monkeypatch.setattr(np, "dot", spy)
    layer.backward(np.ones((batch, 2)), input_grad=False)
    assert len(calls) == dot_calls
    np.testing.assert_allclose(layer.grads["W"], x.T @ np.ones((batch, 2)), rtol=1e-15)
