"""The PyTorch float64 oracle for every piece of the protocol, and each piece's input ranges.

Contract
--------
:data:`SPECS` gives each layer piece its PyTorch forward, its input ranges and its kinks: the
layers come from ``verification.registry`` (the same entries nplearn's own tests use), and
LeakyReLU at the slope its factory is called with (``inputs.SLOPE``). :func:`layer`
runs a layer's forward and backward in torch; :func:`loss` a loss (MSE, cross-entropy, binary
cross-entropy) under a target's declared conventions, returning what the library is fed and
what it must give back. Torch runs in
float64 on one thread and is imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from verification.conformance.inputs import SLOPE
from verification.registry import LAYERS

__all__ = ["SPECS", "Spec", "layer", "loss", "torch"]


@dataclass(frozen=True)
class Spec:
    """A layer piece: torch forward ``torch -> f(x, **params)``, gradient-check and oracle input
    bounds, kinks, and (if the registry has one) a plausible wrong derivative ``f'(y)`` named by
    ``wrong``."""

    torch: Callable[[Any], Callable[..., Any]]
    bound: float = 3.0
    oracle_bound: float = 40.0
    kinks: tuple[float, ...] = ()
    wrong_derivative: Callable[[np.ndarray], np.ndarray] | None = None
    wrong: str = ""


SPECS: dict[str, Spec] = {
    e.id.lower(): Spec(e.torch, e.bound, e.oracle_bound, e.kinks, e.wrong_derivative, e.wrong)
    for e in LAYERS
}
SPECS["leaky_relu"] = Spec(
    lambda torch: lambda x: torch.nn.functional.leaky_relu(x, SLOPE), kinks=(0.0,))

_torch: Any = None


def torch() -> Any:
    """The torch module, set to one thread (float64 is asked for explicitly everywhere)."""
    global _torch
    if _torch is None:
        import torch as module

        module.set_num_threads(1)
        # An optimizer's first step imports much of torch (about 2 s), and a first backward
        # given a gradient imports sympy (about 0.5 s): done once here, so that the checks'
        # forked children share them.
        leaf = module.zeros(1, dtype=module.float64, requires_grad=True)
        (2 * leaf).backward(module.ones(1, dtype=module.float64))
        module.optim.Adam([leaf]).step()
        _torch = module
    return _torch


def _leaf(array: np.ndarray) -> Any:
    return torch().tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def layer(
    piece: str, x: np.ndarray, upstream: np.ndarray, params: Mapping[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """``{"y", "dx", "dW", "db"}`` (parameter gradients only for a linear layer) from torch.

    Shape:
        - x: ``(batch, in)``; upstream: the output's shape; params: ``W (in, out)``, ``b (out,)``
    """
    tx = _leaf(x)
    tparams = {k: _leaf(v) for k, v in (params or {}).items()}
    ty = SPECS[piece].torch(torch())(tx, **tparams)
    ty.backward(torch().tensor(np.asarray(upstream, dtype=np.float64)))
    out = {"y": ty.detach().numpy(), "dx": tx.grad.numpy()}
    out.update({f"d{k}": t.grad.numpy() for k, t in tparams.items()})
    return out


def _divisor(reduction: str, shape: tuple[int, ...]) -> int:
    return {"sum": 1, "mean": shape[0], "mean_all": shape[0] * shape[1]}[reduction]


def loss(
    piece: str, conventions: Mapping[str, Any], z: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """``(fed, value, grad)`` of a loss under ``conventions``.

    ``z`` is the prediction (MSE) or the logits (cross-entropy, BCE). ``fed`` is what the
    library's loss takes: ``z``, or ``softmax(z)`` (BCE: ``sigmoid(z)``) when its input is
    ``"probabilities"``. ``grad`` is the
    gradient with respect to ``fed``, or to ``z`` when ``grad_wrt`` is ``"logits"``.

    Shape:
        - z, target, fed, grad: ``(batch, classes)``; target one-hot rows (cross-entropy), 0 or
          1 entries (BCE).
    """
    t = torch()
    tz, ty = _leaf(z), t.tensor(np.asarray(target, dtype=np.float64))
    n = _divisor(conventions["reduction"], z.shape)
    if piece == "bce":
        return _bce(conventions["input"], z, target, n)
    if piece == "mse":
        value = conventions["scale"] * ((tz - ty) ** 2).sum() / n
        value.backward()
        return np.array(z, dtype=np.float64), float(value.detach()), tz.grad.numpy()
    if conventions["input"] == "logits":
        value = -(ty * t.log_softmax(tz, dim=1)).sum() / n
        value.backward()
        return np.array(z, dtype=np.float64), float(value.detach()), tz.grad.numpy()
    # The value is what the given probabilities determine: -sum xlogy(y, p), where a class of
    # target 0 adds 0 even at p = 0 (0 * log 0 = 0), and a target class of p = 0 makes it
    # infinite. The gradient -y/p is not judged where p = 0 (NaN or infinite there); one with
    # respect to the logits is the log-softmax's.
    fed = _leaf(t.softmax(tz, dim=1).detach().numpy())
    value = -t.special.xlogy(ty, fed.detach()).sum() / n
    if conventions["grad_wrt"] == "input":
        (-(ty * t.log(fed)).sum() / n).backward()
        return fed.detach().numpy(), float(value), fed.grad.numpy()
    (-(ty * t.log_softmax(tz, dim=1)).sum() / n).backward()
    return fed.detach().numpy(), float(value), tz.grad.numpy()


def _bce(given: str, z: np.ndarray, target: np.ndarray, n: int) -> tuple[np.ndarray, float,
                                                                       np.ndarray]:
    """Binary cross-entropy: ``binary_cross_entropy_with_logits`` of the logits ``z``, or of
    ``p = sigmoid(z)`` as ``-(xlogy(t, p) + xlogy(1 - t, 1 - p))`` (``binary_cross_entropy``
    without its clamps of the log at -100 and of ``p (1 - p)`` at 1e-12 in the gradient):
    where p is exactly 0 or 1, the value is infinite at the other target, and the gradient is
    -1 or 1 (over the reduction) at the own target, not judged (NaN) at the other."""
    t = torch()
    ty = t.tensor(np.asarray(target, dtype=np.float64))
    if given == "logits":
        tz = _leaf(z)
        value = t.nn.functional.binary_cross_entropy_with_logits(tz, ty, reduction="sum") / n
        value.backward()
        return np.array(z, dtype=np.float64), float(value.detach()), tz.grad.numpy()
    fed = t.sigmoid(t.tensor(np.asarray(z, dtype=np.float64))).numpy()
    tp = _leaf(fed)
    value = -(t.special.xlogy(ty, tp) + t.special.xlogy(1 - ty, 1 - tp)).sum() / n
    value.backward()
    grad = tp.grad.numpy().copy()
    edge = (fed == 0) | (fed == 1)
    own = edge & (fed == target)
    grad[own] = np.where(target[own] == 1, -1.0, 1.0) / n
    grad[edge & ~own] = np.nan
    return fed, float(value.detach()), grad
