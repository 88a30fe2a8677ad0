"""API tests of the layers with a training mode: ``Dropout`` and ``BatchNorm1d``.

Contract pinned here: Dropout zeroes with probability p and scales survivors by 1/(1-p) in
training, with a fresh mask per call and per row drawn from its Generator (a seeded Generator
reproduces the masks), backward reuses the forward's mask and scale, the input is never
modified, eval() is the identity, and p outside [0, 1) is refused. BatchNorm1d follows PyTorch:
running statistics move by ``(1 - m) old + m batch`` with the unbiased variance, eval() uses
them and updates nothing, a constant feature and a batch of 2 stay finite, a single training
row is refused. Network.train()/eval() reach both.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from nplearn import BatchNorm1d, Dropout, Linear, Network, ReLU


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_p_outside_unit_interval(p: float) -> None:
    with pytest.raises(ValueError, match=re.escape(f"p must lie in [0, 1), got {p}")):
        Dropout(p)


def test_dropout_scales_survivors_and_backward_reuses_the_mask() -> None:
    """Outputs are 0 or x/(1-p); backward multiplies by the same mask and scale."""
    layer, x = Dropout(0.25, np.random.default_rng(0)), np.full((50, 40), 2.0)
    before = x.copy()
    y = layer(x)
    assert set(np.unique(y)) == {0.0, 2.0 / 0.75}
    np.testing.assert_array_equal(x, before)
    grad = np.random.default_rng(1).standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(grad), grad * (y / x))  # mask / (1 - p)
    assert abs(np.mean(y == 0) - 0.25) < 0.03  # 2000 draws: 0.03 is over 3 standard deviations


def test_dropout_draws_a_fresh_mask_per_call_and_per_row() -> None:
    """Two calls differ, rows of one call differ, and a generator seeded alike repeats them."""
    x = np.ones((4, 30))
    first, second = Dropout(0.5, np.random.default_rng(3)), Dropout(0.5, np.random.default_rng(3))
    a, b = first(x), first(x)
    assert not np.array_equal(a, b)
    assert len({row.tobytes() for row in a}) == 4
    np.testing.assert_array_equal(second(x), a)
    np.testing.assert_array_equal(second(x), b)


def test_dropout_eval_is_the_identity_and_float32_is_kept() -> None:
    layer, x = Dropout(0.5, np.random.default_rng(0)), np.ones((3, 4), np.float32)
    assert layer(x).dtype == np.float32
    layer.eval()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(np.full((3, 4), 2.0)), np.full((3, 4), 2.0))


def test_batchnorm_running_statistics_follow_pytorch() -> None:
    """After two training batches: running = (1-m) old + m batch, with the unbiased variance;
    eval normalises with them and leaves them unchanged."""
    rng = np.random.default_rng(0)
    layer = BatchNorm1d(3, eps=1e-3, momentum=0.2, dtype=np.float64)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(2):
        x = rng.normal(2.0, 3.0, (5, 3))
        layer(x)
        mean = 0.8 * mean + 0.2 * x.mean(axis=0)
        var = 0.8 * var + 0.2 * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, var, rtol=1e-12)
    layer.eval()
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(layer(x), (x - mean) / np.sqrt(var + 1e-3), rtol=1e-12)
    np.testing.assert_array_equal(layer.running_mean, mean)
    grad = rng.normal(size=(4, 3))
    np.testing.assert_allclose(layer.backward(grad), grad / np.sqrt(var + 1e-3), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_constant_feature_and_batch_of_two(dtype) -> None:
    """A constant feature normalises to beta with a finite gradient; 2 rows give +-1."""
    layer = BatchNorm1d(2, dtype=dtype)
    x = np.array([[5.0, 1.0], [5.0, 3.0]], dtype)
    with np.errstate(all="raise"):
        y = layer(x)
        dx = layer.backward(np.array([[1.0, 2.0], [-1.0, 0.5]], dtype))
    assert y.dtype == dtype and dx is not None and np.all(np.isfinite(dx))
    np.testing.assert_allclose(y, [[0.0, -1.0], [0.0, 1.0]], atol=1e-5)
    np.testing.assert_allclose(dx[:, 0], [1.0 / np.sqrt(1e-5), -1.0 / np.sqrt(1e-5)], rtol=1e-5)
    np.testing.assert_allclose(layer.grads["beta"], [0.0, 2.5])


def test_batchnorm_refuses_bad_input() -> None:
    layer = BatchNorm1d(3)
    with pytest.raises(ValueError, match=re.escape("(batch, 3)") + r".*\(4, 2\)"):
        layer(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"at least 2 rows.*\(1, 3\)"):
        layer(np.ones((1, 3)))
    assert layer.eval()(np.ones((1, 3))).shape == (1, 3)  # evaluation takes a single row
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm1d(3, momentum=1.5)


def test_network_train_and_eval_reach_dropout_and_batchnorm() -> None:
    """net.eval() makes the network deterministic; net.train() brings dropout back."""
    net = Network(
        [Linear(4, 8, rng=0), BatchNorm1d(8), ReLU(), Dropout(0.5, np.random.default_rng(0)),
         Linear(8, 2, rng=1)]
    )
    x = np.random.default_rng(1).random((6, 4)).astype(np.float32)
    net(x)
    running = net[1].running_mean.copy()
    net.eval()
    assert not net[1].training and not net[3].training
    np.testing.assert_array_equal(net(x), net(x))
    np.testing.assert_array_equal(net[1].running_mean, running)
    net.train()
    assert not np.array_equal(net(x), net(x))
    assert {name for name, _, _ in net.named_parameters()} == {
        "0.W", "0.b", "1.gamma", "1.beta", "4.W", "4.b",
    }


def test_batchnorm_running_statistics_are_saved_and_loaded(tmp_path) -> None:
    """state_dict, save and load carry the running statistics, so eval outputs survive."""
    rng = np.random.default_rng(4)
    net, other = Network([BatchNorm1d(3)]), Network([BatchNorm1d(3)])
    net(rng.normal(5.0, 2.0, (8, 3)).astype(np.float32))
    assert set(net.state_dict()) == {"0.gamma", "0.beta", "0.running_mean", "0.running_var"}
    net.save(tmp_path / "bn.npz")
    other.load(tmp_path / "bn.npz")
    np.testing.assert_array_equal(other[0].running_var, net[0].running_var)
    x = rng.normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_array_equal(other.eval()(x), net.eval()(x))
