"""Time to accuracy (DAWNBench-style): nplearn against PyTorch, in lockstep, in the main process.

Contract
--------
:func:`time_to_accuracy` times the post's CE recipe (at most :data:`POST_CE_EPOCHS` epochs) and the
best recipe per seed with ``threads`` BLAS and torch threads: nplearn and, if installed, PyTorch
(same initial weights, optimiser, batch order, schedule and evaluation points) are :func:`trainer`
generators advanced by :func:`interleaved`, a quarter epoch each in ABBA order, so drift of the
machine's speed affects both alike. Only training steps are timed. A curve ends at its first point
at or above the highest threshold, or with its batches. Each (config, seed) is saved when done;
``resume`` keeps it if timed with the same config, threads, frameworks and BLAS kernel.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from benchmarks.mnist.configs import RunConfig, build, lr_at, scaled
from benchmarks.mnist.datasets import Prepared
from benchmarks.mnist.execute import Plan, blas_kernel, load_checkpoint, save_checkpoint
from benchmarks.mnist.runs import generators
from nplearn.training import batches, predict, train_step

THRESHOLDS = (0.95, 0.97, 0.98)
EVALS_PER_EPOCH = 4  # test accuracy every quarter epoch
POST_CE_EPOCHS = 25  # epoch cap of the post CE recipe's timed runs (its full run has 200)
COLUMNS = ["step", "epoch", "train_seconds", "test_accuracy"]
Point = tuple[int, float, float, float]
TORCH_NAMES = {"weight": "W", "bias": "b"}  # torch's parameter name -> nplearn's


def torch_available() -> bool:
    """True when PyTorch can be imported."""
    return importlib.util.find_spec("torch") is not None


def trainer(
    order: Sequence[Sequence[Any]],
    step: Callable[[Any], object],
    accuracy: Callable[[], float],
    set_lr: Callable[[int], None],
) -> Iterator[Point]:
    """One framework's training, yielding ``(step, epoch, train_seconds, test_accuracy)`` points.

    Args:
        order: per epoch, the batches as the framework indexes its training tensors.
        step: one training step on a batch (forward, loss, backward, update).
        accuracy: current test accuracy (not timed).
        set_lr: called with the 0-based epoch before the epoch's first step.
    """
    seconds, steps = 0.0, 0
    for epoch, epoch_batches in enumerate(order):
        set_lr(epoch)
        every = max(1, len(epoch_batches) // EVALS_PER_EPOCH)
        for start in range(0, len(epoch_batches), every):
            chunk = epoch_batches[start : start + every]
            tick = time.perf_counter()
            for idx in chunk:
                step(idx)
            seconds += time.perf_counter() - tick
            steps += len(chunk)
            yield steps, epoch + (start + len(chunk)) / len(epoch_batches), seconds, accuracy()


def interleaved(trainers: Sequence[Iterator[Point]]) -> list[list[Point]]:
    """Each trainer's points: one point each per round, rounds in ABBA order; a trainer stops
    after its first point at or above ``max(THRESHOLDS)``, the rest go on alone."""
    curves: list[list[Point]] = [[] for _ in trainers]
    turn = list(range(len(trainers)))
    while turn:
        for i in list(turn):
            point = next(trainers[i], None)
            if point is not None:
                curves[i].append(point)
            if point is None or point[3] >= max(THRESHOLDS):
                turn.remove(i)
        turn.reverse()
    return curves


def _nplearn(cfg: RunConfig, data: Prepared, seed: int) -> tuple[Iterator[Point], list, dict]:
    """nplearn's trainer (weights and shuffle as ``runs.run``), its batches and first weights."""
    init_rng, shuffle_rng = generators(seed)
    net, loss, optimizer = build(cfg, init_rng)
    x, y = data.training(cfg.full_train)
    draw = partial(batches, len(x), cfg.batch_size, shuffle=cfg.shuffle, rng=shuffle_rng)
    order = [list(draw(drop_last=True)) for _ in range(cfg.epochs)]

    def set_lr(epoch: int) -> None:
        optimizer.lr = lr_at(cfg, epoch)

    def step(idx: Any) -> object:
        return train_step(net, loss, optimizer, x[idx], y[idx])

    def accuracy() -> float:
        return float(np.mean(predict(net, data.x_test).argmax(axis=1) == data.y_test))

    return trainer(order, step, accuracy, set_lr), order, net.state_dict()


def _torch(cfg: RunConfig, data: Prepared, order: list, initial: dict) -> Iterator[Point]:
    """PyTorch's trainer: ``Sequential(Linear, activation, Linear)`` from nplearn's weights.

    The post's L2 rule ``w <- w - lr*g - 2*l2*w`` is torch's ``weight_decay = 2*l2/lr`` at a
    constant learning rate; ``W`` is transposed into torch's ``(out, in)`` layout.
    """
    import torch

    activation = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[cfg.activation]
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), activation(), torch.nn.Linear(128, 10))
    weights = {f"{i}.{k}": initial[f"{i}.{n}"] for i in (0, 2) for k, n in TORCH_NAMES.items()}
    model.load_state_dict({k: torch.from_numpy(v.T.copy()) for k, v in weights.items()})
    decay = 2 * cfg.l2 / cfg.lr if cfg.l2 else cfg.weight_decay
    optimizer = torch.optim.SGD(model.parameters(), cfg.lr, cfg.momentum, weight_decay=decay)
    loss_fn = torch.nn.CrossEntropyLoss(reduction=cfg.loss.removeprefix("ce-"))
    x, y = map(torch.from_numpy, data.training(cfg.full_train))
    x_test, y_test = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    torch_order = [[i if isinstance(i, slice) else torch.from_numpy(i) for i in e] for e in order]

    def step(idx: Any) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x[idx]), y[idx]).backward()
        optimizer.step()

    def accuracy() -> float:
        with torch.no_grad():
            return float((model(x_test).argmax(dim=1) == y_test).float().mean())

    def set_lr(epoch: int) -> None:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(cfg, epoch)

    return trainer(torch_order, step, accuracy, set_lr)


def time_to_accuracy(
    plan: Plan, data: Prepared, threads: int, folder: Path, resume: bool
) -> tuple[list[RunConfig], pd.DataFrame, str]:
    """Time the post CE and best recipes for every seed (see the module docstring).

    Returns:
        ``(configs, points, kernel)``: the two configs as run; every curve's points with
        ``framework, config, seed`` and :data:`COLUMNS`; the BLAS kernel.
    """
    configs = [scaled(plan.headline[0], cap=POST_CE_EPOCHS), plan.headline[2]]
    with_torch = torch_available()
    if with_torch:
        import torch

        torch.set_num_threads(threads)
    frames = []
    with threadpool_limits(limits=threads, user_api="blas"):
        kernel = blas_kernel()
        pairs = [(seed, cfg) for seed in plan.seeds for cfg in configs]
        for seed, cfg in tqdm(pairs, desc="time to accuracy (main process)", unit="run"):
            path = folder / "tta" / cfg.key / f"seed{seed}.json"
            key = {"config": asdict(cfg), "threads": threads, "torch": with_torch, "blas": kernel}
            saved = load_checkpoint(path, key) if resume else None
            if saved is None:
                mine, order, initial = _nplearn(cfg, data, seed)
                runs = {"nplearn": mine}
                if with_torch:
                    runs["torch"] = _torch(cfg, data, order, initial)
                saved = dict(zip(runs, interleaved(list(runs.values())), strict=True))
                save_checkpoint(path, key, saved)
            for name, curve in saved.items():
                frame = pd.DataFrame(curve, columns=COLUMNS)
                frames.append(frame.assign(framework=name, config=cfg.key, seed=seed))
    points = pd.concat(frames, ignore_index=True)
    return configs, points[["framework", "config", "seed", *COLUMNS]], kernel
