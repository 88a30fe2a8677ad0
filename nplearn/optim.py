"""Optimizers: ``SGD`` (with the seed's L2 rule, weight decay, momentum) and ``Adam``.

Contract
--------
``optimizer.step(net)`` updates every parameter of ``net`` in place from the
gradients left by ``net.backward``. Parameters keep their arrays, shapes and
dtypes (float32 stays float32); gradients are not modified. Every rule here is
elementwise, so when the network keeps its parameters in flat storage
(``net.flat_parameters()``) one update runs over all of them at once, with its
state under the key ``"*"``; otherwise each ``(name, param, grad)`` of
``net.named_parameters()`` is updated with state keyed by its name.

- ``SGD(lr, l2)`` applies the seed's published rule,
  ``w <- w - lr * grad - 2 * l2 * w`` (biases included);
- ``SGD(lr, weight_decay=wd)`` is the usual coupled decay, ``grad + wd * w``;
- ``SGD(lr, momentum=mu)`` is PyTorch's heavy ball, ``v <- mu v + grad``,
  ``w <- w - lr v``;
- ``Adam`` is Kingma & Ba's (PyTorch's defaults).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from nplearn.functional import Tensor

__all__ = ["SGD", "Adam", "Optimizer"]


class _HasParameters(Protocol):
    def named_parameters(self) -> Any: ...


#: The state key of an update over a network's flat storage.
FLAT = "*"


class Optimizer:
    """Base class: per-parameter ``state`` and ``step(net)``."""

    def __init__(self, lr: float) -> None:
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr
        self.state: dict[str, dict[str, Any]] = {}

    def step(self, net: _HasParameters) -> None:
        """Update every parameter of ``net`` in place."""
        flat = getattr(net, "flat_parameters", None)
        pair = flat() if flat is not None else None
        if pair is not None:
            self._update(self.state.setdefault(FLAT, {}), *pair)
            return
        for name, param, grad in net.named_parameters():
            self._update(self.state.setdefault(name, {}), param, grad)

    def _update(self, state: dict[str, Any], param: Tensor, grad: Tensor) -> None:
        raise NotImplementedError  # pragma: no cover


class SGD(Optimizer):
    """Stochastic gradient descent (the seed's, plus decay and momentum).

    Args:
        lr: learning rate ``eta``.
        l2: the seed's L2 parameter ``alpha``: ``w <- w - eta*grad - 2*alpha*w``.
        momentum: heavy-ball momentum ``mu`` (0 disables it).
        weight_decay: coupled decay: ``grad + weight_decay * w`` is used.

    Shape:
        Parameters and gradients of any shape; each pair has equal shapes.
    """

    def __init__(
        self, lr: float, l2: float = 0.0, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr)
        for name, value in (("l2", l2), ("momentum", momentum), ("weight_decay", weight_decay)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self.l2, self.momentum, self.weight_decay = l2, momentum, weight_decay

    def _update(self, state: dict[str, Any], param: Tensor, grad: Tensor) -> None:
        # One scratch array per parameter: no allocation per step.
        scratch = state.get("scratch")
        if scratch is None:
            scratch = state["scratch"] = np.empty_like(param)
        if self.weight_decay:  # d = grad + wd * w
            np.multiply(param, self.weight_decay, out=scratch)
            scratch += grad
            grad = scratch
        if self.momentum:  # v <- mu * v + d (v = d on the first step)
            velocity = state.get("velocity")
            if velocity is None:
                velocity = state["velocity"] = grad.copy()
            else:
                velocity *= self.momentum
                velocity += grad
            grad = velocity
        if self.l2:
            param *= 1 - 2 * self.l2  # w - 2*alpha*w
        # The rate as a scalar of the parameter's dtype (the same value: float32 arrays round it
        # to float32), cast once per value of ``lr``: NumPy then multiplies without wrapping a
        # Python float.
        rate = state.get("rate")
        if rate is None or rate[0] != self.lr:
            rate = state["rate"] = (self.lr, param.dtype.type(self.lr))
        np.multiply(grad, rate[1], out=scratch)
        param -= scratch  # w - eta*d

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr}, l2={self.l2}, momentum={self.momentum}, "
            f"weight_decay={self.weight_decay})"
        )


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``.

    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
    :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`w \leftarrow w - lr\,\hat m / (\sqrt{\hat v} + \epsilon)` with
    bias-corrected :math:`\hat m, \hat v`.

    Args:
        lr: learning rate.
        betas: ``(beta1, beta2)``.
        eps: added to the denominator.
        weight_decay: coupled L2 decay added to the gradient.

    Shape:
        Parameters and gradients of any shape; moments have the parameter's
        shape and dtype.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        for name, value in (("eps", eps), ("weight_decay", weight_decay)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay

    def _update(self, state: dict[str, Any], param: Tensor, grad: Tensor) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if not state:
            state.update(t=0, m=np.zeros_like(param), v=np.zeros_like(param))
        beta1, beta2 = self.betas
        state["t"] += 1
        m, v, t = state["m"], state["v"], state["t"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        step = self.lr / (1 - beta1**t)
        denom = np.sqrt(v)
        denom /= math.sqrt(1 - beta2**t)
        denom += self.eps
        param -= step * (m / denom)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps})"
