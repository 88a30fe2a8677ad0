"""Time to accuracy (DAWNBench-style) for nplearn, and the loop both frameworks share.

Contract
--------
:func:`timed_training` is framework-neutral: it runs one training step per
batch of a precomputed batch order, stops the clock every ``eval_every``
steps (and at the end of each epoch) to measure test accuracy, and records
``(step, epoch, train_seconds, test_accuracy)`` points. Only training steps
are timed (``time.perf_counter``), from the first step; evaluation is not.
It stops early once the highest threshold is reached. :func:`nplearn_tta`
plugs nplearn in; ``torch_tta.torch_tta`` plugs PyTorch in with the same
initial weights, batch order, schedule and evaluation points, so the two
curves differ only by the frameworks' speed (and float rounding).
:func:`time_to` reads the first time a curve reaches a threshold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score

from benchmarks.mnist.configs import RunConfig, build, lr_at
from benchmarks.mnist.datasets import Prepared
from benchmarks.mnist.runs import generators
from nplearn.training import batches, predict, train_step

__all__ = [
    "THRESHOLDS",
    "Curve",
    "batch_order",
    "nplearn_tta",
    "time_to",
    "timed_training",
    "training_set",
]

THRESHOLDS = (0.95, 0.97, 0.98)
EVALS_PER_EPOCH = 4  # test accuracy every quarter epoch


@dataclass
class Curve:
    """Test accuracy against training seconds for one framework, config and seed.

    Attributes:
        framework: ``"nplearn"`` or ``"torch"``.
        config: the config key.
        seed: the run's seed.
        points: ``(step, epoch, train_seconds, test_accuracy)`` tuples, in order.
    """

    framework: str
    config: str
    seed: int
    points: list[tuple[int, float, float, float]] = field(default_factory=list)


def training_set(cfg: RunConfig, data: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """The images and integer labels ``cfg`` trains on (48k split or all 60k)."""
    return (data.x_full, data.y_full) if cfg.full_train else (data.x_train, data.y_train)


def batch_order(cfg: RunConfig, n: int, seed: int, epochs: int) -> list[list[slice | np.ndarray]]:
    """Every epoch's batches, as ``runs.run`` draws them (same shuffle generator).

    Returns:
        ``epochs`` lists of slices (in order) or index arrays (shuffled).
    """
    _, shuffle_rng = generators(seed)
    return [
        list(batches(n, cfg.batch_size, shuffle=cfg.shuffle, rng=shuffle_rng, drop_last=True))
        for _ in range(epochs)
    ]


def timed_training(
    order: Sequence[Sequence[Any]],
    step: Callable[[Any], object],
    accuracy: Callable[[], float],
    set_lr: Callable[[int], None],
    *,
    stop_at: float = max(THRESHOLDS),
) -> list[tuple[int, float, float, float]]:
    """Train over ``order``, timing only the steps; evaluate at fixed points.

    Args:
        order: per epoch, the batches (see :func:`batch_order`), as the
            framework indexes its training tensors.
        step: one training step on a batch (forward, loss, backward, update).
        accuracy: current test accuracy (not timed).
        set_lr: called with the 0-based epoch before each epoch.
        stop_at: stop after the first evaluation at or above this accuracy.

    Returns:
        ``(step, epoch, train_seconds, test_accuracy)`` points.
    """
    points: list[tuple[int, float, float, float]] = []
    seconds, done = 0.0, 0
    for epoch, epoch_batches in enumerate(order):
        set_lr(epoch)
        per_epoch = len(epoch_batches)
        every = max(1, per_epoch // EVALS_PER_EPOCH)
        tick = time.perf_counter()
        for i, idx in enumerate(epoch_batches, start=1):
            step(idx)
            if i % every == 0 or i == per_epoch:
                seconds += time.perf_counter() - tick
                done_steps = done + i
                value = accuracy()
                points.append((done_steps, epoch + i / per_epoch, seconds, value))
                if value >= stop_at:
                    return points
                tick = time.perf_counter()
        done += per_epoch
    return points


def nplearn_tta(
    cfg: RunConfig, data: Prepared, seed: int, order: Sequence[Sequence[slice | np.ndarray]]
) -> tuple[Curve, dict[str, np.ndarray]]:
    """Time-to-accuracy curve of nplearn for ``cfg`` and ``seed``.

    Args:
        cfg: the recipe (its schedule follows ``cfg.epochs``).
        data: the prepared data set.
        seed: initialises the weights exactly as ``runs.run`` does.
        order: the batch order (:func:`batch_order`).

    Returns:
        ``(curve, initial_state)``: the curve and the network's initial
        parameters (``Network.state_dict`` names), for the PyTorch peer.
    """
    init_rng, _ = generators(seed)
    net, loss, optimizer = build(cfg, init_rng)
    initial = net.state_dict()
    x, y = training_set(cfg, data)

    def step(idx: slice | np.ndarray) -> object:
        return train_step(net, loss, optimizer, x[idx], y[idx])

    def accuracy() -> float:
        return float(accuracy_score(data.y_test, predict(net, data.x_test).argmax(axis=1)))

    def set_lr(epoch: int) -> None:
        optimizer.lr = lr_at(cfg, epoch)

    curve = Curve("nplearn", cfg.key, seed, timed_training(order, step, accuracy, set_lr))
    return curve, initial


def time_to(curve: Curve, threshold: float) -> float | None:
    """Training seconds until ``curve`` first reaches ``threshold`` (None if never)."""
    for _, _, seconds, value in curve.points:
        if value >= threshold:
            return seconds
    return None
