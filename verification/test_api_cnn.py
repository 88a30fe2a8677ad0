"""API tests of the spatial layers (``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``) and of
a small CNN in ``nplearn.Network``.

Contract pinned here: output sizes are floored as PyTorch's; bad input (wrong ndim, channel
mismatch, a kernel larger than the padded input) raises ValueError naming the shapes; max
pooling sends a tied window's gradient to its first maximum only; dtypes are kept; a Network
of Conv2d -> ReLU -> MaxPool2d -> Flatten -> Linear trains with CrossEntropyLoss and saves and
loads its convolution parameters. Values against PyTorch and central differences are the
registry-driven oracle and gradcheck tests'.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nplearn import (
    SGD,
    Adam,
    AvgPool2d,
    Conv2d,
    CrossEntropyLoss,
    Flatten,
    Linear,
    MaxPool2d,
    Network,
    ReLU,
)


def cnn(seed: int = 0, dtype: type = np.float32) -> Network:
    """Conv2d(1, 4, 3, padding=1) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(4*4*4, 3)."""
    return Network(
        [
            Conv2d(1, 4, 3, padding=1, dtype=dtype, rng=seed),
            ReLU(),
            MaxPool2d(2),
            Flatten(),
            Linear(64, 3, dtype=dtype, rng=seed + 1),
        ]
    )


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "expected"),
    [(7, 3, 2, 0, 3), (8, 3, 2, 1, 4), (5, 2, 3, 0, 2), (6, 3, 1, 1, 6), (3, 3, 1, 0, 1)],
)
def test_conv_output_size_is_floored(size, kernel, stride, padding, expected) -> None:
    """(H + 2p - k) // s + 1, as PyTorch, including sizes that do not divide evenly."""
    layer = Conv2d(2, 3, kernel, stride, padding, dtype=np.float64, rng=0)
    y = layer(np.ones((2, 2, size, size + 1)))
    assert y.shape == (2, 3, expected, (size + 1 + 2 * padding - kernel) // stride + 1)


@pytest.mark.parametrize(("size", "kernel", "stride", "expected"), [(7, 2, None, 3), (7, 3, 2, 3)])
def test_pool_output_size_is_floored(size, kernel, stride, expected) -> None:
    """Pooling floors its output size too; stride None means the kernel size."""
    for cls in (MaxPool2d, AvgPool2d):
        assert cls(kernel, stride)(np.ones((1, 2, size, size))).shape == (1, 2, expected, expected)


def test_max_pool_tie_goes_to_the_first_maximum() -> None:
    """A window of equal values passes its whole gradient to its first (top-left) entry."""
    layer = MaxPool2d(2)
    layer(np.zeros((1, 1, 2, 4)))
    dx = layer.backward(np.array([[[[3.0, 5.0]]]]))
    np.testing.assert_array_equal(dx, [[[[3.0, 0.0, 5.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_overlapping_windows_add_up() -> None:
    """With stride < kernel, an input inside several windows gets the sum of their gradients."""
    layer = AvgPool2d(2, stride=1)
    layer(np.ones((1, 1, 3, 3)))
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])


def test_conv_hand_values() -> None:
    """A 1x1 input channel with a 2x2 kernel of ones sums each window, plus the bias."""
    layer = Conv2d(1, 1, 2, dtype=np.float64, rng=0)
    layer.params["W"][...], layer.params["b"][...] = 1.0, 0.5
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(layer(x), [[[[8.5, 12.5], [20.5, 24.5]]]])
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(layer.grads["W"][0, 0], [[8, 12], [20, 24]])
    np.testing.assert_array_equal(layer.grads["b"], [4.0])


@pytest.mark.parametrize(
    ("x_shape", "pattern"),
    [
        ((2, 3, 5), "(N, 2, H, W).*(2, 3, 5)"),
        ((2, 3, 5, 5), "(N, 2, H, W).*(2, 3, 5, 5)"),
        ((2, 2, 2, 5), "kernel (3, 3).*(2, 2, 2, 5)"),
    ],
)
def test_conv_rejects_bad_input(x_shape, pattern) -> None:
    """Wrong ndim, channel mismatch, kernel larger than the input: ValueError naming shapes."""
    with pytest.raises(ValueError, match=re.escape(pattern).replace(r"\.\*", ".*")):
        Conv2d(2, 4, 3, rng=0)(np.ones(x_shape))


def test_conv_padding_makes_a_small_input_fit() -> None:
    """A 2x2 input takes a 3x3 kernel once padded by 1; unpadded it is refused."""
    assert Conv2d(1, 1, 3, padding=1, rng=0)(np.ones((1, 1, 2, 2))).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match=r"padding 0"):
        Conv2d(1, 1, 3, rng=0)(np.ones((1, 1, 2, 2)))


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_pool_rejects_bad_input(cls) -> None:
    """Pools need (N, C, H, W) input at least as large as the window, and a kernel >= 1."""
    with pytest.raises(ValueError, match=re.escape("(N, C, H, W)") + r".*\(2, 3\)"):
        cls(2)(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"kernel \(3, 3\).*\(1, 1, 2, 5\)"):
        cls(3)(np.ones((1, 1, 2, 5)))
    with pytest.raises(ValueError, match="kernel_size"):
        cls(0)


def test_conv_rejects_bad_sizes() -> None:
    """Non-positive channels, kernel or stride, or negative padding, raise ValueError."""
    for args in [(0, 1, 3), (1, 1, 0), (1, 1, 3, 0), (1, 1, 3, 1, -1)]:
        with pytest.raises(ValueError, match="Conv2d needs"):
            Conv2d(*args)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_keeps_dtype_and_leaves_input_alone(dtype) -> None:
    """Forward and backward through the CNN keep the dtype and never write into the input."""
    net, x = cnn(dtype=dtype), np.random.default_rng(0).random((3, 1, 8, 8)).astype(dtype)
    before = x.copy()
    y = net(x)
    dx = net.backward(np.ones_like(y), input_grad=True)
    assert y.dtype == dtype and dx is not None and dx.dtype == dtype and dx.shape == x.shape
    assert all(grad.dtype == dtype for _, _, grad in net.named_parameters())
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("optimizer", [SGD(0.1, momentum=0.9), Adam(1e-2)], ids=["sgd", "adam"])
def test_cnn_trains(optimizer) -> None:
    """A small CNN fits 32 random 8x8 images with 3 labels: the loss falls by half."""
    rng = np.random.default_rng(1)
    x, labels = rng.random((32, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 32)
    net, loss = cnn(), CrossEntropyLoss("mean")
    first = loss(net(x), labels)
    for _ in range(150):
        loss(net(x), labels)
        net.backward(loss.grad)
        optimizer.step(net)
    assert loss(net(x), labels) < first / 2


def test_cnn_state_dict_save_and_load(tmp_path: Path) -> None:
    """The convolution's W (OIHW) and b are saved and loaded with the Linear's parameters."""
    net, other = cnn(seed=0), cnn(seed=5)
    assert {name: p.shape for name, p, _ in net.named_parameters()} == {
        "0.W": (4, 1, 3, 3), "0.b": (4,), "4.W": (64, 3), "4.b": (3,),
    }
    net.save(tmp_path / "cnn.npz")
    other.load(tmp_path / "cnn.npz")
    x = np.random.default_rng(2).random((2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(other(x), net(x))
    with pytest.raises(ValueError, match=r"0\.W.*\(4, 1, 3, 3\)"):
        Network(
            [Conv2d(1, 4, 2, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(64, 3)]
        ).load_state_dict(net.state_dict())
