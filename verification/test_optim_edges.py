"""Optimizer behaviours that a schedule or a user relies on and the rule tests leave open.

- Changing ``opt.lr`` between steps takes effect at the next step, for every SGD variant (a
  learning-rate schedule does exactly this), down to 0 for the rules without ``l2``.
- Adam's defaults are PyTorch's: its first step moves every weight by ``lr = 1e-3`` against the
  gradient's sign (``g / (|g| + eps)``).
- After its first step, SGD allocates nothing per step (every variant): its scratch and
  velocity arrays are kept in its state.
- ``betas`` may be 0 but not 1 (beta2 = 1 would divide the bias correction by 0); errors name the
  parameter and the bad value.
"""

from __future__ import annotations

import numpy as np
import pytest

from nplearn.layers import Linear
from nplearn.network import Network
from nplearn.optim import SGD, Adam
from verification.allocations import peak_bytes

SGD_VARIANTS = {
    "plain": {},
    "l2": {"l2": 0.01},
    "momentum": {"momentum": 0.9},
    "weight_decay": {"weight_decay": 0.1},
}


def net_with_grads(dtype: type = np.float64) -> Network:
    """A one-Linear network whose gradients are filled with fixed nonzero values."""
    net = Network([Linear(3, 2, dtype=dtype, rng=0)])
    for i, (_, _, grad) in enumerate(net.named_parameters()):
        grad[...] = np.linspace(-1, 1, grad.size).reshape(grad.shape) + 0.1 * (i + 1)
    return net


def weights(net: Network) -> np.ndarray:
    return np.concatenate([p.ravel().copy() for p in net.parameters()])


def gradients(net: Network) -> np.ndarray:
    return np.concatenate([g.ravel().copy() for _, _, g in net.named_parameters()])


def sgd_by_hand(
    w: np.ndarray, g: np.ndarray, lrs: list[float], l2: float = 0.0, momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> np.ndarray:
    """The SGD rules of ``nplearn.optim``'s docstring, one step per rate in ``lrs``."""
    velocity = None
    for lr in lrs:
        d = g + weight_decay * w
        velocity = d if velocity is None else momentum * velocity + d
        w = (1 - 2 * l2) * w - lr * (velocity if momentum else d)
    return w


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("variant", list(SGD_VARIANTS))
def test_sgd_learning_rate_change_takes_effect(variant: str, dtype: type) -> None:
    """Steps at lr 0.1, then 0.01 after ``opt.lr = 0.01``, follow the rule by hand."""
    kwargs = SGD_VARIANTS[variant]
    net = net_with_grads(dtype)
    w0, g = weights(net).astype(np.float64), gradients(net).astype(np.float64)
    opt = SGD(lr=0.1, **kwargs)
    opt.step(net)
    opt.lr = 0.01
    opt.step(net)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(weights(net), sgd_by_hand(w0, g, [0.1, 0.01], **kwargs), rtol=rtol)


@pytest.mark.parametrize("variant", ["plain", "momentum", "weight_decay"])
def test_sgd_step_at_lr_zero_keeps_the_weights(variant: str) -> None:
    """A schedule may end at lr 0 (as cosine annealing does): the step then changes nothing."""
    net = net_with_grads()
    w0 = weights(net)
    opt = SGD(lr=0.1, **SGD_VARIANTS[variant])
    opt.lr = 0.0
    opt.step(net)
    np.testing.assert_array_equal(weights(net), w0)


def test_sgd_l2_step_at_lr_zero_only_shrinks_the_weights() -> None:
    """The post's rule at lr 0 is ``w <- (1 - 2*l2) w``: no division by the rate, no NaN."""
    net = net_with_grads()
    w0 = weights(net)
    opt = SGD(lr=0.1, l2=0.01)
    opt.lr = 0.0
    opt.step(net)
    np.testing.assert_allclose(weights(net), w0 * (1 - 2 * 0.01), rtol=1e-12)


@pytest.mark.parametrize("variant", list(SGD_VARIANTS))
def test_sgd_allocates_nothing_after_the_first_step(variant: str) -> None:
    """The second step's peak allocation is far below the size of the parameters."""
    net = Network([Linear(300, 200, dtype=np.float64, rng=0)])
    opt = SGD(lr=0.1, **SGD_VARIANTS[variant])
    opt.step(net)
    size = sum(p.nbytes for p in net.parameters())
    assert peak_bytes(opt.step, net) < size / 4


def test_adam_defaults_are_pytorchs() -> None:
    """lr 1e-3, betas (0.9, 0.999), eps 1e-8; the first step is -lr * g / (|g| + eps)."""
    opt = Adam()
    assert (opt.lr, tuple(opt.betas), opt.eps) == (1e-3, (0.9, 0.999), 1e-8)
    net = net_with_grads()
    w0, g = weights(net), gradients(net)
    opt.step(net)
    np.testing.assert_allclose(weights(net), w0 - 1e-3 * g / (np.abs(g) + 1e-8), rtol=1e-13)


@pytest.mark.parametrize("betas", [(0.0, 0.999), (0.9, 0.0), (0.0, 0.0)])
def test_adam_accepts_zero_betas(betas: tuple[float, float]) -> None:
    """beta = 0 is allowed (no averaging); the first step is still -lr * g / (|g| + eps)."""
    net = net_with_grads()
    w0, g = weights(net), gradients(net)
    Adam(lr=0.01, betas=betas).step(net)
    np.testing.assert_allclose(weights(net), w0 - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-13)


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.999), (0.9, -0.5)])
def test_adam_rejects_betas_outside_zero_one(betas: tuple[float, float]) -> None:
    """beta = 1 (division by 0 in the bias correction) or below 0 is refused, naming betas."""
    with pytest.raises(ValueError, match=r"betas .*\[0, 1\).*" + str(betas[0])):
        Adam(betas=betas)


@pytest.mark.parametrize("name", ["eps", "weight_decay"])
def test_adam_negative_hyperparameter_is_named(name: str) -> None:
    """The message names the parameter and its value."""
    with pytest.raises(ValueError, match=f"^{name} must be >= 0, got -0.1$"):
        Adam(**{name: -0.1})
