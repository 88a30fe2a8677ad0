"""Training helpers: mini-batches, one training step, ``fit`` and ``evaluate``.

Contract
--------
``fit(net, loss, optimizer, x, y, ...)`` runs the seed's loop (forward, loss,
backward, optimizer step per mini-batch) for a number of epochs and returns a
:class:`History` with one record per epoch: mean training loss and accuracy
over the epoch's batches, validation loss and accuracy when validation data is
given, and cumulative training / wall seconds. Batches come in order or, with
``shuffle=True``, permuted by an explicit seeded ``numpy.random.Generator``.
Accuracy is scikit-learn's ``accuracy_score``; labels may be integer classes
or one-hot rows. Loss values are averaged over batches as the loss object
reports them (``reduction="sum"`` gives per-batch sums, as in the seed); the
validation data is evaluated in batches of the training batch size, so its
loss is on the same scale as the training loss.
Nothing here mutates the data; the progress bar (tqdm) can be turned off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score
from tqdm.auto import tqdm

from nplearn.functional import Tensor
from nplearn.losses import Loss
from nplearn.network import Network
from nplearn.optim import Optimizer

__all__ = ["History", "batches", "evaluate", "fit", "labels_of", "predict", "train_step"]


@dataclass
class History:
    """Per-epoch records of a :func:`fit` run.

    Attributes:
        records: one dict per epoch with keys ``epoch``, ``loss``, ``accuracy``,
            ``train_time`` and ``wall_time`` (seconds since the first step) and,
            with validation data, ``val_loss`` and ``val_accuracy``.
    """

    records: list[dict[str, float]] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[float]:
        """All values of one column, e.g. ``history["val_accuracy"]``."""
        return [r[key] for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def to_frame(self) -> Any:
        """The records as a ``pandas.DataFrame`` (one row per epoch)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records)


def labels_of(y: Tensor) -> Tensor:
    """Class labels of integer labels or one-hot rows.

    Shape:
        - y: ``(n,)`` integers or ``(n, classes)`` rows
        - output: ``(n,)``
    """
    return y.argmax(axis=1) if y.ndim == 2 else y


def _check_lengths(who: str, x: Tensor, y: Tensor) -> None:
    """Raise ValueError giving both shapes unless x and y have one row per sample."""
    if len(x) != len(y):
        raise ValueError(f"{who}: x has shape {np.shape(x)} but y has shape {np.shape(y)}")


def batches(
    n: int,
    batch_size: int,
    *,
    shuffle: bool = False,
    rng: np.random.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[slice | Tensor]:
    """Yield indices of consecutive mini-batches of ``range(n)``.

    Args:
        n: number of samples.
        batch_size: samples per batch (the last one may be smaller).
        shuffle: permute the samples first, with ``rng``.
        rng: the generator for shuffling (required when shuffling).
        drop_last: skip a final incomplete batch (the seed's loop does).

    Returns:
        Slices (in order) or index arrays (shuffled) of length ``batch_size``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if shuffle and rng is None:
        raise ValueError("shuffle=True needs an explicit numpy.random.Generator rng")
    order = rng.permutation(n) if shuffle and rng is not None else None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        yield slice(start, end) if order is None else order[start:end]


def train_step(net: Network, loss: Loss, optimizer: Optimizer, x: Tensor, y: Tensor) -> float:
    """One step: forward, loss, backward (no input gradient), update.

    Shape:
        - x: ``(batch, in_features)``
        - y: ``(batch, classes)`` or ``(batch,)``

    Returns:
        The loss value of the batch before the update.
    """
    value = loss(net.forward(x), y)
    net.backward(loss.grad, input_grad=False)  # type: ignore[arg-type]
    optimizer.step(net)
    return value


def predict(net: Network, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Network outputs for ``x``, computed in batches.

    Shape:
        - x: ``(n, in_features)``
        - output: ``(n, out_features)``
    """
    return np.concatenate([net(x[idx]) for idx in batches(len(x), batch_size)])


def evaluate(
    net: Network, loss: Loss, x: Tensor, y: Tensor, *, batch_size: int = 1000
) -> dict[str, float]:
    """Loss (mean over batches) and accuracy of ``net`` on ``(x, y)``.

    Shape:
        - x: ``(n, in_features)``
        - y: ``(n, classes)`` or ``(n,)``

    Returns:
        ``{"loss": ..., "accuracy": ...}``.
    """
    _check_lengths("evaluate", x, y)
    values, predicted = [], []
    for idx in batches(len(x), batch_size):
        out = net(x[idx])
        values.append(loss(out, y[idx]))
        predicted.append(out.argmax(axis=1))
    return {
        "loss": float(np.mean(values)),
        "accuracy": float(accuracy_score(labels_of(y), np.concatenate(predicted))),
    }


def fit(
    net: Network,
    loss: Loss,
    optimizer: Optimizer,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int,
    batch_size: int = 100,
    validation_data: tuple[Tensor, Tensor] | None = None,
    shuffle: bool = False,
    rng: np.random.Generator | None = None,
    drop_last: bool = False,
    progress: bool = True,
    callback: Callable[[dict[str, float], Network], bool | None] | None = None,
) -> History:
    """Train ``net`` for ``epochs`` epochs; return the per-epoch :class:`History`.

    Args:
        net, loss, optimizer: what to train, on what, with what.
        x: training inputs (float, already scaled; not copied).
        y: training targets: one-hot rows or integer labels.
        epochs: number of passes over ``x``.
        batch_size: samples per step.
        validation_data: ``(x_val, y_val)`` evaluated after each epoch.
        shuffle: new permutation of the samples each epoch, from ``rng``.
        rng: ``numpy.random.Generator`` for shuffling.
        drop_last: skip the last incomplete batch.
        progress: show a tqdm bar.
        callback: called as ``callback(record, net)`` after each epoch;
            returning True stops training (e.g. a target accuracy is reached).

    Shape:
        - x: ``(n, in_features)``
        - y: ``(n, classes)`` or ``(n,)``

    Returns:
        The :class:`History`.
    """
    _check_lengths("fit", x, y)
    if validation_data is not None:
        _check_lengths("fit (validation_data)", *validation_data)
    history = History()
    train_time = 0.0
    start = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), disable=not progress, unit="epoch")
    for epoch in bar:
        tick = time.perf_counter()
        values, predicted, actual = [], [], []
        for idx in batches(len(x), batch_size, shuffle=shuffle, rng=rng, drop_last=drop_last):
            out = net.forward(x[idx])
            values.append(loss(out, y[idx]))
            net.backward(loss.grad, input_grad=False)  # type: ignore[arg-type]
            optimizer.step(net)
            predicted.append(out.argmax(axis=1))
            actual.append(labels_of(y[idx]))
        train_time += time.perf_counter() - tick
        record = {
            "epoch": epoch,
            "loss": float(np.mean(values)),
            "accuracy": float(accuracy_score(np.concatenate(actual), np.concatenate(predicted))),
        }
        if validation_data is not None:
            val = evaluate(net, loss, *validation_data, batch_size=batch_size)
            record.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
        record.update(train_time=train_time, wall_time=time.perf_counter() - start)
        history.records.append(record)
        bar.set_postfix({k: round(v, 4) for k, v in record.items() if "loss" in k or "acc" in k})
        if callback is not None and callback(record, net):
            break
    return history
