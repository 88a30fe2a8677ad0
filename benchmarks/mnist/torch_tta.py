"""The PyTorch peer of the time-to-accuracy runs: same model, weights, optimiser, batches.

Contract
--------
:func:`torch_trainer` builds the training of
``torch.nn.Sequential(Linear, activation, Linear)`` in float32 on CPU from
nplearn's initial parameters (``W`` transposed into torch's ``(out, in)``
layout), with the equivalent loss (cross-entropy with the same reduction) and
optimiser (``torch.optim.SGD``; the post's L2 rule
``w <- w - lr*g - 2*l2*w`` is torch's ``weight_decay = 2*l2/lr`` at a
constant learning rate), the same per-epoch learning rates and batch order,
as a ``tta.Trainer`` timed exactly like nplearn's (in lockstep with it
through ``tta.interleaved``). The caller pins the thread counts
(:func:`available` tells whether torch is installed).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.mnist.configs import RunConfig, lr_at
from benchmarks.mnist.datasets import Prepared
from benchmarks.mnist.tta import Trainer, training_set

__all__ = ["available", "torch_trainer"]


def available() -> bool:
    """True when PyTorch can be imported."""
    return importlib.util.find_spec("torch") is not None


def _model(cfg: RunConfig, initial: dict[str, np.ndarray]) -> Any:
    import torch

    activations = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}
    if cfg.activation not in activations:
        raise ValueError(f"no PyTorch peer for activation {cfg.activation!r}")
    first, second = torch.nn.Linear(784, 128), torch.nn.Linear(128, 10)
    model = torch.nn.Sequential(first, activations[cfg.activation](), second)
    with torch.no_grad():
        for layer, index in ((first, 0), (second, 2)):
            layer.weight.copy_(torch.from_numpy(initial[f"{index}.W"].T.copy()))
            layer.bias.copy_(torch.from_numpy(initial[f"{index}.b"]))
    return model


def _optimizer(cfg: RunConfig, params: Any) -> Any:
    import torch

    if cfg.l2 and (cfg.weight_decay or cfg.schedule != "constant"):
        raise ValueError("the post's L2 rule has a torch equivalent only alone, at a constant lr")
    decay = 2 * cfg.l2 / cfg.lr if cfg.l2 else cfg.weight_decay
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=decay)


def torch_trainer(
    cfg: RunConfig,
    data: Prepared,
    order: Sequence[Sequence[slice | np.ndarray]],
    initial: dict[str, np.ndarray],
) -> Trainer:
    """PyTorch's time-to-accuracy trainer for ``cfg``, from nplearn's initial weights.

    Args:
        cfg: the recipe (cross-entropy losses only).
        data: the prepared data set.
        order: the same batch order nplearn uses.
        initial: nplearn's initial ``state_dict``.

    Returns:
        The trainer, not yet run.
    """
    import torch

    if not cfg.loss.startswith("ce-"):
        raise ValueError(f"no PyTorch peer for loss {cfg.loss!r}")
    model = _model(cfg, initial)
    optimizer = _optimizer(cfg, model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss(reduction=cfg.loss.removeprefix("ce-"))
    x_np, y_np = training_set(cfg, data)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    x_test, y_test = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    torch_order = [
        [idx if isinstance(idx, slice) else torch.from_numpy(idx) for idx in epoch]
        for epoch in order
    ]

    def step(idx: Any) -> object:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        return loss

    def accuracy() -> float:
        with torch.no_grad():
            return float((model(x_test).argmax(dim=1) == y_test).float().mean())

    def set_lr(epoch: int) -> None:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(cfg, epoch)

    return Trainer(torch_order, step, accuracy, set_lr)
