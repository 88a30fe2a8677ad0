"""Run one configuration on one data set for one seed, recording everything per epoch.

Contract
--------
:func:`run` trains with :func:`nplearn.training.fit` (last partial batch dropped, as the post's
loop) and returns a :class:`RunResult`: the per-epoch history (training; validation on the post's
12k split if any; test / 255 every epoch, or on about :data:`TEST_POINTS` epochs and the last;
learning rate; training seconds without evaluation; wall seconds), the final test metrics and
confusion matrix, the post-style ones (the post's test loops on purpose: images NOT / 255, mean
of per-batch accuracies, "test error" = sum over batches of the post's loss / (n_test / batch))
and, for ReLU, the fraction of hidden units active on some test image. Losses are per sample.
``SeedSequence(seed).spawn(2)`` seeds the weights and the shuffle. A NaN or inf loss stops the
run (``fit(on_nonfinite="warn")``); its last row has NaN training loss and the last finite
weights' test metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from benchmarks.mnist.configs import RunConfig, build, lr_at
from benchmarks.mnist.datasets import Prepared
from nplearn import CrossEntropyLoss, Network, ReLU, to_one_hot
from nplearn.losses import Loss
from nplearn.training import batches, evaluate, fit, predict

POST_BATCH = 100
TEST_POINTS = 20  # long runs measure test metrics on about this many epochs, and the last
ARRAYS = ("confusion", "post_confusion")
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "test_loss"]
HISTORY_COLUMNS += ["test_accuracy", "lr", "train_time", "wall_time"]


@dataclass
class RunResult:
    """The outcome of one training run (see the module docstring); ``epochs`` counts the epochs
    trained, ``active_units`` is None for Sigmoid, ``blas`` is set by the process that ran it."""

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
        out = vars(self) | {"history": self.history.to_dict(orient="list")}
        return out | {k: getattr(self, k).tolist() for k in ARRAYS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """The inverse of :meth:`to_dict`."""
        arrays = {k: np.array(data[k], dtype=np.int64) for k in ARRAYS}
        return cls(**(data | arrays | {"history": pd.DataFrame(data["history"])}))


def generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """``(init_rng, shuffle_rng)`` for ``seed``, independent streams."""
    init_seq, shuffle_seq = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(init_seq), np.random.default_rng(shuffle_seq)


def _targets(cfg: RunConfig, y: np.ndarray) -> np.ndarray:
    """One-hot float32 rows for MSE; integer labels for cross-entropy (same value and gradient)."""
    return to_one_hot(y, 10) if cfg.loss.startswith("mse") else y


def _post_evaluation(net: Network, loss: Loss, data: Prepared) -> tuple[float, float, np.ndarray]:
    """``(accuracy, test error, predictions)`` computed as the post's test loops do."""
    x = data.x_test_raw.astype(np.float32)  # 0..255, as the post's pandas array
    target, accuracies, error = to_one_hot(data.y_test, 10), [], 0.0
    for idx in batches(len(x), POST_BATCH, drop_last=True):
        pred = net(x[idx])
        value = loss(pred, target[idx])
        if isinstance(loss, CrossEntropyLoss):
            value /= pred.shape[0] * pred.shape[1] if loss.reduction == "sum" else pred.shape[1]
        error += float(value) / (len(x) / POST_BATCH)
        accuracies.append(np.mean(pred.argmax(axis=1) == data.y_test[idx]))
    predictions = np.concatenate([net(x[idx]).argmax(axis=1) for idx in batches(len(x), 1000)])
    return float(np.mean(accuracies)), error, predictions


def run(cfg: RunConfig, data: Prepared, seed: int) -> RunResult:
    """Train ``cfg`` (its ``epochs``) on ``data`` with ``seed``; evaluate after every epoch."""
    init_rng, shuffle_rng = generators(seed)
    net, loss, optimizer = build(cfg, init_rng)
    x, y = data.training(cfg.full_train)
    validation = None if cfg.full_train else (data.x_val, _targets(cfg, data.y_val))
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
        progress=False,
        callback=after_epoch,
        on_nonfinite="warn",
    )
    frame = history.to_frame().reindex(columns=HISTORY_COLUMNS)
    if len(history) < cfg.epochs:  # a non-finite loss stopped fit; the weights are finite
        test = evaluate(net, loss, data.x_test, y_test)
        times = frame.iloc[-1] if len(history) else {"train_time": 0.0, "wall_time": 0.0}
        diverged = {"epoch": len(history) + 1, "test_loss": test["loss"], "lr": optimizer.lr}
        diverged |= {"test_accuracy": test["accuracy"]}
        diverged |= {k: times[k] for k in ("train_time", "wall_time")}
        frame = pd.concat([frame, pd.DataFrame([diverged])], ignore_index=True)
    post_accuracy, post_error, post_predictions = _post_evaluation(net, loss, data)
    hidden = net.layers[1](net.layers[0](data.x_test))
    active = float((hidden > 0).any(axis=0).mean()) if isinstance(net.layers[1], ReLU) else None
    last = frame.iloc[-1]
    return RunResult(
        dataset=data.name,
        config=cfg.key,
        seed=seed,
        epochs=len(history),
        history=frame,
        test_accuracy=float(last["test_accuracy"]),
        post_accuracy=post_accuracy,
        post_error=post_error,
        confusion=confusion_matrix(data.y_test, predict(net, data.x_test).argmax(axis=1)),
        post_confusion=confusion_matrix(data.y_test, post_predictions),
        active_units=active,
        train_time=float(last["train_time"]),
        wall_time=float(last["wall_time"]),
    )
