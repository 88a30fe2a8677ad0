"""Training helpers: mini-batches, one training step, ``fit`` and ``evaluate``.

Contract
--------
``fit(net, loss, optimizer, x, y, ...)`` runs the post's loop (forward, loss,
backward, optimizer step per mini-batch) for a number of epochs and returns a
:class:`History` with one record per epoch: training loss and accuracy over
the epoch's samples, validation loss and accuracy when validation data is
given, and cumulative training / wall seconds. Batches come in order or, with
``shuffle=True``, permuted by an explicit seeded ``numpy.random.Generator``.
Labels may be integer classes or one-hot rows.

Losses are reported **per sample**, whatever the batch size: each batch's
value is turned into a sum over its samples (``reduction="sum"`` values are
sums already; a loss with ``reduction="mean"``, or without a ``reduction``
attribute such as ``MSE``, averages over its batch and is multiplied back by
the batch's length), and the sums are divided by the number of samples.

Guards against bad numbers, checked once before the first step: NaN or inf in
an input raises ``ValueError`` with their count and the first index; every
target is checked against the network's output width (integer labels in
range, or finite rows of that width). During training each batch's loss is
checked before its update: a non-finite loss raises ``FloatingPointError``
naming the epoch and batch (or, with ``on_nonfinite="warn"``, warns and stops
training); the network then holds finite weights, those from before that step.
Nothing here mutates the data; the progress bar (tqdm) can be turned off.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from nplearn._guards import ON_NONFINITE, check_data, finite, stop
from nplearn.functional import Tensor
from nplearn.losses import Loss
from nplearn.network import Network
from nplearn.optim import Optimizer

__all__ = ["History", "batches", "evaluate", "fit", "labels_of", "predict", "train_step"]

@dataclass
class History:
    """Per-epoch records of a :func:`fit` run.

    Attributes:
        records: one dict per epoch with keys ``epoch``, ``loss`` (per
            sample), ``accuracy``, ``train_time`` and ``wall_time`` (seconds
            since the first step) and, with validation data, ``val_loss`` and
            ``val_accuracy``.
    """

    records: list[dict[str, float]] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[float]:
        """All values of one column, e.g. ``history["val_accuracy"]``."""
        return [r[key] for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def to_frame(self) -> Any:
        """The records as a ``pandas.DataFrame`` (one row per epoch; needs pandas)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records)


def labels_of(y: Tensor) -> Tensor:
    """Class labels of integer labels or one-hot rows.

    Shape:
        - y: ``(n,)`` integers or ``(n, classes)`` rows
        - output: ``(n,)``
    """
    return y.argmax(axis=1) if y.ndim == 2 else y


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
        drop_last: skip a final incomplete batch (the post's loop does).

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
    net.backward(loss.grad)  # type: ignore[arg-type]
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
    """Loss per sample and accuracy of ``net`` on ``(x, y)``.

    The loss is the same for any ``batch_size`` (see the module docstring).

    Args:
        net, loss: what to evaluate, with what.
        x: inputs (float, finite).
        y: one-hot rows or integer labels.
        batch_size: samples per forward pass.

    Shape:
        - x: ``(n, in_features)``
        - y: ``(n, classes)`` or ``(n,)``

    Returns:
        ``{"loss": ..., "accuracy": ...}``.

    Raises:
        ValueError: ``x`` and ``y`` differ in length (both shapes given),
            ``x`` holds NaN or inf (count and first index given), or a
            target does not fit the network's output.
    """
    check_data("evaluate", net, x, y)
    return _evaluate(net, loss, x, y, batch_size)


def _evaluate(net: Network, loss: Loss, x: Tensor, y: Tensor, batch_size: int) -> dict[str, float]:
    total, correct = 0.0, 0
    for idx in batches(len(x), batch_size):
        out = net(x[idx])
        total += _batch_sum(loss, loss(out, y[idx]), len(out))
        correct += int(np.count_nonzero(out.argmax(axis=1) == labels_of(y[idx])))
    return {"loss": total / len(x), "accuracy": correct / len(x)}


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
    on_nonfinite: str = "raise",
) -> History:
    """Train ``net`` for ``epochs`` epochs; return the per-epoch :class:`History`.

    Args:
        net, loss, optimizer: what to train, on what, with what.
        x: training inputs (float, already scaled, finite; not copied).
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
        on_nonfinite: what a NaN or inf training loss does: ``"raise"`` a
            ``FloatingPointError``, or ``"warn"`` (``RuntimeWarning``) and
            stop, returning the history of the completed epochs. Either way
            the network keeps the finite weights from before that step.

    Shape:
        - x: ``(n, in_features)``
        - y: ``(n, classes)`` or ``(n,)``

    Returns:
        The :class:`History`; its losses are per sample.

    Raises:
        ValueError: bad data, before any step (see :func:`evaluate`), for the
            training and the validation data alike.
        FloatingPointError: a non-finite loss, with ``on_nonfinite="raise"``.
    """
    if on_nonfinite not in ON_NONFINITE:
        raise ValueError(f"on_nonfinite must be one of {ON_NONFINITE}, got {on_nonfinite!r}")
    check_data("fit", net, x, y)
    if validation_data is not None:
        check_data("fit (validation_data)", net, *validation_data)
    if not finite(net):
        raise ValueError("fit: the network's parameters hold NaN or inf before training")
    history = History()
    train_time = 0.0
    start = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), disable=not progress, unit="epoch")
    for epoch in bar:
        tick = time.perf_counter()
        backup = net.state_dict()  # restored if an update made the weights non-finite
        total, correct, seen, batch = 0.0, 0, 0, 0
        for batch, idx in enumerate(
            batches(len(x), batch_size, shuffle=shuffle, rng=rng, drop_last=drop_last), 1
        ):
            out = net.forward(x[idx])
            value = loss(out, y[idx])
            if not math.isfinite(value):  # checked before the update: the weights are intact
                stop(net, backup, f"epoch {epoch}, batch {batch}: loss is {value}", on_nonfinite)
                return history
            net.backward(loss.grad)  # type: ignore[arg-type]
            optimizer.step(net)
            total += _batch_sum(loss, value, len(out))
            correct += int(np.count_nonzero(out.argmax(axis=1) == labels_of(y[idx])))
            seen += len(out)
        if not finite(net):  # the epoch's last update overflowed
            stop(net, backup, f"epoch {epoch}, batch {batch}: non-finite weights", on_nonfinite)
            return history
        train_time += time.perf_counter() - tick
        record = {"epoch": epoch, "loss": total / seen, "accuracy": correct / seen}
        if validation_data is not None:
            val = _evaluate(net, loss, *validation_data, batch_size)
            record.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
        record.update(train_time=train_time, wall_time=time.perf_counter() - start)
        history.records.append(record)
        bar.set_postfix({k: round(v, 4) for k, v in record.items() if "loss" in k or "acc" in k})
        if callback is not None and callback(record, net):
            break
    return history


def _batch_sum(loss: Loss, value: float, batch: int) -> float:
    """The sum over the batch's samples of a batch loss ``value`` (see the module docstring)."""
    return value if getattr(loss, "reduction", "mean") == "sum" else value * batch
