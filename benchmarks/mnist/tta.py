"""Time to accuracy (DAWNBench-style) for nplearn, and the loop both frameworks share.

Contract
--------
:class:`Trainer` is framework-neutral and resumable: it runs one training
step per batch of a precomputed batch order and, at each evaluation point
(every quarter epoch and at each epoch's end), measures test accuracy and
records a ``(step, epoch, train_seconds, test_accuracy)`` point. Only its own
training steps are timed (``time.perf_counter`` around each run of steps),
from the first step; evaluation, and anything run between two
:meth:`Trainer.advance` calls, is not. It finishes after the first point at or
above ``stop_at`` or when the batches run out. :func:`interleaved` runs several
trainers in lockstep, one evaluation interval each in ABBA order, so slow drift
of the machine's speed affects them alike. :func:`nplearn_trainer` plugs nplearn in;
``torch_tta.torch_trainer`` plugs PyTorch in with the same initial weights,
batch order, schedule and evaluation points, so the two curves differ only by
the frameworks' speed (and float rounding). :func:`time_to` reads the first
time a curve reaches a threshold.
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
    "Trainer",
    "batch_order",
    "interleaved",
    "nplearn_trainer",
    "time_to",
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


class Trainer:
    """One framework's training, run an evaluation interval at a time.

    Args:
        order: per epoch, the batches (see :func:`batch_order`), as the
            framework indexes its training tensors.
        step: one training step on a batch (forward, loss, backward, update).
        accuracy: current test accuracy (not timed).
        set_lr: called with the 0-based epoch before the epoch's first step.
        stop_at: finish after the first evaluation at or above this accuracy.

    Attributes:
        points: ``(step, epoch, train_seconds, test_accuracy)`` so far, in order.
        seconds: training seconds so far (steps only).
        finished: True once ``stop_at`` was reached or no batch is left.
    """

    def __init__(
        self,
        order: Sequence[Sequence[Any]],
        step: Callable[[Any], object],
        accuracy: Callable[[], float],
        set_lr: Callable[[int], None],
        *,
        stop_at: float = max(THRESHOLDS),
    ) -> None:
        self._order, self._step, self._accuracy, self._set_lr = order, step, accuracy, set_lr
        self._stop_at, self._total = stop_at, sum(len(e) for e in order)
        self._epoch, self._i, self._done = 0, 0, 0  # epoch, its batches done, steps before it
        self.points: list[tuple[int, float, float, float]] = []
        self.seconds = 0.0
        self.finished = self._total == 0

    def advance(self) -> bool:
        """Run the steps up to the next evaluation point, then evaluate and record it.

        Returns:
            False once finished (this call reached ``stop_at`` or used the last
            batch, or it was already finished), True while steps remain.
        """
        if self.finished:
            return False
        while len(self._order[self._epoch]) == 0:  # an empty epoch (never in practice)
            self._set_lr(self._epoch)
            self._epoch += 1
        epoch_batches = self._order[self._epoch]
        per_epoch = len(epoch_batches)
        every = max(1, per_epoch // EVALS_PER_EPOCH)
        end = min((self._i // every + 1) * every, per_epoch)
        if self._i == 0:
            self._set_lr(self._epoch)
        tick = time.perf_counter()
        for idx in epoch_batches[self._i : end]:
            self._step(idx)
        self.seconds += time.perf_counter() - tick
        value, steps = self._accuracy(), self._done + end
        self.points.append((steps, self._epoch + end / per_epoch, self.seconds, value))
        self._i = end
        if end == per_epoch:
            self._epoch, self._i, self._done = self._epoch + 1, 0, steps
        self.finished = value >= self._stop_at or steps == self._total
        return not self.finished


def interleaved(trainers: Sequence[Trainer]) -> list[list[tuple[int, float, float, float]]]:
    """Advance ``trainers`` in lockstep, one evaluation interval each, in ABBA order.

    Rounds alternate between the given order and its reverse (A B, B A, A B,
    ...), so each trainer's intervals sit next to the others' and none always
    runs first. A finished trainer is skipped; the rest go on alone.

    Args:
        trainers: the trainers, not yet advanced.

    Returns:
        Each trainer's points, in the order given.
    """
    turn = list(trainers)
    while not all(t.finished for t in turn):
        for trainer in turn:
            trainer.advance()
        turn.reverse()
    return [t.points for t in trainers]


def nplearn_trainer(
    cfg: RunConfig, data: Prepared, seed: int, order: Sequence[Sequence[slice | np.ndarray]]
) -> tuple[Trainer, dict[str, np.ndarray]]:
    """nplearn's time-to-accuracy trainer for ``cfg`` and ``seed``, not yet run.

    Args:
        cfg: the recipe (its schedule follows ``cfg.epochs``).
        data: the prepared data set.
        seed: initialises the weights exactly as ``runs.run`` does.
        order: the batch order (:func:`batch_order`).

    Returns:
        ``(trainer, initial_state)``: the trainer and the network's initial
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

    return Trainer(order, step, accuracy, set_lr), initial


def time_to(curve: Curve, threshold: float) -> float | None:
    """Training seconds until ``curve`` first reaches ``threshold`` (None if never)."""
    for _, _, seconds, value in curve.points:
        if value >= threshold:
            return seconds
    return None
