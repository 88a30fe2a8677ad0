"""Optimizers: ``SGD`` (with the post's L2 rule, weight decay, momentum) and ``Adam``.

Contract
--------
``optimizer.step(net)`` updates every parameter of ``net`` in place from the
gradients left by ``net.backward``. Parameters keep their arrays, shapes and
dtypes (float32 stays float32); gradients are not modified. Every rule here is
elementwise, so it runs once per parameter group of ``net.parameter_groups()``:
a ``(params, grads)`` pair of flat arrays holding every parameter of one dtype
(:mod:`nplearn.flat`). State (momentum, Adam's moments) is kept per group array,
as PyTorch keeps it per parameter.

- ``SGD(lr, l2)`` applies the post's published rule,
  ``w <- w - lr * grad - 2 * l2 * w`` (biases included);
- ``SGD(lr, weight_decay=wd)`` is the usual coupled decay, ``grad + wd * w``;
- ``SGD(lr, momentum=mu)`` is PyTorch's heavy ball, ``v <- mu v + grad``,
  ``w <- w - lr v``; with ``nesterov=True``, PyTorch's Nesterov form ``w <- w - lr (grad + mu v)``;
- ``Adam`` is Kingma & Ba's (PyTorch's defaults).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from nplearn.functional import Tensor

__all__ = ["SGD", "Adam", "Optimizer"]


class _HasParameterGroups(Protocol):
    def parameter_groups(self) -> list[tuple[Tensor, Tensor]]: ...


@functools.cache
def _axpy(dtype: np.dtype) -> Callable[..., Tensor] | None:
    """BLAS ``axpy`` (``y <- a x + y``, in place on a 1-D ``y``) for float32 and float64, else
    None. Loaded on first use: importing ``scipy.linalg`` would slow ``import nplearn`` down."""
    if dtype not in (np.float32, np.float64):
        return None
    from scipy.linalg import blas

    return blas.get_blas_funcs("axpy", dtype=dtype)
def _scratch(state: dict[str, Any], param: Tensor) -> Tensor:
    """The update's scratch array for ``param``, allocated once (no allocation per step)."""
    scratch = state.get("scratch")
    if scratch is None:
        scratch = state["scratch"] = np.empty_like(param)
    return scratch


class Optimizer:
    """Base class: ``state`` per parameter group and ``step(net)``.

    ``state`` maps ``id(params)`` of each group to a dict holding ``"params"`` (the
    group's array, which also keeps the id from being reused) and the rule's own entries.
    """

    def __init__(self, lr: float) -> None:
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr
        self.state: dict[int, dict[str, Any]] = {}

    def step(self, net: _HasParameterGroups) -> None:
        """Update every parameter of ``net`` in place, one call per parameter group."""
        for param, grad in net.parameter_groups():
            self._update(self.state.setdefault(id(param), {"params": param}), param, grad)

    def _update(self, state: dict[str, Any], param: Tensor, grad: Tensor) -> None:
        raise NotImplementedError  # pragma: no cover


class SGD(Optimizer):
    """Stochastic gradient descent (the post's, plus decay and momentum).

    Args:
        lr: learning rate ``eta``.
        l2: the post's L2 parameter ``alpha``: ``w <- w - eta*grad - 2*alpha*w``.
        momentum: heavy-ball momentum ``mu`` (0 disables it).
        weight_decay: coupled decay: ``grad + weight_decay * w`` is used.
        nesterov: Nesterov momentum as ``torch.optim.SGD(nesterov=True)``: the step is
            ``grad + mu * v`` with the updated ``v`` (needs ``momentum > 0``).

    The last pass, ``w - eta*d`` (``d`` the gradient, after decay and momentum; with ``l2``
    after ``w *= 1 - 2*alpha``), is one BLAS ``axpy`` over the group in place for float32 and
    float64: a fused multiply-add (one rounding) and no scratch array, whose size of the whole
    network would push a small batch's working set out of the L2 cache.

    Shape:
        Parameters and gradients of any shape; each pair has equal shapes.
    """

    def __init__(
        self,
        lr: float,
        l2: float = 0.0,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(lr)
        for name, value in (("l2", l2), ("momentum", momentum), ("weight_decay", weight_decay)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if nesterov and not momentum:
            raise ValueError("nesterov momentum needs momentum > 0, got momentum=0")
        self.l2, self.momentum, self.weight_decay = l2, momentum, weight_decay
        self.nesterov = nesterov

    def _update(self, state: dict[str, Any], param: Tensor, grad: Tensor) -> None:
        if self.weight_decay:  # d = grad + wd * w
            scratch = _scratch(state, param)
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
            if self.nesterov:  # d = d + mu * v, with the updated v
                step = _scratch(state, param)
                if grad is step:  # d already lives in the scratch array (weight decay)
                    step += self.momentum * velocity
                else:
                    np.multiply(velocity, self.momentum, out=step)
                    step += grad
                grad = step
            else:
                grad = velocity
        if self.l2:  # the post's w <- (1 - 2*alpha) w - eta*d: shrink, then as plain SGD
            param *= 1 - 2 * self.l2
        axpy = _axpy(param.dtype)
        if axpy is not None and param.flags.c_contiguous:
            # w - eta*d in one pass, in place (on a 1-D view, which ravel() of a C-contiguous
            # array is: axpy copies any other array), with one rounding (a fused multiply-add).
            axpy(grad.ravel(), param.ravel(), a=-self.lr)
            return
        scratch = _scratch(state, param)
        np.multiply(grad, self.lr, out=scratch)
        param -= scratch  # w - eta*d

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr}, l2={self.l2}, momentum={self.momentum}, "
            f"weight_decay={self.weight_decay}, nesterov={self.nesterov})"
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
        if "t" not in state:
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
