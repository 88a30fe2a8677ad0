"""API tests of the smaller pieces beyond the post: BCE losses, LeakyReLU, the new optimizers'
arguments, and the nplearn adapter's factories.

Contract pinned here: BCEWithLogitsLoss is finite and exact for logits of +-1000; BCELoss is
finite at probabilities of exactly 0 and 1 (logs clamped at -100, as PyTorch) and refuses values
outside [0, 1]; both refuse mismatched shapes and unknown reductions and reduce "mean" over every
element; bad optimizer and LeakyReLU arguments raise ValueError naming them; the nplearn adapter
defines every factory of the conformance protocol.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nplearn import SGD, Adagrad, BCELoss, BCEWithLogitsLoss, LeakyReLU, RMSprop
from verification.conformance.target import FACTORIES, load_adapter

ADAPTER = Path(__file__).resolve().parent / "adapters" / "nplearn.py"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_exact_for_huge_logits(dtype) -> None:
    """Logits of +-1000: loss max(z,0) - z*y + log1p(e^-|z|), gradient sigmoid(z) - y."""
    z = np.array([[1000.0, -1000.0], [1000.0, -1000.0]], dtype)
    y = np.array([[1.0, 0.0], [0.0, 1.0]], dtype)
    loss = BCEWithLogitsLoss("sum")
    with np.errstate(all="raise", under="ignore"):
        value = loss(z, y)
    assert value == pytest.approx(2000.0, rel=1e-12)
    assert loss.grad is not None and loss.grad.dtype == dtype
    np.testing.assert_array_equal(loss.grad, [[0.0, 0.0], [1.0, -1.0]])


def test_bce_is_finite_at_zero_and_one() -> None:
    """p = 0 or 1: each log clamped at -100 (PyTorch's), no warning, right when it is right:
    on its own target the exact derivative, 1/(1 - p) or -1/p (PyTorch's floored p (1 - p)
    gives 0 there)."""
    loss = BCELoss("sum")
    with np.errstate(all="raise"):
        assert loss(np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]])) == 0.0
        np.testing.assert_array_equal(loss.grad, [[1.0, -1.0]])
        assert loss(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])) == 200.0
    assert loss.grad is not None and np.all(np.isfinite(loss.grad))


def test_bce_mean_is_over_every_element() -> None:
    """reduction "mean" divides the sum, and the gradient, by batch * outputs (PyTorch's)."""
    p, y = np.array([[0.2, 0.6, 0.9], [0.5, 0.3, 0.7]]), np.array([[0.0, 1.0, 1.0], [1, 0, 0]])
    total, mean = BCELoss("sum"), BCELoss()
    assert mean(p, y) == pytest.approx(total(p, y) / 6, rel=1e-14)
    np.testing.assert_allclose(mean.grad, total.grad / 6, rtol=1e-14)
    np.testing.assert_allclose(total.grad, (p - y) / (p * (1 - p)), rtol=1e-14)


@pytest.mark.parametrize("cls", [BCELoss, BCEWithLogitsLoss])
def test_bce_refuses_bad_input(cls) -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 2\)"):
        cls()(np.full((2, 3), 0.5), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="unknown reduction 'none'"):
        cls("none")
    with pytest.raises(ValueError, match="float predictions"):
        cls()(np.ones((2, 2), int), np.ones((2, 2)))


def test_bce_refuses_probabilities_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match="BCEWithLogitsLoss.*" + re.escape("[-0.5, 0.5]")):
        BCELoss()(np.array([[-0.5, 0.5]]), np.array([[0.0, 1.0]]))


def test_leaky_relu_hand_values_and_bad_slope() -> None:
    layer = LeakyReLU(0.25)
    np.testing.assert_array_equal(layer(np.array([[-4.0, 0.0, 3.0]])), [[-1.0, 0.0, 3.0]])
    np.testing.assert_array_equal(layer.backward(np.array([[2.0, 2.0, 2.0]])), [[0.5, 0.5, 2]])
    with pytest.raises(ValueError, match=re.escape("slope must be >= 0, got -0.1")):
        LeakyReLU(-0.1)


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: SGD(0.1, nesterov=True), "nesterov momentum needs momentum > 0"),
        (lambda: RMSprop(0.1, alpha=1.5), "alpha must lie in"),
        (lambda: RMSprop(0.1, eps=-1.0), "eps must be >= 0"),
        (lambda: Adagrad(0.1, weight_decay=-1.0), "weight_decay must be >= 0"),
        (lambda: Adagrad(0.0), "learning rate must be positive"),
    ],
)
def test_optimizers_refuse_bad_arguments(make, pattern) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(pattern)):
        make()


def test_nplearn_adapter_defines_every_factory() -> None:
    """nplearn has every piece of the protocol, and its optimizers step a list of layers."""
    target = load_adapter(ADAPTER)
    assert set(target.factories) == set(FACTORIES)
    conv = target.factories["conv2d"](np.ones((2, 1, 3, 3)), np.zeros(2), 1, 1)
    conv.forward(np.ones((1, 1, 4, 4)))
    conv.backward(np.ones((1, 2, 4, 4)))
    before = conv.params["W"].copy()
    target.factories["rmsprop"](0.1, 0.9, 1e-8).step([conv])
    np.testing.assert_allclose(conv.params["W"], before - 0.1 / np.sqrt(0.1), rtol=1e-6)
