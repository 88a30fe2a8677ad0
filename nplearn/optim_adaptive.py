r"""Per-element adaptive optimizers beside Adam: ``RMSprop`` and ``Adagrad``, as torch.optim's.

Contract
--------
As :mod:`nplearn.optim`: ``optimizer.step(net)`` updates every parameter group of ``net`` in
place; the state (a running sum or average of squared gradients) is kept per group array with
the parameters' dtype. Both follow PyTorch exactly: ``eps`` is added *outside* the square root,
and weight decay is coupled (``grad + weight_decay * w``).

- ``RMSprop``: :math:`s \leftarrow \alpha s + (1-\alpha) g^2`,
  :math:`w \leftarrow w - lr\, g / (\sqrt{s} + \epsilon)`;
- ``Adagrad``: :math:`s \leftarrow s + g^2`,
  :math:`w \leftarrow w - lr\, g / (\sqrt{s} + \epsilon)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nplearn.functional import Tensor
from nplearn.optim import Optimizer

__all__ = ["Adagrad", "RMSprop"]


class _SquaredGradients(Optimizer):
    """Shared by both: argument checks, weight decay and the step ``g / (sqrt(s) + eps)``.

    Subclasses set :meth:`_accumulate`, which updates the state ``s`` from ``g``.
    """

    def __init__(self, lr: float, eps: float, weight_decay: float) -> None:
        super().__init__(lr)
        for name, value in (("eps", eps), ("weight_decay", weight_decay)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self.eps, self.weight_decay = eps, weight_decay

    def _accumulate(self, total: Tensor, grad: Tensor) -> None:
        raise NotImplementedError  # pragma: no cover

    def _update(self, state: dict[str, Any], param: Tensor, grad: Tensor) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        total = state.get("square")
        if total is None:
            total = state["square"] = np.zeros_like(param)
        self._accumulate(total, grad)
        denom = np.sqrt(total)
        denom += self.eps
        param -= self.lr * (grad / denom)


class RMSprop(_SquaredGradients):
    r"""RMSprop as ``torch.optim.RMSprop`` (no momentum, not centered).

    Args:
        lr: learning rate.
        alpha: smoothing constant of the running average of squared gradients.
        eps: added to the denominator, outside the square root.
        weight_decay: coupled L2 decay added to the gradient.

    Shape:
        Parameters and gradients of any shape; the state has the parameter's shape and dtype.
    """

    def __init__(
        self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr, eps, weight_decay)
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        self.alpha = alpha

    def _accumulate(self, total: Tensor, grad: Tensor) -> None:
        total *= self.alpha
        total += (1 - self.alpha) * grad * grad

    def __repr__(self) -> str:
        return f"RMSprop(lr={self.lr}, alpha={self.alpha}, eps={self.eps})"


class Adagrad(_SquaredGradients):
    r"""Adagrad as ``torch.optim.Adagrad`` (no learning-rate decay, accumulator starting at 0).

    Args:
        lr: learning rate.
        eps: added to the denominator, outside the square root.
        weight_decay: coupled L2 decay added to the gradient.

    Shape:
        Parameters and gradients of any shape; the state has the parameter's shape and dtype.
    """

    def __init__(self, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0) -> None:
        super().__init__(lr, eps, weight_decay)

    def _accumulate(self, total: Tensor, grad: Tensor) -> None:
        total += grad * grad

    def __repr__(self) -> str:
        return f"Adagrad(lr={self.lr}, eps={self.eps})"
