"""Determinism and dtypes: the same seed gives bitwise-identical training; dtypes are kept.

Training runs on one BLAS thread (threadpoolctl), on synthetic data drawn from seeded
generators, with shuffled mini-batches so the shuffling generator is exercised too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nplearn import SGD, Adam, CrossEntropyLoss, Linear, Network, ReLU, Sigmoid
from nplearn.optim import Optimizer
from nplearn.training import fit, train_step

OPTIMIZERS: dict[str, Callable[[], Optimizer]] = {
    "sgd": lambda: SGD(0.05),
    "sgd-l2": lambda: SGD(0.05, l2=1e-4),
    "sgd-momentum": lambda: SGD(0.05, momentum=0.9),
    "sgd-weight-decay": lambda: SGD(0.05, weight_decay=1e-3),
    "adam": lambda: Adam(1e-3, weight_decay=1e-3),
}
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])


def data(seed: int, n: int = 600, features: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic 10-class problem: Gaussian inputs, labels from a random linear map."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features))
    return x, (x @ rng.standard_normal((features, 10))).argmax(axis=1)


def network(seed: int, dtype: type, features: int = 32) -> Network:
    rng = np.random.default_rng(seed)
    return Network(
        [
            Linear(features, 64, dtype=dtype, rng=rng),
            ReLU(),
            Linear(64, 32, dtype=dtype, rng=rng),
            Sigmoid(),
            Linear(32, 10, dtype=dtype, rng=rng),
        ]
    )


def train(seed: int, dtype: type, optimizer: str) -> Network:
    """300 steps: 10 shuffled epochs of 30 batches of 20."""
    x, y = data(seed)
    net = network(seed, dtype)
    with threadpool_limits(1):
        fit(
            net,
            CrossEntropyLoss("mean"),
            OPTIMIZERS[optimizer](),
            x.astype(dtype),
            y,
            epochs=10,
            batch_size=20,
            shuffle=True,
            rng=np.random.default_rng(seed + 1),
            progress=False,
        )
    return net


@DTYPES
@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adam"])
def test_same_seed_same_weights(check_record, dtype, optimizer) -> None:
    """The same seed gives bitwise-identical weights after 300 steps (1 BLAS thread)."""
    first, second = train(1, dtype, optimizer), train(1, dtype, optimizer)
    other = train(2, dtype, optimizer)
    differing = [
        name
        for (name, a, _), (_, b, _) in zip(
            first.named_parameters(), second.named_parameters(), strict=True
        )
        if not np.array_equal(a, b)
    ]
    check_record(f"{len(differing)} differing tensors", "bitwise equal")
    assert not differing, f"parameters differ between identical runs: {differing}"
    # A different seed must give different weights, or the comparison above proves nothing.
    assert not np.array_equal(first[0].W, other[0].W)


@DTYPES
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_dtype_kept(dtype, optimizer) -> None:
    """Parameters, gradients, outputs and loss.grad keep the network's dtype through training."""
    x, y = data(3, n=40)
    net, loss, opt = network(3, dtype), CrossEntropyLoss(), OPTIMIZERS[optimizer]()
    arrays = [id(p) for p in net.parameters()]
    for _ in range(5):
        train_step(net, loss, opt, x.astype(np.float64), y)  # float64 inputs are cast
    assert net(x).dtype == dtype and loss.grad.dtype == dtype
    for name, param, grad in net.named_parameters():
        assert param.dtype == dtype and grad.dtype == dtype, name
        assert np.all(np.isfinite(param)), name
    assert [id(p) for p in net.parameters()] == arrays, "parameters were replaced, not updated"
