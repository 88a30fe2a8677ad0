"""API tests of ``nplearn.layers`` (Linear and the activations) and the public import line.

Contract pinned here: ``Linear`` keeps ``W`` of shape (in, out) and ``b`` of shape (out,)
in ``params``; ``forward(x) = x @ W + b``; ``backward(grad)`` returns ``grad @ W.T`` and writes
``x.T @ grad`` and ``grad.sum(0)`` into ``grads`` (aliased ``dydw``/``dydb``); ``layer.W = arr``
replaces the weight; init choices have the documented shapes, dtypes and spreads; float32 stays
float32 whatever the input dtype; ``ReLU.backward`` is ``grad * (x > 0)``. Every layer of
``verification.registry`` has ``train()``/``eval()`` and raises the documented error, with a
message giving both shapes, for every bad input. Expected values are written out by hand.
Gradient checks, the torch oracle and stability tests live in other files.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from nplearn import Linear, Network, ReLU, Sigmoid, sigmoid
from verification.registry import ACTIVATIONS, LAYERS, LayerEntry

X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
B = np.array([10.0, 20.0])
G = np.array([[1.0, 0.0], [0.0, 2.0]])


def hand_linear(dtype: type = np.float64) -> Linear:
    """A Linear(3, 2) holding the hand-made ``W`` and ``B`` above."""
    layer = Linear(3, 2, dtype=dtype, rng=0)
    layer.W, layer.b = W, B
    return layer


def test_public_names_import() -> None:
    """The documented import line works and Tensor is numpy's ndarray, as in the post."""
    from nplearn import (  # noqa: F401
        MSE,
        SGD,
        Adam,
        CrossEntropyLoss,
        Linear,
        Network,
        ReLU,
        Sigmoid,
        Softmax,
        Tensor,
        log_softmax,
        sigmoid,
        softmax,
        to_one_hot,
    )

    assert Tensor is np.ndarray


def test_linear_forward_is_x_at_w_plus_b() -> None:
    """Linear.forward returns x @ W + b (hand-computed values) and stores W, b in params."""
    layer = hand_linear()
    assert set(layer.params) == {"W", "b"}
    assert layer.params["W"] is layer.W and layer.params["b"] is layer.b
    np.testing.assert_array_equal(layer.forward(X), [[14.0, 25.0], [20.0, 31.0]])
    np.testing.assert_array_equal(layer(X), layer.forward(X))


def test_linear_backward_hand_values() -> None:
    """Linear.backward returns grad @ W.T and leaves x.T @ grad, grad.sum(0) in grads."""
    layer = hand_linear()
    layer.forward(X)
    dx = layer.backward(G)
    np.testing.assert_array_equal(dx, [[1.0, 0.0, 1.0], [0.0, 2.0, 2.0]])
    np.testing.assert_array_equal(layer.grads["W"], [[1.0, 8.0], [2.0, 10.0], [3.0, 12.0]])
    np.testing.assert_array_equal(layer.grads["b"], [1.0, 2.0])


def test_linear_grads_in_place_and_post_aliases() -> None:
    """Gradients are rewritten in the same arrays each backward; dydw/dydb alias grads."""
    layer = hand_linear()
    gw, gb = layer.grads["W"], layer.grads["b"]
    for scale in (1.0, 3.0):  # a second backward overwrites, it does not accumulate
        layer.forward(X)
        layer.backward(scale * G)
        assert layer.grads["W"] is gw and layer.grads["b"] is gb
        assert layer.dydw is gw and layer.dydb is gb
        np.testing.assert_array_equal(gw, scale * X.T @ G)


def test_linear_backward_without_input_grad_returns_none() -> None:
    """backward(grad, input_grad=False) returns None but still fills the parameter grads."""
    layer = hand_linear()
    layer.forward(X)
    assert layer.backward(G, input_grad=False) is None
    np.testing.assert_array_equal(layer.grads["b"], [1.0, 2.0])


def test_weight_assignment_replaces_and_keeps_dtype() -> None:
    """Post-style ``layer.W = layer.W - ...`` replaces the weight and keeps float32."""
    layer = Linear(3, 2, rng=0)
    new = layer.W.astype(np.float64) - 0.5  # float64 arithmetic, as the post's SGD may produce
    layer.W = new
    assert layer.W.dtype == np.float32 and layer.params["W"] is layer.W
    np.testing.assert_allclose(layer.W, new, rtol=1e-6)
    np.testing.assert_allclose(layer.forward(X), X @ new + layer.b, rtol=1e-6)


@pytest.mark.parametrize(("name", "shape"), [("W", (2, 3)), ("b", (2, 1))])
def test_parameter_assignment_wrong_shape(name: str, shape: tuple[int, ...]) -> None:
    """Assigning a parameter of the wrong shape raises ValueError naming both shapes."""
    layer = Linear(3, 2, rng=0)
    expected = layer.params[name].shape
    with pytest.raises(ValueError, match=re.escape(f"{shape}") + ".*" + re.escape(f"{expected}")):
        setattr(layer, name, np.zeros(shape))


@pytest.mark.parametrize("init", ["pytorch", "he", "xavier", "randn"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_shapes_and_dtypes(init: str, dtype: type) -> None:
    """Every init gives W (in, out), b (out,) and zero grads of the requested dtype."""
    layer = Linear(5, 4, init=init, dtype=dtype, rng=1)
    assert layer.W.shape == (5, 4) and layer.b.shape == (4,)
    for array in (*layer.params.values(), *layer.grads.values()):
        assert array.dtype == dtype
    assert layer.grads["W"].shape == (5, 4) and layer.grads["b"].shape == (4,)


def test_init_statistics_784x128() -> None:
    """He/Xavier/PyTorch/randn spreads and bias rules match their definitions for 784x128."""
    fan_in, fan_out = 784, 128
    he = Linear(fan_in, fan_out, init="he", rng=0)
    assert abs(he.W.std() / np.sqrt(2 / fan_in) - 1) < 0.1
    assert abs(he.W.mean()) < 0.1 * np.sqrt(2 / fan_in)
    bound = np.sqrt(6 / (fan_in + fan_out))
    xavier = Linear(fan_in, fan_out, init="xavier", rng=0)
    assert np.abs(xavier.W).max() <= bound and np.abs(xavier.W).max() > 0.99 * bound
    for layer in (he, xavier):
        np.testing.assert_array_equal(layer.b, 0.0)
    torch_like = Linear(fan_in, fan_out, init="pytorch", rng=0)
    for array in (torch_like.W, torch_like.b):
        assert np.abs(array).max() <= 1 / np.sqrt(fan_in)
    assert abs(torch_like.W.std() / (1 / np.sqrt(3 * fan_in)) - 1) < 0.1
    assert abs(Linear(fan_in, fan_out, init="randn", rng=0).W.std() - 1) < 0.1


def test_randn_init_reproduces_post_global_state() -> None:
    """init="randn" with rng=None draws W then b from np.random.randn, like the post."""
    saved = np.random.get_state()  # noqa: NPY002 - restored below
    try:
        np.random.seed(0)  # noqa: NPY002 - reproducing the post's global-state init on purpose
        expected_w, expected_b = np.random.randn(7, 3), np.random.randn(3)  # noqa: NPY002
        np.random.seed(0)  # noqa: NPY002
        layer64 = Linear(7, 3, init="randn", dtype=np.float64)
        np.random.seed(0)  # noqa: NPY002
        layer32 = Linear(7, 3, init="randn")
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    np.testing.assert_array_equal(layer64.W, expected_w)
    np.testing.assert_array_equal(layer64.b, expected_b)
    np.testing.assert_array_equal(layer32.W, expected_w.astype(np.float32))


@pytest.mark.parametrize("init", ["pytorch", "he", "xavier", "randn"])
def test_rng_seeds_are_reproducible(init: str) -> None:
    """The same int seed (or Generator state) gives the same weights; another seed does not."""
    first, again = Linear(6, 4, init=init, rng=3), Linear(6, 4, init=init, rng=3)
    np.testing.assert_array_equal(first.W, again.W)
    np.testing.assert_array_equal(first.b, again.b)
    from_gen = Linear(6, 4, init=init, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(first.W, from_gen.W)
    assert not np.array_equal(first.W, Linear(6, 4, init=init, rng=4).W)


@pytest.mark.parametrize("in_dtype", [np.uint8, np.int64, np.float64, np.float32])
def test_float32_kept_through_forward_and_backward(in_dtype: type) -> None:
    """A float32 layer gives float32 outputs, input grads and parameter grads for any input."""
    layer = Linear(3, 2, rng=0)
    out = layer.forward((X * 10).astype(in_dtype))
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and dx is not None and dx.dtype == np.float32
    assert layer.grads["W"].dtype == np.float32 and layer.grads["b"].dtype == np.float32
    np.testing.assert_allclose(out, (X * 10) @ layer.W + layer.b, rtol=1e-6)


def test_relu_forward_and_backward_hand_values() -> None:
    """ReLU is max(x, 0) and its backward is grad * (x > 0), not the post's max(grad, 0)."""
    x = np.array([[-1.0, 2.0, 0.0], [3.0, -4.0, 5.0]])
    grad = np.array([[5.0, -6.0, 7.0], [-8.0, 9.0, -10.0]])
    relu = ReLU()
    np.testing.assert_array_equal(relu.forward(x), [[0.0, 2.0, 0.0], [3.0, 0.0, 5.0]])
    expected = np.array([[0.0, -6.0, 0.0], [-8.0, 0.0, -10.0]])
    np.testing.assert_array_equal(relu.backward(grad), expected)
    assert not np.array_equal(np.maximum(grad, 0), expected)  # the post's rule fails here


def test_sigmoid_forward_and_backward_hand_values() -> None:
    """Sigmoid gives 1/2, 3/4 at 0, ln 3 and backward multiplies grad by y * (1 - y)."""
    x = np.array([[0.0, np.log(3.0)]])
    layer = Sigmoid()
    np.testing.assert_allclose(layer.forward(x), [[0.5, 0.75]], rtol=1e-12)
    np.testing.assert_allclose(layer.backward(np.array([[2.0, 4.0]])), [[0.5, 0.75]], rtol=1e-12)
    np.testing.assert_allclose(sigmoid(x), [[0.5, 0.75]], rtol=1e-12)


@pytest.mark.parametrize("entry", ACTIVATIONS, ids=lambda e: e.id)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_backward_leaves_its_inputs_alone(entry: LayerEntry, dtype: type) -> None:
    """Backward returns a new array: the cached output and the upstream gradient are unchanged
    (it scales its derivative in place, never them), twice in a row."""
    layer = entry.layer()
    y = layer.forward(np.array([[-1.0, 0.5, 2.0], [3.0, -0.25, 0.0]], dtype=dtype))
    grad = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]], dtype=dtype)
    y_before, grad_before = y.copy(), grad.copy()
    first = layer.backward(grad)
    second = layer.backward(grad)
    assert first is not None and second is not None
    assert first.dtype == dtype and not np.shares_memory(first, second)
    assert not np.shares_memory(first, grad) and not np.shares_memory(first, y)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(grad, grad_before)
    np.testing.assert_allclose(first, grad * layer.derivative(y_before), rtol=1e-6)


@pytest.mark.parametrize("entry", LAYERS, ids=lambda e: e.id)
def test_train_and_eval_set_the_mode(entry: LayerEntry) -> None:
    """Layers start in training mode; eval()/train() switch it; a Network switches every layer.

    Both return the object they were called on, as in PyTorch."""
    layer = entry.build(3)
    assert layer.training is True
    assert layer.eval() is layer and layer.training is False
    assert layer.train() is layer and layer.training is True
    assert layer.train(False) is layer and layer.training is False
    net = Network([entry.build(3), Sigmoid()])
    assert net.eval() is net and [each.training for each in net] == [False, False]
    assert net.train() is net and [each.training for each in net] == [True, True]


# ------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("shape", [(2, 4), (3,), (2, 1, 3)])
def test_linear_rejects_wrong_input_shape(shape: tuple[int, ...]) -> None:
    """Wrong feature count, 1-D or 3-D input raises ValueError giving both shapes."""
    with pytest.raises(ValueError, match=re.escape("(batch, 3)") + ".*" + re.escape(f"{shape}")):
        Linear(3, 2, rng=0).forward(np.zeros(shape))


@pytest.mark.parametrize("entry", LAYERS, ids=lambda e: e.id)
@pytest.mark.parametrize("grad_shape", [(5, 2), (2, 7), (2,)])
def test_backward_rejects_mismatched_grad(entry: LayerEntry, grad_shape: tuple[int, ...]) -> None:
    """An upstream grad of another shape than the output raises, naming layer and both shapes."""
    layer = entry.build(3)
    out = layer.forward(np.ones(entry.shape(2, 3)))
    assert grad_shape != out.shape
    pattern = f"{entry.id}.*" + re.escape(f"{grad_shape}") + ".*" + re.escape(f"{out.shape}")
    with pytest.raises(ValueError, match=pattern):
        layer.backward(np.ones(grad_shape))


@pytest.mark.parametrize("entry", LAYERS, ids=lambda e: e.id)
def test_backward_before_forward(entry: LayerEntry) -> None:
    """backward before any forward raises RuntimeError naming the layer."""
    pattern = f"{entry.id}.*" + re.escape("backward() called before forward()")
    with pytest.raises(RuntimeError, match=pattern):
        entry.build(3).backward(np.ones((2, 2)))


def test_linear_rejects_bad_init_dtype_and_sizes() -> None:
    """Unknown init, non-float dtype and non-positive sizes raise ValueError naming the value."""
    with pytest.raises(ValueError, match="unknown init 'glorot'"):
        Linear(3, 2, init="glorot")
    for dtype in (np.int32, object):
        with pytest.raises(ValueError, match=f"floating dtype, got {np.dtype(dtype)}"):
            Linear(3, 2, dtype=dtype)
    with pytest.raises(ValueError, match=re.escape("positive sizes, got (0, 2)")):
        Linear(0, 2)


def test_linear_forward_accepts_nested_list() -> None:
    """A nested list is treated as the array it spells (np.asarray), not an AttributeError."""
    layer = hand_linear()
    np.testing.assert_array_equal(layer.forward(X.tolist()), layer.forward(X))
