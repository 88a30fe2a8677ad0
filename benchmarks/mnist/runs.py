"""Run one configuration on one data set for one seed, recording everything per epoch.

Contract
--------
:func:`run` trains with :func:`nplearn.training.fit` (in-order batches or a
seeded shuffle, last partial batch dropped like the seed's loop) and returns a
:class:`RunResult`: the per-epoch history (training loss and accuracy over the
epoch's batches, validation loss/accuracy on the seed's 12k split when the
config trains on the 48k split, test loss/accuracy on the 10k test set divided
by 255 (every epoch for runs of up to 39 epochs, else on about 20 evenly
spaced epochs and the last, NaN elsewhere), learning rate, cumulative training
seconds excluding evaluation, wall seconds), the final correct test metrics
and confusion matrix, the seed-style test metrics
(``seedfaithful.seed_evaluation``), and for ReLU networks the fraction of
hidden units active on at least one test image.

Seeds: ``numpy.random.SeedSequence(seed).spawn(2)`` gives the generator that
initialises the weights (child 0) and the one that shuffles (child 1).
Losses in the history are per sample (summed losses are divided by their
batch), so every configuration's curves share one scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from benchmarks.mnist.configs import RunConfig, build, lr_at
from benchmarks.mnist.datasets import Prepared
from benchmarks.mnist.seedfaithful import seed_evaluation
from nplearn import Network, ReLU, to_one_hot
from nplearn.training import evaluate, fit, predict

__all__ = ["EVAL_BATCH", "RunResult", "generators", "run"]

EVAL_BATCH = 1000  # nplearn.training.evaluate's default batch size, used for the test set
TEST_POINTS = 20  # long runs measure test metrics on about this many epochs, and the last


@dataclass
class RunResult:
    """The outcome of one training run.

    Attributes:
        dataset, config, seed: what was run.
        epochs: epochs actually trained.
        history: one row per epoch: ``epoch, loss, accuracy, val_loss,
            val_accuracy, test_loss, test_accuracy, lr, train_time, wall_time``
            (``val_*`` are NaN for configs trained on all 60k images).
        test_accuracy: final accuracy on the test set / 255.
        seed_accuracy: final accuracy as the seed computed it.
        seed_error: final "test error" as the seed computed it.
        confusion: confusion matrix (rows true, columns predicted), test / 255.
        seed_confusion: the same on the seed's undivided test images.
        active_units: fraction of hidden ReLU units active on some test image
            (None for Sigmoid).
        train_time, wall_time: seconds of training only / of the whole fit.
    """

    dataset: str
    config: str
    seed: int
    epochs: int
    history: pd.DataFrame
    test_accuracy: float
    seed_accuracy: float
    seed_error: float
    confusion: np.ndarray
    seed_confusion: np.ndarray
    active_units: float | None
    train_time: float
    wall_time: float


def generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """``(init_rng, shuffle_rng)`` for ``seed``, independent streams."""
    init_seq, shuffle_seq = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(init_seq), np.random.default_rng(shuffle_seq)


def _targets(cfg: RunConfig, y: np.ndarray) -> np.ndarray:
    """One-hot float32 rows for MSE; integer labels for cross-entropy.

    nplearn's cross-entropy gives the same value and gradient ``p - y`` for
    integer labels as for the seed's one-hot rows, without building them.
    """
    return to_one_hot(y, 10) if cfg.loss.startswith("mse") else y


def _per_sample(cfg: RunConfig, value: float, batch: int) -> float:
    """A loss value as a per-sample mean (summed losses divided by their batch)."""
    return value / batch if cfg.loss.endswith("sum") else value


def run(cfg: RunConfig, data: Prepared, seed: int, *, progress: bool = False) -> RunResult:
    """Train ``cfg`` on ``data`` with ``seed``; evaluate after every epoch.

    Args:
        cfg: the recipe (its ``epochs`` are trained).
        data: the prepared data set.
        seed: the run's seed (see the module docstring).
        progress: show fit's progress bar.

    Returns:
        The :class:`RunResult`.
    """
    init_rng, shuffle_rng = generators(seed)
    net, loss, optimizer = build(cfg, init_rng)
    if cfg.full_train:
        x, y, validation = data.x_full, data.y_full, None
    else:
        x, y = data.x_train, data.y_train
        validation = (data.x_val, _targets(cfg, data.y_val))
    y_test = _targets(cfg, data.y_test)

    test_every = max(1, cfg.epochs // TEST_POINTS)

    def after_epoch(record: dict[str, float], net: Network) -> bool:
        epoch = int(record["epoch"])
        if epoch % test_every == 0 or epoch == cfg.epochs:
            test = evaluate(net, loss, data.x_test, y_test)
            record.update(test_loss=test["loss"], test_accuracy=test["accuracy"])
        record["lr"] = optimizer.lr
        optimizer.lr = lr_at(cfg, epoch)
        return False

    history = fit(
        net,
        loss,
        optimizer,
        x,
        _targets(cfg, y),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        validation_data=validation,
        shuffle=cfg.shuffle,
        rng=shuffle_rng if cfg.shuffle else None,
        drop_last=True,
        progress=progress,
        callback=after_epoch,
    )
    frame = history.to_frame()
    frame["loss"] = [_per_sample(cfg, v, cfg.batch_size) for v in frame["loss"]]
    for column in ("val_loss", "test_loss", "val_accuracy", "test_accuracy"):
        if column not in frame:
            frame[column] = np.nan
    # fit validates with its own batch size; the test set is evaluated in EVAL_BATCH batches.
    frame["val_loss"] = [_per_sample(cfg, v, cfg.batch_size) for v in frame["val_loss"]]
    frame["test_loss"] = [_per_sample(cfg, v, EVAL_BATCH) for v in frame["test_loss"]]
    seed_eval = seed_evaluation(net, loss, data.x_test_raw, data.y_test)
    predicted = predict(net, data.x_test).argmax(axis=1)
    last = history.records[-1]
    return RunResult(
        dataset=data.name,
        config=cfg.key,
        seed=seed,
        epochs=len(history),
        history=frame,
        test_accuracy=float(last["test_accuracy"]),
        seed_accuracy=seed_eval.accuracy,
        seed_error=seed_eval.error,
        confusion=confusion_matrix(data.y_test, predicted, labels=list(range(10))),
        seed_confusion=confusion_matrix(data.y_test, seed_eval.predictions, labels=list(range(10))),
        active_units=_active_units(net, data.x_test),
        train_time=float(last["train_time"]),
        wall_time=float(last["wall_time"]),
    )


def _active_units(net: Network, x: np.ndarray) -> float | None:
    """Fraction of hidden ReLU units with a positive output on at least one row of ``x``."""
    if not isinstance(net.layers[1], ReLU):
        return None
    hidden = net.layers[1](net.layers[0](x))
    return float((hidden > 0).any(axis=0).mean())
