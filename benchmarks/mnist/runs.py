"""Run one configuration on one data set for one seed, recording everything per epoch.

Contract
--------
:func:`run` trains with :func:`nplearn.training.fit` (in-order batches or a
seeded shuffle, last partial batch dropped like the post's loop) and returns a
:class:`RunResult`: the per-epoch history (training loss and accuracy over the
epoch's batches, validation loss/accuracy on the post's 12k split when the
config trains on the 48k split, test loss/accuracy on the 10k test set divided
by 255 (every epoch for runs of up to 39 epochs, else on about 20 evenly
spaced epochs and the last, NaN elsewhere), learning rate, cumulative training
seconds excluding evaluation, wall seconds), the final correct test metrics
and confusion matrix, the post-style test metrics
(``postfaithful.post_evaluation``), and for ReLU networks the fraction of
hidden units active on at least one test image.

Seeds: ``numpy.random.SeedSequence(seed).spawn(2)`` gives the generator that
initialises the weights (child 0) and the one that shuffles (child 1).
Losses in the history are per sample (as ``nplearn.training`` reports them),
so every configuration's curves share one scale. A run whose loss turns NaN
or inf stops there (``fit(on_nonfinite="warn")``): its history ends with that
epoch's row, NaN training loss and the test metrics of the last finite weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from benchmarks.mnist.configs import RunConfig, build, lr_at
from benchmarks.mnist.datasets import Prepared
from benchmarks.mnist.postfaithful import post_evaluation
from nplearn import Network, ReLU, to_one_hot
from nplearn.training import evaluate, fit, predict

__all__ = ["EVAL_BATCH", "RunResult", "generators", "run"]

EVAL_BATCH = 1000  # nplearn.training.evaluate's default batch size, used for the test set
TEST_POINTS = 20  # long runs measure test metrics on about this many epochs, and the last
ARRAYS = ("history", "confusion", "post_confusion")
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "test_loss"]
HISTORY_COLUMNS += ["test_accuracy", "lr", "train_time", "wall_time"]


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
        post_accuracy: final accuracy as the post computed it.
        post_error: final "test error" as the post computed it.
        confusion: confusion matrix (rows true, columns predicted), test / 255.
        post_confusion: the same on the post's undivided test images.
        active_units: fraction of hidden ReLU units active on some test image
            (None for Sigmoid).
        train_time, wall_time: seconds of training only / of the whole fit.
        blas: the BLAS library and kernel the run used (``"openblas SkylakeX"``), set by
            the process that ran it.
    """

    dataset: str
    config: str
    seed: int
    epochs: int
    history: pd.DataFrame
    test_accuracy: float
    post_accuracy: float
    post_error: float
    confusion: np.ndarray
    post_confusion: np.ndarray
    active_units: float | None
    train_time: float
    wall_time: float
    blas: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (lists, floats; NaN kept), exact: floats print round-trip."""
        out = {k: v for k, v in vars(self).items() if k not in ARRAYS}
        out["history"] = self.history.to_dict(orient="list")
        out.update({k: getattr(self, k).tolist() for k in ARRAYS if k != "history"})
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """The inverse of :meth:`to_dict`."""
        arrays = {k: np.array(data[k], dtype=np.int64) for k in ARRAYS if k != "history"}
        history = pd.DataFrame(data["history"])
        plain = {k: v for k, v in data.items() if k not in ARRAYS}
        return cls(**plain, **arrays, history=history)


def generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """``(init_rng, shuffle_rng)`` for ``seed``, independent streams."""
    init_seq, shuffle_seq = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(init_seq), np.random.default_rng(shuffle_seq)


def _targets(cfg: RunConfig, y: np.ndarray) -> np.ndarray:
    """One-hot float32 rows for MSE; integer labels for cross-entropy.

    nplearn's cross-entropy gives the same value and gradient ``p - y`` for
    integer labels as for the post's one-hot rows, without building them.
    """
    return to_one_hot(y, 10) if cfg.loss.startswith("mse") else y


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
        on_nonfinite="warn",
    )
    frame = history.to_frame().reindex(columns=HISTORY_COLUMNS)
    if len(history) < cfg.epochs:  # a non-finite loss stopped fit; the weights are finite
        test = evaluate(net, loss, data.x_test, y_test)
        diverged = {"epoch": len(history) + 1, "test_loss": test["loss"], "lr": optimizer.lr}
        diverged |= {"test_accuracy": test["accuracy"], "train_time": 0.0, "wall_time": 0.0}
        if len(history):
            diverged |= {k: frame[k].iloc[-1] for k in ("train_time", "wall_time")}
        frame = pd.concat([frame, pd.DataFrame([diverged])], ignore_index=True)
    post_eval = post_evaluation(net, loss, data.x_test_raw, data.y_test)
    predicted = predict(net, data.x_test).argmax(axis=1)
    last = frame.iloc[-1]
    return RunResult(
        dataset=data.name,
        config=cfg.key,
        seed=seed,
        epochs=len(history),
        history=frame,
        test_accuracy=float(last["test_accuracy"]),
        post_accuracy=post_eval.accuracy,
        post_error=post_eval.error,
        confusion=confusion_matrix(data.y_test, predicted, labels=list(range(10))),
        post_confusion=confusion_matrix(data.y_test, post_eval.predictions, labels=list(range(10))),
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
