"""Optimizer trajectories: PyTorch's under the declared conventions, and a NumPy re-simulation of
the declared rule or of a suspected mistake.

Contract
--------
A trajectory is the list of parameters (float64 arrays, in the order ``W1, b1, W2, b2``) after
each of ``len(grads)`` steps, from ``params`` and the per-step gradients ``grads[step][j]``.
:func:`torch_trajectory` runs ``torch.optim`` (``SGD`` with momentum or Nesterov, ``Adam``,
``RMSprop``, ``Adagrad``, coupled ``weight_decay``, or decoupled: the weights shrunk by
``1 - lr wd`` before each step, as ``torch.optim.AdamW`` does); the momentum forms map onto
PyTorch's exactly: ``classic`` (``v = mu v - lr g; w += v``) is ``-lr`` times PyTorch's
velocity, ``ema`` (``v = mu v + (1 - mu) g``) is ``(1 - mu)`` times it, i.e. PyTorch at
``lr (1 - mu)``; Adam's eps-hat is PyTorch's Adam with ``eps / sqrt(1 - beta2^t)`` at step ``t``.
It returns None where PyTorch has no such rule (eps inside the square root). :func:`simulate`
computes a trajectory under a :class:`Rule`: the declared one, or one with a knob turned (the
step counter's clock, where eps sits, state shared between same-shaped parameters, the step's
sign, weight decay ignored or decoupled, Nesterov not applied).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from verification.conformance import oracle

__all__ = ["Rule", "declared", "simulate", "torch_trajectory"]

Params = Sequence[np.ndarray]


@dataclass(frozen=True)
class Rule:
    """How a trajectory is computed.

    Attributes:
        kind: ``momentum``, ``adam``, ``rmsprop``, ``adagrad``, ``sgd`` (plain ``w -= lr g``) or
            ``none`` (no update).
        hyper: ``lr`` and the kind's own (``mu``; ``beta1``, ``beta2``, ``eps``; ``alpha``,
            ``eps``; ``eps``), and ``wd`` (0 for none).
        lr_scale: the learning rate's factor (``1 - mu`` for the ``ema`` momentum form).
        nesterov: ``"no"`` or ``"yes"``.
        eps: ``"outside"`` (``sqrt(v) + eps``), ``"inside"`` (``sqrt(v + eps)``) or ``"hat"``
            (Adam: ``sqrt(v) + eps`` before bias correction).
        clock: Adam's ``t``: ``"param"`` (each parameter's step count), ``"shared"`` (one
            counter advanced at every parameter's update), ``"layer"`` (advanced once per
            layer), ``"frozen"`` (``t = 1``), ``"ahead"`` (``t + 1``), ``"none"`` (no bias
            correction).
        shared: one state per parameter shape (updated in parameter order), not per parameter.
        sign: ``-1`` ascends.
        decay: ``"coupled"`` (``g + wd w``), ``"none"`` or ``"decoupled"`` (``w -= lr wd w``).
    """

    kind: str
    hyper: Mapping[str, float]
    lr_scale: float = 1.0
    nesterov: str = "no"
    eps: str = "outside"
    clock: str = "param"
    shared: bool = False
    sign: float = 1.0
    decay: str = "coupled"

    def but(self, **changes: Any) -> Rule:
        return replace(self, **changes)


def declared(kind: str, hyper: Mapping[str, float], conventions: Mapping[str, Any],
             nesterov: bool = False) -> Rule:
    """The rule the target declares for optimizer ``kind``."""
    decay = conventions["weight_decay"]
    if kind == "momentum":
        scale = 1 - hyper["mu"] if conventions["form"] == "ema" else 1.0
        return Rule(kind, hyper, lr_scale=scale, nesterov="yes" if nesterov else "no",
                    decay=decay)
    return Rule(kind, hyper, eps=conventions["eps"].split("_")[0], decay=decay)


def _clock(rule: Rule, step: int, j: int, layer: int, count: int, layers: int) -> float | None:
    return {
        "param": step + 1, "ahead": step + 2, "frozen": 1, "none": None,
        "shared": step * count + j + 1, "layer": step * layers + layer + 1,
    }[rule.clock]


def _update(rule: Rule, state: dict[str, Any], w: np.ndarray, g: np.ndarray,
            t: float | None) -> np.ndarray:
    """The step ``d`` of one parameter (the new value is ``w - sign * lr * d``)."""
    h = rule.hyper
    if rule.kind == "sgd":
        return g
    if rule.kind == "momentum":
        v = state["v"] = h["mu"] * state.get("v", 0.0) + g
        return g + h["mu"] * v if rule.nesterov == "yes" else v
    eps = h["eps"]
    if rule.kind == "adam":
        m = state["m"] = h["beta1"] * state.get("m", 0.0) + (1 - h["beta1"]) * g
        v = state["v"] = h["beta2"] * state.get("v", 0.0) + (1 - h["beta2"]) * g * g
        if t is None:
            return m / _denominator(rule.eps, v, eps)
        c1, c2 = 1 - h["beta1"] ** t, 1 - h["beta2"] ** t
        if rule.eps == "hat":
            return math.sqrt(c2) / c1 * m / (np.sqrt(v) + eps)
        return (m / c1) / _denominator(rule.eps, v / c2, eps)
    if rule.kind == "rmsprop":
        v = state["v"] = h["alpha"] * state.get("v", 0.0) + (1 - h["alpha"]) * g * g
    else:
        v = state["v"] = state.get("v", 0.0) + g * g
    return g / _denominator(rule.eps, v, eps)


def _denominator(where: str, v: np.ndarray, eps: float) -> np.ndarray:
    return np.sqrt(v + eps) if where == "inside" else np.sqrt(v) + eps


def simulate(rule: Rule, params: Params, grads: Sequence[Params],
             layer_of: Sequence[int]) -> list[list[np.ndarray]]:
    """The trajectory under ``rule``; ``layer_of[j]`` is parameter ``j``'s layer."""
    w = [np.array(p, dtype=np.float64) for p in params]
    states: dict[Any, dict[str, Any]] = {}
    lr, wd = rule.hyper["lr"] * rule.lr_scale, rule.hyper.get("wd", 0.0)
    out = []
    for step, gs in enumerate(grads):
        for j, g in enumerate(gs):
            if rule.kind == "none":
                continue
            g = np.asarray(g, dtype=np.float64)
            if wd and rule.decay == "coupled":
                g = g + wd * w[j]
            state = states.setdefault(w[j].shape if rule.shared else j, {})
            t = _clock(rule, step, j, layer_of[j], len(gs), max(layer_of) + 1)
            new = w[j] - rule.sign * lr * _update(rule, state, w[j], g, t)
            if wd and rule.decay == "decoupled":
                new -= lr * wd * w[j]
            w[j] = new
        out.append([p.copy() for p in w])
    return out


def torch_trajectory(rule: Rule, params: Params,
                     grads: Sequence[Params]) -> list[list[np.ndarray]] | None:
    """The trajectory of ``torch.optim`` under the declared ``rule`` (module contract)."""
    if rule.eps == "inside" and rule.kind != "momentum":
        return None
    torch = oracle.torch()
    ps = [torch.tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in params]
    h, wd = rule.hyper, rule.hyper.get("wd", 0.0)
    # decoupled: AdamW's order, w *= 1 - lr wd before the step, the optimizer itself undecayed
    shrink, wd = (1 - h["lr"] * rule.lr_scale * wd, 0.0) if rule.decay == "decoupled" else (1, wd)
    make = {
        "momentum": lambda: torch.optim.SGD(ps, lr=h["lr"] * rule.lr_scale, momentum=h["mu"],
                                            nesterov=rule.nesterov == "yes", weight_decay=wd),
        "adam": lambda: torch.optim.Adam(ps, lr=h["lr"], betas=(h["beta1"], h["beta2"]),
                                         eps=h["eps"], weight_decay=wd),
        "rmsprop": lambda: torch.optim.RMSprop(ps, lr=h["lr"], alpha=h["alpha"], eps=h["eps"],
                                               weight_decay=wd),
        "adagrad": lambda: torch.optim.Adagrad(ps, lr=h["lr"], eps=h["eps"], weight_decay=wd),
    }
    opt = make[rule.kind]()
    out = []
    for t, gs in enumerate(grads, 1):
        if rule.eps == "hat":  # (sqrt(v) + eps) / sqrt(c2) is sqrt(v / c2) + eps / sqrt(c2)
            opt.param_groups[0]["eps"] = h["eps"] / math.sqrt(1 - h["beta2"] ** t)
        for p, g in zip(ps, gs, strict=True):
            p.grad = torch.tensor(np.asarray(g, dtype=np.float64))
            if shrink != 1:
                with torch.no_grad():
                    p.mul_(shrink)
        opt.step()
        out.append([p.detach().numpy().copy() for p in ps])
    return out
