"""API tests of ``nplearn.optim``: SGD (the post's L2 rule, momentum, weight decay) and Adam.

Contract pinned here: ``step(net)`` updates every parameter in place (same array, same
dtype) from the gradients in ``layer.grads``, which it leaves untouched. ``SGD(lr, l2)`` is
the post's ``w <- w - lr*g - 2*l2*w`` (biases included); ``momentum`` is PyTorch's heavy ball
``v <- mu*v + g, w <- w - lr*v``; ``weight_decay`` adds ``wd*w`` to the gradient; ``Adam`` is
Kingma & Ba with bias correction. Each is compared over several steps with its formula written
out here; bad hyper-parameters raise ValueError naming the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from nplearn import SGD, Adam, Linear, Network, ReLU

Update = Callable[[np.ndarray, np.ndarray, dict, int], np.ndarray]


def net_with_grads(dtype: type) -> Network:
    """Linear(4, 3) -> ReLU -> Linear(3, 2) with seeded parameters (gradients set per step)."""
    return Network([Linear(4, 3, dtype=dtype, rng=0), ReLU(), Linear(3, 2, dtype=dtype, rng=1)])


def run_and_compare(optimizer: object, update: Update, dtype: type, steps: int) -> None:
    """Step ``optimizer`` with fresh seeded grads and compare with ``update`` in float64."""
    net = net_with_grads(dtype)
    rng = np.random.default_rng(42)
    expected = {name: param.astype(np.float64) for name, param, _ in net.named_parameters()}
    states: dict[str, dict] = {name: {} for name in expected}
    arrays = {name: param for name, param, _ in net.named_parameters()}
    for t in range(1, steps + 1):
        for _, _, grad in net.named_parameters():
            grad[...] = rng.normal(size=grad.shape)
        grads = {name: grad.astype(np.float64) for name, _, grad in net.named_parameters()}
        optimizer.step(net)  # type: ignore[attr-defined]
        for name, _, grad in net.named_parameters():
            np.testing.assert_array_equal(grad, grads[name])  # gradients untouched
            expected[name] = update(expected[name], grads[name], states[name], t)
    # Rounding errors scale with the operands (parameters of order 1), not with the result,
    # which may nearly cancel: hence an absolute tolerance of the same size as the relative one.
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for name, param, _ in net.named_parameters():
        assert param is arrays[name] and param.dtype == dtype  # in place, dtype kept
        np.testing.assert_allclose(param, expected[name], rtol=tol, atol=tol)


DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64])


@DTYPES
def test_sgd_plain_and_post_l2_rule(dtype: type) -> None:
    """SGD(lr) is w - lr*g; SGD(lr, l2) is the post's w - lr*g - 2*l2*w, on W and b."""
    lr, l2 = 0.05, 1e-2
    run_and_compare(SGD(lr), lambda w, g, s, t: w - lr * g, dtype, steps=3)
    run_and_compare(SGD(lr, l2), lambda w, g, s, t: w - lr * g - 2 * l2 * w, dtype, steps=3)
    run_and_compare(SGD(lr, l2=l2), lambda w, g, s, t: w - lr * g - 2 * l2 * w, dtype, steps=1)


@DTYPES
def test_sgd_momentum_three_steps(dtype: type) -> None:
    """Momentum: v1 = g1, v_t = mu*v_{t-1} + g_t, w <- w - lr*v_t, over 3 steps."""
    lr, mu = 0.1, 0.9

    def update(w: np.ndarray, g: np.ndarray, state: dict, t: int) -> np.ndarray:
        state["v"] = g if t == 1 else mu * state["v"] + g
        return w - lr * state["v"]

    run_and_compare(SGD(lr, momentum=mu), update, dtype, steps=3)


@DTYPES
def test_sgd_weight_decay_three_steps(dtype: type) -> None:
    """Coupled weight decay: w <- w - lr*(g + wd*w), over 3 steps."""
    lr, wd = 0.1, 0.05
    run_and_compare(SGD(lr, weight_decay=wd), lambda w, g, s, t: w - lr * (g + wd * w), dtype, 3)


@DTYPES
def test_sgd_momentum_with_weight_decay(dtype: type) -> None:
    """Decay then momentum, as PyTorch: d = g + wd*w, v = mu*v + d, w <- w - lr*v."""
    lr, mu, wd = 0.1, 0.5, 0.01

    def update(w: np.ndarray, g: np.ndarray, state: dict, t: int) -> np.ndarray:
        d = g + wd * w
        state["v"] = d if t == 1 else mu * state["v"] + d
        return w - lr * state["v"]

    run_and_compare(SGD(lr, momentum=mu, weight_decay=wd), update, dtype, steps=3)


@DTYPES
def test_sgd_post_l2_rule_with_momentum_and_weight_decay(dtype: type) -> None:
    """All three: d = g + wd*w, v = mu*v + d, w <- w - lr*v - 2*l2*w."""
    lr, mu, wd, l2 = 0.1, 0.5, 0.01, 1e-2

    def update(w: np.ndarray, g: np.ndarray, state: dict, t: int) -> np.ndarray:
        d = g + wd * w
        state["v"] = d if t == 1 else mu * state["v"] + d
        return w - lr * state["v"] - 2 * l2 * w

    run_and_compare(SGD(lr, l2=l2, momentum=mu, weight_decay=wd), update, dtype, steps=3)


@pytest.mark.parametrize(
    ("dtype", "weight", "lr"),
    [(np.float16, 1e3, 1e-2), (np.float32, 1e30, 2e-9), (np.float32, 1e30, 3e-9)],
    ids=["float16", "float32-tiny-lr", "float32-edge"],
)
def test_sgd_post_l2_rule_large_weights_stay_finite(dtype: type, weight: float, lr: float) -> None:
    """The post's rule on weights near the top of their dtype's range (float16 weights of 1000
    at lr 1e-2, float32 weights of 1e30 at lr 2e-9: a form that divided them by lr would
    overflow): the result stays finite and equals the rule."""
    l2 = 1e-2
    net = net_with_grads(dtype)
    expected = {}
    for name, param, grad in net.named_parameters():
        param[...] = weight * np.sign(param + 0.5)
        grad[...] = 1.0
        expected[name] = param.astype(np.float64) * (1 - 2 * l2) - lr * 1.0
    SGD(lr, l2=l2).step(net)
    for name, param, _ in net.named_parameters():
        assert np.isfinite(param).all(), name
        rtol = 1e-3 if dtype == np.float16 else 1e-6
        np.testing.assert_allclose(param, expected[name], rtol=rtol)


def test_sgd_updates_need_no_scratch() -> None:
    """The post's rule and plain SGD (one BLAS axpy) update float32 weights in place with no
    scratch array; float16, which BLAS does not serve, keeps one and is still updated.

    A scratch array the size of the network pushes a small batch's working set out of the cache."""
    for optimizer in (SGD(0.05, l2=1e-4), SGD(0.05)):
        optimizer.step(net_with_grads(np.float32))
        assert [list(state) for state in optimizer.state.values()] == [["params"]]
    half, net = SGD(0.05), net_with_grads(np.float16)
    ((params, grads),) = net.parameter_groups()
    grads[...] = 1.0
    before = params.copy()
    half.step(net)
    (half_state,) = half.state.values()
    assert half_state["scratch"].shape == params.shape
    np.testing.assert_array_equal(params, before - np.float16(0.05))


@pytest.mark.parametrize("l2", [0.0, 1e-2], ids=["plain", "post-l2"])
def test_sgd_learning_rate_change_takes_effect(l2: float) -> None:
    """Assigning ``optimizer.lr`` between steps (a schedule) changes the next step's update."""
    net = net_with_grads(np.float64)
    optimizer = SGD(0.1, l2=l2)
    for lr in (0.1, 0.02, 0.5):
        optimizer.lr = lr
        for _, _, grad in net.named_parameters():
            grad[...] = 1.0
        before = {name: param.copy() for name, param, _ in net.named_parameters()}
        optimizer.step(net)
        for name, param, _ in net.named_parameters():
            expected = before[name] - lr * 1.0 - 2 * l2 * before[name]
            np.testing.assert_allclose(param, expected, rtol=1e-12, atol=1e-15, err_msg=name)


def test_one_optimizer_keeps_separate_state_per_network() -> None:
    """One momentum SGD stepping two networks keeps one velocity per parameter group, so each
    network moves as if it had its own optimizer."""
    shared, own_a, own_b = SGD(0.1, momentum=0.9), SGD(0.1, momentum=0.9), SGD(0.1, momentum=0.9)
    nets = [net_with_grads(np.float64) for _ in range(4)]
    for step in range(3):
        for i, net in enumerate(nets):
            for _, _, grad in net.named_parameters():
                grad[...] = (i % 2 + 1) * (step + 1)
        shared.step(nets[0])
        shared.step(nets[1])
        own_a.step(nets[2])
        own_b.step(nets[3])
    assert len(shared.state) == 2
    for mine, reference in ((nets[0], nets[2]), (nets[1], nets[3])):
        for (name, a, _), (_, b, _) in zip(
            mine.named_parameters(), reference.named_parameters(), strict=True
        ):
            np.testing.assert_array_equal(a, b, err_msg=name)


def adam_update(lr: float, b1: float, b2: float, eps: float, wd: float = 0.0) -> Update:
    """Kingma & Ba's Adam with bias correction (and coupled decay), written out."""

    def update(w: np.ndarray, g: np.ndarray, state: dict, t: int) -> np.ndarray:
        g = g + wd * w
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
        m_hat, v_hat = state["m"] / (1 - b1**t), state["v"] / (1 - b2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)

    return update


@DTYPES
def test_adam_two_steps(dtype: type) -> None:
    """Adam's first two steps match m, v, bias correction and w - lr*m_hat/(sqrt(v_hat)+eps)."""
    run_and_compare(Adam(1e-2), adam_update(1e-2, 0.9, 0.999, 1e-8), dtype, steps=2)
    optimizer = Adam(0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    run_and_compare(optimizer, adam_update(0.05, 0.8, 0.99, 1e-6, wd=0.1), dtype, steps=2)


def test_momentum_state_survives_post_style_assignment() -> None:
    """After ``layer.W = new_array`` (the post's SGD style) momentum still uses its velocity."""
    net = net_with_grads(np.float64)
    layer = net[0]
    layer.grads["W"][...] = 1.0
    optimizer = SGD(0.1, momentum=0.9)
    optimizer.step(net)  # v = 1
    layer.W = layer.W.copy()  # a new array, as `l.W = l.W - ...` in the post
    before = layer.W.copy()
    optimizer.step(net)  # v = 0.9 * 1 + 1
    np.testing.assert_allclose(layer.W, before - 0.1 * 1.9, rtol=1e-12)


# ------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan")])
@pytest.mark.parametrize("make", [SGD, Adam], ids=["SGD", "Adam"])
def test_non_positive_learning_rate(make: Callable[[float], object], lr: float) -> None:
    """A zero, negative or NaN learning rate raises ValueError naming it."""
    with pytest.raises(ValueError, match=f"learning rate must be positive, got {lr}"):
        make(lr)


@pytest.mark.parametrize("name", ["l2", "momentum", "weight_decay"])
def test_sgd_negative_hyperparameters(name: str) -> None:
    """Negative l2, momentum or weight_decay raises ValueError naming the parameter."""
    with pytest.raises(ValueError, match=f"{name} must be >= 0, got -0.1"):
        SGD(0.1, **{name: -0.1})


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, -0.1)])
def test_adam_rejects_betas_outside_unit_interval(betas: tuple[float, float]) -> None:
    """Adam betas outside [0, 1) raise ValueError giving them."""
    with pytest.raises(ValueError, match=re.escape(f"betas must lie in [0, 1), got {betas}")):
        Adam(betas=betas)


@pytest.mark.parametrize("name", ["eps", "weight_decay"])
def test_adam_negative_eps_or_weight_decay(name: str) -> None:
    """Adam with a negative eps or weight_decay raises ValueError naming the parameter."""
    with pytest.raises(ValueError, match=name):
        Adam(1e-3, **{name: -0.1})
